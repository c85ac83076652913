/* SPDX-License-Identifier: MIT */
/* State shared by the io/ modules: the libuv loop, the lws context and the TLS client context. */
#ifndef XGW_IO_IO_H
#define XGW_IO_IO_H

#include <stdbool.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "xgw/bosh_session.h"
#include "xgw/config.h"
#include "xgw/gateway.h"
#include "xgw/srv.h"

#define XGW_IO_READ_BYTES 65536

struct ws_conn;

struct xgw_io {
    uv_loop_t loop;
    struct xgw_gateway gw;
    const struct xgw_config *cfg; /* borrowed */
    struct lws_context *lws;      /* owned */
    struct xgw_bosh *bosh;        /* owned; every BOSH session */
    char (*vhost_names)[32];      /* owned; one per listen address, kept alive for lws */
    SSL_CTX *client_tls;          /* owned; upstream TLS, verification on by default */
    uv_signal_t sigterm, sigint, sighup;
    uv_check_t sweep;         /* frees dead sessions at the end of every loop pass */
    uv_timer_t drain;         /* shutdown: waits for sessions to finish closing */
    uv_timer_t ping;          /* one-second tick for WebSocket pings */
    struct ws_conn *ws_conns; /* borrowed list; each entry is owned by lws */
    unsigned drain_ticks;
    bool stopping;
    bool reloading;        /* a SIGHUP certificate reload is running on the worker pool */
    uint64_t start_unix_s; /* for /metrics and /status */
    char read_buf[XGW_IO_READ_BYTES]; /* upstream reads: consumed synchronously per callback */
};

/* The io state that owns gw (gw is embedded in struct xgw_io). */
struct xgw_io *xgw_io_from_gateway(struct xgw_gateway *gw);

/* Creates the upstream TLS client context from cfg (CA file/dir or the system store). Returns
 * NULL and logs the OpenSSL reason on failure. */
SSL_CTX *xgw_tls_client_ctx_new(const struct xgw_config *cfg);
/* SIGHUP: re-reads and checks tls.cert_file/tls.key_file on the worker pool, then hands them
 * to libwebsockets for new connections; a bad pair is logged and the current one kept. */
void xgw_tls_reload_listener(struct xgw_io *io);
/* Logs and clears the OpenSSL error queue under `what`. */
void xgw_tls_log_errors(const char *sid_or_ctx, const char *what);

/* ---- io/http.c: the listener's protocol table and plain HTTP ---- */
/* The protocol table ("http" with the BOSH per-request data, then "xmpp"). */
const struct lws_protocols *xgw_http_protocols(void);
/* The status listeners' table: "http" only. */
const struct lws_protocols *xgw_status_protocols(void);
/* The io state of a connection (the vhost's user pointer). */
struct xgw_io *xgw_io_of(struct lws *wsi);
/* The client's numeric address: the socket peer, or for a peer in trusted_proxies the
 * rightmost X-Forwarded-For entry that is not a trusted proxy itself. */
void xgw_http_client_addr(struct lws *wsi, char *out, size_t out_len);
/* One extra response header: name in lower case with its colon ("vary:"), and the value. */
struct xgw_http_header {
    const char *name, *value;
};
/* Writes a complete answer (status, Content-Type, Content-Length, the extra headers and the
 * body; Connection: close when the request's body went unread) and ends the transaction.
 * Returns 0, or -1: close the connection. */
int xgw_http_send(struct lws *wsi, unsigned status, const char *content_type,
                  const struct xgw_http_header *headers, size_t header_count, const char *body,
                  size_t len);
/* Writes a complete short text/plain answer with an optional extra header, without ending the
 * transaction. Returns 1 when written (so CONFIRM_UPGRADE knows we answered), -1 on failure. */
int xgw_http_reply(struct lws *wsi, unsigned status, const char *extra_name,
                   const char *extra_value, const char *body);

/* ---- io/discovery_http.c: XEP-0156 host-meta, static file headers ---- */
#define XGW_HOST_META_PATH      "/.well-known/host-meta"
#define XGW_HOST_META_JSON_PATH "/.well-known/host-meta.json"
/* GET of host-meta (json false) or host-meta.json (json true). */
int xgw_discovery_http_get(struct xgw_io *io, struct lws *wsi, bool json);
int xgw_discovery_http_preflight(struct lws *wsi);
/* LWS_CALLBACK_ADD_HEADERS of the www_root mount: CSP, nosniff, no referrer. */
int xgw_www_add_headers(struct lws *wsi, struct lws_process_html_args *args);

/* ---- io/srv_lookup.c: DNS SRV on the worker pool ---- */
struct xgw_srv_result {
    bool cancelled;
    size_t count; /* 0: no records (NXDOMAIN, no data, failure: see error) */
    struct xgw_srv_target targets[XGW_SRV_MAX_TARGETS];
    char error[128];
};
struct xgw_srv_job;
/* Called once on the loop thread, also after xgw_srv_cancel (result->cancelled). */
typedef void (*xgw_srv_cb)(void *arg, struct xgw_srv_result *result);
/* Looks up the SRV records of name (e.g. "_xmpp-client._tcp.example.org"). NULL if the job
 * could not be queued (cb is then never called). */
struct xgw_srv_job *xgw_srv_lookup(struct xgw_io *io, const char *name, xgw_srv_cb cb, void *arg);
void xgw_srv_cancel(struct xgw_srv_job *job);

/* ---- io/status_http.c: monitoring ---- */
#define XGW_HEALTHZ_PATH "/healthz"
/* True on a status listener (status.listen): it serves only the monitoring endpoints. */
bool xgw_status_vhost(struct lws *wsi);
/* A request on a status listener: /metrics, /status (GET), /healthz; anything else 404. */
int xgw_status_http(struct xgw_io *io, struct lws *wsi, bool get, const char *path);
/* /healthz on any listener: 200 "ok", or 503 while shutting down. */
int xgw_healthz_http(struct xgw_io *io, struct lws *wsi);

/* ---- io/ws_lws.c: RFC 7395 ---- */
int xgw_ws_confirm_upgrade(struct lws *wsi);
int xgw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
size_t xgw_ws_conn_size(void);

/* ---- io/bosh_http.c: XEP-0124 over HTTP ---- */
struct xgw_bosh_conn;
struct xgw_bosh *xgw_bosh_http_new(struct xgw_io *io);
size_t xgw_bosh_http_conn_size(void);
bool xgw_bosh_http_owns(const struct xgw_bosh_conn *conn);
int xgw_bosh_http_begin(struct xgw_io *io, struct lws *wsi, struct xgw_bosh_conn *conn);
int xgw_bosh_http_preflight(struct xgw_io *io, struct lws *wsi);
int xgw_bosh_http_event(struct lws *wsi, struct xgw_bosh_conn *conn,
                        enum lws_callback_reasons reason, void *in, size_t len);
/* Pings idle WebSocket clients and drops silent ones (WS-19). */
void xgw_ws_ping_tick(struct xgw_io *io);
/* Closes every WebSocket session for shutdown (CM-07). */
void xgw_ws_shutdown_all(struct xgw_io *io);

#endif
