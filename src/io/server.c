/* SPDX-License-Identifier: MIT */
/* The daemon's event loop: libuv owns it, libwebsockets attaches through its libuv event lib
 * (design.md §2); signals, the end-of-pass sweep and the shutdown sequence (pitfall 12). */
#include "xgw/server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "io.h"
#include "xgw/alloc.h"
#include "xgw/limits.h"
#include "xgw/log.h"
#include "xgw/session.h"
#include "xgw/upstream_conn.h"

struct xgw_io *xgw_io_from_gateway(struct xgw_gateway *gw)
{
    return XGW_CONTAINER_OF(gw, struct xgw_io, gw);
}

static void on_sweep(uv_check_t *h)
{
    struct xgw_io *io = h->data;
    xgw_gateway_sweep(&io->gw);
    uv_check_stop(h);
}

static void on_dead(struct xgw_gateway *gw)
{
    struct xgw_io *io = xgw_io_from_gateway(gw);
    if (!uv_is_closing((uv_handle_t *)&io->sweep))
        uv_check_start(&io->sweep, on_sweep);
}

static void on_ping_tick(uv_timer_t *t)
{
    struct xgw_io *io = t->data;
    xgw_ws_ping_tick(io);
    /* O(sessions) once a second: upstream keepalives. */
    xgw_gateway_tick(&io->gw);
}

static void finish(struct xgw_io *io)
{
    uv_timer_stop(&io->drain);
    uv_close((uv_handle_t *)&io->drain, NULL);
    uv_close((uv_handle_t *)&io->ping, NULL);
    uv_close((uv_handle_t *)&io->sigterm, NULL);
    uv_close((uv_handle_t *)&io->sigint, NULL);
    uv_close((uv_handle_t *)&io->sighup, NULL);
    /* Pitfall 12: the first destroy runs inside the loop; uv_run then returns by itself. */
    lws_context_destroy(io->lws);
}

