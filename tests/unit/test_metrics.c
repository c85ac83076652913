/* SPDX-License-Identifier: MIT */
/* Unit tests for /metrics and /status rendering (src/http/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "xgw/config.h"
#include "xgw/gateway.h"
#include "xgw/metrics.h"

static void has_line(const char *text, const char *line)
{
    const char *p = text;
    size_t len = strlen(line);
    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[len] == '\n')
            return;
        p += len;
    }
    fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static void fill(struct xgw_gateway *gw, struct xgw_config *cfg)
{
    memset(gw, 0, sizeof(*gw));
    xgw_config_init_defaults(cfg);
    gw->cfg = cfg;
    struct xgw_stats *st = &gw->stats;
    st->sessions_live[XGW_STATS_WS] = 3;
    st->sessions_live[XGW_STATS_BOSH] = 2;
    st->sessions_created[XGW_STATS_WS] = 10;
    st->sessions_created[XGW_STATS_BOSH] = 7;
    st->sessions_ended[XGW_STATS_WS][XGW_SC_NONE] = 6;
    st->sessions_ended[XGW_STATS_WS][XGW_SC_HOST_UNKNOWN] = 1;
    st->sessions_ended[XGW_STATS_BOSH][XGW_END_REMOTE_STREAM_ERROR] = 5;
    st->sessions_refused[XGW_REFUSED_MAX_PER_IP] = 4;
    st->bytes_to_server[XGW_STATS_WS] = 1234;
    st->bytes_to_client[XGW_STATS_BOSH] = 99;
    st->upstream_connected = 16;
    st->upstream_tls = 12;
    st->bosh_requests = 40;
    st->bosh_held = 2;
}

static void test_metrics_text(void **state)
{
    struct xgw_gateway gw;
    struct xgw_config cfg;
    struct xgw_buf out;
    (void)state;
    fill(&gw, &cfg);
    xgw_buf_init(&out, 1 << 20);
    struct xgw_process_info proc = {.now_unix_s = 2000, .start_unix_s = 1000, .rss_bytes = 4096};
    assert_int_equal(xgw_metrics_text(&gw, &proc, &out), XGW_OK);
    const char *t = out.data;
    has_line(t, "xmppgw_info{version=\"" XGW_VERSION "\"} 1");
    has_line(t, "xmppgw_start_time_seconds 1000");
    has_line(t, "# TYPE xmppgw_sessions gauge");
    has_line(t, "xmppgw_sessions{transport=\"websocket\"} 3");
    has_line(t, "xmppgw_sessions{transport=\"bosh\"} 2");
    has_line(t, "# TYPE xmppgw_sessions_created_total counter");
    has_line(t, "xmppgw_sessions_created_total{transport=\"websocket\"} 10");
    has_line(t, "xmppgw_sessions_ended_total{transport=\"websocket\",condition=\"none\"} 6");
    has_line(t,
             "xmppgw_sessions_ended_total{transport=\"websocket\",condition=\"host-unknown\"} 1");
    has_line(t, "xmppgw_sessions_ended_total{transport=\"bosh\",condition=\"none\"} 0");
    has_line(t,
             "xmppgw_sessions_ended_total{transport=\"bosh\",condition=\"remote-stream-error\"} 5");
    /* Zero series of other conditions are left out. */
    assert_null(strstr(t, "condition=\"conflict\""));
    has_line(t, "xmppgw_sessions_refused_total{reason=\"max_sessions_per_ip\"} 4");
    has_line(t, "xmppgw_sessions_refused_total{reason=\"shutdown\"} 0");
    has_line(t, "xmppgw_session_limit 10000");
    has_line(t, "xmppgw_bytes_total{transport=\"websocket\",direction=\"to_server\"} 1234");
    has_line(t, "xmppgw_bytes_total{transport=\"bosh\",direction=\"to_client\"} 99");
    has_line(t, "xmppgw_upstream_connections_total 16");
    has_line(t, "xmppgw_upstream_tls_total 12");
    has_line(t, "xmppgw_bosh_requests_total 40");
    has_line(t, "xmppgw_bosh_waiting_requests 2");
    has_line(t, "process_resident_memory_bytes 4096");
    /* Every line is a comment or "name{labels} value", and every sample has a TYPE. */
    for (const char *line = t; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '#')
            continue;
        char name[128];
        size_t n = strcspn(line, "{ ");
        assert_true(n > 0 && n < sizeof(name));
        memcpy(name, line, n);
        name[n] = '\0';
        char type_line[160];
        snprintf(type_line, sizeof(type_line), "# TYPE %s ", name);
        assert_non_null(strstr(t, type_line));
    }
    /* Unknown memory: no series. */
    xgw_buf_reset(&out);
    proc.rss_bytes = 0;
    assert_int_equal(xgw_metrics_text(&gw, &proc, &out), XGW_OK);
    assert_null(strstr(out.data, "process_resident_memory_bytes"));
    xgw_buf_cleanup(&out);
    xgw_config_cleanup(&cfg);
}

static void test_status_json(void **state)
{
    struct xgw_gateway gw;
    struct xgw_config cfg;
    struct xgw_buf out;
    (void)state;
    fill(&gw, &cfg);
    gw.shutting_down = true;
    xgw_buf_init(&out, 1 << 20);
    struct xgw_process_info proc = {.now_unix_s = 2000, .start_unix_s = 1000, .rss_bytes = 0};
    assert_int_equal(xgw_status_json(&gw, &proc, &out), XGW_OK);
    json_error_t jerr;
    json_t *doc = json_loads(out.data, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), XGW_VERSION);
    assert_int_equal(json_integer_value(json_object_get(doc, "uptime_s")), 1000);
    assert_true(json_is_true(json_object_get(doc, "shutting_down")));
    json_t *ws = json_object_get(json_object_get(doc, "sessions"), "websocket");
    assert_int_equal(json_integer_value(json_object_get(ws, "live")), 3);
    assert_int_equal(json_integer_value(json_object_get(ws, "ended")), 7);
    assert_int_equal(json_integer_value(json_object_get(ws, "bytes_to_server")), 1234);
    json_t *bosh = json_object_get(json_object_get(doc, "sessions"), "bosh");
    assert_int_equal(json_integer_value(json_object_get(bosh, "ended")), 5);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "refused"), "max_sessions_per_ip")),
        4);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "bosh"), "waiting_requests")), 2);
    assert_null(json_object_get(doc, "rss_bytes"));
    json_decref(doc);
    xgw_buf_cleanup(&out);
    xgw_config_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_status_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
