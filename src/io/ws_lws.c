/* SPDX-License-Identifier: MIT */
/* RFC 7395 over libwebsockets: handshake policy (path, "xmpp" subprotocol, Origin, version),
 * message reassembly and parsing, the per-connection send queue, server pings, and the
 * transport ops the session core calls. */
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "io.h"
#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/limits.h"
#include "xgw/log.h"
#include "xgw/ns.h"
#include "xgw/session.h"
#include "xgw/stream.h"
#include "xgw/ws_xmpp.h"

struct ws_msg {
    struct ws_msg *next;
    size_t len;
    bool is_ping;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the payload */
};

/* Per-connection state; lws allocates it (per_session_data_size) and frees it after CLOSED. */
struct ws_conn {
    struct lws *wsi;
    struct xgw_io *io;
    struct xgw_session *session; /* NULL once detached */
    struct ws_conn *prev, *next; /* every live connection, for pings and shutdown */
    struct ws_msg *head, *tail;
    size_t queued;
    struct xgw_buf rx;  /* reassembly of one fragmented message */
    bool rx_discard;    /* the current message passed the cap: drop it */
    bool opened;        /* our <open/> went out */
    bool client_opened; /* the client's first <open/> arrived */
    bool ending;        /* the stream is over: flush the queue, then Close */
    bool closed_by_client;
    bool close_sent; /* our Close frame is out */
    bool killed;     /* socket shut down; waiting for lws to notice */
    uint64_t close_sent_ms;
    uint16_t close_code;
    uint64_t established_ms;
    uint64_t last_rx_ms;
    uint64_t ping_sent_ms; /* 0 when no ping is outstanding */
    char peer[64];
    char to[256]; /* the client's requested domain, for an <open/> before an error */
};

static struct ws_conn *conn_list(struct xgw_io *io)
{
    return io->ws_conns;
}

