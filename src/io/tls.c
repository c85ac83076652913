/* SPDX-License-Identifier: MIT */
/* OpenSSL client context for upstream links: TLS 1.2+, system or configured trust store. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <stdio.h>

#include "io.h"
#include "xgw/alloc.h"
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

/* ---- SIGHUP: certificate renewal without dropping sessions ---------------------------------- */

#define CERT_FILE_MAX (1024 * 1024)

struct reload_job {
    uv_work_t work;
    struct xgw_io *io;
    enum xgw_err result;
    char err[512];
    char *cert, *key; /* owned; the PEM files as read */
    size_t cert_len, key_len;
};

static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = xgw_malloc(CERT_FILE_MAX + 1);
    *len = fread(data, 1, CERT_FILE_MAX + 1, f);
    bool ok = !ferror(f) && *len <= CERT_FILE_MAX;
    fclose(f);
    if (!ok) {
        xgw_free(data);
        return NULL;
    }
    data[*len] = '\0';
    return data;
}

/* Worker thread: file reads and the OpenSSL check, so the loop never blocks on the disk. */
static void reload_work(uv_work_t *work)
{
    struct reload_job *job = work->data;
    const struct xgw_config *cfg = job->io->cfg;
    job->result = xgw_server_check(cfg, job->err, sizeof(job->err));
    if (job->result != XGW_OK)
        return;
    job->cert = read_small_file(cfg->tls_cert_file, &job->cert_len);
    job->key = read_small_file(cfg->tls_key_file, &job->key_len);
    if (!job->cert || !job->key) {
        snprintf(job->err, sizeof(job->err), "cannot read tls.cert_file or tls.key_file again");
        job->result = XGW_EIO;
    }
}

static void reload_done(uv_work_t *work, int status)
{
    struct reload_job *job = work->data;
    struct xgw_io *io = job->io;
    const struct xgw_config *cfg = io->cfg;
    io->reloading = false;
    if (status != 0 || io->stopping) {
        /* Cancelled, or shutting down: the context may be gone. */
    } else if (job->result != XGW_OK) {
        XGW_LOG_WARN("SIGHUP: keeping the current TLS certificate: %s", job->err);
    } else if (lws_tls_cert_updated(io->lws, cfg->tls_cert_file, cfg->tls_key_file, job->cert,
                                    job->cert_len, job->key, job->key_len) != 0) {
        XGW_LOG_WARN("SIGHUP: libwebsockets refused the new TLS certificate; keeping the current "
                     "one");
    } else {
        XGW_LOG_NOTICE("SIGHUP: TLS certificate reloaded from %s (new connections use it)",
                       cfg->tls_cert_file);
    }
    xgw_free(job->cert);
    xgw_free(job->key);
    xgw_free(job);
}

void xgw_tls_reload_listener(struct xgw_io *io)
{
    if (io->cfg->tls_listen_count == 0) {
        XGW_LOG_NOTICE("SIGHUP: no TLS listener, nothing to reload (other settings need a "
                       "restart)");
        return;
    }
    if (io->reloading)
        return; /* one at a time */
    struct reload_job *job = xgw_calloc(1, sizeof(*job));
    job->io = io;
    job->work.data = job;
    io->reloading = true;
    if (uv_queue_work(&io->loop, &job->work, reload_work, reload_done) != 0) {
        io->reloading = false;
        xgw_free(job);
        XGW_LOG_WARN("SIGHUP: cannot start the certificate reload");
    }
}
