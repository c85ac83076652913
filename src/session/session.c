/* SPDX-License-Identifier: MIT */
/* Transport-neutral session: one client transport <-> one upstream c2s stream (RFC 6120 as the
 * initiating entity; RFC 7395 / XEP-0206 on the client side through struct xgw_transport_ops). */
#include "xgw/session.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/gateway.h"
#include "xgw/jid.h"
#include "xgw/log.h"
#include "xgw/ns.h"
#include "xgw/stream.h"
#include "xgw/upstream_conn.h"
#include "xgw/xml_write.h"
#include "xgw/features.h"
#include "xgw/limits.h"

enum session_state {
    S_IDLE,        /* waiting for the client's first open */
    S_CONNECTING,  /* resolve + TCP connect (+ direct TLS) */
    S_NEGOTIATING, /* our header is out; waiting for the server's header and features */
    S_STARTTLS,    /* <starttls/> sent or handshake running */
    S_OPEN,        /* relaying stanzas both ways */
    S_CLOSING,     /* we sent </stream:stream>; waiting for the server's */
    S_ENDED,       /* the transport was told; only teardown remains */
};

struct stored_header {
    char *id, *from, *to, *version, *lang; /* owned */
};

struct xgw_session {
    struct xgw_gateway *gw; /* borrowed */
    struct xgw_session *prev, *next;
    char sid[40];
    char peer[64];
    enum xgw_session_transport_kind kind;
    enum session_state state;

    const struct xgw_transport_ops *ops; /* borrowed */
    void *transport;                     /* borrowed; NULL once detached */

    const struct xgw_route *route; /* borrowed from the config */
    struct xgw_upstream_conn *up;  /* owned; NULL once released */
    struct xgw_framer *framer;     /* owned */
    struct xgw_buf pending;        /* client elements received before the stream is open */
    struct xgw_buf scratch;        /* serialisation buffer, reused */
    struct stored_header header;   /* the server's latest header */
    char *to, *lang, *from;        /* owned; from the client's open */

    bool secure;       /* TLS protects the upstream link */
    bool negotiated;   /* past the STARTTLS decision: headers/features go to the client */
    bool header_sent;  /* our stream header is out on the current TCP connection */
    bool footer_sent;  /* we sent </stream:stream> */
    bool restart_due;  /* SASL <success/> seen: the next client open is a restart */
    bool sm_resumable; /* XEP-0198 <enabled resume='true'/> seen (WS-40, CM-06) */
    bool read_paused;  /* back-pressure: the framer is suspended */
    bool in_dead_list;
    bool authenticated; /* restarted after SASL success: whitespace keepalives are allowed */
    size_t bytes_up, bytes_down;
    size_t bytes_up_seen; /* bytes_up at the last tick */
    unsigned idle_ticks;  /* ticks (seconds) with nothing written upstream */
};

#define UP(s) ((s)->gw->upstream)
/* A string literal and its length, for fixed protocol snippets. */
#define LIT(text) text, sizeof(text) - 1

static const char stream_footer[] = "</stream:stream>";

static const char *transport_name(const struct xgw_session *s)
{
    return s->kind == XGW_TRANSPORT_WS ? "ws" : "bosh";
}

static enum xgw_stats_transport stats_kind(const struct xgw_session *s)
{
    return s->kind == XGW_TRANSPORT_WS ? XGW_STATS_WS : XGW_STATS_BOSH;
}

static void header_clear(struct stored_header *h)
{
    xgw_free(h->id);
    xgw_free(h->from);
    xgw_free(h->to);
    xgw_free(h->version);
    xgw_free(h->lang);
    memset(h, 0, sizeof(*h));
}

static void header_store(struct stored_header *dst, const struct xgw_stream_header *src)
{
    header_clear(dst);
    dst->id = xgw_strdup(src->id);
    dst->from = xgw_strdup(src->from);
    dst->to = xgw_strdup(src->to);
    dst->version = xgw_strdup(src->version);
    dst->lang = xgw_strdup(src->lang);
}

static struct xgw_stream_header header_view(const struct stored_header *h)
{
    struct xgw_stream_header v = {h->id, h->from, h->to, h->version, h->lang};
    return v;
}

