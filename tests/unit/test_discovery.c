/* SPDX-License-Identifier: MIT */
/* Unit tests for XEP-0156 discovery documents and the web client's CSP (src/http/discovery.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/discovery.h"

static void test_host_valid(void **state)
{
    (void)state;
    static const char *const good[] = {"localhost",         "localhost:5280", "chat.example.org",
                                       "127.0.0.1:1",       "[::1]",          "[::1]:443",
                                       "a_b.example:65535", "[2001:db8::1]"};
    static const char *const bad[] = {
        "",       ":5280",      "a b",         "a\"b",  "a'b",       "a<b",
        "host:0", "host:65536", "host:123456", "host:", "host:x",    "[::1",
        "[]",     "[x::1]",     "[::1]x",      "a/b",   "a\r\nX: y", "a@b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(xgw_http_host_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(xgw_http_host_valid(bad[i]));
    assert_false(xgw_http_host_valid(NULL));
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(xgw_http_host_valid(longname));
}

static void test_host_loopback(void **state)
{
    (void)state;
    static const char *const yes[] = {"localhost", "LocalHost:5280", "localhost.", "app.localhost",
                                      "127.0.0.1", "127.1.2.3:80",   "[::1]",      "[::1]:5280"};
    static const char *const no[] = {
        "localhost.example", "127.0.0.1.example", "128.0.0.1", "127.0.0.256", "[::2]",
        "example.org",       "mylocalhost",       "127.0.0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(xgw_http_host_is_loopback(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(xgw_http_host_is_loopback(no[i]));
}

static void test_endpoints_derived(void **state)
{
    struct xgw_config cfg;
    struct xgw_endpoints ep;
    (void)state;
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_discovery_endpoints(&cfg, "127.0.0.1:5280", false, &ep), XGW_DISCOVERY_OK);
    assert_string_equal(ep.websocket, "ws://127.0.0.1:5280/xmpp-websocket");
    assert_string_equal(ep.bosh, "http://127.0.0.1:5280/http-bind");
    assert_int_equal(xgw_discovery_endpoints(&cfg, "chat.example", true, &ep), XGW_DISCOVERY_OK);
    assert_string_equal(ep.websocket, "wss://chat.example/xmpp-websocket");
    assert_string_equal(ep.bosh, "https://chat.example/http-bind");
    /* DISC-03: plain links to a public name are not published by default... */
    assert_int_equal(xgw_discovery_endpoints(&cfg, "chat.example", false, &ep),
                     XGW_DISCOVERY_INSECURE);
    assert_int_equal(xgw_discovery_endpoints(&cfg, NULL, true, &ep), XGW_DISCOVERY_NO_HOST);
    assert_int_equal(xgw_discovery_endpoints(&cfg, "a'b", true, &ep), XGW_DISCOVERY_NO_HOST);
    /* ...only with insecure_links true; false refuses even loopback. */
    cfg.discovery_insecure = 1;
    assert_int_equal(xgw_discovery_endpoints(&cfg, "192.0.2.7:5280", false, &ep), XGW_DISCOVERY_OK);
    assert_string_equal(ep.websocket, "ws://192.0.2.7:5280/xmpp-websocket");
    cfg.discovery_insecure = 0;
    assert_int_equal(xgw_discovery_endpoints(&cfg, "localhost:5280", false, &ep),
                     XGW_DISCOVERY_INSECURE);
    assert_int_equal(xgw_discovery_endpoints(&cfg, "localhost:5280", true, &ep), XGW_DISCOVERY_OK);
    xgw_config_cleanup(&cfg);
}

static void test_endpoints_configured(void **state)
{
    struct xgw_config cfg;
    struct xgw_endpoints ep;
    (void)state;
    xgw_config_init_defaults(&cfg);
    xgw_free(cfg.ws_path);
    cfg.ws_path = xgw_strdup("/ws");
    cfg.discovery_ws_url = xgw_strdup("wss://chat.example/xmpp");
    /* Only one configured: the other is derived from the request. */
    assert_int_equal(xgw_discovery_endpoints(&cfg, "gw.internal:5280", true, &ep),
                     XGW_DISCOVERY_OK);
    assert_string_equal(ep.websocket, "wss://chat.example/xmpp");
    assert_string_equal(ep.bosh, "https://gw.internal:5280/http-bind");
    cfg.discovery_bosh_url = xgw_strdup("https://chat.example/bosh");
    /* Both configured: no Host needed. */
    assert_int_equal(xgw_discovery_endpoints(&cfg, NULL, false, &ep), XGW_DISCOVERY_OK);
    assert_string_equal(ep.bosh, "https://chat.example/bosh");
    xgw_config_cleanup(&cfg);
}

