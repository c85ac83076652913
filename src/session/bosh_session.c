/* SPDX-License-Identifier: MIT */
/* BOSH sessions as a client transport of the session core: creation, the rid window with
 * in-order processing, holds, pauses, restarts, termination and timers on an explicit clock.
 * XEP-0124 §7-§15 (sessions, holds, acks, inactivity, overactivity, rids, keys), XEP-0206 §3-§5
 * (stream header attributes, features, restarts).
 *
 * Re-entrancy: the core calls the transport ops below while it handles upstream data or a call
 * of ours. Those ops only queue elements or record the end of the stream; every HTTP response is
 * sent from an xgw_bosh_* entry point (handle, tick, conn_gone, shutdown), whose `now_ms` is
 * exact. When an op runs outside an entry point, the io layer is asked for an immediate tick,
 * which also batches every element of one upstream read into one response. */
#include "xgw/bosh_session.h"

#include <stdio.h>
#include <string.h>

#include "bosh_internal.h"
#include "xgw/alloc.h"
#include "xgw/bosh_reply.h"
#include "xgw/gateway.h"
#include "xgw/limits.h"
#include "xgw/log.h"
#include "xgw/session.h"
#include "xgw/xml_write.h"

static void settle(struct xgw_bosh_session *bs, uint64_t now);
static void reschedule(struct xgw_bosh_session *bs);

/* ---- transport ops (called by the session core) ------------------------------------------ */

static void t_stream_open(void *transport, const struct xgw_stream_header *header)
{
    struct xgw_bosh_session *bs = transport;
    /* XEP206-03/05: only the first post-TLS header is reported to the client; after a restart
     * the new features simply arrive in a body (TD-5). */
    if (bs->header != BH_NONE)
        return;
    bs->hdr_from = header->from ? xgw_strdup(header->from) : NULL;
    bs->hdr_id = header->id ? xgw_strdup(header->id) : NULL;
    bs->hdr_version = header->version ? xgw_strdup(header->version) : NULL;
    bs->header = BH_PENDING;
}

static void t_element(void *transport, const char *bytes, size_t len)
{
    struct xgw_bosh_session *bs = transport;
    if (bs->state == BS_DEAD || bs->state == BS_TERMINAL)
        return;
    if (xgw_buf_append(&bs->queue, bytes, len) != XGW_OK) {
        /* The core stops reading once queued_bytes() reaches limits.max_queue_bytes, and the
         * queue has room for one more element past that, so this is only a safety net. */
        XGW_LOG_WARN("sid=%s peer=%s queue toward the client full", bs->sid, bs->peer);
        xgw_session_client_error(bs->core, XGW_SC_POLICY_VIOLATION);
        return;
    }
    /* BOSH-41: a held request is answered at once (by the tick this asks for). */
    if (bs->bosh->entry_depth == 0)
        reschedule(bs);
}

static void t_end(void *transport, enum xgw_stream_cond cond, const char *error, size_t error_len)
{
    struct xgw_bosh_session *bs = transport;
    xgw_bosh_stream_ended(bs, xgw_bosh_cond_from_stream(cond, error != NULL), error, error_len);
    if (bs->bosh->entry_depth == 0)
        reschedule(bs);
}

static size_t t_queued_bytes(void *transport)
{
    return ((struct xgw_bosh_session *)transport)->queue.len;
}

static const struct xgw_transport_ops bosh_transport_ops = {
    .stream_open = t_stream_open,
    .element = t_element,
    .end = t_end,
    .queued_bytes = t_queued_bytes,
};

/* ---- the layer ----------------------------------------------------------------------------- */