static void on_drain_tick(uv_timer_t *t)
{
    struct xgw_io *io = t->data;
    io->drain_ticks++;
    unsigned max_ticks = (io->cfg->close_timeout_s + 1) * 20;
    if (io->gw.sessions == NULL || io->drain_ticks >= max_ticks) {
        if (io->gw.sessions)
            XGW_LOG_WARN("%u sessions still closing after %us; dropping them", io->gw.session_count,
                         io->cfg->close_timeout_s + 1);
        finish(io);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct xgw_io *io = h->data;
    if (io->stopping)
        return;
    io->stopping = true;
    io->gw.shutting_down = true;
    XGW_LOG_NOTICE("received %s: closing %u sessions", strsignal(signum), io->gw.session_count);
    /* CM-07: every session is told system-shutdown and its upstream stream is closed. */
    xgw_ws_shutdown_all(io);
    xgw_bosh_shutdown(io->bosh, uv_now(&io->loop));
    uv_timer_start(&io->drain, on_drain_tick, 50, 50);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    struct xgw_io *io = h->data;
    (void)signum;
    if (!io->stopping)
        xgw_tls_reload_listener(io);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        XGW_LOG_NOTICE("open-file limit %llu: room for about %llu sessions (2 fds each)",
                       (unsigned long long)rl.rlim_cur, (unsigned long long)(rl.rlim_cur / 2));
}

static size_t listener_count(const struct xgw_config *cfg)
{
    return cfg->listen_count + cfg->tls_listen_count + cfg->status_listen_count;
}

static int create_vhosts(struct xgw_io *io, const struct lws_http_mount *mount)
{
    const struct xgw_config *cfg = io->cfg;
    size_t plain_end = cfg->listen_count, tls_end = plain_end + cfg->tls_listen_count;
    for (size_t i = 0; i < listener_count(cfg); i++) {
        bool tls = i >= plain_end && i < tls_end;
        bool status = i >= tls_end; /* monitoring only: no mounts, no WebSocket */
        const struct xgw_listen *l = status ? &cfg->status_listens[i - tls_end]
                                     : tls  ? &cfg->tls_listens[i - plain_end]
                                            : &cfg->listens[i];
        char *name = io->vhost_names[i]; /* lws keeps the pointer for the vhost's lifetime */
        snprintf(name, sizeof(io->vhost_names[i]), "%s%zu",
                 status ? "status"
                 : tls  ? "tls"
                        : "listen",
                 i);
        struct lws_context_creation_info vi;
        memset(&vi, 0, sizeof(vi));
        vi.port = l->port;
        vi.iface = l->host;
        vi.vhost_name = name;
        vi.protocols = status ? xgw_status_protocols() : xgw_http_protocols();
        vi.mounts = status ? NULL : mount;
        vi.user = io;
        vi.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
        vi.keepalive_timeout = XGW_HTTP_KEEPALIVE_S;
        if (strchr(l->host, ':') == NULL)
            vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        if (tls) {
            /* Checked by xgw_server_check before start-up. HTTP/1.1 only: the BOSH holds and
             * the WebSocket upgrade are built and tested on HTTP/1.1. */
            vi.ssl_cert_filepath = cfg->tls_cert_file;
            vi.ssl_private_key_filepath = cfg->tls_key_file;
            vi.alpn = "http/1.1";
            vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws reads it per vhost too */
        }
        const char *scheme = tls ? "https" : "http";
        bool v6 = strchr(l->host, ':') != NULL;
        if (!lws_create_vhost(io->lws, &vi)) {
            XGW_LOG_ERROR("cannot listen on %s://%s%s%s:%u (address in use or not local?)", scheme,
                          v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
            return -1;
        }
        if (status)
            XGW_LOG_NOTICE("monitoring on http://%s%s%s:%u (/metrics, /status, /healthz)",
                           v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
        else
            XGW_LOG_NOTICE("listening on %s://%s%s%s:%u (WebSocket %s, BOSH %s)", scheme,
                           v6 ? "[" : "", l->host, v6 ? "]" : "", l->port, cfg->ws_path,
                           cfg->bosh_path);
    }
    return 0;
}

static int create_context(struct xgw_io *io)
{
    static void *foreign_loops[1];
    foreign_loops[0] = &io->loop;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (io->cfg->tls_listen_count > 0)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign_loops;
    info.max_http_header_data = XGW_MAX_HTTP_HEADER; /* pitfall 3 */
    info.timeout_secs = 10;
    info.user = io;
    info.gid = -1;
    info.uid = -1;
    io->lws = lws_create_context(&info);
    return io->lws ? 0 : -1;
}

static void lws_log_bridge(int level, const char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (level & LLL_ERR)
        XGW_LOG_WARN("lws: %.*s", (int)len, line);
    else
        XGW_LOG_DEBUG("lws: %.*s", (int)len, line);
}

static int setup(struct xgw_io *io, const struct lws_http_mount *mount)
{
    /* XGW_LWS_LOG=<lws level bitmask> shows libwebsockets' own log, for debugging. */
    const char *lws_log = getenv("XGW_LWS_LOG");
    lws_set_log_level(lws_log ? (int)strtoul(lws_log, NULL, 0) : LLL_ERR | LLL_WARN,
                      lws_log_bridge);
    io->client_tls = xgw_tls_client_ctx_new(io->cfg);
    if (!io->client_tls)
        return -1;
    if (create_context(io) < 0) {
        XGW_LOG_ERROR("cannot create the libwebsockets context (is libwebsockets-evlib-uv "
                      "installed?)");
        return -1;
    }
    io->bosh = xgw_bosh_http_new(io);
    if (create_vhosts(io, mount) < 0)
        return -1;
    uv_signal_init(&io->loop, &io->sigterm);
    uv_signal_init(&io->loop, &io->sigint);
    uv_signal_init(&io->loop, &io->sighup);
    io->sigterm.data = io->sigint.data = io->sighup.data = io;
    uv_signal_start(&io->sigterm, on_signal, SIGTERM);
    uv_signal_start(&io->sigint, on_signal, SIGINT);
    uv_signal_start(&io->sighup, on_sighup, SIGHUP);
    uv_timer_init(&io->loop, &io->drain);
    uv_timer_init(&io->loop, &io->ping);
    io->drain.data = io->ping.data = io;
    uv_timer_start(&io->ping, on_ping_tick, 1000, 1000);
    return 0;
}

int xgw_server_run(const struct xgw_config *cfg)
{
    signal(SIGPIPE, SIG_IGN); /* pitfall 9 */
    raise_fd_limit();
    struct xgw_io *io = xgw_calloc(1, sizeof(*io));
    io->cfg = cfg;
    io->gw.cfg = cfg;
    io->gw.on_dead = on_dead;
    io->gw.io = io;
    io->vhost_names = xgw_calloc(listener_count(cfg), sizeof(*io->vhost_names));
    io->start_unix_s = (uint64_t)time(NULL);
    io->gw.upstream = &xgw_upstream_conn_ops;
    uv_loop_init(&io->loop);
    uv_check_init(&io->loop, &io->sweep);
    io->sweep.data = io;

    /* lws knows html, css, js, json, svg, png, ico, fonts; add what modern pages also use. */
    static const struct lws_protocol_vhost_options mime_webmanifest = {NULL, NULL, ".webmanifest",
                                                                       "application/manifest+json"};
    static const struct lws_protocol_vhost_options mime_map = {&mime_webmanifest, NULL, ".map",
                                                               "application/json"};
    static const struct lws_protocol_vhost_options mime_mjs = {&mime_map, NULL, ".mjs",
                                                               "text/javascript"};
    struct lws_http_mount mount;
    memset(&mount, 0, sizeof(mount));
    mount.mountpoint = "/";
    mount.mountpoint_len = 1;
    mount.origin = cfg->www_root;
    mount.def = "index.html";
    mount.origin_protocol = LWSMPRO_FILE;
    /* "must-revalidate, private, max-age=1": browsers revalidate with the ETag (304) instead
     * of keeping a stale client after an upgrade, or (max-age 0 in lws) never caching. */
    mount.cache_max_age = 1;
    mount.cache_reusable = 1;
    mount.cache_revalidate = 1;
    mount.extra_mimetypes = &mime_mjs;
    mount.protocol = "http"; /* so its callback adds the security headers */

    /* BOSH POST/OPTIONS/GET on its path also come to the http callback. */
    struct lws_http_mount bosh_mount;
    memset(&bosh_mount, 0, sizeof(bosh_mount));
    bosh_mount.mountpoint = cfg->bosh_path;
    bosh_mount.mountpoint_len = (unsigned char)strlen(cfg->bosh_path);
    bosh_mount.origin = "http";
    bosh_mount.origin_protocol = LWSMPRO_CALLBACK;
    bosh_mount.mount_next = cfg->www_root ? &mount : NULL;
    /* The WebSocket path itself goes to our http callback, so a plain GET or POST there gets
     * a 400 that says what the endpoint is (the upgrade is decided before mounts). */
    struct lws_http_mount ws_mount;
    memset(&ws_mount, 0, sizeof(ws_mount));
    ws_mount.mountpoint = cfg->ws_path;
    ws_mount.mountpoint_len = (unsigned char)strlen(cfg->ws_path);
    ws_mount.origin = "http";
    ws_mount.origin_protocol = LWSMPRO_CALLBACK;
    ws_mount.mount_next = &bosh_mount;
    /* /healthz and the XEP-0156 documents: exact paths (lws mounts match whole segments). */
    struct lws_http_mount exact_mounts[3];
    static const char *const exact_paths[3] = {XGW_HEALTHZ_PATH, XGW_HOST_META_PATH,
                                               XGW_HOST_META_JSON_PATH};
    size_t exact_count = cfg->discovery_enabled ? 3 : 1;
    const struct lws_http_mount *first_mount = &ws_mount;
    for (size_t i = 0; i < exact_count; i++) {
        struct lws_http_mount *m = &exact_mounts[i];
        memset(m, 0, sizeof(*m));
        m->mountpoint = exact_paths[i];
        m->mountpoint_len = (unsigned char)strlen(exact_paths[i]);
        m->origin = "http";
        m->origin_protocol = LWSMPRO_CALLBACK;
        m->mount_next = first_mount;
        first_mount = m;
    }

    int rc = 2;
    if (setup(io, first_mount) == 0) {
        XGW_LOG_NOTICE("xmppgw %s ready", XGW_VERSION);
        uv_run(&io->loop, UV_RUN_DEFAULT);
        rc = 0;
    } else {
        lws_context_destroy(io->lws);
        io->lws = NULL;
        uv_walk(&io->loop, (uv_walk_cb)(void (*)(void))uv_close, NULL);
    }
    /* Pitfall 12: second destroy after uv_run returned, then the loop must close cleanly. */
    if (io->lws)
        lws_context_destroy(io->lws);
    if (io->bosh)
        xgw_bosh_free(io->bosh);
    xgw_gateway_sweep(&io->gw);
    uv_close((uv_handle_t *)&io->sweep, NULL);
    uv_run(&io->loop, UV_RUN_DEFAULT);
    int close_rc = uv_loop_close(&io->loop);
    if (close_rc != 0)
        XGW_LOG_WARN("event loop did not close cleanly: %s", uv_strerror(close_rc));
    SSL_CTX_free(io->client_tls);
    xgw_free(io->vhost_names);
    xgw_free(io);
    if (rc == 0)
        XGW_LOG_NOTICE("shut down cleanly");
    return rc;
}
