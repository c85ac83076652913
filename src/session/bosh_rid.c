/* SPDX-License-Identifier: MIT */
/* Request-id bookkeeping of a BOSH session: held and out-of-order requests, the replay cache and
 * key sequencing. XEP-0124 §14 (Request IDs), §15 (Protecting Insecure Sessions). */
#include <strings.h>
#include <string.h>

#include "bosh_internal.h"
#include "xgw/alloc.h"
#include "xgw/gateway.h"

struct bosh_wait *xgw_bosh_wait_new(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                                    uint64_t rid, const char *key, uint64_t now_ms)
{
    struct bosh_wait *w = xgw_calloc(1, sizeof(*w));
    w->bs = bs;
    w->rid = rid;
    w->arrival_ms = now_ms;
    w->deadline_ms = BOSH_NO_DEADLINE;
    w->key = key ? xgw_strdup(key) : NULL;
    xgw_bosh_wait_set_conn(bs, w, conn);
    bs->bosh->gw->stats.bosh_held++;
    return w;
}

void xgw_bosh_wait_set_conn(struct xgw_bosh_session *bs, struct bosh_wait *w,
                            struct xgw_bosh_conn *conn)
{
    if (w->conn)
        xgw_bosh_conn_remove(bs->bosh, w);
    w->conn = conn;
    if (conn)
        xgw_bosh_conn_insert(bs->bosh, w);
}

static void unlink_from(struct bosh_wait **head, struct bosh_wait *w)
{
    for (struct bosh_wait **p = head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            w->next = NULL;
            return;
        }
    }
}

void xgw_bosh_wait_unlink(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    if (w->kind == BW_HELD) {
        unlink_from(&bs->held, w);
        bs->held_count--;
    } else if (w->kind == BW_BUFFERED) {
        unlink_from(&bs->buffered, w);
        bs->buffered_count--;
    }
    w->kind = BW_LOOSE;
}

void xgw_bosh_wait_free(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    xgw_bosh_wait_unlink(bs, w);
    xgw_bosh_wait_set_conn(bs, w, NULL);
    bs->bosh->gw->stats.bosh_held--;
    xgw_bosh_req_cleanup(&w->req);
    xgw_free(w->key);
    xgw_free(w);
}

/* Held requests are processed in rid order, so appending keeps the list oldest first. */
void xgw_bosh_held_push(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    struct bosh_wait **p = &bs->held;
    while (*p)
        p = &(*p)->next;
    w->kind = BW_HELD;
    w->next = NULL;
    *p = w;
    bs->held_count++;
}

void xgw_bosh_buffered_insert(struct xgw_bosh_session *bs, struct bosh_wait *w)
{
    struct bosh_wait **p = &bs->buffered;
    while (*p && (*p)->rid < w->rid)
        p = &(*p)->next;
    w->kind = BW_BUFFERED;
    w->next = *p;
    *p = w;
    bs->buffered_count++;
}

struct bosh_wait *xgw_bosh_wait_find(const struct xgw_bosh_session *bs, uint64_t rid)
{
    for (struct bosh_wait *w = bs->held; w; w = w->next) {
        if (w->rid == rid)
            return w;
    }
    for (struct bosh_wait *w = bs->buffered; w; w = w->next) {
        if (w->rid == rid)
            return w;
    }
    return NULL;
}

struct bosh_wait *xgw_bosh_buffered_next(struct xgw_bosh_session *bs)
{
    struct bosh_wait *w = bs->buffered;
    if (w == NULL || w->rid != bs->last_rid + 1)
        return NULL;
    xgw_bosh_wait_unlink(bs, w);
    return w;
}

static void cached_clear(struct bosh_cached *c)
{
    xgw_free(c->key);
    xgw_free(c->body);
    memset(c, 0, sizeof(*c));
}

/* BOSH-65: the responses to the last `requests` requests stay available for retransmission;
 * the entry with the lowest rid makes room. */
void xgw_bosh_cache_put(struct xgw_bosh_session *bs, uint64_t rid, const char *key,
                        const char *body, size_t len)
{
    size_t slot = bs->cache_count;
    if (bs->cache_count == bs->requests) {
        slot = 0;
        for (size_t i = 1; i < bs->cache_count; i++) {
            if (bs->cache[i].rid < bs->cache[slot].rid)
                slot = i;
        }
        cached_clear(&bs->cache[slot]);
    } else {
        bs->cache_count++;
    }
    struct bosh_cached *c = &bs->cache[slot];
    c->rid = rid;
    c->key = key ? xgw_strdup(key) : NULL;
    c->body = xgw_malloc(len ? len : 1);
    memcpy(c->body, body, len);
    c->len = len;
}

const struct bosh_cached *xgw_bosh_cache_find(const struct xgw_bosh_session *bs, uint64_t rid)
{
    for (size_t i = 0; i < bs->cache_count; i++) {
        if (bs->cache[i].rid == rid)
            return &bs->cache[i];
    }
    return NULL;
}

/* BOSH-46: the client acknowledged every response up to acked_rid; it will not ask again. */
void xgw_bosh_cache_trim(struct xgw_bosh_session *bs, uint64_t acked_rid)
{
    size_t kept = 0;
    for (size_t i = 0; i < bs->cache_count; i++) {
        if (bs->cache[i].rid <= acked_rid) {
            cached_clear(&bs->cache[i]);
            continue;
        }
        bs->cache[kept++] = bs->cache[i];
    }
    for (size_t i = kept; i < bs->cache_count; i++)
        memset(&bs->cache[i], 0, sizeof(bs->cache[i]));
    bs->cache_count = kept;
}

void xgw_bosh_cache_clear(struct xgw_bosh_session *bs)
{
    for (size_t i = 0; i < bs->cache_count; i++)
        cached_clear(&bs->cache[i]);
    bs->cache_count = 0;
}

/* BOSH-85: keys are hex and compared case-insensitively; absent matches absent. */
bool xgw_bosh_key_same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcasecmp(a, b) == 0;
}

/* XEP-0124 §15.4 (BOSH-84): SHA-1(key of request k) must equal the newkey (or key) of request
 * k-1. A session whose creation request had no newkey does not use keys (BOSH-86); neither does
 * a host without SHA-1. §15.5: a request with both key and newkey switches to a new chain. */
bool xgw_bosh_key_check(struct xgw_bosh_session *bs, const struct xgw_bosh_req *req)
{
    const struct xgw_bosh_host_ops *ops = bs->bosh->ops;
    if (bs->key == NULL || ops->sha1_hex == NULL)
        return true;
    if (req->key == NULL)
        return false;
    char hex[41];
    ops->sha1_hex(req->key, strlen(req->key), hex);
    if (strcasecmp(hex, bs->key) != 0)
        return false;
    xgw_free(bs->key);
    bs->key = xgw_strdup(req->newkey ? req->newkey : req->key);
    return true;
}