static void make_sid(struct xgw_session *s)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    size_t got = 0;
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    /* Two hex digits name the owning loop, so a request landing on another loop can be
     * forwarded to it (design.md §2); 128 random bits follow. */
    snprintf(s->sid, sizeof(s->sid), "%02x", s->gw->loop_id & 0xffu);
    for (size_t i = 0; i < sizeof(rnd); i++) {
        s->sid[2 + 2 * i] = hex[rnd[i] >> 4];
        s->sid[3 + 2 * i] = hex[rnd[i] & 15];
    }
    s->sid[2 + 2 * sizeof(rnd)] = '\0';
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void maybe_dead(struct xgw_session *s)
{
    if (s->transport || s->up || s->in_dead_list)
        return;
    struct xgw_gateway *gw = s->gw;
    if (s->prev)
        s->prev->next = s->next;
    else
        gw->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = NULL;
    s->next = gw->dead;
    gw->dead = s;
    s->in_dead_list = true;
    if (gw->on_dead)
        gw->on_dead(gw);
}

static void session_free(struct xgw_session *s)
{
    xgw_framer_free(s->framer);
    xgw_buf_cleanup(&s->pending);
    xgw_buf_cleanup(&s->scratch);
    header_clear(&s->header);
    xgw_free(s->to);
    xgw_free(s->lang);
    xgw_free(s->from);
    s->gw->session_count--;
    s->gw->stats.sessions_live[stats_kind(s)]--;
    xgw_peer_table_remove(&s->gw->peers, s->peer);
    xgw_free(s);
}

void xgw_gateway_tick(struct xgw_gateway *gw)
{
    for (struct xgw_session *s = gw->sessions, *next; s; s = next) {
        next = s->next; /* a session that ends here may leave the list */
        xgw_session_tick(s);
    }
}

void xgw_gateway_sweep(struct xgw_gateway *gw)
{
    while (gw->dead) {
        struct xgw_session *s = gw->dead;
        gw->dead = s->next;
        session_free(s);
    }
}

/* Writes raw bytes upstream; a full write queue ends the session. */
static bool up_write(struct xgw_session *s, const char *data, size_t len);

/* Ends the session once: tells the transport, closes the upstream stream. */
static void session_end(struct xgw_session *s, enum xgw_stream_cond cond, const char *error,
                        size_t error_len, const char *why)
{
    if (s->state == S_ENDED)
        return;
    bool stream_open = s->header_sent;
    s->state = S_ENDED;
    s->gw->stats.sessions_ended[stats_kind(s)][error ? XGW_END_REMOTE_STREAM_ERROR : cond]++;
    XGW_LOG_INFO("session closed sid=%s peer=%s transport=%s reason=%s%s%s bytes_up=%zu "
                 "bytes_down=%zu",
                 s->sid, s->peer, transport_name(s), why, cond ? " condition=" : "",
                 cond ? xgw_stream_cond_name(cond) : "", s->bytes_up, s->bytes_down);
    if (s->transport)
        s->ops->end(s->transport, cond, error, error_len);
    if (s->up) {
        /* RFC 6120 §4.4: close our side of the stream before the TCP connection. */
        if (stream_open && !s->footer_sent)
            (void)up_write(s, LIT(stream_footer));
        s->footer_sent = true;
        UP(s)->close(s->up, true);
    }
}

static bool up_write(struct xgw_session *s, const char *data, size_t len)
{
    if (!s->up)
        return false;
    if (UP(s)->write(s->up, data, len) != XGW_OK) {
        XGW_LOG_WARN("sid=%s upstream write queue full (limits.max_queue_bytes)", s->sid);
        session_end(s, XGW_SC_POLICY_VIOLATION, NULL, 0, "upstream write queue full");
        return false;
    }
    s->bytes_up += len;
    s->gw->stats.bytes_to_server[stats_kind(s)] += len;
    return true;
}

/* ---- upstream stream --------------------------------------------------------------------- */

static void send_header(struct xgw_session *s)
{
    xgw_buf_reset(&s->scratch);
    /* XMPP-02: 'from' only once TLS protects the stream. */
    if (xgw_stream_header_build(&s->scratch, s->to, s->lang, s->secure ? s->from : NULL) !=
        XGW_OK) {
        session_end(s, XGW_SC_INTERNAL_SERVER_ERROR, NULL, 0, "header too large");
        return;
    }
    s->header_sent = true;
    s->state = s->state == S_OPEN ? S_OPEN : S_NEGOTIATING;
    (void)up_write(s, s->scratch.data, s->scratch.len);
}

