/* SPDX-License-Identifier: MIT */
/* How a BOSH session answers its requests: ordinary and creation responses, recoverable and
 * terminal errors, and the mapping of the end of the XMPP stream onto terminal bodies.
 * XEP-0124 §7.2, §8, §9.1, §13, §17 (error classes and HTTP codes for legacy clients);
 * XEP-0206 §2, §4, §6. */
#include <string.h>

#include "bosh_internal.h"
#include "xgw/alloc.h"
#include "xgw/bosh_reply.h"
#include "xgw/log.h"
#include "xgw/session.h"

void xgw_bosh_respond(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn, unsigned status,
                      const char *body, size_t len)
{
    if (conn == NULL)
        return;
    struct xgw_bosh *bosh = bs->bosh;
    bosh->ops->respond(bosh->host, conn, status, bs->content_type, body, len);
}

/* BOSH-80: clients whose creation request had no 'ver' get HTTP codes for the three
 * conditions XEP-0124 §17.2 maps (footnote); everyone else gets 200 (BOSH-79). */
static unsigned status_for(const struct xgw_bosh_session *bs, enum xgw_bosh_cond cond)
{
    if (!bs->legacy)
        return 200;
    switch (cond) {
    case XGW_BOSH_COND_BAD_REQUEST:
        return 400;
    case XGW_BOSH_COND_POLICY_VIOLATION:
        return 403;
    case XGW_BOSH_COND_ITEM_NOT_FOUND:
        return 404;
    default:
        return 200;
    }
}

/* Responses are only sent from inside xgw_bosh_* entry points, whose clock is exact. */
static void note_response(struct xgw_bosh_session *bs)
{
    bs->last_response_ms = bs->bosh->now_ms;
}

void xgw_bosh_log_end(const struct xgw_bosh_session *bs, const char *why, enum xgw_bosh_cond cond)
{
    XGW_LOG_INFO("bosh session ended sid=%s peer=%s transport=bosh reason=%s%s%s", bs->sid,
                 bs->peer, why, cond ? " condition=" : "", cond ? xgw_bosh_cond_name(cond) : "");
}

/* Builds into the shared scratch buffer; on a cap (not expected: the buffer is sized for a full
 * queue plus one element) the response degrades to an empty body rather than none. */
static struct xgw_buf *build(struct xgw_bosh_session *bs, const struct xgw_bosh_reply *reply)
{
    struct xgw_buf *out = &bs->bosh->scratch;
    xgw_buf_reset(out);
    if (xgw_bosh_reply_build(out, reply) != XGW_OK) {
        XGW_LOG_WARN("sid=%s response over the buffer cap; sending an empty body", bs->sid);
        xgw_buf_reset(out);
        if (xgw_bosh_reply_empty(out) != XGW_OK)
            xgw_buf_reset(out);
    }
    return out;
}

/* Puts the queue (and, the first time, the server's header attributes) into reply. */
static void take_queue(struct xgw_bosh_session *bs, struct xgw_bosh_reply *reply)
{
    reply->payload = bs->queue.data;
    reply->payload_len = bs->queue.len;
    /* XEP206-03/05, BOSH-30: the first response carrying the features also carries the header
     * fields, whether that is the creation response or a later one (CM-02). */
    if (bs->header == BH_PENDING && bs->queue.len > 0) {
        reply->from = bs->hdr_from;
        reply->authid = bs->hdr_id;
        reply->xmpp_version = bs->hdr_version;
        bs->header = BH_SENT;
    }
}

static void queue_consumed(struct xgw_bosh_session *bs)
{
    if (bs->queue.len > 0)
        bs->drained = true;
    xgw_buf_reset(&bs->queue);
}