struct xgw_bosh *xgw_bosh_new(struct xgw_gateway *gw, const struct xgw_bosh_settings *settings,
                              const struct xgw_bosh_host_ops *ops, void *host)
{
    struct xgw_bosh *bosh = xgw_calloc(1, sizeof(*bosh));
    bosh->gw = gw;
    bosh->settings = *settings;
    bosh->ops = ops;
    bosh->host = host;
    struct xgw_bosh_settings *s = &bosh->settings;
    if (s->max_wait_s == 0 && s->default_wait_s == 0)
        s->max_wait_s = XGW_DEFAULT_BOSH_MAX_WAIT_S;
    if (s->default_wait_s == 0 || s->default_wait_s > s->max_wait_s)
        s->default_wait_s = s->max_wait_s;
    if (s->max_body_bytes == 0)
        s->max_body_bytes = XGW_DEFAULT_BOSH_MAX_BODY;
    if (s->max_queue_bytes == 0)
        s->max_queue_bytes = gw->cfg->max_queue_bytes;
    xgw_bosh_tables_init(bosh);
    /* A response holds at most the queue (which may pass max_queue_bytes by one element) plus
     * the server's stream error and our attributes. */
    xgw_buf_init(&bosh->scratch, s->max_queue_bytes + 2 * gw->cfg->max_stanza_bytes + 8192);
    return bosh;
}

static void detach_core(struct xgw_bosh_session *bs)
{
    struct xgw_session *core = bs->core;
    if (core == NULL)
        return;
    /* After detach the core never calls us again (it closes the upstream itself, without
     * </stream:stream> if XEP-0198 resumption was enabled: CM-06) and frees itself. */
    bs->core = NULL;
    xgw_session_detach(core);
}

static void session_free(struct xgw_bosh_session *bs)
{
    xgw_bosh_cache_clear(bs);
    xgw_free(bs->cache);
    xgw_buf_cleanup(&bs->queue);
    xgw_buf_cleanup(&bs->terminal);
    xgw_free(bs->content_type);
    xgw_free(bs->to);
    xgw_free(bs->lang);
    xgw_free(bs->from);
    xgw_free(bs->key);
    xgw_free(bs->hdr_from);
    xgw_free(bs->hdr_id);
    xgw_free(bs->hdr_version);
    xgw_free(bs);
}

/* The sid is dead: nothing waits any more, the core is let go, the host drops its timer. */
static void release(struct xgw_bosh_session *bs)
{
    struct xgw_bosh *bosh = bs->bosh;
    xgw_bosh_answer_all(bs, XGW_BOSH_COND_OTHER_REQUEST);
    detach_core(bs);
    xgw_bosh_sid_remove(bosh, bs);
    bosh->ops->released(bosh->host, bs);
    session_free(bs);
}

void xgw_bosh_free(struct xgw_bosh *bosh)
{
    if (bosh == NULL)
        return;
    bosh->entry_depth++;
    size_t cursor = 0;
    for (struct xgw_bosh_session *bs; (bs = xgw_bosh_sid_next(bosh, &cursor)) != NULL;) {
        xgw_bosh_answer_all(bs, XGW_BOSH_COND_SYSTEM_SHUTDOWN);
        bs->state = BS_DEAD;
        release(bs);
    }
    xgw_bosh_tables_cleanup(bosh);
    xgw_buf_cleanup(&bosh->scratch);
    xgw_free(bosh);
}

static void enter(struct xgw_bosh *bosh, uint64_t now)
{
    bosh->now_ms = now;
    bosh->entry_depth++;
}

static void leave(struct xgw_bosh *bosh)
{
    bosh->entry_depth--;
}

/* Answers conn with T(cond) outside any session (default or given Content-Type), with an
 * optional child explaining an undefined-condition (BOSH-76). */
static void reject_with(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, enum xgw_bosh_cond cond,
                        const char *content_type, const char *child)
{
    xgw_buf_reset(&bosh->scratch);
    if (xgw_bosh_reply_terminate(&bosh->scratch, cond, child, child ? strlen(child) : 0) != XGW_OK)
        xgw_buf_reset(&bosh->scratch);
    bosh->ops->respond(bosh->host, conn, 200, content_type ? content_type : BOSH_DEFAULT_CTYPE,
                       bosh->scratch.data, bosh->scratch.len);
}

void xgw_bosh_reject(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, enum xgw_bosh_cond cond)
{
    reject_with(bosh, conn, cond, NULL, NULL);
}

void **xgw_bosh_session_host_slot(struct xgw_bosh_session *bs)
{
    return &bs->host_slot;
}

size_t xgw_bosh_session_count(const struct xgw_bosh *bosh)
{
    return bosh->session_count;
}

/* ---- creation (XEP-0124 §7, XEP-0206 §3-§4) --------------------------------------------- */