static void to_client(struct xgw_session *s, const char *bytes, size_t len)
{
    if (!s->transport)
        return;
    s->bytes_down += len;
    s->gw->stats.bytes_to_client[stats_kind(s)] += len;
    s->ops->element(s->transport, bytes, len);
    if (s->ops->queued_bytes(s->transport) >= s->gw->cfg->max_queue_bytes && !s->read_paused) {
        /* Back-pressure: stop at this element boundary until the client drains. */
        s->read_paused = true;
        xgw_framer_pause(s->framer);
    }
}

static void forward_open(struct xgw_session *s)
{
    struct xgw_stream_header h = header_view(&s->header);
    if (s->transport)
        s->ops->stream_open(s->transport, &h);
}

static void flush_pending(struct xgw_session *s)
{
    if (s->pending.len == 0)
        return;
    if (up_write(s, s->pending.data, s->pending.len))
        xgw_buf_reset(&s->pending);
}

static bool plaintext_allowed(const struct xgw_session *s)
{
    if (s->route->allow_plaintext >= 0)
        return s->route->allow_plaintext == 1;
    return UP(s)->is_loopback(s->up);
}

/* Features while negotiating: decide STARTTLS, then hand the stream to the client. */
static void negotiate_features(struct xgw_session *s, const char *bytes, size_t len)
{
    enum xgw_features_tls tls = xgw_features_tls(bytes, len);
    if (!s->secure && tls != XGW_FEATURES_NO_STARTTLS) {
        s->state = S_STARTTLS;
        (void)up_write(s, LIT("<starttls xmlns='" XGW_NS_TLS "'/>"));
        return;
    }
    if (!s->secure && !plaintext_allowed(s)) {
        XGW_LOG_WARN("sid=%s upstream %s offers no STARTTLS and plaintext is not allowed for "
                     "route %s",
                     s->sid, UP(s)->peer(s->up), s->route->domain);
        session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, "no STARTTLS offered");
        return;
    }
    s->negotiated = true;
    s->state = S_OPEN;
    UP(s)->ready(s->up);
    XGW_LOG_INFO("sid=%s upstream stream open upstream=%s tls=%s", s->sid, UP(s)->peer(s->up),
                 s->secure ? "yes" : "no");
    forward_open(s);
}

static void relay_features(struct xgw_session *s, const char *bytes, size_t len)
{
    xgw_buf_reset(&s->scratch);
    enum xgw_err err = xgw_features_filter(bytes, len, &s->scratch);
    if (err == XGW_EAGAIN) {
        to_client(s, bytes, len); /* nothing to strip: pass the exact bytes */
    } else if (err == XGW_OK) {
        to_client(s, s->scratch.data, s->scratch.len);
    } else {
        session_end(s, XGW_SC_UNDEFINED_CONDITION, NULL, 0, "unparsable features");
        return;
    }
    flush_pending(s);
}

static bool is(const char *ns, const char *local, const char *want_ns, const char *want_local)
{
    return strcmp(ns, want_ns) == 0 && strcmp(local, want_local) == 0;
}

static void on_upstream_open(void *user, const struct xgw_stream_header *header)
{
    struct xgw_session *s = user;
    header_store(&s->header, header);
    if (s->negotiated)
        forward_open(s); /* a restart's header; the first one waits for the TLS decision */
}

static void on_upstream_starttls_reply(struct xgw_session *s, const char *ns, const char *local)
{
    if (is(ns, local, XGW_NS_TLS, "proceed")) {
        /* RFC 6120 §5.4.3.3: drop any bytes after <proceed/>, start a new document after TLS. */
        xgw_framer_reset(s->framer);
        s->header_sent = false;
        if (UP(s)->start_tls(s->up) != XGW_OK)
            session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, "TLS setup failed");
        return;
    }
    XGW_LOG_WARN("sid=%s upstream refused STARTTLS (<%s/>)", s->sid, local);
    session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, "STARTTLS failure");
}

static void track_element(struct xgw_session *s, const char *bytes, size_t len, const char *ns,
                          const char *local)
{
    if (is(ns, local, XGW_NS_SASL, "success")) {
        s->restart_due = true;
    } else if (is(ns, local, XGW_NS_SM, "enabled")) {
        s->sm_resumable = xgw_features_sm_resume(bytes, len);
    } else if (is(ns, local, XGW_NS_SM, "resumed")) {
        s->sm_resumable = true;
    }
}