static void enqueue(struct ws_conn *c, const char *data, size_t len, bool is_ping)
{
    struct ws_msg *m = xgw_malloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    m->is_ping = is_ping;
    memcpy(m->data + LWS_PRE, data, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    lws_callback_on_writable(c->wsi);
}

static void enqueue_buf(struct ws_conn *c, struct xgw_buf *b)
{
    enqueue(c, b->data, b->len, false);
    xgw_buf_reset(b);
}

/* ---- transport ops (called by the session core) ------------------------------------------ */

static void t_stream_open(void *transport, const struct xgw_stream_header *header)
{
    struct ws_conn *c = transport;
    struct xgw_buf b;
    xgw_buf_init(&b, 4096);
    if (xgw_ws_open_build(&b, header) == XGW_OK)
        enqueue_buf(c, &b);
    xgw_buf_cleanup(&b);
    c->opened = true;
}

static void t_element(void *transport, const char *bytes, size_t len)
{
    struct ws_conn *c = transport;
    if (!c->ending)
        enqueue(c, bytes, len, false);
}

static void t_end(void *transport, enum xgw_stream_cond cond, const char *error, size_t error_len)
{
    struct ws_conn *c = transport;
    if (c->ending)
        return;
    c->ending = true;
    struct xgw_buf b;
    xgw_buf_init(&b, 4096);
    if ((cond != XGW_SC_NONE || error) && !c->opened) {
        /* RFC 7395 §3.5, WS-34/35: an error during opening still comes after an <open/>. */
        /* 'from' must be authoritative or empty (RFC 6120 §4.9.1.3): empty for host-unknown. */
        struct xgw_stream_header h = {.from = cond == XGW_SC_HOST_UNKNOWN ? "" : c->to,
                                      .id = xgw_session_id(c->session)};
        if (xgw_ws_open_build(&b, &h) == XGW_OK)
            enqueue_buf(c, &b);
    }
    if (error) {
        enqueue(c, error, error_len, false);
    } else if (cond != XGW_SC_NONE && xgw_stream_error_build(&b, cond, NULL) == XGW_OK) {
        enqueue_buf(c, &b);
    }
    if (!c->closed_by_client && xgw_ws_close_build(&b, NULL) == XGW_OK)
        enqueue_buf(c, &b);
    xgw_buf_cleanup(&b);
    c->close_code =
        cond == XGW_SC_SYSTEM_SHUTDOWN ? LWS_CLOSE_STATUS_GOINGAWAY : LWS_CLOSE_STATUS_NORMAL;
    lws_callback_on_writable(c->wsi);
}

static size_t t_queued_bytes(void *transport)
{
    return ((struct ws_conn *)transport)->queued;
}

static const struct xgw_transport_ops ws_transport_ops = {
    .stream_open = t_stream_open,
    .element = t_element,
    .end = t_end,
    .queued_bytes = t_queued_bytes,
};

/* ---- receiving ---------------------------------------------------------------------------- */

static void copy_attr(char *dst, size_t dst_len, const char *src)
{
    snprintf(dst, dst_len, "%s", src ? src : "");
}

static void handle_message(struct ws_conn *c)
{
    struct xgw_xml_limits limits = {.max_bytes = c->io->cfg->max_stanza_bytes,
                                    .max_depth = XGW_MAX_XML_DEPTH};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    if (xgw_xml_parse_document(c->rx.data, c->rx.len, &limits, &root, &cond) != XGW_OK) {
        XGW_LOG_INFO("sid=%s peer=%s bad client message: %s", xgw_session_id(c->session), c->peer,
                     xgw_stream_cond_name(cond));
        xgw_session_client_error(c->session, cond);
        return;
    }
    switch (xgw_ws_classify(root, &cond)) {
    case XGW_WS_MSG_OPEN: {
        const char *to = xgw_xml_attr_get(root, NULL, "to");
        c->client_opened = true;
        if (!c->opened && !c->to[0])
            copy_attr(c->to, sizeof(c->to), to);
        xgw_session_client_open(c->session, to, xgw_xml_attr_get(root, XGW_NS_XML, "lang"),
                                xgw_xml_attr_get(root, NULL, "from"));
        break;
    }
    case XGW_WS_MSG_CLOSE:
        xgw_session_client_close(c->session);
        break;
    case XGW_WS_MSG_STANZA:
        xgw_session_client_element(c->session, root, 0);
        break;
    case XGW_WS_MSG_BAD:
        xgw_session_client_error(c->session, cond);
        break;
    }
    xgw_xml_node_free(root);
}

/* Fails the WebSocket connection with `code` (RFC 6455 §7.1.7): queued XMPP data still goes
 * out, then our Close frame; client input is ignored from now on. */
static void start_close(struct ws_conn *c, uint16_t code)
{
    c->ending = true;
    c->close_code = code;
    lws_callback_on_writable(c->wsi);
    /* The XMPP stream dies with the connection: close upstream now, not when TCP is gone
     * (CM-06). The session's end() call is ignored because we are already ending. */
    if (c->session)
        xgw_session_client_error(c->session, XGW_SC_BAD_FORMAT);
}

static int on_receive(struct ws_conn *c, const char *in, size_t len)
{
    c->last_rx_ms = uv_now(&c->io->loop);
    if (lws_get_reserved_bits(c->wsi)) {
        /* WS-17: no extension is negotiated, so RSV bits are a protocol error. WS-24: nothing
         * of this frame or later ones is processed. */
        if (!c->ending)
            start_close(c, LWS_CLOSE_STATUS_PROTOCOL_ERR);
        return 0;
    }
    if (lws_frame_is_binary(c->wsi)) {
        /* RFC 7395 §3.2, WS-13: XMPP messages are text only. */
        if (!c->ending)
            start_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
        return 0;
    }
    bool last = lws_is_final_fragment(c->wsi) && lws_remaining_packet_payload(c->wsi) == 0;
    if (c->ending || !c->session)
        return 0; /* WS-20: after our close starts, client data is ignored */
    /* The frame header announces the rest of the payload: refuse an oversized message before
     * its bytes arrive (WS-22: a 2^40-byte announcement costs nothing). */
    size_t announced = lws_remaining_packet_payload(c->wsi);
    bool too_big = announced > c->rx.max || c->rx.len + len > c->rx.max - announced;
    if (!c->rx_discard && (too_big || xgw_buf_append(&c->rx, in, len) != XGW_OK)) {
        /* WS-22: caught while the message is still arriving; nothing large is allocated. */
        c->rx_discard = true;
        XGW_LOG_INFO("sid=%s peer=%s message over limits.max_stanza_bytes (%zu)",
                     xgw_session_id(c->session), c->peer, c->io->cfg->max_stanza_bytes);
        xgw_session_client_error(c->session, XGW_SC_POLICY_VIOLATION);
    }
    if (!last)
        return 0;
    if (!c->rx_discard)
        handle_message(c);
    c->rx_discard = false;
    xgw_buf_reset(&c->rx);
    return 0;
}

/* ---- sending ------------------------------------------------------------------------------ */

static int on_writeable(struct ws_conn *c)
{
    struct ws_msg *m = c->head;
    if (m) {
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued -= m->len;
        int n = lws_write(c->wsi, m->data + LWS_PRE, m->len,
                          m->is_ping ? LWS_WRITE_PING : LWS_WRITE_TEXT);
        xgw_free(m);
        if (n < 0)
            return -1;
        if (c->head || c->ending)
            lws_callback_on_writable(c->wsi);
        else if (c->session)
            xgw_session_client_writable(c->session);
        return 0;
    }
    if (c->ending && !c->close_sent) {
        /* RFC 7395 §3.6: after <close/>, the closing party starts the WebSocket close. We write
         * the Close frame ourselves: with the libuv event lib, lws 4.1's own polite close path
         * (lws_close_reason + return -1) re-enters its close and drops the socket before the
         * frame goes out. lws_write(LWS_WRITE_CLOSE) is not public in 4.1, hence a raw frame. */
        unsigned char frame[LWS_PRE + 4];
        frame[LWS_PRE] = 0x88; /* FIN + Close; server frames are never masked (WS-11) */
        frame[LWS_PRE + 1] = 2;
        frame[LWS_PRE + 2] = (unsigned char)(c->close_code >> 8);
        frame[LWS_PRE + 3] = (unsigned char)(c->close_code & 0xff);
        c->close_sent = true;
        if (lws_write(c->wsi, frame + LWS_PRE, 4, LWS_WRITE_RAW) < 0)
            return -1;
        /* The client's Close came first: both sides are done. After a protocol failure
         * (1002, 1003, 1007, 1009) RFC 6455 §7.1.7 wants the Close frame and then the TCP close,
         * without waiting for an answer. */
        if (c->closed_by_client || (c->close_code != LWS_CLOSE_STATUS_NORMAL &&
                                    c->close_code != LWS_CLOSE_STATUS_GOINGAWAY))
            return -1;
        /* WS-39: wait a bounded time for the client's Close (xgw_ws_ping_tick drops it). */
        c->close_sent_ms = uv_now(&c->io->loop);
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void conn_link(struct ws_conn *c)
{
    c->next = c->io->ws_conns;
    if (c->next)
        c->next->prev = c;
    c->io->ws_conns = c;
}

static void conn_unlink(struct ws_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->io->ws_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static int on_established(struct ws_conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->io = xgw_io_of(wsi);
    xgw_http_client_addr(wsi, c->peer, sizeof(c->peer));
    xgw_buf_init(&c->rx, c->io->cfg->max_stanza_bytes);
    c->last_rx_ms = uv_now(&c->io->loop);
    c->established_ms = c->last_rx_ms;
    conn_link(c);
    enum xgw_stream_cond cond = XGW_SC_NONE;
    c->session =
        xgw_session_new(&c->io->gw, XGW_TRANSPORT_WS, &ws_transport_ops, c, c->peer, &cond);
    if (!c->session) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
        return -1;
    }
    return 0;
}

static void on_closed(struct ws_conn *c)
{
    if (!c->io)
        return; /* ESTABLISHED never ran */
    conn_unlink(c);
    while (c->head) {
        struct ws_msg *m = c->head;
        c->head = m->next;
        xgw_free(m);
    }
    c->tail = NULL;
    xgw_buf_cleanup(&c->rx);
    if (c->session) {
        struct xgw_session *s = c->session;
        c->session = NULL;
        xgw_session_detach(s);
    }
    c->io = NULL;
}

/* Drops a connection whose peer stopped answering. lws_set_timeout() is not used: its lws_sul
 * timers armed from libuv callbacks fire late or not at all (design.md pitfall 13). Shutting the
 * socket down makes lws see EOF on its next poll and close the wsi through its normal path. */
static void conn_kill(struct ws_conn *c, const char *why)
{
    XGW_LOG_INFO("sid=%s peer=%s %s: closing the connection",
                 c->session ? xgw_session_id(c->session) : "-", c->peer, why);
    shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
    c->killed = true;
}

/* Pings idle connections, drops those that stopped answering (WS-19) and those that never
 * answered our Close (WS-39), and ends sessions whose client never sent <open/> (CM-12: an
 * idle socket must not hold a session slot forever). Runs from a one-second libuv timer;
 * O(connections) per tick. */
void xgw_ws_ping_tick(struct xgw_io *io)
{
    uint64_t now = uv_now(&io->loop);
    uint64_t interval = (uint64_t)io->cfg->ws_ping_interval_s * 1000;
    uint64_t pong_timeout = (uint64_t)io->cfg->ws_pong_timeout_s * 1000;
    uint64_t close_timeout = (uint64_t)io->cfg->close_timeout_s * 1000;
    uint64_t open_timeout = (uint64_t)io->cfg->ws_open_timeout_s * 1000;
    for (struct ws_conn *c = conn_list(io); c; c = c->next) {
        if (c->killed)
            continue;
        if (!c->client_opened && c->session && !c->ending &&
            now - c->established_ms >= open_timeout) {
            XGW_LOG_INFO("sid=%s peer=%s no <open/> within websocket.open_timeout_s (%u s)",
                         xgw_session_id(c->session), c->peer, io->cfg->ws_open_timeout_s);
            c->client_opened = true; /* once */
            xgw_session_client_error(c->session, XGW_SC_CONNECTION_TIMEOUT);
            continue;
        }
        if (c->close_sent && now - c->close_sent_ms >= close_timeout)
            conn_kill(c, "no Close reply");
        else if (c->ping_sent_ms && now - c->ping_sent_ms >= pong_timeout)
            conn_kill(c, "no pong");
        else if (interval && !c->ping_sent_ms && !c->ending && now - c->last_rx_ms >= interval) {
            c->ping_sent_ms = now;
            enqueue(c, "xmppgw", 6, true); /* lws drops empty pongs before our callback */
        }
    }
}

void xgw_ws_shutdown_all(struct xgw_io *io)
{
    for (struct ws_conn *c = conn_list(io); c; c = c->next) {
        if (c->session)
            xgw_session_shutdown(c->session);
    }
}

int xgw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct ws_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(c, wsi);
    case LWS_CALLBACK_RECEIVE:
        return on_receive(c, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        c->ping_sent_ms = 0;
        c->last_rx_ms = uv_now(&c->io->loop);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* The answer to our Close: done, close TCP without echoing it again. */
        if (c->close_sent)
            return 1;
        /* WS-20: lws echoes the Close and closes TCP; the XMPP stream is implicitly closed
         * (RFC 7395 §3.6), which the session learns from CLOSED. */
        c->closed_by_client = true;
        return 0;
    case LWS_CALLBACK_CLOSED:
        on_closed(c);
        return 0;
    default:
        return 0;
    }
}

/* ---- the HTTP side of the handshake ------------------------------------------------------- */

/* True if the comma-separated Sec-WebSocket-Protocol values contain the token "xmpp". */
static bool offers_xmpp(struct lws *wsi)
{
    char value[512];
    for (int frag = 0; frag < 16; frag++) {
        int n = lws_hdr_copy_fragment(wsi, value, sizeof(value), WSI_TOKEN_PROTOCOL, frag);
        if (n <= 0)
            break;
        for (char *tok = value; *tok;) {
            tok += strspn(tok, " \t,");
            size_t tok_len = strcspn(tok, " \t,");
            if (tok_len == 4 && memcmp(tok, "xmpp", 4) == 0)
                return true;
            tok += tok_len;
        }
    }
    return false;
}

static bool origin_allowed(struct lws *wsi, const struct xgw_config *cfg)
{
    if (cfg->ws_allowed_origin_count == 0)
        return true;
    char origin[256];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        return false;
    for (size_t i = 0; i < cfg->ws_allowed_origin_count; i++) {
        if (strcmp(origin, cfg->ws_allowed_origins[i]) == 0)
            return true;
    }
    return false;
}

/* RFC 6455 §4.2.1: Sec-WebSocket-Key must be base64 of exactly 16 bytes (24 characters, "=="
 * padding). lws 4.1 accepts other lengths, so check here (WS-03). */
static bool key_valid(struct lws *wsi)
{
    char key[64];
    unsigned char raw[64];
    int n = lws_hdr_copy(wsi, key, sizeof(key), WSI_TOKEN_KEY);
    if (n != 24 || key[22] != '=' || key[23] != '=')
        return false;
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

int xgw_ws_confirm_upgrade(struct lws *wsi)
{
    struct xgw_io *io = xgw_io_of(wsi);
    const struct xgw_config *cfg = io->cfg;
    char uri[512], version[16];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, cfg->ws_path))
        return xgw_http_reply(wsi, 404, NULL, NULL, "Not Found\n"); /* WS-07 */
    if (lws_hdr_copy(wsi, version, sizeof(version), WSI_TOKEN_VERSION) <= 0 || !key_valid(wsi))
        return xgw_http_reply(wsi, 400, NULL, NULL, "Bad WebSocket handshake\n"); /* WS-03 */
    if (strcmp(version, "13") != 0)                                               /* WS-04 */
        return xgw_http_reply(wsi, 426, "sec-websocket-version:", "13",
                              "Unsupported WebSocket version; use 13\n");
    if (!offers_xmpp(wsi)) /* WS-02 */
        return xgw_http_reply(wsi, 400, NULL, NULL,
                              "This endpoint speaks XMPP over WebSocket (RFC 7395): "
                              "Sec-WebSocket-Protocol must offer 'xmpp'\n");
    if (!origin_allowed(wsi, cfg)) /* WS-06 */
        return xgw_http_reply(wsi, 403, NULL, NULL, "Origin not allowed\n");
    if (io->gw.shutting_down || io->gw.session_count >= cfg->max_sessions) { /* CM-07 */
        io->gw.stats.sessions_refused[io->gw.shutting_down ? XGW_REFUSED_SHUTDOWN
                                                           : XGW_REFUSED_MAX_SESSIONS]++;
        return xgw_http_reply(wsi, 503, NULL, NULL, "Service unavailable, try again later\n");
    }
    char peer[64];
    xgw_http_client_addr(wsi, peer, sizeof(peer));
    if (xgw_session_peer_full(&io->gw, peer)) { /* CM-08 */
        io->gw.stats.sessions_refused[XGW_REFUSED_MAX_PER_IP]++;
        XGW_LOG_NOTICE("peer=%s WebSocket refused: limits.max_sessions_per_ip (%u) reached", peer,
                       cfg->max_sessions_per_ip);
        return xgw_http_reply(wsi, 429, NULL, NULL, "Too many sessions from your address\n");
    }
    return 0;
}

size_t xgw_ws_conn_size(void)
{
    return sizeof(struct ws_conn);
}