void xgw_bosh_answer_held(struct xgw_bosh_session *bs, struct bosh_wait *w, bool with_queue,
                          bool cache)
{
    struct xgw_bosh_reply reply = {.type = XGW_BOSH_REPLY_NORMAL};
    /* BOSH-45: ack = the highest rid received with none missing below it, left out when it
     * equals the rid answered. */
    if (bs->acks && bs->last_rid != w->rid) {
        reply.has_ack = true;
        reply.ack = bs->last_rid;
    }
    /* A request whose client left (E-02) never carries data: it stays queued for the resend of
     * this rid or for the next request, whichever comes first. */
    bool payload = with_queue && w->conn != NULL && bs->queue.len > 0;
    if (payload)
        take_queue(bs, &reply);
    struct xgw_buf *out = build(bs, &reply);
    xgw_bosh_respond(bs, w->conn, 200, out->data, out->len);
    /* BOSH-64/65: kept byte for byte for a retransmission of this rid. */
    if (cache)
        xgw_bosh_cache_put(bs, w->rid, w->key, out->data, out->len);
    if (payload) {
        queue_consumed(bs);
        if (w->rid == bs->poll_rid)
            bs->poll_rid = 0; /* BOSH-57 counts only empty answers */
    }
    note_response(bs);
    xgw_bosh_wait_free(bs, w);
}

/* BOSH-63/66/77: recoverable; the client resends this and every earlier unanswered request. */
void xgw_bosh_answer_error(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    struct xgw_bosh_reply reply = {.type = XGW_BOSH_REPLY_ERROR};
    struct xgw_buf *out = build(bs, &reply);
    xgw_bosh_respond(bs, w->conn, 200, out->data, out->len);
    note_response(bs);
    xgw_bosh_wait_free(bs, w);
}

void xgw_bosh_answer_cond(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                          enum xgw_bosh_cond cond)
{
    struct xgw_bosh_reply reply = {.type = XGW_BOSH_REPLY_TERMINATE, .cond = cond};
    struct xgw_buf *out = build(bs, &reply);
    xgw_bosh_respond(bs, conn, status_for(bs, cond), out->data, out->len);
}

/* XEP-0124 §7.2, XEP206-03/04, CM-02: sid and every creation attribute always; features (with
 * from/authid/xmpp:version) when they are already here. ack = the creation rid (BOSH-31). */
void xgw_bosh_answer_creation(struct xgw_bosh_session *bs)
{
    struct bosh_wait *w = bs->held;
    struct xgw_bosh_creation creation = {
        .sid = bs->sid,
        .wait_s = bs->wait_s,
        .requests = bs->requests,
        .hold = bs->hold,
        .inactivity_s = bs->inactivity_s,
        .polling_s = bs->polling_s,
        .maxpause_s = bs->maxpause_s,
        .ver_major = bs->ver_major,
        .ver_minor = bs->ver_minor,
    };
    struct xgw_bosh_reply reply = {.type = XGW_BOSH_REPLY_NORMAL,
                                   .creation = &creation,
                                   .has_ack = bs->acks,
                                   .ack = bs->creation_rid};
    take_queue(bs, &reply);
    struct xgw_buf *out = build(bs, &reply);
    xgw_bosh_respond(bs, w->conn, 200, out->data, out->len);
    queue_consumed(bs);
    bs->state = BS_OPEN;
    note_response(bs);
    xgw_bosh_wait_free(bs, w);
}

/* TERM-07 other-request, TERM-12 system-shutdown. */
void xgw_bosh_answer_all(struct xgw_bosh_session *bs, enum xgw_bosh_cond cond)
{
    while (bs->held || bs->buffered) {
        struct bosh_wait *w = bs->held ? bs->held : bs->buffered;
        xgw_bosh_answer_cond(bs, w->conn, cond);
        xgw_bosh_wait_free(bs, w);
    }
}

void xgw_bosh_fail(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn, enum xgw_bosh_cond cond,
                   const char *why)
{
    xgw_bosh_answer_cond(bs, conn, cond);
    xgw_bosh_answer_all(bs, XGW_BOSH_COND_OTHER_REQUEST);
    bs->state = BS_DEAD;
    xgw_bosh_log_end(bs, why, cond);
}

/* TD-8, CM-04/05, BOSH-72/74/75. A server <stream:error/> is only ever remote-stream-error with
 * a copy (never mapped onto a similar binding condition); the gateway's own conditions map onto
 * the closest binding condition. */