static void on_upstream_element(void *user, const char *bytes, size_t len, const char *ns,
                                const char *local)
{
    struct xgw_session *s = user;
    if (s->state == S_ENDED)
        return;
    if (is(ns, local, XGW_NS_STREAM, "error")) {
        /* RFC 6120 §4.9: relay verbatim (WS-45, TD-6); the server closes after it. */
        session_end(s, XGW_SC_NONE, bytes, len, "upstream stream error");
        return;
    }
    if (s->state == S_STARTTLS) {
        on_upstream_starttls_reply(s, ns, local);
        return;
    }
    bool features = is(ns, local, XGW_NS_STREAM, "features");
    if (features && !s->negotiated) {
        negotiate_features(s, bytes, len);
        if (!s->negotiated)
            return;
    }
    if (!s->negotiated) {
        session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0,
                    "unexpected element before features");
        return;
    }
    track_element(s, bytes, len, ns, local);
    if (features)
        relay_features(s, bytes, len);
    else
        to_client(s, bytes, len);
}

static void on_upstream_close(void *user)
{
    struct xgw_session *s = user;
    /* CM-05: the server closed gracefully; we answer with our own closing tag. */
    session_end(s, XGW_SC_NONE, NULL, 0,
                s->state == S_CLOSING ? "closed by client" : "closed by server");
}

static const struct xgw_framer_ops framer_ops = {
    .on_open = on_upstream_open,
    .on_element = on_upstream_element,
    .on_close = on_upstream_close,
};

/* ---- public API: creation and client events ---------------------------------------------- */

bool xgw_session_peer_full(const struct xgw_gateway *gw, const char *peer)
{
    unsigned cap = gw->cfg->max_sessions_per_ip;
    const struct xgw_config *cfg = gw->cfg;
    return cap > 0 &&
           !xgw_cidr_list_contains(cfg->trusted_proxies, cfg->trusted_proxy_count, peer) &&
           xgw_peer_table_count(&gw->peers, peer) >= cap;
}

struct xgw_session *xgw_session_new(struct xgw_gateway *gw, enum xgw_session_transport_kind kind,
                                    const struct xgw_transport_ops *ops, void *transport,
                                    const char *peer, enum xgw_stream_cond *cond)
{
    if (gw->shutting_down) {
        gw->stats.sessions_refused[XGW_REFUSED_SHUTDOWN]++;
        *cond = XGW_SC_SYSTEM_SHUTDOWN;
        return NULL;
    }
    if (gw->session_count >= gw->cfg->max_sessions) {
        gw->stats.sessions_refused[XGW_REFUSED_MAX_SESSIONS]++;
        XGW_LOG_WARN("session refused peer=%s: limits.max_sessions (%u) reached", peer,
                     gw->cfg->max_sessions);
        *cond = XGW_SC_RESOURCE_CONSTRAINT;
        return NULL;
    }
    if (xgw_session_peer_full(gw, peer)) {
        gw->stats.sessions_refused[XGW_REFUSED_MAX_PER_IP]++;
        XGW_LOG_WARN("session refused peer=%s: limits.max_sessions_per_ip (%u) reached", peer,
                     gw->cfg->max_sessions_per_ip);
        *cond = XGW_SC_POLICY_VIOLATION;
        return NULL;
    }
    struct xgw_session *s = xgw_calloc(1, sizeof(*s));
    s->gw = gw;
    s->kind = kind;
    s->ops = ops;
    s->transport = transport;
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    make_sid(s);
    s->framer = xgw_framer_new(&framer_ops, s, gw->cfg->max_stanza_bytes, XGW_MAX_XML_DEPTH);
    xgw_buf_init(&s->pending, gw->cfg->max_queue_bytes);
    xgw_buf_init(&s->scratch, gw->cfg->max_stanza_bytes + 4096);
    s->next = gw->sessions;
    if (gw->sessions)
        gw->sessions->prev = s;
    gw->sessions = s;
    gw->session_count++;
    gw->stats.sessions_live[stats_kind(s)]++;
    gw->stats.sessions_created[stats_kind(s)]++;
    xgw_peer_table_add(&gw->peers, s->peer);
    XGW_LOG_INFO("session created sid=%s peer=%s transport=%s", s->sid, s->peer, transport_name(s));
    return s;
}

const char *xgw_session_id(const struct xgw_session *s)
{
    return s->sid;
}

