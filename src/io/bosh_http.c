/* SPDX-License-Identifier: MIT */
/* BOSH over libwebsockets (XEP-0124 §5): POST bodies read to a cap, deferred responses written
 * when the BOSH layer answers, CORS and preflight, detection of clients that leave while their
 * request is held, and one libuv timer per BOSH session. The protocol logic is in
 * session/bosh_session.c; this file only moves bytes and events. */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "io.h"
#include "xgw/alloc.h"
#include "xgw/bosh_session.h"
#include "xgw/buf.h"
#include "xgw/log.h"

enum conn_state {
    C_IDLE = 0, /* not a BOSH request (lws zeroes the per-request data) */
    C_READING,  /* collecting the POST body */
    C_WAITING,  /* handed to the BOSH layer, no answer yet (a held request) */
    C_READY,    /* the answer is stored; waiting for the socket to be writable */
    C_DONE,     /* answered */
    C_DROP,     /* to be closed without an answer (BOSH-81) */
};

/* Per-request state: lws allocates it as the "http" protocol's per-session data. */
struct xgw_bosh_conn {
    struct lws *wsi;
    struct xgw_io *io;
    enum conn_state state;
    bool oversize;
    bool bad_encoding;
    bool body_completed; /* LWS_CALLBACK_HTTP_BODY_COMPLETION seen */
    struct xgw_buf body;
    unsigned status;
    char content_type[128];
    unsigned char *response; /* owned; LWS_PRE bytes of headroom, then the body */
    size_t response_len;
    char allow_origin[300]; /* Access-Control-Allow-Origin value, "" for none */
    char peer[64];
};

struct bosh_timer {
    uv_timer_t handle;
    struct xgw_io *io;
    struct xgw_bosh_session *bs; /* NULL once the session is released */
};

size_t xgw_bosh_http_conn_size(void)
{
    return sizeof(struct xgw_bosh_conn);
}

bool xgw_bosh_http_owns(const struct xgw_bosh_conn *conn)
{
    return conn->state != C_IDLE;
}

/* ---- CORS --------------------------------------------------------------------------------- */

/* BOSH-11: '*' when no origins are configured (BOSH carries no cookies or HTTP credentials);
 * otherwise the request's Origin when it is listed, else no CORS header at all. */
