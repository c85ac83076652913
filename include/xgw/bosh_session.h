/* SPDX-License-Identifier: MIT */
/* BOSH sessions (XEP-0124 + XEP-0206) as a pure state machine: the sid table, creation and
 * attribute clamping, the rid window with in-order processing and a replay cache, request holds
 * with wait/inactivity/pause timers driven by an explicit clock, acks, key sequencing,
 * overactivity/polling policing, restarts and termination. It is a client transport for the
 * session core (struct xgw_transport_ops): upstream elements are queued and delivered on held
 * requests; client payloads go to the core in rid order.
 *
 * No I/O: HTTP requests are opaque `struct xgw_bosh_conn` handles owned by the io layer, which
 * answers them through xgw_bosh_host_ops and arms one timer per session at the deadline this
 * module asks for. Every function takes `now_ms` from a monotonic clock (tests use a fake). */
#ifndef XGW_BOSH_SESSION_H
#define XGW_BOSH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/bosh_body.h"
#include "xgw/compiler.h"

struct xgw_gateway;
struct xgw_bosh_conn;    /* one HTTP request awaiting its response; owned by the io layer */
struct xgw_bosh_session; /* one BOSH session */
struct xgw_bosh;         /* every BOSH session of a gateway: the sid table and settings */

/* What the BOSH layer needs from the io layer. All calls happen on the loop thread. */
struct xgw_bosh_host_ops {
    /* Answers `conn` with HTTP `status` (200, or 400/403/404 for legacy clients, BOSH-80),
     * Content-Type `content_type` and the body bytes (borrowed for the call). After this call
     * the BOSH layer never mentions `conn` again. Never called re-entrantly from inside
     * xgw_bosh_* functions for a conn other than those of the session being handled. */
    void (*respond)(void *host, struct xgw_bosh_conn *conn, unsigned status,
                    const char *content_type, const char *body, size_t len);
    /* The session's earliest deadline is now `deadline_ms` (UINT64_MAX: none). The io layer
     * (re)arms one one-shot timer and calls xgw_bosh_session_tick() when it fires; after that
     * call the timer counts as disarmed until the next schedule(). A deadline at or before the
     * current time means "tick as soon as possible" (next loop iteration): the BOSH layer asks
     * for that when upstream data or the end of the stream arrives outside its own calls, so
     * that every response is sent from a tick with an exact clock. */
    void (*schedule)(void *host, struct xgw_bosh_session *bs, uint64_t deadline_ms);
    /* The session is finished and will be freed right after this returns: drop its timer.
     * May come without any schedule() before it (a creation refused at once). */
    void (*released)(void *host, struct xgw_bosh_session *bs);
    /* Closes the HTTP connection of `conn` without any answer (BOSH-81: a request for a session
     * created over HTTPS arrived over plain HTTP). The BOSH layer never mentions `conn` again;
     * the io layer must not report it through xgw_bosh_conn_gone(). */
    void (*drop)(void *host, struct xgw_bosh_conn *conn);
    /* Lower-case hex SHA-1 of data (41 bytes with NUL) for XEP-0124 §15 key sequencing.
     * NULL: keys are not checked (BOSH-86). */
    void (*sha1_hex)(const char *data, size_t len, char out[41]);
};

/* Server-side limits and defaults (config keys bosh.*; defaults in limits.h). */
struct xgw_bosh_settings {
    unsigned max_wait_s;     /* clamp for the client's wait (default 50: below 60 s proxies) */
    unsigned default_wait_s; /* when the client gives no wait */
    unsigned max_hold;       /* clamp for hold (default 1) */
    unsigned inactivity_s;   /* advertised inactivity (default 60) */
    unsigned polling_s;      /* advertised polling (default 2) */
    unsigned maxpause_s;     /* advertised maxpause (default 120) */
    size_t max_body_bytes;   /* request body cap (default 131072) */
    size_t max_queue_bytes;  /* queued upstream data per session (limits.max_queue_bytes) */
};

/* Creates the BOSH layer for a gateway. host/ops are borrowed for its lifetime. */
struct xgw_bosh *xgw_bosh_new(struct xgw_gateway *gw, const struct xgw_bosh_settings *settings,
                              const struct xgw_bosh_host_ops *ops, void *host);
/* Frees the table. Every session must already have been released (see shutdown). */
void xgw_bosh_free(struct xgw_bosh *bosh);

/* Handles one complete POST body that arrived on `conn`. Parses it (xgw_bosh_req_parse),
 * then: no sid -> session creation; unknown sid -> T(item-not-found); known sid -> the session's
 * request logic. Every outcome ends, now or later, in exactly one respond() or drop() for `conn`
 * (unless xgw_bosh_conn_gone() is called first). peer is the client address for logs; secure
 * says the request came over TLS: a session created that way is only used that way (BOSH-81). */
void xgw_bosh_handle(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, const char *body,
                     size_t len, const char *peer, bool secure, uint64_t now_ms);

/* The client closed the TCP connection of a request that is still waiting for its answer:
 * forget `conn` without answering it. Queued upstream data stays for the next request. */
void xgw_bosh_conn_gone(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, uint64_t now_ms);

/* Timer expiry for a session: answers held requests whose wait ran out (empty <body/>), gives
 * type='error' to out-of-order requests whose gap did not fill within wait (BOSH-63), ends
 * sessions idle past inactivity (or pause), then reports the next deadline via schedule(). */
void xgw_bosh_session_tick(struct xgw_bosh_session *bs, uint64_t now_ms);

/* Gateway shutdown: every held request gets T(system-shutdown) and every session's upstream is
 * closed; later requests get T(system-shutdown) too (TERM-12). */
void xgw_bosh_shutdown(struct xgw_bosh *bosh, uint64_t now_ms);

/* Answers `conn` with T(cond) without involving any session: for requests the io layer refuses
 * before parsing (a body over bosh.max_body_bytes -> POLICY_VIOLATION, BOSH-83 unreadable
 * requests -> BAD_REQUEST). Uses the default Content-Type. */
void xgw_bosh_reject(struct xgw_bosh *bosh, struct xgw_bosh_conn *conn, enum xgw_bosh_cond cond);

/* One pointer-sized slot per session that belongs to the io layer (its timer); NULL until the
 * io layer sets it. */
void **xgw_bosh_session_host_slot(struct xgw_bosh_session *bs);

/* Number of live sessions (for logs, /status and tests). */
size_t xgw_bosh_session_count(const struct xgw_bosh *bosh);

#endif