static unsigned min_unsigned(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/* 'content' becomes a Content-Type header (BOSH-05): printable ASCII only, so a client cannot
 * inject header lines. */
static bool content_type_ok(const char *content_type)
{
    size_t len = strlen(content_type);
    if (len == 0 || len > BOSH_MAX_CTYPE)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)content_type[i];
        if (ch < 0x20 || ch > 0x7e)
            return false;
    }
    return true;
}

/* XEP-0124 §7.2: the session's parameters from the request and the configured caps. */
static void negotiate(struct xgw_bosh_session *bs, const struct xgw_bosh_req *req)
{
    const struct xgw_bosh_settings *set = &bs->bosh->settings;
    /* BOSH-25: never longer than asked; the cap stays below 60 s proxy timeouts (CM-13). */
    bs->wait_s = req->has_wait ? min_unsigned(req->wait_s, set->max_wait_s) : set->default_wait_s;
    /* BOSH-26/27: hold clamped (E-16), requests = hold + 1 (hold 0: requests 1). */
    bs->hold = min_unsigned(req->has_hold ? req->hold : 1, set->max_hold);
    bs->requests = bs->hold + 1;
    bs->polling_s = set->polling_s;
    /* BOSH-48: polling sessions need inactivity above the polling interval. */
    bs->inactivity_s = set->inactivity_s > set->polling_s ? set->inactivity_s : set->polling_s + 1;
    bs->inactivity_ms = (uint64_t)bs->inactivity_s * 1000;
    bs->maxpause_s = set->maxpause_s;
    /* BOSH-24: the lower version, major and minor compared as integers ("1.10" > "1.9");
     * BOSH-80: a request without 'ver' comes from a legacy client. */
    bs->legacy = !req->has_ver;
    bs->ver_major = XGW_BOSH_VER_MAJOR;
    bs->ver_minor = XGW_BOSH_VER_MINOR;
    if (req->has_ver &&
        (req->ver_major < XGW_BOSH_VER_MAJOR ||
         (req->ver_major == XGW_BOSH_VER_MAJOR && req->ver_minor < XGW_BOSH_VER_MINOR))) {
        bs->ver_major = req->ver_major;
        bs->ver_minor = req->ver_minor;
    }
    bs->acks = req->has_ack; /* BOSH-31: acks are used when the client asked */
}

static void session_init(struct xgw_bosh_session *bs, const struct xgw_bosh_req *req,
                         const char *peer)
{
    struct xgw_bosh *bosh = bs->bosh;
    const struct xgw_config *cfg = bosh->gw->cfg;
    snprintf(bs->sid, sizeof(bs->sid), "%s", xgw_session_id(bs->core));
    snprintf(bs->peer, sizeof(bs->peer), "%s", peer ? peer : "");
    bs->content_type = xgw_strdup(req->content ? req->content : BOSH_DEFAULT_CTYPE);
    bs->to = xgw_strdup(req->to);
    bs->lang = req->lang ? xgw_strdup(req->lang) : NULL;
    bs->from = req->from ? xgw_strdup(req->from) : NULL;
    bs->key = req->newkey ? xgw_strdup(req->newkey) : NULL; /* XEP-0124 §15.3 */
    bs->creation_rid = req->rid;
    bs->last_rid = req->rid;
    bs->scheduled_ms = BOSH_NO_DEADLINE;
    bs->state = BS_CREATING;
    negotiate(bs, req);
    bs->cache = xgw_calloc(bs->requests, sizeof(*bs->cache));
    /* One element may pass the core's back-pressure threshold (max_queue_bytes). */
    xgw_buf_init(&bs->queue, bosh->settings.max_queue_bytes + cfg->max_stanza_bytes + 4096);
    xgw_buf_init(&bs->terminal, bosh->scratch.max);
}