static void cors_origin(struct lws *wsi, const struct xgw_config *cfg, char *out, size_t out_len)
{
    out[0] = '\0';
    if (cfg->bosh_allowed_origin_count == 0) {
        snprintf(out, out_len, "*");
        return;
    }
    char origin[256];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        return;
    for (char *p = origin; *p; p++)
        *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    for (size_t i = 0; i < cfg->bosh_allowed_origin_count; i++) {
        if (strcmp(origin, cfg->bosh_allowed_origins[i]) == 0) {
            snprintf(out, out_len, "%s", origin);
            return;
        }
    }
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_cors(struct lws *wsi, const char *allow_origin, unsigned char **p,
                    unsigned char *end)
{
    if (!allow_origin[0])
        return 0;
    if (add_header(wsi, "access-control-allow-origin:", allow_origin, p, end))
        return -1;
    /* A specific origin makes the answer depend on the request's Origin header. */
    if (strcmp(allow_origin, "*") != 0 && add_header(wsi, "vary:", "Origin", p, end))
        return -1;
    return 0;
}

int xgw_bosh_http_preflight(struct xgw_io *io, struct lws *wsi)
{
    char allow_origin[300];
    cors_origin(wsi, io->cfg, allow_origin, sizeof(allow_origin));
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_header_status(wsi, 204, &p, end) || add_cors(wsi, allow_origin, &p, end) ||
        add_header(wsi, "access-control-allow-methods:", "POST, OPTIONS", &p, end) ||
        add_header(wsi, "access-control-allow-headers:", "Content-Type", &p, end) ||
        add_header(wsi, "access-control-max-age:", "86400", &p, end) ||
        lws_add_http_header_content_length(wsi, 0, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- requests ----------------------------------------------------------------------------- */

static void conn_release(struct xgw_bosh_conn *conn)
{
    xgw_buf_cleanup(&conn->body);
    xgw_free(conn->response);
    conn->response = NULL;
}

/* Hands the body to the BOSH layer. -1: close the connection now (the BOSH layer dropped it). */
static int dispatch(struct xgw_bosh_conn *conn)
{
    struct xgw_io *io = conn->io;
    conn->state = C_WAITING;
    if (conn->oversize) {
        XGW_LOG_INFO("peer=%s BOSH body over bosh.max_body_bytes (%zu)", conn->peer,
                     io->cfg->bosh_max_body_bytes);
        xgw_bosh_reject(io->bosh, conn, XGW_BOSH_COND_POLICY_VIOLATION);
    } else if (conn->bad_encoding) {
        /* BOSH-07: no 'accept' was advertised, so compressed bodies are refused. */
        xgw_bosh_reject(io->bosh, conn, XGW_BOSH_COND_BAD_REQUEST);
    } else {
        xgw_bosh_handle(io->bosh, conn, conn->body.data ? conn->body.data : "", conn->body.len,
                        conn->peer, lws_is_ssl(conn->wsi) != 0, uv_now(&io->loop));
    }
    xgw_buf_cleanup(&conn->body); /* the BOSH layer parsed it; nothing keeps a pointer */
    return conn->state == C_DROP ? -1 : 0;
}

static bool encoded_body(struct lws *wsi)
{
    char coding[64];
    if (lws_hdr_copy(wsi, coding, sizeof(coding), WSI_TOKEN_HTTP_CONTENT_ENCODING) <= 0)
        return false;
    return strcmp(coding, "identity") != 0;
}

int xgw_bosh_http_begin(struct xgw_io *io, struct lws *wsi, struct xgw_bosh_conn *conn)
{
    memset(conn, 0, sizeof(*conn));
    /* libwebsockets 4.1 never completes a chunked request body: the request would hang.
     * Browsers always send a Content-Length for XHR/fetch bodies (RFC 9110 §15.5.12). */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        char peer[64];
        lws_get_peer_simple(wsi, peer, sizeof(peer));
        XGW_LOG_INFO("peer=%s BOSH request with Transfer-Encoding refused (411)", peer);
        (void)xgw_http_reply(wsi, 411, NULL, NULL,
                             "BOSH requests need a Content-Length (no Transfer-Encoding)\n");
        return -1;
    }
    conn->wsi = wsi;
    conn->io = io;
    conn->state = C_READING;
    xgw_http_client_addr(wsi, conn->peer, sizeof(conn->peer));
    /* One byte over the cap tells an oversized body apart without keeping it. */
    xgw_buf_init(&conn->body, io->cfg->bosh_max_body_bytes + 1);
    conn->bad_encoding = encoded_body(wsi);
    cors_origin(wsi, io->cfg, conn->allow_origin, sizeof(conn->allow_origin));
    /* Without a body lws sends no completion event: answer at once (BOSH-83). */
    char length[24] = "";
    bool has_length = lws_hdr_copy(wsi, length, sizeof(length), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    if (!has_length || strcmp(length, "0") == 0)
        return dispatch(conn);
    return 0;
}

static int write_response(struct lws *wsi, struct xgw_bosh_conn *conn)
{
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    /* BOSH-02: Content-Length, never chunked; BOSH-04/05: the session's Content-Type. */
    if (lws_add_http_common_headers(wsi, conn->status, conn->content_type, conn->response_len, &p,
                                    end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
        add_cors(wsi, conn->allow_origin, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    int n = lws_write(wsi, conn->response + LWS_PRE, conn->response_len, LWS_WRITE_HTTP_FINAL);
    conn->state = C_DONE;
    conn_release(conn);
    if (n < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int xgw_bosh_http_event(struct lws *wsi, struct xgw_bosh_conn *conn,
                        enum lws_callback_reasons reason, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP_BODY:
        if (conn->state == C_READING && !conn->oversize &&
            xgw_buf_append(&conn->body, in, len) != XGW_OK)
            conn->oversize = true;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!conn->body_completed) {
            /* Also seen once for a request without a body, already dispatched by begin(). */
            conn->body_completed = true;
            if (conn->state != C_READING)
                return 0;
            int rc = dispatch(conn);
            /* Every header this request needs was read in begin(). A held request must not
             * keep its header table: lws 4.1 frees one by walking the list of all of them, so
             * each request would cost O(held requests), and each table is 16 KiB. */
            if (rc == 0 && conn->state == C_WAITING)
                lws_http_headers_detach(wsi);
            return rc;
        }
        /* BOSH-09: a second completion means another request was pipelined behind this one,
         * still unanswered. lws 4.1 keeps re-delivering the event in a busy loop until the
         * first is answered, and then loses track of the second. XEP-0124 §18.1 says clients
         * must not rely on pipelining (nor may POSTs be pipelined, RFC 9112 §9.3.2): close the
         * connection as if the client had left; the client resends both requests (a held one
         * keeps its place, E-02). */
        if (conn->state == C_WAITING || conn->state == C_READY) {
            XGW_LOG_INFO("peer=%s pipelined HTTP request behind an unanswered BOSH request: "
                         "closing the connection",
                         conn->peer);
            if (conn->state == C_WAITING)
                xgw_bosh_conn_gone(conn->io->bosh, conn, uv_now(&conn->io->loop));
            conn_release(conn);
            conn->state = C_IDLE;
            return -1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return conn->state == C_READY ? write_response(wsi, conn) : 0;
    default: /* CLOSED_HTTP, HTTP_DROP_PROTOCOL */
        if (conn->state == C_WAITING) {
            /* The client left while its request was held: forget it (the BOSH layer keeps
             * the queued data for the next request). */
            xgw_bosh_conn_gone(conn->io->bosh, conn, uv_now(&conn->io->loop));
        }
        conn_release(conn);
        conn->state = C_IDLE;
        return 0;
    }
}

/* ---- host ops ----------------------------------------------------------------------------- */

static void h_respond(void *host, struct xgw_bosh_conn *conn, unsigned status,
                      const char *content_type, const char *body, size_t len)
{
    (void)host;
    conn->status = status;
    snprintf(conn->content_type, sizeof(conn->content_type), "%s", content_type);
    conn->response = xgw_malloc(LWS_PRE + len);
    memcpy(conn->response + LWS_PRE, body, len);
    conn->response_len = len;
    conn->state = C_READY;
    lws_callback_on_writable(conn->wsi);
}

static void h_drop(void *host, struct xgw_bosh_conn *conn)
{
    (void)host;
    conn->state = C_DROP; /* dispatch() tells lws to close the connection */
}

static void on_bosh_timer(uv_timer_t *handle)
{
    struct bosh_timer *t = handle->data;
    if (t->bs)
        xgw_bosh_session_tick(t->bs, uv_now(&t->io->loop));
}

static void h_schedule(void *host, struct xgw_bosh_session *bs, uint64_t deadline_ms)
{
    struct xgw_io *io = host;
    void **slot = xgw_bosh_session_host_slot(bs);
    struct bosh_timer *t = *slot;
    if (deadline_ms == UINT64_MAX) {
        if (t)
            uv_timer_stop(&t->handle);
        return;
    }
    if (!t) {
        t = xgw_calloc(1, sizeof(*t));
        t->io = io;
        t->bs = bs;
        uv_timer_init(&io->loop, &t->handle);
        t->handle.data = t;
        *slot = t;
    }
    uint64_t now = uv_now(&io->loop);
    uv_timer_start(&t->handle, on_bosh_timer, deadline_ms > now ? deadline_ms - now : 0, 0);
}

static void on_timer_closed(uv_handle_t *handle)
{
    xgw_free(handle->data);
}

static void h_released(void *host, struct xgw_bosh_session *bs)
{
    (void)host;
    void **slot = xgw_bosh_session_host_slot(bs);
    struct bosh_timer *t = *slot;
    if (!t)
        return;
    t->bs = NULL;
    *slot = NULL;
    uv_close((uv_handle_t *)&t->handle, on_timer_closed);
}

static void h_sha1_hex(const char *data, size_t len, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)data, len, digest);
    for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[40] = '\0';
}

static const struct xgw_bosh_host_ops host_ops = {
    .respond = h_respond,
    .schedule = h_schedule,
    .released = h_released,
    .drop = h_drop,
    .sha1_hex = h_sha1_hex,
};

struct xgw_bosh *xgw_bosh_http_new(struct xgw_io *io)
{
    const struct xgw_config *cfg = io->cfg;
    struct xgw_bosh_settings settings = {
        .max_wait_s = cfg->bosh_max_wait_s,
        .default_wait_s = cfg->bosh_max_wait_s,
        .max_hold = cfg->bosh_max_hold,
        .inactivity_s = cfg->bosh_inactivity_s,
        .polling_s = cfg->bosh_polling_s,
        .maxpause_s = cfg->bosh_maxpause_s,
        .max_body_bytes = cfg->bosh_max_body_bytes,
        .max_queue_bytes = cfg->max_queue_bytes,
    };
    return xgw_bosh_new(&io->gw, &settings, &host_ops, io);
}
