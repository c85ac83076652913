/* SPDX-License-Identifier: MIT */
/* Transport-neutral client session: links one client-side transport (WebSocket now, BOSH next)
 * to one upstream XMPP c2s stream (CM-01). It owns the upstream connection, the upstream stream
 * logic (header, STARTTLS, feature filtering, restarts, stream errors), back-pressure and the
 * session's lifetime. Close = mark + free at the end of the loop pass. */
#ifndef XGW_SESSION_H
#define XGW_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/compiler.h"
#include "xgw/config.h"
#include "xgw/stream_cond.h"
#include "xgw/xml_framer.h"
#include "xgw/xml_tree.h"

struct xgw_session;
struct xgw_gateway;

/* What the session needs from the client-side transport. All calls are made on the loop thread
 * and never after xgw_session_detach(). */
struct xgw_transport_ops {
    /* The server's (post-TLS) stream header arrived: initial or after a restart. */
    void (*stream_open)(void *transport, const struct xgw_stream_header *header);
    /* One standalone top-level element for the client. bytes are borrowed for the call. */
    void (*element)(void *transport, const char *bytes, size_t len);
    /* The stream is over; the transport tells the client and closes after flushing:
     *  - cond == XGW_SC_NONE, error == NULL: graceful close (the server closed, or it answered
     *    the client's close);
     *  - error != NULL: the server's <stream:error/> verbatim (standalone bytes);
     *  - otherwise a condition the gateway raises (host-unknown, remote-connection-failed,
     *    system-shutdown, policy-violation...). */
    void (*end)(void *transport, enum xgw_stream_cond cond, const char *error, size_t error_len);
    /* Bytes queued toward the client and not yet written (for back-pressure). */
    size_t (*queued_bytes)(void *transport);
};

enum xgw_session_transport_kind { XGW_TRANSPORT_WS, XGW_TRANSPORT_BOSH };

/* Creates a session bound to a transport. peer is the client's numeric address (logs and the
 * per-address limit). Returns NULL (and *cond) when the gateway refuses new sessions (shutdown
 * -> system-shutdown, limits.max_sessions -> resource-constraint, limits.max_sessions_per_ip ->
 * policy-violation). */
struct xgw_session *xgw_session_new(struct xgw_gateway *gw, enum xgw_session_transport_kind kind,
                                    const struct xgw_transport_ops *ops, void *transport,
                                    const char *peer, enum xgw_stream_cond *cond);
const char *xgw_session_id(const struct xgw_session *s);
/* Once a second from the io layer: counts upstream silence and, after upstream.keepalive_s
 * of it on an authenticated stream, writes one whitespace keepalive (XMPP-17). */
void xgw_session_tick(struct xgw_session *s);
/* True when peer already has limits.max_sessions_per_ip sessions (loopback addresses never do):
 * lets a transport refuse before it has a session (the WebSocket handshake gets 429). */
bool xgw_session_peer_full(const struct xgw_gateway *gw, const char *peer);

/* The client opens the stream (WS <open/>, BOSH creation request) or restarts it after SASL.
 * to/lang/version/from come from the client; NULLs are allowed except to. The first call
 * connects upstream (host-unknown when no route); later calls are restarts, which are only
 * accepted right after SASL success (else the session ends with conflict, WS-38). */
void xgw_session_client_open(struct xgw_session *s, const char *to, const char *lang,
                             const char *from);
/* One client element to relay upstream (re-serialised, never spliced). flags as for
 * xgw_xml_write_element. */
void xgw_session_client_element(struct xgw_session *s, const struct xgw_xml_node *element,
                                unsigned write_flags);
/* The client closes the stream gracefully (WS <close/>, BOSH terminate). */
void xgw_session_client_close(struct xgw_session *s);
/* The client side broke a protocol rule: end the session with this condition. */
void xgw_session_client_error(struct xgw_session *s, enum xgw_stream_cond cond);
/* The transport is gone (socket closed). The session drops its transport pointer, closes the
 * upstream (without </stream:stream> when XEP-0198 resumption is enabled, WS-40) and is freed
 * at the end of the loop pass. */
void xgw_session_detach(struct xgw_session *s);
/* The transport drained its queue: resume reading upstream if it was paused. */
void xgw_session_client_writable(struct xgw_session *s);
/* Gateway shutdown: end with system-shutdown. */
void xgw_session_shutdown(struct xgw_session *s);

/* Upstream events, called by io/upstream_conn.c only. */
void xgw_session_upstream_connected(struct xgw_session *s);
void xgw_session_upstream_tls_done(struct xgw_session *s);
void xgw_session_upstream_data(struct xgw_session *s, const char *data, size_t len);
/* Connect/TLS failure, timeout, RST or EOF. reason is for the log. */
void xgw_session_upstream_failed(struct xgw_session *s, enum xgw_stream_cond cond,
                                 const char *reason);
void xgw_session_upstream_released(struct xgw_session *s);

#endif