static void create(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn,
                   const struct xgw_bosh_req *req, const char *peer, bool secure, uint64_t now)
{
    if (req->content && !content_type_ok(req->content)) {
        reject_with(bosh, conn, XGW_BOSH_COND_BAD_REQUEST, NULL, NULL);
        return;
    }
    if (req->to == NULL || req->to[0] == '\0') {
        /* BOSH-22, TERM-04: there is no default domain. */
        reject_with(bosh, conn, XGW_BOSH_COND_IMPROPER_ADDRESSING, req->content, NULL);
        return;
    }
    struct xgw_bosh_session *bs = xgw_calloc(1, sizeof(*bs));
    bs->bosh = bosh;
    enum xgw_stream_cond refused = XGW_SC_NONE;
    bs->core =
        xgw_session_new(bosh->gw, XGW_TRANSPORT_BOSH, &bosh_transport_ops, bs, peer, &refused);
    if (bs->core == NULL) {
        xgw_free(bs); /* never shown to the host */
        if (refused == XGW_SC_SYSTEM_SHUTDOWN)
            reject_with(bosh, conn, XGW_BOSH_COND_SYSTEM_SHUTDOWN, req->content, NULL);
        else if (refused == XGW_SC_POLICY_VIOLATION) /* limits.max_sessions_per_ip */
            reject_with(bosh, conn, XGW_BOSH_COND_POLICY_VIOLATION, req->content, NULL);
        else /* BOSH-76: undefined-condition says why, in our namespace */
            reject_with(bosh, conn, XGW_BOSH_COND_UNDEFINED_CONDITION, req->content,
                        "<text xmlns='urn:xmppgw:bosh'>session limit reached</text>");
        return;
    }
    session_init(bs, req, peer);
    bs->secure = secure;
    xgw_bosh_sid_insert(bosh, bs);
    /* XEP206-03: the creation request is held until the server's features (or wait). */
    struct bosh_wait *w = xgw_bosh_wait_new(bs, conn, req->rid, req->key, now);
    w->deadline_ms = now + (uint64_t)bs->wait_s * 1000;
    xgw_bosh_held_push(bs, w);
    XGW_LOG_INFO("bosh session created sid=%s peer=%s transport=bosh wait=%u hold=%u ver=%u.%u%s",
                 bs->sid, bs->peer, bs->wait_s, bs->hold, bs->ver_major, bs->ver_minor,
                 bs->legacy ? " legacy" : "");
    /* 'route' is ignored: the configured route for 'to' decides (CM-08, BOSH-23). Host
     * lookups and refusals (host-unknown...) come back through t_end. */
    xgw_session_client_open(bs->core, req->to, req->lang, req->from);
    xgw_bosh_forward(bs, req->root);
    settle(bs, now);
}

/* ---- requests ------------------------------------------------------------------------------ */

/* BOSH-81: a session created over HTTPS is never touched by a plain-HTTP request; that
 * connection is closed without an answer and the session goes on (ending it would let anyone
 * who saw the sid end it). */
static bool downgraded(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn, bool secure)
{
    if (!bs->secure || secure)
        return false;
    XGW_LOG_NOTICE("sid=%s plain-HTTP request for a session created over HTTPS: connection closed "
                   "(BOSH-81)",
                   bs->sid);
    bs->bosh->ops->drop(bs->bosh->host, conn);
    return true;
}

/* A body xgw_bosh_req_parse refused. TERM-01 is terminal for the session it names, and legacy
 * clients get HTTP 400 (BOSH-80); with no session to name, T(cond) (BOSH-83). */
static void refused(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, const char *body, size_t len,
                    enum xgw_bosh_cond cond, bool secure, uint64_t now)
{
    char sid[64];
    struct xgw_bosh_session *bs = NULL;
    if (xgw_bosh_req_peek_sid(body, len, bosh->settings.max_body_bytes, sid, sizeof(sid)))
        bs = xgw_bosh_sid_find(bosh, sid);
    if (bs && downgraded(bs, conn, secure))
        return;
    if (bs && bs->state == BS_OPEN) {
        xgw_bosh_fail(bs, conn, cond, "unacceptable request body");
        settle(bs, now);
        return;
    }
    xgw_bosh_reject(bosh, conn, cond);
}

