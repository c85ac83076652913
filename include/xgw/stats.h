/* SPDX-License-Identifier: MIT */
/* Counters for /metrics and /status: plain integers in the gateway, bumped where the event is
 * decided (one loop thread, no atomics). Gauges that the gateway can compute (live sessions)
 * are kept here too, so rendering never walks the sessions. */
#ifndef XGW_STATS_H
#define XGW_STATS_H

#include <stdint.h>

#include "xgw/stream_cond.h"

#define XGW_SC_LAST XGW_SC_UNSUPPORTED_VERSION

enum xgw_stats_transport { XGW_STATS_WS, XGW_STATS_BOSH, XGW_STATS_TRANSPORTS };

/* Why a session was not created. */
enum xgw_stats_refusal {
    XGW_REFUSED_MAX_SESSIONS,
    XGW_REFUSED_MAX_PER_IP,
    XGW_REFUSED_SHUTDOWN,
    XGW_REFUSALS,
};

/* How a session ended: every stream condition, plus the server's own <stream:error/>. */
#define XGW_END_REMOTE_STREAM_ERROR (XGW_SC_LAST + 1)
#define XGW_ENDINGS                 (XGW_SC_LAST + 2)

struct xgw_stats {
    uint64_t sessions_live[XGW_STATS_TRANSPORTS];
    uint64_t sessions_created[XGW_STATS_TRANSPORTS];
    uint64_t sessions_ended[XGW_STATS_TRANSPORTS][XGW_ENDINGS];
    uint64_t sessions_refused[XGW_REFUSALS];
    uint64_t bytes_to_server[XGW_STATS_TRANSPORTS];
    uint64_t bytes_to_client[XGW_STATS_TRANSPORTS];
    uint64_t upstream_connected; /* TCP connects that succeeded */
    uint64_t upstream_tls;       /* TLS handshakes that verified the server */
    uint64_t bosh_requests;      /* POST bodies handed to the BOSH layer */
    uint64_t bosh_held;          /* requests waiting for an answer right now (gauge) */
};

#endif
