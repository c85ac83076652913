/* SPDX-License-Identifier: MIT */
/* One upstream TCP (optionally TLS) connection to an XMPP server: asynchronous resolve, non-
 * blocking connect with a timeout, STARTTLS or direct TLS with verification against the XMPP
 * domain, buffered writes. Implemented in io/ with libuv and OpenSSL; the session sees only this
 * opaque interface. Events go back to the owning session through the xgw_session_upstream_*
 * functions in session.h. */
#ifndef XGW_UPSTREAM_CONN_H
#define XGW_UPSTREAM_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/compiler.h"
#include "xgw/config.h"
#include "xgw/err.h"

struct xgw_session;
struct xgw_gateway;
struct xgw_upstream_conn;

/* Starts resolving and connecting to route->host:port for session s. The connect timeout covers
 * resolve + connect + TLS + the wait for the first stream header (cleared by
 * xgw_upstream_conn_ready). Never calls back synchronously. */
struct xgw_upstream_conn *xgw_upstream_conn_new(struct xgw_gateway *gw, struct xgw_session *s,
                                                const struct xgw_route *route);
/* Queues bytes for the server (through TLS when active). XGW_ELIMIT when the write queue would
 * pass the per-session cap. */
XGW_MUST_CHECK enum xgw_err xgw_upstream_conn_write(struct xgw_upstream_conn *c, const char *data,
                                                    size_t len);
/* Begins the TLS handshake now (after <proceed/>). */
XGW_MUST_CHECK enum xgw_err xgw_upstream_conn_start_tls(struct xgw_upstream_conn *c);
bool xgw_upstream_conn_is_tls(const struct xgw_upstream_conn *c);
/* True if the connected peer address is loopback (127.0.0.0/8, ::1). */
bool xgw_upstream_conn_is_loopback(const struct xgw_upstream_conn *c);
/* Stream negotiation finished: stops the connect timeout. */
void xgw_upstream_conn_ready(struct xgw_upstream_conn *c);
/* (Re)arms the connection's single timer: after timeout_s the session gets
 * xgw_session_upstream_failed(XGW_SC_CONNECTION_TIMEOUT). Used for the close handshake. */
void xgw_upstream_conn_set_timeout(struct xgw_upstream_conn *c, unsigned timeout_s);
void xgw_upstream_conn_pause_read(struct xgw_upstream_conn *c);
void xgw_upstream_conn_resume_read(struct xgw_upstream_conn *c);
/* Flushes queued writes (and TLS close_notify when graceful), then closes. The session is told
 * through xgw_session_upstream_released() once the handle is gone; no other event follows. */
void xgw_upstream_conn_close(struct xgw_upstream_conn *c, bool graceful);
/* Peer address as text for logs ("127.0.0.1:5222"), "" before connect. */
const char *xgw_upstream_conn_peer(const struct xgw_upstream_conn *c);

#endif
