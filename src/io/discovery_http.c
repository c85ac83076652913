/* SPDX-License-Identifier: MIT */
/* HTTP side of XEP-0156 discovery (GET /.well-known/host-meta and host-meta.json, with CORS:
 * DISC-01..06) and the security headers of the static web client files. The documents and the
 * policy are built by http/discovery.c; this file reads the request and writes the answer. */
#include <string.h>

#include "io.h"
#include "xgw/buf.h"
#include "xgw/discovery.h"
#include "xgw/log.h"

#define DOC_MAX_BYTES 8192

/* The request's endpoints: Host header, and TLS or a proxy's X-Forwarded-Proto: https. */
static enum xgw_discovery_status request_endpoints(struct lws *wsi, const struct xgw_config *cfg,
                                                   struct xgw_endpoints *ep)
{
    char host[XGW_DISCOVERY_HOST_MAX + 2] = "";
    char proto[16] = "";
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0)
        host[0] = '\0';
    if (lws_hdr_custom_copy(wsi, proto, sizeof(proto), "x-forwarded-proto:", 18) < 0)
        proto[0] = '\0';
    bool secure = lws_is_ssl(wsi) || strcmp(proto, "https") == 0;
    return xgw_discovery_endpoints(cfg, host[0] ? host : NULL, secure, ep);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* One complete answer with CORS for everyone (DISC-04: the documents are public). */
static int send_doc(struct lws *wsi, unsigned status, const char *content_type, const char *body,
                    size_t len)
{
    static const struct xgw_http_header headers[] = {
        {"access-control-allow-origin:", "*"},
        /* Derived from the request's Host: caches must not hand it to other names. */
        {"cache-control:", "no-cache"},
        {"vary:", "Host, X-Forwarded-Proto"},
        {"x-content-type-options:", "nosniff"},
    };
    return xgw_http_send(wsi, status, content_type, headers, XGW_ARRAY_SIZE(headers), body, len);
}

static int send_text(struct lws *wsi, unsigned status, const char *text)
{
    return send_doc(wsi, status, "text/plain; charset=utf-8", text, strlen(text));
}

int xgw_discovery_http_get(struct xgw_io *io, struct lws *wsi, bool json)
{
    struct xgw_endpoints ep;
    switch (request_endpoints(wsi, io->cfg, &ep)) {
    case XGW_DISCOVERY_NO_HOST:
        return send_text(wsi, 400, "host-meta: the request has no valid Host header\n");
    case XGW_DISCOVERY_INSECURE:
        /* DISC-03: only https:// and wss:// links; plain ones only where configured. */
        return send_text(wsi, 404,
                         "host-meta is only published over HTTPS (XEP-0156): put xmppgw behind a "
                         "TLS proxy that sends X-Forwarded-Proto, or set discovery.websocket_url "
                         "and discovery.bosh_url\n");
    case XGW_DISCOVERY_OK:
        break;
    }
    struct xgw_buf body;
    xgw_buf_init(&body, DOC_MAX_BYTES);
    enum xgw_err err = json ? xgw_discovery_jrd(&ep, &body) : xgw_discovery_xrd(&ep, &body);
    int rc =
        err == XGW_OK
            ? send_doc(wsi, 200, json ? "application/json" : "application/xrd+xml; charset=utf-8",
                       body.data, body.len)
            : -1;
    xgw_buf_cleanup(&body);
    return rc;
}

int xgw_discovery_http_preflight(struct lws *wsi)
{
    unsigned char head[LWS_PRE + 512];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof(head) - 1;
    if (lws_add_http_header_status(wsi, 204, &p, end) ||
        add_header(wsi, "access-control-allow-origin:", "*", &p, end) ||
        add_header(wsi, "access-control-allow-methods:", "GET, OPTIONS", &p, end) ||
        add_header(wsi, "access-control-max-age:", "86400", &p, end) ||
        lws_add_http_header_content_length(wsi, 0, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Appends "name: value\r\n" to the raw header block lws hands to ADD_HEADERS. */
static int append_raw(struct lws_process_html_args *args, const char *name, const char *value)
{
    size_t need = strlen(name) + 2 + strlen(value) + 2;
    if (args->max_len < 0 || need >= (size_t)args->max_len)
        return -1;
    int n = lws_snprintf(args->p, (size_t)args->max_len, "%s: %s\r\n", name, value);
    args->p += n;
    args->max_len -= n;
    return 0;
}

int xgw_www_add_headers(struct lws *wsi, struct lws_process_html_args *args)
{
    const struct xgw_config *cfg = xgw_io_of(wsi)->cfg;
    struct xgw_endpoints ep;
    bool have_ep = request_endpoints(wsi, cfg, &ep) == XGW_DISCOVERY_OK;
    struct xgw_buf csp;
    xgw_buf_init(&csp, DOC_MAX_BYTES);
    int rc = 0;
    if (xgw_www_csp(cfg, have_ep ? &ep : NULL, &csp) != XGW_OK ||
        (csp.len > 0 && append_raw(args, "content-security-policy", csp.data) < 0) ||
        append_raw(args, "x-content-type-options", "nosniff") < 0 ||
        append_raw(args, "referrer-policy", "no-referrer") < 0) {
        XGW_LOG_WARN("static file security headers do not fit into the header buffer: refusing");
        rc = -1;
    }
    xgw_buf_cleanup(&csp);
    return rc;
}