static void first_open(struct xgw_session *s, const char *to, const char *lang, const char *from)
{
    if (!to || !*to) {
        session_end(s, XGW_SC_IMPROPER_ADDRESSING, NULL, 0, "open without 'to'");
        return;
    }
    size_t to_len = strlen(to);
    char *domain = xgw_malloc(to_len + 1);
    xgw_jid_domain_normalize(to, to_len, domain, to_len + 1);
    s->route = xgw_jid_domain_valid(to, to_len) ? xgw_config_find_route(s->gw->cfg, domain) : NULL;
    if (!s->route) {
        XGW_LOG_INFO("sid=%s no route for domain '%s'", s->sid, domain);
        xgw_free(domain);
        session_end(s, XGW_SC_HOST_UNKNOWN, NULL, 0, "no route");
        return;
    }
    s->to = domain;
    s->lang = xgw_strdup(lang);
    s->from = from && xgw_jid_valid(from, strlen(from)) ? xgw_strdup(from) : NULL;
    s->state = S_CONNECTING;
    s->up = UP(s)->connect(s->gw, s, s->route);
}

void xgw_session_client_open(struct xgw_session *s, const char *to, const char *lang,
                             const char *from)
{
    if (s->state == S_ENDED)
        return;
    if (s->state == S_IDLE) {
        first_open(s, to, lang, from);
        return;
    }
    if (s->state != S_OPEN || !s->restart_due) {
        /* WS-38/44: one stream per connection; a second open without a restart is refused. */
        session_end(s, XGW_SC_CONFLICT, NULL, 0, "open while a stream is already open");
        return;
    }
    /* XMPP-09/10, WS-37: restart on the same connection, new parser document, no footer. */
    s->restart_due = false;
    s->authenticated = true;
    flush_pending(s);
    xgw_framer_reset(s->framer);
    send_header(s);
}

void xgw_session_client_element(struct xgw_session *s, const struct xgw_xml_node *element,
                                unsigned write_flags)
{
    if (s->state == S_ENDED || s->state == S_CLOSING)
        return;
    if (s->state == S_IDLE) {
        session_end(s, XGW_SC_BAD_FORMAT, NULL, 0, "stanza before open");
        return;
    }
    if (xgw_xml_is(element, XGW_NS_TLS, "starttls") ||
        xgw_xml_is(element, XGW_NS_COMPRESS_PROTO, "compress")) {
        /* WS-36, TD-12: the gateway owns upstream TLS; compression is never offered. */
        session_end(s, XGW_SC_UNSUPPORTED_FEATURE, NULL, 0, "client asked for starttls/compress");
        return;
    }
    xgw_buf_reset(&s->scratch);
    if (xgw_xml_write_element(&s->scratch, element, write_flags) != XGW_OK) {
        session_end(s, XGW_SC_POLICY_VIOLATION, NULL, 0, "client element too large");
        return;
    }
    if (s->state == S_OPEN && s->negotiated) {
        (void)up_write(s, s->scratch.data, s->scratch.len);
        return;
    }
    /* Before the server's features reach the client; keep order, bounded. */
    if (xgw_buf_append(&s->pending, s->scratch.data, s->scratch.len) != XGW_OK)
        session_end(s, XGW_SC_POLICY_VIOLATION, NULL, 0, "too much data before stream open");
}

void xgw_session_client_close(struct xgw_session *s)
{
    if (s->state == S_ENDED || s->state == S_CLOSING)
        return;
    if (s->state != S_OPEN) {
        session_end(s, XGW_SC_NONE, NULL, 0, "closed by client before stream open");
        return;
    }
    /* WS-39, XMPP-11: close our side, keep relaying until the server's closing tag. */
    flush_pending(s);
    s->state = S_CLOSING;
    if (up_write(s, LIT(stream_footer))) {
        s->footer_sent = true;
        UP(s)->set_timeout(s->up, s->gw->cfg->close_timeout_s);
    }
}

void xgw_session_client_error(struct xgw_session *s, enum xgw_stream_cond cond)
{
    session_end(s, cond, NULL, 0, "client protocol error");
}

void xgw_session_detach(struct xgw_session *s)
{
    s->transport = NULL;
    if (s->state != S_ENDED) {
        if (s->sm_resumable && s->up) {
            /* WS-40: no closing tag, so the server keeps the session resumable. */
            s->footer_sent = true;
            XGW_LOG_INFO("sid=%s client gone; leaving the stream resumable", s->sid);
        }
        session_end(s, XGW_SC_NONE, NULL, 0, "client connection closed");
    }
    maybe_dead(s);
}

