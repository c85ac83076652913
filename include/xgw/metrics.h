/* SPDX-License-Identifier: MIT */
/* The operator's view of a running gateway: Prometheus text exposition (/metrics) and a JSON
 * status document (/status), rendered from the gateway's counters. Pure: the caller passes in
 * what only the io layer can read (clock, process memory). */
#ifndef XGW_METRICS_H
#define XGW_METRICS_H

#include <stdint.h>

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/gateway.h"

struct xgw_process_info {
    uint64_t now_unix_s;
    uint64_t start_unix_s;
    uint64_t rss_bytes; /* 0: unknown (left out) */
};

/* Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4). */
XGW_MUST_CHECK enum xgw_err xgw_metrics_text(const struct xgw_gateway *gw,
                                             const struct xgw_process_info *proc,
                                             struct xgw_buf *out);
/* application/json, one object, keys documented in README ("Monitoring"). */
XGW_MUST_CHECK enum xgw_err xgw_status_json(const struct xgw_gateway *gw,
                                            const struct xgw_process_info *proc,
                                            struct xgw_buf *out);

#endif
