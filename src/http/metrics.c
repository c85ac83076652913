/* SPDX-License-Identifier: MIT */
/* /metrics (Prometheus text exposition 0.0.4) and /status (JSON) from struct xgw_stats. Series
 * of finished sessions are listed per end condition only once they are non-zero, so a scrape
 * stays short; every other series is always present. */
#include "xgw/metrics.h"

#include <inttypes.h>
#include <stdlib.h>

#include <jansson.h>

#include "xgw/json_doc.h"
#include "xgw/stream_cond.h"

static const char *const transport_label[XGW_STATS_TRANSPORTS] = {"websocket", "bosh"};
static const char *const refusal_label[XGW_REFUSALS] = {"max_sessions", "max_sessions_per_ip",
                                                        "shutdown"};

static const char *ending_label(int ending)
{
    if (ending == XGW_END_REMOTE_STREAM_ERROR)
        return "remote-stream-error";
    return ending == XGW_SC_NONE ? "none" : xgw_stream_cond_name((enum xgw_stream_cond)ending);
}

/* "# HELP" and "# TYPE" lines of one metric family. */
static enum xgw_err family(struct xgw_buf *out, const char *name, const char *type,
                           const char *help)
{
    return xgw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static enum xgw_err per_transport(struct xgw_buf *out, const char *name, const char *type,
                                  const char *help, const uint64_t values[XGW_STATS_TRANSPORTS])
{
    enum xgw_err err = family(out, name, type, help);
    for (int t = 0; err == XGW_OK && t < XGW_STATS_TRANSPORTS; t++)
        err = xgw_buf_printf(out, "%s{transport=\"%s\"} %" PRIu64 "\n", name, transport_label[t],
                             values[t]);
    return err;
}

static enum xgw_err single(struct xgw_buf *out, const char *name, const char *type,
                           const char *help, uint64_t value)
{
    enum xgw_err err = family(out, name, type, help);
    return err == XGW_OK ? xgw_buf_printf(out, "%s %" PRIu64 "\n", name, value) : err;
}

static enum xgw_err endings(struct xgw_buf *out, const struct xgw_stats *st)
{
    const char *name = "xmppgw_sessions_ended_total";
    enum xgw_err err = family(out, name, "counter",
                              "Web sessions ended, by transport and the condition they ended "
                              "with (none: a clean close).");
    for (int t = 0; err == XGW_OK && t < XGW_STATS_TRANSPORTS; t++) {
        for (int e = 0; err == XGW_OK && e < XGW_ENDINGS; e++) {
            if (st->sessions_ended[t][e] == 0 && e != XGW_SC_NONE)
                continue;
            err = xgw_buf_printf(out, "%s{transport=\"%s\",condition=\"%s\"} %" PRIu64 "\n", name,
                                 transport_label[t], ending_label(e), st->sessions_ended[t][e]);
        }
    }
    return err;
}

static enum xgw_err bytes(struct xgw_buf *out, const struct xgw_stats *st)
{
    const char *name = "xmppgw_bytes_total";
    enum xgw_err err = family(out, name, "counter",
                              "XML bytes relayed, by transport and direction (to_server: "
                              "re-serialised client elements and our stream headers).");
    for (int t = 0; err == XGW_OK && t < XGW_STATS_TRANSPORTS; t++) {
        err = xgw_buf_printf(out,
                             "%s{transport=\"%s\",direction=\"to_server\"} %" PRIu64 "\n"
                             "%s{transport=\"%s\",direction=\"to_client\"} %" PRIu64 "\n",
                             name, transport_label[t], st->bytes_to_server[t], name,
                             transport_label[t], st->bytes_to_client[t]);
    }
    return err;
}

enum xgw_err xgw_metrics_text(const struct xgw_gateway *gw, const struct xgw_process_info *proc,
                              struct xgw_buf *out)
{
    const struct xgw_stats *st = &gw->stats;
    enum xgw_err err = family(out, "xmppgw_info", "gauge", "Version of the running xmppgw.");
    if (err == XGW_OK)
        err = xgw_buf_printf(out, "xmppgw_info{version=\"%s\"} 1\n", XGW_VERSION);
    if (err == XGW_OK)
        err = single(out, "xmppgw_start_time_seconds", "gauge",
                     "Start time of the process, Unix seconds.", proc->start_unix_s);
    if (err == XGW_OK)
        err =
            per_transport(out, "xmppgw_sessions", "gauge", "Live web sessions.", st->sessions_live);
    if (err == XGW_OK)
        err = per_transport(out, "xmppgw_sessions_created_total", "counter",
                            "Web sessions created.", st->sessions_created);
    if (err == XGW_OK)
        err = endings(out, st);
    if (err == XGW_OK)
        err = family(out, "xmppgw_sessions_refused_total", "counter",
                     "Session attempts refused, by reason (limits.max_sessions, "
                     "limits.max_sessions_per_ip, shutting down).");
    for (int r = 0; err == XGW_OK && r < XGW_REFUSALS; r++)
        err = xgw_buf_printf(out, "xmppgw_sessions_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                             refusal_label[r], st->sessions_refused[r]);
    if (err == XGW_OK)
        err = single(out, "xmppgw_session_limit", "gauge", "limits.max_sessions.",
                     gw->cfg->max_sessions);
    if (err == XGW_OK)
        err = bytes(out, st);
    if (err == XGW_OK)
        err = single(out, "xmppgw_upstream_connections_total", "counter",
                     "TCP connections to XMPP servers that were established.",
                     st->upstream_connected);
    if (err == XGW_OK)
        err = single(out, "xmppgw_upstream_tls_total", "counter",
                     "Upstream TLS sessions established with a verified certificate.",
                     st->upstream_tls);
    if (err == XGW_OK)
        err = single(out, "xmppgw_bosh_requests_total", "counter", "BOSH requests received.",
                     st->bosh_requests);
    if (err == XGW_OK)
        err =
            single(out, "xmppgw_bosh_waiting_requests", "gauge",
                   "BOSH requests waiting for their answer (held or out of order).", st->bosh_held);
    if (err == XGW_OK && proc->rss_bytes)
        err = single(out, "process_resident_memory_bytes", "gauge", "Resident memory size.",
                     proc->rss_bytes);
    return err;
}

static json_t *transport_json(const struct xgw_stats *st, int t)
{
    uint64_t ended = 0;
    for (int e = 0; e < XGW_ENDINGS; e++)
        ended += st->sessions_ended[t][e];
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "live", (json_int_t)st->sessions_live[t], "created",
                     (json_int_t)st->sessions_created[t], "ended", (json_int_t)ended,
                     "bytes_to_server", (json_int_t)st->bytes_to_server[t], "bytes_to_client",
                     (json_int_t)st->bytes_to_client[t]);
}

enum xgw_err xgw_status_json(const struct xgw_gateway *gw, const struct xgw_process_info *proc,
                             struct xgw_buf *out)
{
    const struct xgw_stats *st = &gw->stats;
    uint64_t uptime =
        proc->now_unix_s > proc->start_unix_s ? proc->now_unix_s - proc->start_unix_s : 0;
    json_t *doc = json_pack(
        "{s:s,s:s,s:I,s:b,s:{s:o,s:o},s:{s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I},s:{s:I,s:I}}",
        "service", "xmppgw", "version", XGW_VERSION, "uptime_s", (json_int_t)uptime,
        "shutting_down", gw->shutting_down, "sessions", "websocket",
        transport_json(st, XGW_STATS_WS), "bosh", transport_json(st, XGW_STATS_BOSH), "limits",
        "max_sessions", (json_int_t)gw->cfg->max_sessions, "max_sessions_per_ip",
        (json_int_t)gw->cfg->max_sessions_per_ip, "refused", "max_sessions",
        (json_int_t)st->sessions_refused[XGW_REFUSED_MAX_SESSIONS], "max_sessions_per_ip",
        (json_int_t)st->sessions_refused[XGW_REFUSED_MAX_PER_IP], "shutdown",
        (json_int_t)st->sessions_refused[XGW_REFUSED_SHUTDOWN], "upstream", "connections",
        (json_int_t)st->upstream_connected, "tls", (json_int_t)st->upstream_tls, "bosh", "requests",
        (json_int_t)st->bosh_requests, "waiting_requests", (json_int_t)st->bosh_held);
    if (doc && proc->rss_bytes)
        json_object_set_new(doc, "rss_bytes", json_integer((json_int_t)proc->rss_bytes));
    return xgw_json_doc_append(out, doc);
}
