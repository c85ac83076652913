/* SPDX-License-Identifier: MIT */
/* One request on an existing BOSH session: rid window, retransmissions, out-of-order buffering,
 * key sequencing, holds, pauses, restarts and termination.
 * XEP-0124 §8 (holds), §9 (acks), §10 (pause), §11-§12 (overactivity, polling), §13 (terminate),
 * §14 (request ids), §15 (keys); XEP-0206 §5 (restarts). */
#include <string.h>

#include "bosh_internal.h"
#include "xgw/bosh_reply.h"
#include "xgw/log.h"
#include "xgw/session.h"
#include "xgw/xml_write.h"

/* How long a request may wait for the rid gap below it (BOSH-63): wait, but never less than the
 * polling interval or a second, so polling sessions (wait 0) tolerate reordering too. */
static uint64_t gap_ms(const struct xgw_bosh_session *bs)
{
    unsigned s = bs->wait_s > bs->polling_s ? bs->wait_s : bs->polling_s;
    return (uint64_t)(s ? s : 1) * 1000;
}

void xgw_bosh_forward(struct xgw_bosh_session *bs, const struct xgw_xml_node *root)
{
    /* BOSH-19/44, TD-4: in document order, re-serialised (CM-09), unqualified or httpbind-
     * qualified stanzas written as jabber:client (XEP-0206 §2). A payload that ends the stream
     * (full upstream queue, <starttls/>) stops the rest. */
    for (const struct xgw_xml_node *c = root->first_child; c; c = c->next) {
        if (bs->state != BS_OPEN && bs->state != BS_CREATING)
            return;
        if (c->kind == XGW_XML_ELEMENT)
            xgw_session_client_element(bs->core, c, XGW_XML_WRITE_HTTPBIND_AS_CLIENT);
    }
}

/* The pause value to apply, 0 for none: BOSH-51 clamps to maxpause; without maxpause (or with
 * pause='0') the attribute is ignored and the request is an ordinary one. */
static unsigned effective_pause(const struct xgw_bosh_session *bs, const struct xgw_bosh_req *req)
{
    if (!req->has_pause || req->pause_s == 0 || bs->maxpause_s == 0)
        return 0;
    return req->pause_s < bs->maxpause_s ? req->pause_s : bs->maxpause_s;
}

static void send_error_body(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn)
{
    struct xgw_buf *out = &bs->bosh->scratch;
    xgw_buf_reset(out);
    if (xgw_bosh_reply_error(out) == XGW_OK)
        xgw_bosh_respond(bs, conn, 200, out->data, out->len);
}

/* XEP-0124 §14.3: a rid at or below last_rid. */
static void repeat(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                   const struct xgw_bosh_req *req, uint64_t now)
{
    /* BOSH-67: repeats of one rid are capped; BOSH-58: they never count as new requests. */
    if (req->rid != bs->repeat_rid) {
        bs->repeat_rid = req->rid;
        bs->repeat_count = 0;
    }
    if (++bs->repeat_count > BOSH_MAX_REPEATS) {
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_POLICY_VIOLATION, "too many repeats of one rid");
        return;
    }
    /* A repeat must carry the key its original carried, or a stranger could fetch responses. */
    const struct bosh_cached *cached = xgw_bosh_cache_find(bs, req->rid);
    struct bosh_wait *held = cached ? NULL : xgw_bosh_wait_find(bs, req->rid);
    const char *want_key = cached ? cached->key : held ? held->key : NULL;
    if ((!cached && !held) || (bs->key && !xgw_bosh_key_same(want_key, req->key))) {
        /* BOSH-61/68: no longer available (or not this client's): terminal. */
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_ITEM_NOT_FOUND, "repeated rid not available");
        return;
    }
    if (cached) {
        /* BOSH-64: byte-identical; the payloads are not forwarded again. */
        xgw_bosh_respond(bs, conn, 200, cached->body, cached->len);
        bs->last_response_ms = now;
        return;
    }
    /* BOSH-66: the older copy gets the recoverable error, the newest copy waits in its place. */
    send_error_body(bs, held->conn);
    xgw_bosh_wait_set_conn(bs, held, conn);
    held->deadline_ms = now + (uint64_t)bs->wait_s * 1000;
}

/* BOSH-57: polling sessions (hold 0 or wait 0) may not send two empty requests closer than
 * `polling` seconds when the answer to the first was empty. Called for new requests only. */
