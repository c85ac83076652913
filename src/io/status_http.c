/* SPDX-License-Identifier: MIT */
/* The monitoring endpoints: /metrics (Prometheus) and /status (JSON) on the status listeners
 * only (status.listen, loopback by convention), /healthz on every listener (200 while taking
 * sessions, 503 while shutting down). Rendering is in http/metrics.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "xgw/buf.h"
#include "xgw/metrics.h"

#define STATUS_DOC_MAX (1024 * 1024)

static uint64_t rss_bytes(void)
{
    unsigned long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%lu %lu", &pages_total, &pages_resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)pages_resident * (uint64_t)page : 0;
}

static int send_body(struct lws *wsi, unsigned status, const char *content_type, const char *body,
                     size_t len)
{
    static const struct xgw_http_header no_store = {"cache-control:", "no-store"};
    return xgw_http_send(wsi, status, content_type, &no_store, 1, body, len);
}

int xgw_healthz_http(struct xgw_io *io, struct lws *wsi)
{
    if (io->gw.shutting_down)
        return send_body(wsi, 503, "text/plain; charset=utf-8", "shutting down\n", 14);
    return send_body(wsi, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

bool xgw_status_vhost(struct lws *wsi)
{
    const char *name = lws_get_vhost_name(lws_get_vhost(wsi));
    return name && strncmp(name, "status", 6) == 0;
}

int xgw_status_http(struct xgw_io *io, struct lws *wsi, bool get, const char *path)
{
    bool metrics = strcmp(path, "/metrics") == 0;
    bool status = strcmp(path, "/status") == 0;
    if (strcmp(path, "/healthz") == 0)
        return xgw_healthz_http(io, wsi);
    if (!metrics && !status)
        return send_body(wsi, 404, "text/plain; charset=utf-8",
                         "Not found: this listener serves /metrics, /status and /healthz\n", 63);
    if (!get)
        return send_body(wsi, 405, "text/plain; charset=utf-8", "Use GET\n", 8);
    struct xgw_process_info proc = {
        .now_unix_s = (uint64_t)time(NULL),
        .start_unix_s = io->start_unix_s,
        .rss_bytes = rss_bytes(),
    };
    struct xgw_buf doc;
    xgw_buf_init(&doc, STATUS_DOC_MAX);
    enum xgw_err err =
        metrics ? xgw_metrics_text(&io->gw, &proc, &doc) : xgw_status_json(&io->gw, &proc, &doc);
    int rc = err != XGW_OK ? send_body(wsi, 500, "text/plain; charset=utf-8", "error\n", 6)
             : metrics ? send_body(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", doc.data,
                                   doc.len)
                       : send_body(wsi, 200, "application/json", doc.data, doc.len);
    xgw_buf_cleanup(&doc);
    return rc;
}
