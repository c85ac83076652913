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

/* The operations a session may perform on its upstream connection. The io layer installs its
 * implementation in struct xgw_gateway; unit tests install a fake. */
struct xgw_upstream_ops {
    /* Starts resolving and connecting to route->host:port for session s. The connect timeout
     * covers resolve + connect + TLS + the first stream header (cleared by ready()). Never
     * calls back synchronously. */
    struct xgw_upstream_conn *(*connect)(struct xgw_gateway *gw, struct xgw_session *s,
                                         const struct xgw_route *route);
    /* Queues bytes for the server (through TLS when active). XGW_ELIMIT when the write queue
     * would pass limits.max_queue_bytes. */
    enum xgw_err (*write)(struct xgw_upstream_conn *c, const char *data, size_t len);
    /* Begins the TLS handshake now (after <proceed/>). */
    enum xgw_err (*start_tls)(struct xgw_upstream_conn *c);
    bool (*is_tls)(const struct xgw_upstream_conn *c);
    /* True if the connected peer address is loopback (127.0.0.0/8, ::1). */
    bool (*is_loopback)(const struct xgw_upstream_conn *c);
    /* Stream negotiation finished: stops the connect timeout. */
    void (*ready)(struct xgw_upstream_conn *c);
    /* (Re)arms the connection's timer: after timeout_s the session gets
     * xgw_session_upstream_failed(XGW_SC_CONNECTION_TIMEOUT). Used for the close handshake. */
    void (*set_timeout)(struct xgw_upstream_conn *c, unsigned timeout_s);
    void (*pause_read)(struct xgw_upstream_conn *c);
    void (*resume_read)(struct xgw_upstream_conn *c);
    /* Flushes queued writes (and TLS close_notify when graceful), then closes. The session is
     * told through xgw_session_upstream_released() once the handle is gone. */
    void (*close)(struct xgw_upstream_conn *c, bool graceful);
    /* Peer address as text for logs ("127.0.0.1:5222"), "" before connect. */
    const char *(*peer)(const struct xgw_upstream_conn *c);
};

/* The libuv + OpenSSL implementation (io/upstream_conn.c). */
extern const struct xgw_upstream_ops xgw_upstream_conn_ops;

#endif