static bool polls_too_fast(struct xgw_bosh_session *bs, const struct bosh_wait *w,
                           const struct xgw_bosh_req *req)
{
    bool empty = req->payload_count == 0 && !req->restart && !req->terminate &&
                 effective_pause(bs, req) == 0;
    if (!empty || (bs->hold != 0 && bs->wait_s != 0)) {
        bs->poll_rid = 0;
        return false;
    }
    bool too_fast = bs->poll_rid != 0 && bs->poll_rid + 1 == w->rid &&
                    w->arrival_ms - bs->poll_ms < (uint64_t)bs->polling_s * 1000;
    bs->poll_rid = w->rid;
    bs->poll_ms = w->arrival_ms;
    return too_fast;
}

/* BOSH-69/70, TD-8: payloads were forwarded; now close the stream. The oldest open request gets
 * T() (with anything still queued), every other one, the terminate request included when it is
 * not the oldest, an empty body. */
static void terminate(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    xgw_bosh_wait_unlink(bs, w);
    bs->state = BS_DEAD; /* first: the core's end() must not answer anyone */
    xgw_session_client_close(bs->core);
    struct xgw_buf *out = &bs->bosh->scratch;
    struct bosh_wait *first = bs->held ? bs->held : w;
    xgw_buf_reset(out);
    if (xgw_bosh_reply_terminate(out, XGW_BOSH_COND_NONE, bs->queue.data, bs->queue.len) == XGW_OK)
        xgw_bosh_respond(bs, first->conn, 200, out->data, out->len);
    xgw_buf_reset(&bs->queue);
    xgw_buf_reset(out);
    if (xgw_bosh_reply_empty(out) != XGW_OK)
        xgw_buf_reset(out);
    xgw_bosh_wait_free(bs, first);
    if (first != w) {
        xgw_bosh_respond(bs, w->conn, 200, out->data, out->len);
        xgw_bosh_wait_free(bs, w);
    }
    while (bs->held || bs->buffered) {
        struct bosh_wait *other = bs->held ? bs->held : bs->buffered;
        xgw_bosh_respond(bs, other->conn, 200, out->data, out->len);
        xgw_bosh_wait_free(bs, other);
    }
    xgw_bosh_log_end(bs, "terminated by client", XGW_BOSH_COND_NONE);
}

/* BOSH-49: every held request is answered now (queued data on the oldest), the pause request
 * with an empty body that is not cached (BOSH-65); inactivity becomes the pause until the next
 * request (BOSH-50). */
static void pause_session(struct xgw_bosh_session *bs, struct bosh_wait *w, unsigned pause_s)
{
    xgw_bosh_wait_unlink(bs, w);
    bool first = true;
    while (bs->held) {
        xgw_bosh_answer_held(bs, bs->held, first, true);
        first = false;
    }
    xgw_bosh_answer_held(bs, w, false, false);
    bs->inactivity_ms = (uint64_t)pause_s * 1000;
    XGW_LOG_INFO("bosh session paused sid=%s peer=%s pause=%u", bs->sid, bs->peer, pause_s);
}

/* Restart (XEP206-11/13): a new stream header on the same connection; to/xml:lang/from default
 * to the creation values (E-14). Payloads of a restart request are ignored (XEP206-12). A
 * restart that is not due ends the stream with conflict -> bad-request (XEP206-15). */
static void restart(struct xgw_bosh_session *bs, const struct xgw_bosh_req *req)
{
    xgw_session_client_open(bs->core, req->to ? req->to : bs->to, req->lang ? req->lang : bs->lang,
                            req->from ? req->from : bs->from);
}