enum xgw_bosh_cond xgw_bosh_cond_from_stream(enum xgw_stream_cond cond, bool has_error)
{
    if (has_error)
        return XGW_BOSH_COND_REMOTE_STREAM_ERROR;
    switch (cond) {
    case XGW_SC_NONE:
        return XGW_BOSH_COND_NONE; /* CM-05: graceful close, no condition */
    case XGW_SC_HOST_UNKNOWN:
        return XGW_BOSH_COND_HOST_UNKNOWN;
    case XGW_SC_HOST_GONE:
        return XGW_BOSH_COND_HOST_GONE;
    case XGW_SC_REMOTE_CONNECTION_FAILED:
    case XGW_SC_CONNECTION_TIMEOUT: /* TERM-09: no (timely) answer from the server */
        return XGW_BOSH_COND_REMOTE_CONNECTION_FAILED;
    case XGW_SC_IMPROPER_ADDRESSING:
        return XGW_BOSH_COND_IMPROPER_ADDRESSING;
    case XGW_SC_SYSTEM_SHUTDOWN:
        return XGW_BOSH_COND_SYSTEM_SHUTDOWN;
    case XGW_SC_POLICY_VIOLATION:
        return XGW_BOSH_COND_POLICY_VIOLATION;
    case XGW_SC_INTERNAL_SERVER_ERROR:
        return XGW_BOSH_COND_INTERNAL_SERVER_ERROR;
    case XGW_SC_CONFLICT:   /* XEP206-15: a restart that was not due */
    case XGW_SC_BAD_FORMAT: /* a payload the core refused */
    case XGW_SC_NOT_WELL_FORMED:
    case XGW_SC_RESTRICTED_XML:
    case XGW_SC_UNSUPPORTED_FEATURE: /* XEP206-09/10: client <starttls/> or <compress/> */
        return XGW_BOSH_COND_BAD_REQUEST;
    default:
        return XGW_BOSH_COND_UNDEFINED_CONDITION;
    }
}

/* The terminal body's children: queued stanzas first, then the server's error verbatim. */
static void terminal_payload(struct xgw_bosh_session *bs, const char *error, size_t error_len)
{
    if (error && xgw_buf_append(&bs->queue, error, error_len) != XGW_OK) {
        /* Keep the error (it explains the end) if both do not fit. */
        xgw_buf_reset(&bs->queue);
        if (xgw_buf_append(&bs->queue, error, error_len) != XGW_OK)
            xgw_buf_reset(&bs->queue);
    }
}

/* Called from the core (possibly inside its upstream callbacks): nothing is answered here. The
 * body is built now, with the queued stanzas first and the server's error verbatim last
 * (BOSH-75), and the next settle gives it to the oldest waiting request (BOSH-72, E-24). */
void xgw_bosh_stream_ended(struct xgw_bosh_session *bs, enum xgw_bosh_cond cond, const char *error,
                           size_t error_len)
{
    if (bs->state == BS_DEAD || bs->state == BS_TERMINAL)
        return;
    terminal_payload(bs, error, error_len);
    struct xgw_bosh_reply reply = {.type = XGW_BOSH_REPLY_TERMINATE,
                                   .cond = cond,
                                   .payload = bs->queue.data,
                                   .payload_len = bs->queue.len};
    struct xgw_buf *out = build(bs, &reply);
    xgw_buf_reset(&bs->terminal);
    if (xgw_buf_append(&bs->terminal, out->data, out->len) != XGW_OK)
        xgw_buf_reset(&bs->terminal);
    bs->terminal_status = status_for(bs, cond);
    bs->state = BS_TERMINAL;
    xgw_buf_reset(&bs->queue);
    bs->drained = false; /* the stream is over: nothing more to read */
    xgw_bosh_log_end(bs, error ? "upstream stream error" : "stream ended", cond);
}

void xgw_bosh_deliver_terminal(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn)
{
    if (conn == NULL) {
        struct bosh_wait *target = bs->held ? bs->held : bs->buffered;
        if (target == NULL)
            return;
        conn = target->conn;
        xgw_bosh_wait_set_conn(bs, target, NULL);
        xgw_bosh_wait_free(bs, target);
    }
    xgw_bosh_respond(bs, conn, bs->terminal_status, bs->terminal.data, bs->terminal.len);
    xgw_bosh_answer_all(bs, XGW_BOSH_COND_OTHER_REQUEST);
    note_response(bs);
    bs->state = BS_DEAD;
}
