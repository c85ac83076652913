/* SPDX-License-Identifier: MIT */
/* Live sessions per client address, for limits.max_sessions_per_ip (CM-08). Embedded by value
 * in the gateway (all zero = empty); the bucket array exists only while some address is
 * counted, so an idle gateway holds nothing. Pure: no I/O. */
#ifndef XGW_PEER_TABLE_H
#define XGW_PEER_TABLE_H

#include <stdbool.h>
#include <stddef.h>

struct xgw_peer_count;

struct xgw_peer_table {
    struct xgw_peer_count **buckets; /* owned; NULL while empty */
    size_t entries;                  /* addresses with a count above zero */
};

/* Sessions counted for addr (0 if none). */
unsigned xgw_peer_table_count(const struct xgw_peer_table *t, const char *addr);
/* Counts one more session for addr. */
void xgw_peer_table_add(struct xgw_peer_table *t, const char *addr);
/* Counts one session less for addr (which must have been added). */
void xgw_peer_table_remove(struct xgw_peer_table *t, const char *addr);

#endif
