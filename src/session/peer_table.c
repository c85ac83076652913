/* SPDX-License-Identifier: MIT */
/* Session counts per client address: a chained hash table of small entries, allocated on the
 * first count and freed with the last, so each add/remove is O(1) on average. */
#include "xgw/peer_table.h"

#include <stdint.h>
#include <string.h>

#include "xgw/alloc.h"

#define PEER_BUCKETS  4096 /* power of two */
#define PEER_ADDR_MAX 64   /* longest textual IPv6 address with zone, and then some */

struct xgw_peer_count {
    struct xgw_peer_count *next;
    unsigned count;
    char addr[PEER_ADDR_MAX];
};

static size_t bucket_of(const char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & (PEER_BUCKETS - 1);
}

static struct xgw_peer_count **find(const struct xgw_peer_table *t, const char *addr)
{
    struct xgw_peer_count **slot = &t->buckets[bucket_of(addr)];
    while (*slot && strncmp((*slot)->addr, addr, PEER_ADDR_MAX - 1) != 0)
        slot = &(*slot)->next;
    return slot;
}

unsigned xgw_peer_table_count(const struct xgw_peer_table *t, const char *addr)
{
    if (t->buckets == NULL)
        return 0;
    struct xgw_peer_count *e = *find(t, addr);
    return e ? e->count : 0;
}

void xgw_peer_table_add(struct xgw_peer_table *t, const char *addr)
{
    if (t->buckets == NULL)
        t->buckets = xgw_calloc(PEER_BUCKETS, sizeof(*t->buckets));
    struct xgw_peer_count **slot = find(t, addr);
    if (*slot == NULL) {
        struct xgw_peer_count *e = xgw_calloc(1, sizeof(*e));
        strncpy(e->addr, addr, PEER_ADDR_MAX - 1);
        *slot = e;
        t->entries++;
    }
    (*slot)->count++;
}

void xgw_peer_table_remove(struct xgw_peer_table *t, const char *addr)
{
    if (t->buckets == NULL)
        return;
    struct xgw_peer_count **slot = find(t, addr);
    struct xgw_peer_count *e = *slot;
    if (e == NULL || --e->count > 0)
        return;
    *slot = e->next;
    xgw_free(e);
    if (--t->entries == 0) {
        xgw_free(t->buckets);
        t->buckets = NULL;
    }
}
