/* SPDX-License-Identifier: MIT */
/* OpenSSL client context for upstream links: TLS 1.2+, system or configured trust store. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <stdio.h>

#include "io.h"
#include "xgw/log.h"
#include "xgw/server.h"

void xgw_tls_log_errors(const char *sid_or_ctx, const char *what)
{
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char text[256];
        ERR_error_string_n(e, text, sizeof(text));
        XGW_LOG_INFO("sid=%s %s: %s", sid_or_ctx, what, text);
    }
}

SSL_CTX *xgw_tls_client_ctx_new(const struct xgw_config *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    int ok = (cfg->ca_file || cfg->ca_dir)
                 ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, cfg->ca_dir)
                 : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        XGW_LOG_ERROR("cannot load upstream CA certificates (upstream.ca_file=%s, "
                      "upstream.ca_dir=%s)",
                      cfg->ca_file ? cfg->ca_file : "-", cfg->ca_dir ? cfg->ca_dir : "-");
        goto fail;
    }
    return ctx;
fail:
    xgw_tls_log_errors("-", "TLS client context");
    SSL_CTX_free(ctx);
    return NULL;
}

/* The oldest queued OpenSSL reason, or "unknown error"; clears the queue. */
static const char *openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    if (e == 0) {
        snprintf(buf, len, "unknown error");
    } else {
        ERR_error_string_n(e, buf, len);
        ERR_clear_error();
    }
    return buf;
}

enum xgw_err xgw_server_check(const struct xgw_config *cfg, char *err, size_t err_len)
{
    if (cfg->tls_listen_count == 0)
        return XGW_OK;
    char reason[256];
    enum xgw_err result = XGW_EINVAL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, err_len, "cannot create a TLS context: %s",
                 openssl_reason(reason, sizeof(reason)));
    } else if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        snprintf(err, err_len, "tls.cert_file \"%s\": cannot load a PEM certificate chain: %s",
                 cfg->tls_cert_file, openssl_reason(reason, sizeof(reason)));
    } else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1) {
        bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
        if (mismatch)
            snprintf(err, err_len, "tls.key_file \"%s\" does not match the certificate in \"%s\"",
                     cfg->tls_key_file, cfg->tls_cert_file);
        else
            snprintf(err, err_len, "tls.key_file \"%s\": cannot load a PEM private key: %s",
                     cfg->tls_key_file, openssl_reason(reason, sizeof(reason)));
        ERR_clear_error();
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, err_len, "tls.key_file \"%s\" does not match the certificate in \"%s\"",
                 cfg->tls_key_file, cfg->tls_cert_file);
        ERR_clear_error();
    } else {
        result = XGW_OK;
    }
    SSL_CTX_free(ctx);
    return result;
}
