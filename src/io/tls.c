/* SPDX-License-Identifier: MIT */
/* OpenSSL client context for upstream links: TLS 1.2+, system or configured trust store. */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "xgw/log.h"

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