static void test_documents(void **state)
{
    struct xgw_endpoints ep = {"wss://h.example/x?a=1&b=2", "https://h.example/bosh"};
    struct xgw_buf out;
    (void)state;
    xgw_buf_init(&out, 8192);
    assert_int_equal(xgw_discovery_xrd(&ep, &out), XGW_OK);
    assert_string_equal(out.data, "<?xml version='1.0' encoding='utf-8'?>\n"
                                  "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
                                  "  <Link rel='urn:xmpp:alt-connections:websocket' "
                                  "href='wss://h.example/x?a=1&amp;b=2'/>\n"
                                  "  <Link rel='urn:xmpp:alt-connections:xbosh' "
                                  "href='https://h.example/bosh'/>\n"
                                  "</XRD>\n");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_discovery_jrd(&ep, &out), XGW_OK);
    assert_string_equal(out.data, "{\n"
                                  "  \"links\": [\n"
                                  "    {\n"
                                  "      \"rel\": \"urn:xmpp:alt-connections:websocket\",\n"
                                  "      \"href\": \"wss://h.example/x?a=1&b=2\"\n"
                                  "    },\n"
                                  "    {\n"
                                  "      \"rel\": \"urn:xmpp:alt-connections:xbosh\",\n"
                                  "      \"href\": \"https://h.example/bosh\"\n"
                                  "    }\n"
                                  "  ]\n"
                                  "}\n");
    /* A cap is reported, not overrun. */
    struct xgw_buf tiny;
    xgw_buf_init(&tiny, 40);
    assert_int_equal(xgw_discovery_xrd(&ep, &tiny), XGW_ELIMIT);
    xgw_buf_cleanup(&tiny);
    xgw_buf_cleanup(&out);
}

static void test_csp(void **state)
{
    struct xgw_config cfg;
    struct xgw_buf out;
    (void)state;
    xgw_config_init_defaults(&cfg);
    xgw_buf_init(&out, 8192);
    struct xgw_endpoints same = {"wss://h.example/ws", "https://h.example/bosh"};
    assert_int_equal(xgw_www_csp(&cfg, &same, &out), XGW_OK);
    assert_string_equal(out.data,
                        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                        "data:; connect-src 'self' wss://h.example https://h.example; "
                        "manifest-src 'self'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'");
    /* Origins are listed once. */
    struct xgw_endpoints dup = {"wss://a.example:8443/ws", "wss://a.example:8443/b"};
    xgw_buf_reset(&out);
    assert_int_equal(xgw_www_csp(&cfg, &dup, &out), XGW_OK);
    assert_non_null(strstr(out.data, "connect-src 'self' wss://a.example:8443; "));
    xgw_buf_reset(&out);
    assert_int_equal(xgw_www_csp(&cfg, NULL, &out), XGW_OK);
    assert_non_null(strstr(out.data, "connect-src 'self'; "));
    /* Configured: verbatim, or none at all. */
    cfg.www_csp = xgw_strdup("default-src 'self' 'unsafe-inline'");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_www_csp(&cfg, &same, &out), XGW_OK);
    assert_string_equal(out.data, "default-src 'self' 'unsafe-inline'");
    xgw_free(cfg.www_csp);
    cfg.www_csp = xgw_strdup("");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_www_csp(&cfg, &same, &out), XGW_OK);
    assert_int_equal(out.len, 0);
    xgw_buf_cleanup(&out);
    xgw_config_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_valid),        cmocka_unit_test(test_host_loopback),
        cmocka_unit_test(test_endpoints_derived), cmocka_unit_test(test_endpoints_configured),
        cmocka_unit_test(test_documents),         cmocka_unit_test(test_csp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
