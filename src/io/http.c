/* SPDX-License-Identifier: MIT */
/* The listener's HTTP side on libwebsockets: the protocol table, dispatch of plain HTTP requests
 * (BOSH POST/OPTIONS, the WebSocket path without an upgrade, static files) and a small helper
 * for short complete answers. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "xgw/cidr.h"

#include "io.h"
#include "xgw/alloc.h"

struct xgw_io *xgw_io_of(struct lws *wsi)
{
    return lws_get_vhost_user(lws_get_vhost(wsi));
}

/* Trims spaces and tabs around one X-Forwarded-For entry in place. */
static char *xff_entry(char *entry)
{
    while (*entry == ' ' || *entry == '\t')
        entry++;
    size_t len = strlen(entry);
    while (len > 0 && (entry[len - 1] == ' ' || entry[len - 1] == '\t'))
        entry[--len] = '\0';
    return entry;
}

void xgw_http_client_addr(struct lws *wsi, char *out, size_t out_len)
{
    const struct xgw_config *cfg = xgw_io_of(wsi)->cfg;
    lws_get_peer_simple(wsi, out, out_len);
    if (!xgw_cidr_list_contains(cfg->trusted_proxies, cfg->trusted_proxy_count, out))
        return;
    /* A trusted proxy: the client is the rightmost X-Forwarded-For entry that is not itself a
     * trusted proxy (each proxy appends the address it saw, as nginx's
     * $proxy_add_x_forwarded_for does). An entry that is not a numeric address stops the walk:
     * what is left of it was written by someone we do not trust. */
    char xff[512];
    if (lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    for (;;) {
        char *comma = strrchr(xff, ',');
        char *entry = xff_entry(comma ? comma + 1 : xff);
        unsigned char addr[sizeof(struct in6_addr)];
        size_t len = strlen(entry);
        if (len == 0 || len >= out_len ||
            (inet_pton(AF_INET, entry, addr) != 1 && inet_pton(AF_INET6, entry, addr) != 1))
            return;
        memcpy(out, entry, len + 1);
        if (!comma ||
            !xgw_cidr_list_contains(cfg->trusted_proxies, cfg->trusted_proxy_count, entry))
            return;
        *comma = '\0';
    }
}

/* A request body we answer without reading (a POST to the wrong place) would be parsed as the
 * next request on a kept-alive connection. */
static bool has_body(struct lws *wsi)
{
    char length[24] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        return true;
    return lws_hdr_copy(wsi, length, sizeof(length), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
           strcmp(length, "0") != 0;
}

/* Status line, Content-Type, Content-Length, the extra headers, Connection: close when a body
 * went unread, then the body. 0, or -1 when the answer could not be written. */
static int write_answer(struct lws *wsi, unsigned status, const char *content_type,
                        const struct xgw_http_header *headers, size_t header_count,
                        const char *body, size_t len)
{
    unsigned char head[LWS_PRE + 1024];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof(head) - 1;
    if (lws_add_http_common_headers(wsi, status, content_type, len, &p, end))
        return -1;
    for (size_t i = 0; i < header_count; i++) {
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)headers[i].name,
                                        (const unsigned char *)headers[i].value,
                                        (int)strlen(headers[i].value), &p, end))
            return -1;
    }
    if (has_body(wsi) && lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                                     (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (len == 0)
        return 0;
    unsigned char small[LWS_PRE + 512];
    unsigned char *out = len <= sizeof(small) - LWS_PRE ? small : xgw_malloc(LWS_PRE + len);
    memcpy(out + LWS_PRE, body, len);
    int n = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    if (out != small)
        xgw_free(out);
    return n < 0 ? -1 : 0;
}

int xgw_http_send(struct lws *wsi, unsigned status, const char *content_type,
                  const struct xgw_http_header *headers, size_t header_count, const char *body,
                  size_t len)
{
    if (write_answer(wsi, status, content_type, headers, header_count, body, len) < 0 ||
        has_body(wsi))
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int xgw_http_reply(struct lws *wsi, unsigned status, const char *extra_name,
                   const char *extra_value, const char *body)
{
    struct xgw_http_header extra = {extra_name, extra_value};
    return write_answer(wsi, status, "text/plain; charset=utf-8", &extra, extra_name ? 1 : 0, body,
                        strlen(body)) < 0
               ? -1
               : 1;
}

/* Answers, then lets lws decide whether the connection stays open for the next request; a
 * connection with an unread body is closed after the answer. */
static int reply_and_complete(struct lws *wsi, unsigned status, const char *extra_name,
                              const char *extra_value, const char *body)
{
    struct xgw_http_header extra = {extra_name, extra_value};
    return xgw_http_send(wsi, status, "text/plain; charset=utf-8", &extra, extra_name ? 1 : 0, body,
                         strlen(body));
}

enum http_method { METHOD_GET, METHOD_POST, METHOD_OPTIONS, METHOD_OTHER };

/* The request's method and path (without the query string). */
static enum http_method request_target(struct lws *wsi, char *path, size_t path_len)
{
    static const struct {
        enum lws_token_indexes token;
        enum http_method method;
    } methods[] = {
        {WSI_TOKEN_POST_URI, METHOD_POST},       {WSI_TOKEN_GET_URI, METHOD_GET},
        {WSI_TOKEN_OPTIONS_URI, METHOD_OPTIONS}, {WSI_TOKEN_HEAD_URI, METHOD_OTHER},
        {WSI_TOKEN_PUT_URI, METHOD_OTHER},       {WSI_TOKEN_PATCH_URI, METHOD_OTHER},
        {WSI_TOKEN_DELETE_URI, METHOD_OTHER},
    };
    for (size_t i = 0; i < XGW_ARRAY_SIZE(methods); i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0) {
            if (lws_hdr_copy(wsi, path, (int)path_len, methods[i].token) < 0)
                path[0] = '\0';
            return methods[i].method;
        }
    }
    path[0] = '\0';
    return METHOD_OTHER;
}

static int on_http_request(struct lws *wsi, struct xgw_bosh_conn *conn)
{
    struct xgw_io *io = xgw_io_of(wsi);
    char path[512];
    enum http_method method = request_target(wsi, path, sizeof(path));
    if (xgw_status_vhost(wsi))
        return xgw_status_http(io, wsi, method == METHOD_GET, path);
    if (strcmp(path, XGW_HEALTHZ_PATH) == 0)
        return xgw_healthz_http(io, wsi);
    bool json = strcmp(path, XGW_HOST_META_JSON_PATH) == 0;
    if (io->cfg->discovery_enabled && (json || strcmp(path, XGW_HOST_META_PATH) == 0)) {
        if (method == METHOD_GET)
            return xgw_discovery_http_get(io, wsi, json);
        if (method == METHOD_OPTIONS)
            return xgw_discovery_http_preflight(wsi);
        return reply_and_complete(wsi, 405, "allow:", "GET, OPTIONS",
                                  "XEP-0156 host-meta: use GET\n");
    }
    if (strcmp(path, io->cfg->bosh_path) == 0) {
        if (method == METHOD_POST)
            return xgw_bosh_http_begin(io, wsi, conn);
        if (method == METHOD_OPTIONS)
            return xgw_bosh_http_preflight(io, wsi);
        /* BOSH-12: never a session on GET; say what the endpoint is. */
        return reply_and_complete(wsi, 405, "allow:", "POST, OPTIONS",
                                  "This is an XMPP over BOSH endpoint (XEP-0124/XEP-0206): "
                                  "clients POST <body/> elements here\n");
    }
    /* A file that www_root does not have (lws hands it back to the mount's protocol). */
    if (strcmp(path, io->cfg->ws_path) != 0)
        return reply_and_complete(wsi, 404, NULL, NULL, "Not found\n");
    /* The WebSocket path without the upgrade (a browser opening the URL, a POST) gets a clear
     * answer instead of a 404. */
    return reply_and_complete(wsi, 400, NULL, NULL,
                              "This is an XMPP over WebSocket endpoint (RFC 7395): connect with a "
                              "WebSocket client using the sub-protocol 'xmpp'\n");
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct xgw_bosh_conn *conn = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (xgw_status_vhost(wsi))
            return xgw_http_reply(wsi, 404, NULL, NULL,
                                  "No WebSocket here: this listener serves /metrics, /status and "
                                  "/healthz\n");
        return xgw_ws_confirm_upgrade(wsi);
    case LWS_CALLBACK_HTTP:
        return on_http_request(wsi, conn);
    case LWS_CALLBACK_ADD_HEADERS: /* only the www_root mount names this protocol */
        return xgw_www_add_headers(wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (conn && xgw_bosh_http_owns(conn))
            return xgw_bosh_http_event(wsi, conn, reason, in, len);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols *xgw_status_protocols(void)
{
    /* The status listeners speak plain HTTP only: no WebSocket protocol to upgrade to. */
    static struct lws_protocols protocols[2];
    if (!protocols[0].name)
        protocols[0] = (struct lws_protocols){"http", http_callback, 0, 0, 0, NULL, 0};
    return protocols;
}

const struct lws_protocols *xgw_http_protocols(void)
{
    /* Per-session sizes come from the modules that own those structs; the table is filled once
     * before the first vhost is created and never changes afterwards. */
    static struct lws_protocols protocols[3];
    if (!protocols[0].name) {
        protocols[0] =
            (struct lws_protocols){"http", http_callback, xgw_bosh_http_conn_size(), 0, 0, NULL, 0};
        protocols[1] =
            (struct lws_protocols){"xmpp", xgw_ws_callback, xgw_ws_conn_size(), 4096, 0, NULL, 0};
    }
    return protocols;
}