void xgw_bosh_handle(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, const char *body,
                     size_t len, const char *peer, bool secure, uint64_t now_ms)
{
    enter(bosh, now_ms);
    bosh->gw->stats.bosh_requests++;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond = XGW_BOSH_COND_NONE;
    if (xgw_bosh_req_parse(body, len, bosh->settings.max_body_bytes, &req, &cond) != XGW_OK) {
        refused(bosh, conn, body, len, cond, secure, now_ms);
    } else if (bosh->shutting_down) {
        xgw_bosh_reject(bosh, conn, XGW_BOSH_COND_SYSTEM_SHUTDOWN); /* TERM-12 */
    } else if (req.sid == NULL) {
        create(bosh, conn, &req, peer, secure, now_ms);
    } else {
        struct xgw_bosh_session *bs = xgw_bosh_sid_find(bosh, req.sid);
        if (bs == NULL || bs->state == BS_DEAD) {
            /* BOSH-20/71: unknown or dead sid; always 200, we cannot know if the client is a
             * legacy one (E-22). */
            xgw_bosh_reject(bosh, conn, XGW_BOSH_COND_ITEM_NOT_FOUND);
        } else if (!downgraded(bs, conn, secure)) {
            xgw_bosh_request(bs, conn, &req, now_ms);
            settle(bs, now_ms);
        }
    }
    xgw_bosh_req_cleanup(&req);
    leave(bosh);
}

/* ---- timers and settling ----------------------------------------------------------------- */

/* The oldest held request whose client is still connected: the one that carries data. */
static struct bosh_wait *first_connected_held(const struct xgw_bosh_session *bs)
{
    for (struct bosh_wait *w = bs->held; w; w = w->next)
        if (w->conn)
            return w;
    return NULL;
}

/* Something can be sent right now: the terminal body, or queued elements and a request (the
 * creation request included) to carry them. */
static bool answer_due(const struct xgw_bosh_session *bs)
{
    if (bs->state == BS_TERMINAL)
        return bs->held || bs->buffered;
    if (bs->state == BS_CREATING)
        return bs->queue.len > 0 && bs->held;
    return bs->queue.len > 0 && first_connected_held(bs);
}

static uint64_t next_deadline(const struct xgw_bosh_session *bs)
{
    if (bs->state == BS_DEAD)
        return BOSH_NO_DEADLINE;
    if (answer_due(bs))
        return bs->bosh->now_ms; /* as soon as possible */
    uint64_t deadline = BOSH_NO_DEADLINE;
    for (const struct bosh_wait *w = bs->held; w; w = w->next)
        deadline = w->deadline_ms < deadline ? w->deadline_ms : deadline;
    for (const struct bosh_wait *w = bs->buffered; w; w = w->next)
        deadline = w->deadline_ms < deadline ? w->deadline_ms : deadline;
    if (!bs->held && !bs->buffered && bs->state != BS_CREATING) {
        uint64_t idle = bs->last_response_ms + bs->inactivity_ms;
        deadline = idle < deadline ? idle : deadline;
    }
    return deadline;
}

static void reschedule(struct xgw_bosh_session *bs)
{
    uint64_t deadline = next_deadline(bs);
    if (deadline == bs->scheduled_ms)
        return;
    bs->scheduled_ms = deadline;
    bs->bosh->ops->schedule(bs->bosh->host, bs, deadline);
}

static void expire(struct xgw_bosh_session *bs, uint64_t now)
{
    struct bosh_wait *next;
    /* BOSH-63: the rid gap below did not fill within wait: recoverable, resend. */
    for (struct bosh_wait *w = bs->buffered; w; w = next) {
        next = w->next;
        if (w->deadline_ms <= now)
            xgw_bosh_answer_error(bs, w);
    }
    /* BOSH-39/40: nothing to send within wait: an empty body. */
    for (struct bosh_wait *w = bs->held; w; w = next) {
        next = w->next;
        if (w->deadline_ms <= now)
            xgw_bosh_answer_held(bs, w, true, true);
    }
}