void xgw_session_client_writable(struct xgw_session *s)
{
    if (!s->read_paused || !s->transport || s->state == S_ENDED)
        return;
    if (s->ops->queued_bytes(s->transport) > s->gw->cfg->max_queue_bytes / 2)
        return;
    s->read_paused = false;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = xgw_framer_resume(s->framer, &cond);
    if (err == XGW_EPROTO) {
        session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, xgw_stream_cond_name(cond));
        return;
    }
    if (err == XGW_OK && s->up)
        UP(s)->resume_read(s->up);
}

void xgw_session_tick(struct xgw_session *s)
{
    if (s->bytes_up != s->bytes_up_seen) {
        s->bytes_up_seen = s->bytes_up;
        s->idle_ticks = 0;
        return;
    }
    unsigned every = s->gw->cfg->upstream_keepalive_s;
    /* XMPP-17, RFC 6120 §4.6.1: a space between stanzas keeps NAT and firewall state alive on
     * an idle link; never during TLS or SASL negotiation. */
    if (++s->idle_ticks < every || every == 0 || s->state != S_OPEN || !s->authenticated ||
        s->restart_due)
        return;
    (void)up_write(s, " ", 1);
}

void xgw_session_shutdown(struct xgw_session *s)
{
    if (s->sm_resumable && s->up && s->state != S_ENDED) {
        /* CM-07 with XEP-0198: the TCP connection closes without </stream:stream>, so the
         * server keeps the session resumable and the client resumes it through the restarted
         * (or another) gateway without losing a stanza. */
        s->footer_sent = true;
        XGW_LOG_INFO("sid=%s shutdown; leaving the stream resumable", s->sid);
    }
    session_end(s, XGW_SC_SYSTEM_SHUTDOWN, NULL, 0, "gateway shutdown");
}

/* ---- upstream events ---------------------------------------------------------------------- */

void xgw_session_upstream_connected(struct xgw_session *s)
{
    if (s->state != S_CONNECTING)
        return;
    s->secure = UP(s)->is_tls(s->up);
    s->gw->stats.upstream_connected++;
    s->gw->stats.upstream_tls += s->secure ? 1 : 0;
    XGW_LOG_INFO("sid=%s upstream connected upstream=%s domain=%s", s->sid, UP(s)->peer(s->up),
                 s->to);
    send_header(s);
}

void xgw_session_upstream_tls_done(struct xgw_session *s)
{
    if (s->state != S_STARTTLS)
        return;
    s->secure = true;
    s->gw->stats.upstream_tls++;
    XGW_LOG_INFO("sid=%s upstream TLS established, certificate verified for %s", s->sid, s->to);
    /* RFC 6120 §5.4.3.3: a fresh header on the protected stream; forget what came before. */
    header_clear(&s->header);
    send_header(s);
}

void xgw_session_upstream_data(struct xgw_session *s, const char *data, size_t len)
{
    if (s->state == S_ENDED)
        return;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = xgw_framer_feed(s->framer, data, len, &cond);
    if (err == XGW_EAGAIN) {
        UP(s)->pause_read(s->up);
    } else if (err == XGW_EPROTO) {
        XGW_LOG_WARN("sid=%s upstream %s sent bad XML: %s", s->sid, UP(s)->peer(s->up),
                     xgw_stream_cond_name(cond));
        if (s->up && !s->footer_sent && s->header_sent) {
            /* XMPP-13/14: tell the server why we close its stream. */
            struct xgw_buf e;
            xgw_buf_init(&e, 1024);
            if (xgw_stream_error_build(&e, cond, NULL) == XGW_OK)
                (void)up_write(s, e.data, e.len);
            xgw_buf_cleanup(&e);
        }
        session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, "bad XML from upstream");
    }
}

void xgw_session_upstream_failed(struct xgw_session *s, enum xgw_stream_cond cond,
                                 const char *reason)
{
    if (s->state == S_CLOSING) {
        session_end(s, XGW_SC_NONE, NULL, 0, reason);
        return;
    }
    s->footer_sent = true; /* the link is unusable: nothing more is written */
    session_end(s, cond, NULL, 0, reason);
}

void xgw_session_upstream_released(struct xgw_session *s)
{
    s->up = NULL;
    if (s->state != S_ENDED)
        session_end(s, XGW_SC_REMOTE_CONNECTION_FAILED, NULL, 0, "upstream connection lost");
    maybe_dead(s);
}