/* Processes the request with rid last_rid + 1 (w is loose and owns the parsed request). */
static void process(struct xgw_bosh_session *bs, struct bosh_wait *w, uint64_t now)
{
    /* Moved out of w: a synchronous end() from the core may answer and free w. */
    struct xgw_bosh_req req = w->req;
    memset(&w->req, 0, sizeof(w->req));
    if (!xgw_bosh_key_check(bs, &req)) {
        /* BOSH-84: MUST NOT process, MUST terminate. */
        struct xgw_bosh_conn *conn = w->conn;
        xgw_bosh_wait_free(bs, w);
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_ITEM_NOT_FOUND, "key sequence mismatch");
        goto out;
    }
    bs->last_rid = w->rid;
    bs->inactivity_ms = (uint64_t)bs->inactivity_s * 1000; /* BOSH-50 */
    if (bs->acks && req.has_ack)
        xgw_bosh_cache_trim(bs, req.ack);
    if (polls_too_fast(bs, w, &req)) {
        struct xgw_bosh_conn *conn = w->conn;
        xgw_bosh_wait_free(bs, w);
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_POLICY_VIOLATION, "polling too frequently");
        goto out;
    }
    /* Held before the core runs, so a stream that ends meanwhile answers this request too. */
    w->deadline_ms = now + (uint64_t)bs->wait_s * 1000;
    xgw_bosh_held_push(bs, w);
    if (req.restart)
        restart(bs, &req);
    else
        xgw_bosh_forward(bs, req.root);
    if (bs->state != BS_OPEN)
        goto out; /* w was answered by the end of the stream */
    unsigned pause_s = effective_pause(bs, &req);
    if (req.terminate) {
        terminate(bs, w);
    } else if (pause_s) {
        pause_session(bs, w, pause_s);
    } else {
        /* BOSH-37: never more than `hold` held; the oldest goes first, with queued data. */
        while (bs->held_count > bs->hold)
            xgw_bosh_answer_held(bs, bs->held, true, true);
    }
out:
    xgw_bosh_req_cleanup(&req);
}

/* A second copy of a buffered (not yet processed) rid: the older copy gets the recoverable
 * error (BOSH-66) and the new one takes its place. */
static void replace_buffered(struct xgw_bosh_session *bs, struct bosh_wait *old,
                             struct xgw_bosh_conn *conn, struct xgw_bosh_req *req, uint64_t now)
{
    send_error_body(bs, old->conn);
    xgw_bosh_wait_set_conn(bs, old, conn);
    xgw_bosh_req_cleanup(&old->req);
    old->req = *req;
    memset(req, 0, sizeof(*req));
    old->deadline_ms = now + gap_ms(bs);
}

void xgw_bosh_request(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                      struct xgw_bosh_req *req, uint64_t now)
{
    if (bs->state == BS_TERMINAL) {
        /* Kept for the next request (BOSH-72), which must still hold the right key. */
        if (xgw_bosh_key_check(bs, req))
            xgw_bosh_deliver_terminal(bs, conn);
        else
            xgw_bosh_answer_cond(bs, conn, XGW_BOSH_COND_ITEM_NOT_FOUND);
        return;
    }
    if (bs->state != BS_OPEN) {
        /* The sid has not been given out yet (BS_CREATING): nobody can know it. */
        xgw_bosh_answer_cond(bs, conn, XGW_BOSH_COND_ITEM_NOT_FOUND);
        return;
    }
    if (req->rid <= bs->last_rid) {
        repeat(bs, conn, req, now);
        return;
    }
    /* BOSH-60: the window is (last_rid, last_rid + requests]; BOSH-52: one more for a pause or
     * terminate request. */
    bool exempt = req->terminate || effective_pause(bs, req) > 0;
    if (req->rid > bs->last_rid + bs->requests + (exempt ? 1 : 0)) {
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_ITEM_NOT_FOUND, "rid beyond the window");
        return;
    }
    struct bosh_wait *old = xgw_bosh_wait_find(bs, req->rid);
    if (old) {
        replace_buffered(bs, old, conn, req, now);
        return;
    }
    bool in_order = req->rid == bs->last_rid + 1;
    /* BOSH-53: more than `requests` new requests unanswered (pause/terminate exempt). */
    if (!in_order && !exempt && bs->held_count + bs->buffered_count + 1 > bs->requests) {
        xgw_bosh_fail(bs, conn, XGW_BOSH_COND_POLICY_VIOLATION, "too many simultaneous requests");
        return;
    }
    struct bosh_wait *w = xgw_bosh_wait_new(bs, conn, req->rid, req->key, now);
    w->req = *req;
    memset(req, 0, sizeof(*req));
    if (!in_order) {
        /* BOSH-62: buffered until the gap fills, then processed strictly in rid order. */
        w->deadline_ms = now + gap_ms(bs);
        xgw_bosh_buffered_insert(bs, w);
        return;
    }
    process(bs, w, now);
    while (bs->state == BS_OPEN && (w = xgw_bosh_buffered_next(bs)) != NULL)
        process(bs, w, now);
}