static void process_due(struct xgw_bosh_session *bs, uint64_t now)
{
    switch (bs->state) {
    case BS_TERMINAL:
        xgw_bosh_deliver_terminal(bs, NULL);
        break;
    case BS_CREATING:
        /* XEP206-03: with the features; CM-02: at wait expiry without them (sid always). */
        if (bs->held && (bs->queue.len > 0 || bs->held->deadline_ms <= now))
            xgw_bosh_answer_creation(bs);
        break;
    case BS_OPEN:
        expire(bs, now);
        /* BOSH-41/42: queued elements go out at once on the oldest held request. */
        if (bs->queue.len > 0) {
            struct bosh_wait *w = first_connected_held(bs);
            if (w)
                xgw_bosh_answer_held(bs, w, true, true);
        }
        break;
    case BS_DEAD:
        return;
    }
    /* BOSH-47: everything answered and `inactivity` (or the pause, BOSH-49) passed since the
     * last response: the session ends silently. */
    if ((bs->state == BS_OPEN || bs->state == BS_TERMINAL) && !bs->held && !bs->buffered &&
        now >= bs->last_response_ms + bs->inactivity_ms) {
        bs->state = BS_DEAD;
        xgw_bosh_log_end(bs, "inactivity", XGW_BOSH_COND_NONE);
    }
}

/* End of every entry point for a session: answer what is due, let the core read again after a
 * drained queue, then free a dead session or re-arm its timer. */
static void settle(struct xgw_bosh_session *bs, uint64_t now)
{
    for (;;) {
        process_due(bs, now);
        if (!bs->drained || bs->state != BS_OPEN || bs->core == NULL)
            break;
        /* Back-pressure: elements the core parses now come back through t_element and are
         * delivered by the next round (which needs another held request to drain again). */
        bs->drained = false;
        xgw_session_client_writable(bs->core);
    }
    bs->drained = false;
    if (bs->state == BS_TERMINAL || bs->state == BS_DEAD)
        detach_core(bs);
    if (bs->state == BS_DEAD) {
        release(bs);
        return;
    }
    reschedule(bs);
}

void xgw_bosh_session_tick(struct xgw_bosh_session *bs, uint64_t now_ms)
{
    struct xgw_bosh *bosh = bs->bosh;
    enter(bosh, now_ms);
    bs->scheduled_ms = BOSH_NO_DEADLINE; /* the host's one-shot timer has fired */
    settle(bs, now_ms);
    leave(bosh);
}

void xgw_bosh_conn_gone(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, uint64_t now_ms)
{
    enter(bosh, now_ms);
    struct bosh_wait *w = xgw_bosh_conn_find(bosh, conn);
    if (w) {
        struct xgw_bosh_session *bs = w->bs;
        xgw_bosh_wait_set_conn(bs, w, NULL);
        if (bs->state == BS_CREATING) {
            /* Nobody else can know the sid. */
            xgw_bosh_wait_free(bs, w);
            bs->state = BS_DEAD;
            xgw_bosh_log_end(bs, "creation request abandoned", XGW_BOSH_COND_NONE);
        } else if (bs->state == BS_OPEN && w->kind == BW_HELD) {
            /* E-02: a proxy may have cut the long poll and the client will resend this rid.
             * It stays held without a connection until its wait expires: a resend takes its
             * place and gets what arrived meanwhile (BOSH-66); a newer request answers it
             * (hold rule) with an empty body from the cache and carries the data itself. */
        } else {
            /* Not processed yet: as if never received; the client resends it. */
            xgw_bosh_wait_free(bs, w);
        }
        settle(bs, now_ms);
    }
    leave(bosh);
}

void xgw_bosh_shutdown(struct xgw_bosh *bosh, uint64_t now_ms)
{
    enter(bosh, now_ms);
    bosh->shutting_down = true;
    size_t cursor = 0;
    for (struct xgw_bosh_session *bs; (bs = xgw_bosh_sid_next(bosh, &cursor)) != NULL;) {
        /* TERM-12, CM-07: every waiting request learns it; the upstream stream is closed. */
        xgw_bosh_answer_all(bs, XGW_BOSH_COND_SYSTEM_SHUTDOWN);
        bool ended = bs->state == BS_TERMINAL || bs->state == BS_DEAD;
        bs->state = BS_DEAD; /* the core's end() below must not answer anyone */
        if (bs->core && !ended)
            xgw_session_shutdown(bs->core);
        if (!ended)
            xgw_bosh_log_end(bs, "gateway shutdown", XGW_BOSH_COND_SYSTEM_SHUTDOWN);
        release(bs);
    }
    leave(bosh);
}
