/* SPDX-License-Identifier: MIT */
/* Hash tables of the BOSH layer: sid -> session (XEP-0124 §7.2: every request names its session
 * by sid) and HTTP connection -> waiting request (so a closed connection is found in O(1)).
 * Chained, intrusive, doubling when the load passes 1. */
#include <string.h>

#include "bosh_internal.h"
#include "xgw/alloc.h"

#define INITIAL_BUCKETS 64

/* FNV-1a. Sids are 128 random bits, so an attacker cannot aim insertions at one bucket; lookups
 * with made-up sids cost one chain walk. */
static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static size_t hash_ptr(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h;
}

void xgw_bosh_tables_init(struct xgw_bosh *bosh)
{
    bosh->sid_bucket_count = INITIAL_BUCKETS;
    bosh->sid_buckets = xgw_calloc(INITIAL_BUCKETS, sizeof(*bosh->sid_buckets));
    bosh->conn_bucket_count = INITIAL_BUCKETS;
    bosh->conn_buckets = xgw_calloc(INITIAL_BUCKETS, sizeof(*bosh->conn_buckets));
}

void xgw_bosh_tables_cleanup(struct xgw_bosh *bosh)
{
    xgw_free(bosh->sid_buckets);
    xgw_free(bosh->conn_buckets);
    bosh->sid_buckets = NULL;
    bosh->conn_buckets = NULL;
}

static void sid_grow(struct xgw_bosh *bosh)
{
    size_t count = bosh->sid_bucket_count * 2;
    struct xgw_bosh_session **buckets = xgw_calloc(count, sizeof(*buckets));
    for (size_t i = 0; i < bosh->sid_bucket_count; i++) {
        while (bosh->sid_buckets[i]) {
            struct xgw_bosh_session *bs = bosh->sid_buckets[i];
            bosh->sid_buckets[i] = bs->hash_next;
            size_t slot = hash_str(bs->sid) & (count - 1);
            bs->hash_next = buckets[slot];
            buckets[slot] = bs;
        }
    }
    xgw_free(bosh->sid_buckets);
    bosh->sid_buckets = buckets;
    bosh->sid_bucket_count = count;
}

void xgw_bosh_sid_insert(struct xgw_bosh *bosh, struct xgw_bosh_session *bs)
{
    if (bosh->session_count >= bosh->sid_bucket_count)
        sid_grow(bosh);
    size_t slot = hash_str(bs->sid) & (bosh->sid_bucket_count - 1);
    bs->hash_next = bosh->sid_buckets[slot];
    bosh->sid_buckets[slot] = bs;
    bosh->session_count++;
}

struct xgw_bosh_session *xgw_bosh_sid_find(const struct xgw_bosh *bosh, const char *sid)
{
    size_t slot = hash_str(sid) & (bosh->sid_bucket_count - 1);
    for (struct xgw_bosh_session *bs = bosh->sid_buckets[slot]; bs; bs = bs->hash_next) {
        if (strcmp(bs->sid, sid) == 0)
            return bs;
    }
    return NULL;
}

void xgw_bosh_sid_remove(struct xgw_bosh *bosh, struct xgw_bosh_session *bs)
{
    size_t slot = hash_str(bs->sid) & (bosh->sid_bucket_count - 1);
    for (struct xgw_bosh_session **p = &bosh->sid_buckets[slot]; *p; p = &(*p)->hash_next) {
        if (*p == bs) {
            *p = bs->hash_next;
            bs->hash_next = NULL;
            bosh->session_count--;
            return;
        }
    }
}

struct xgw_bosh_session *xgw_bosh_sid_next(const struct xgw_bosh *bosh, size_t *cursor)
{
    for (; *cursor < bosh->sid_bucket_count; (*cursor)++) {
        if (bosh->sid_buckets[*cursor])
            return bosh->sid_buckets[*cursor];
    }
    return NULL;
}

static void conn_grow(struct xgw_bosh *bosh)
{
    size_t count = bosh->conn_bucket_count * 2;
    struct bosh_wait **buckets = xgw_calloc(count, sizeof(*buckets));
    for (size_t i = 0; i < bosh->conn_bucket_count; i++) {
        while (bosh->conn_buckets[i]) {
            struct bosh_wait *w = bosh->conn_buckets[i];
            bosh->conn_buckets[i] = w->hash_next;
            size_t slot = hash_ptr(w->conn) & (count - 1);
            w->hash_next = buckets[slot];
            buckets[slot] = w;
        }
    }
    xgw_free(bosh->conn_buckets);
    bosh->conn_buckets = buckets;
    bosh->conn_bucket_count = count;
}

void xgw_bosh_conn_insert(struct xgw_bosh *bosh, struct bosh_wait *w)
{
    if (bosh->conn_count >= bosh->conn_bucket_count)
        conn_grow(bosh);
    size_t slot = hash_ptr(w->conn) & (bosh->conn_bucket_count - 1);
    w->hash_next = bosh->conn_buckets[slot];
    bosh->conn_buckets[slot] = w;
    bosh->conn_count++;
}

struct bosh_wait *xgw_bosh_conn_find(const struct xgw_bosh *bosh, const struct xgw_bosh_conn *c)
{
    size_t slot = hash_ptr(c) & (bosh->conn_bucket_count - 1);
    for (struct bosh_wait *w = bosh->conn_buckets[slot]; w; w = w->hash_next) {
        if (w->conn == c)
            return w;
    }
    return NULL;
}

void xgw_bosh_conn_remove(struct xgw_bosh *bosh, struct bosh_wait *w)
{
    size_t slot = hash_ptr(w->conn) & (bosh->conn_bucket_count - 1);
    for (struct bosh_wait **p = &bosh->conn_buckets[slot]; *p; p = &(*p)->hash_next) {
        if (*p == w) {
            *p = w->hash_next;
            w->hash_next = NULL;
            bosh->conn_count--;
            return;
        }
    }
}
