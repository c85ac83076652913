/* SPDX-License-Identifier: MIT */
/* DNS SRV target selection for the upstream connection (RFC 6120 §3.2.1, RFC 2782): which
 * records mean "no service", and the order to try the others in (lowest priority first,
 * weighted random within a priority). Pure: the randomness comes from the caller. */
#ifndef XGW_SRV_H
#define XGW_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XGW_SRV_MAX_TARGETS 16 /* records beyond this are ignored */
#define XGW_SRV_HOST_MAX    256

struct xgw_srv_target {
    uint16_t priority, weight, port;
    char host[XGW_SRV_HOST_MAX]; /* without the trailing dot; "." is kept as "." */
};

/* RFC 2782: a single record whose target is "." says the service is decidedly not available
 * at this domain (no fallback to A/AAAA). */
bool xgw_srv_no_service(const struct xgw_srv_target *targets, size_t count);

/* Sorts targets in place into the order to try them. rand_below(ctx, bound) must return a
 * uniformly distributed value in [0, bound]. */
void xgw_srv_order(struct xgw_srv_target *targets, size_t count,
                   unsigned (*rand_below)(void *ctx, unsigned bound), void *ctx);

#endif
