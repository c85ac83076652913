/* SPDX-License-Identifier: MIT */
/* The daemon root: configuration, the session list and the end-of-pass free list. One per loop;
 * passed explicitly, never global. */
#ifndef XGW_GATEWAY_H
#define XGW_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/config.h"
#include "xgw/peer_table.h"
#include "xgw/stats.h"

struct xgw_session;
struct xgw_upstream_ops;

struct xgw_gateway {
    const struct xgw_config *cfg; /* borrowed */
    unsigned loop_id;             /* encoded in every sid (design.md §2) */
    struct xgw_session *sessions; /* owned; doubly linked list of live sessions */
    struct xgw_session *dead;     /* owned; sessions to free at the end of the loop pass */
    unsigned session_count;
    struct xgw_peer_table peers; /* live sessions per client address */
    struct xgw_stats stats;      /* counters for /metrics and /status */
    bool shutting_down;
    void *io; /* borrowed; the io layer's state (libuv loop, TLS context) */
    const struct xgw_upstream_ops *upstream; /* borrowed; how sessions reach their server */
    /* Called when a session lands on the dead list, so the io layer can schedule the sweep. */
    void (*on_dead)(struct xgw_gateway *gw);
};

/* Once a second: xgw_session_tick() for every live session. */
void xgw_gateway_tick(struct xgw_gateway *gw);

/* Frees every session on the dead list. Called by the io layer at the end of a loop pass. */
void xgw_gateway_sweep(struct xgw_gateway *gw);

#endif
