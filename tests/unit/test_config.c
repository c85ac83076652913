/* SPDX-License-Identifier: MIT */
/* Unit tests for the JSON config loader, the address parsers and the command line
 * (src/config/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "xgw/config.h"
#include "xgw/limits.h"

#define NAME "t.json"

static char err[512];

/* Loads json over the defaults; the config must be cleaned up by the caller. */
static enum xgw_err load(struct xgw_config *cfg, const char *json)
{
    xgw_config_init_defaults(cfg);
    err[0] = '\0';
    return xgw_config_load_string(cfg, json, NAME, err, sizeof(err));
}

/* Asserts that json fails to load with exactly the message expected. */
static void expect_error(const char *json, const char *expected)
{
    struct xgw_config cfg;
    assert_int_equal(load(&cfg, json), XGW_EINVAL);
    assert_string_equal(err, expected);
    xgw_config_cleanup(&cfg);
}

/* For one-line documents: expects "t.json:1:COL: message" where COL is where marker starts. */
static void expect_error_at(const char *json, const char *marker, const char *message)
{
    char expected[512];
    const char *where = strstr(json, marker);
    assert_non_null(where);
    snprintf(expected, sizeof(expected), NAME ":1:%d: %s", (int)(where - json) + 1, message);
    expect_error(json, expected);
}

static char *write_temp(const char *content)
{
    char path[] = "/tmp/xgw_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return strdup(path);
}

static void remove_temp(char *path)
{
    unlink(path);
    free(path);
}

static void test_defaults(void **state)
{
    struct xgw_config cfg;
    (void)state;
    xgw_config_init_defaults(&cfg);
    assert_null(cfg.source_path);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].host, "127.0.0.1");
    assert_int_equal(cfg.listens[0].port, 5280);
    assert_int_equal(cfg.route_count, 0);
    assert_null(cfg.www_root);
    assert_string_equal(cfg.ws_path, "/xmpp-websocket");
    assert_int_equal(cfg.ws_ping_interval_s, 30);
    assert_int_equal(cfg.ws_pong_timeout_s, 30);
    assert_int_equal(cfg.ws_allowed_origin_count, 0);
    assert_int_equal(cfg.connect_timeout_s, 10);
    assert_int_equal(cfg.close_timeout_s, 5);
    assert_null(cfg.ca_file);
    assert_null(cfg.ca_dir);
    assert_int_equal(cfg.max_stanza_bytes, 262144);
    assert_int_equal(cfg.max_queue_bytes, 1048576);
    assert_int_equal(cfg.max_sessions, 10000);
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_INFO);
    xgw_config_cleanup(&cfg);
}

static const char full_json[] =
    "{\n"
    "  \"listen\": [\"0.0.0.0:8080\", \"[::1]:5281\"],\n"
    "  \"log_level\": \"debug\",\n"
    "  \"www_root\": \"/srv/www\",\n"
    "  \"websocket\": {\"path\": \"/ws\", \"ping_interval_s\": 0, \"pong_timeout_s\": 3600,\n"
    "                \"allowed_origins\": [\"https://app.example\", \"HTTP://Localhost:8080\",\n"
    "                                    \"https://[::1]:8443\"]},\n"
    "  \"upstream\": {\"connect_timeout_s\": 300, \"close_timeout_s\": 60,\n"
    "               \"ca_file\": \"/etc/ca.pem\", \"ca_dir\": \"/etc/ca\"},\n"
    "  \"limits\": {\"max_stanza_bytes\": 4096, \"max_queue_bytes\": 1073741824,\n"
    "             \"max_sessions\": 1000000},\n"
    "  \"routes\": [\n"
    "    {\"domain\": \"Example.ORG.\", \"host\": \"2001:db8::1\", \"port\": 5223,\n"
    "     \"tls\": \"direct\", \"tls_verify\": false, \"allow_plaintext\": false},\n"
    "    {\"domain\": \"localhost\", \"host\": \"127.0.0.1\"},\n"
    "    {\"domain\": \"b\\u00fccher.example\", \"host\": \"xmpp.example.net\", "
    "\"allow_plaintext\": true}\n"
    "  ]\n"
    "}\n";

static void check_full_routes(const struct xgw_config *cfg)
{
    assert_int_equal(cfg->route_count, 3);
    assert_string_equal(cfg->routes[0].domain, "example.org");
    assert_string_equal(cfg->routes[0].host, "2001:db8::1");
    assert_int_equal(cfg->routes[0].port, 5223);
    assert_int_equal(cfg->routes[0].tls, XGW_TLS_DIRECT);
    assert_false(cfg->routes[0].tls_verify);
    assert_int_equal(cfg->routes[0].allow_plaintext, 0);
    assert_string_equal(cfg->routes[1].domain, "localhost");
    assert_string_equal(cfg->routes[1].host, "127.0.0.1");
    assert_int_equal(cfg->routes[1].port, 5222);
    assert_int_equal(cfg->routes[1].tls, XGW_TLS_STARTTLS);
    assert_true(cfg->routes[1].tls_verify);
    assert_int_equal(cfg->routes[1].allow_plaintext, -1);
    assert_string_equal(cfg->routes[2].domain, "b\xc3\xbc"
                                               "cher.example");
    assert_int_equal(cfg->routes[2].allow_plaintext, 1);
}

static void test_full_valid_file(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, full_json), XGW_OK);
    assert_int_equal(cfg.listen_count, 2);
    assert_string_equal(cfg.listens[0].host, "0.0.0.0");
    assert_int_equal(cfg.listens[0].port, 8080);
    assert_string_equal(cfg.listens[1].host, "::1");
    assert_int_equal(cfg.listens[1].port, 5281);
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_DEBUG);
    assert_string_equal(cfg.www_root, "/srv/www");
    assert_string_equal(cfg.ws_path, "/ws");
    assert_int_equal(cfg.ws_ping_interval_s, 0);
    assert_int_equal(cfg.ws_pong_timeout_s, 3600);
    assert_int_equal(cfg.ws_allowed_origin_count, 3);
    assert_string_equal(cfg.ws_allowed_origins[0], "https://app.example");
    assert_string_equal(cfg.ws_allowed_origins[1], "http://localhost:8080");
    assert_string_equal(cfg.ws_allowed_origins[2], "https://[::1]:8443");
    assert_int_equal(cfg.connect_timeout_s, 300);
    assert_int_equal(cfg.close_timeout_s, 60);
    assert_string_equal(cfg.ca_file, "/etc/ca.pem");
    assert_string_equal(cfg.ca_dir, "/etc/ca");
    assert_int_equal(cfg.max_stanza_bytes, 4096);
    assert_int_equal(cfg.max_queue_bytes, 1073741824);
    assert_int_equal(cfg.max_sessions, 1000000);
    check_full_routes(&cfg);
    assert_null(cfg.source_path); /* only load_file records a path */
    xgw_config_cleanup(&cfg);
}

static void test_empty_object_keeps_defaults(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{}"), XGW_OK);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].host, "127.0.0.1");
    assert_int_equal(cfg.max_sessions, 10000);
    assert_string_equal(cfg.ws_path, "/xmpp-websocket");
    xgw_config_cleanup(&cfg);
}

static void test_nulls_clear_strings(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"www_root\": \"www\"}"), XGW_OK);
    assert_string_equal(cfg.www_root, "www");
    /* A second file over the first: null unsets, arrays replace. */
    assert_int_equal(xgw_config_load_string(&cfg,
                                            "{\"www_root\": null, \"upstream\": {\"ca_file\": "
                                            "null}, \"routes\": []}",
                                            NAME, err, sizeof(err)),
                     XGW_OK);
    assert_null(cfg.www_root);
    assert_null(cfg.ca_file);
    assert_int_equal(cfg.route_count, 0);
    xgw_config_cleanup(&cfg);
}

static void test_comments_ignored(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"#\": \"top\", \"#listen\": [1, 2],\n"
                                " \"websocket\": {\"#path\": {\"nested\": true}, \"#x\": null,\n"
                                "               \"ping_interval_s\": 5},\n"
                                " \"limits\": {\"#\": 1.5},\n"
                                " \"routes\": [{\"#\": \"r\", \"domain\": \"a.example\", "
                                "\"host\": \"h.example\"}]}"),
                     XGW_OK);
    assert_int_equal(cfg.ws_ping_interval_s, 5);
    assert_int_equal(cfg.route_count, 1);
    assert_string_equal(cfg.routes[0].domain, "a.example");
    xgw_config_cleanup(&cfg);
}

static void test_syntax_error_position(void **state)
{
    (void)state;
    /* jansson reports the column of the offending token's last character. */
    expect_error("{\n  \"listen\": [\"127.0.0.1:5280\",]\n}",
                 NAME ":2:31: unexpected token near ']'");
    expect_error("{\n  \"log_level\" \"info\"\n}", NAME ":2:20: ':' expected near '\"info\"'");
    expect_error("", NAME ":1:0: '[' or '{' expected near end of file");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    expect_error(
        "{\n  \"log_level\": \"info\",\n  \"websocket\": {},\n  \"log_level\": \"warn\"\n}",
        NAME ":4:13: duplicate object key near '\"log_level\"'");
    expect_error("{\"websocket\": {\"path\": \"/a\",\n   \"path\": \"/b\"}}",
                 NAME ":2:9: duplicate object key near '\"path\"'");
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error(
        "{\n  \"listen\": [\"127.0.0.1:5280\"],\n  \"bogus\": 1\n}", NAME
        ":3:3: bogus: unknown key (known keys: listen, tls, log_level, trusted_proxies, "
        "www_root, www_csp, websocket, bosh, discovery, status, upstream, limits, routes; \"#...\" "
        "keys are comments)");
    expect_error("{\n  \"websocket\": {\n    \"path\": \"/x\",\n      \"pingg\": 3\n  }\n}", NAME
                 ":4:7: websocket.pingg: unknown key (known keys: path, ping_interval_s, "
                 "pong_timeout_s, open_timeout_s, allowed_origins; \"#...\" keys are comments)");
    expect_error("{\"routes\": [{\"domain\": \"a.example\", \"host\": \"h\"},\n"
                 "  {\"domain\": \"b.example\", \"hots\": \"h\"}]}",
                 NAME ":2:27: routes[1].hots: unknown key (known keys: domain, host, port, tls, "
                      "tls_verify, allow_plaintext; \"#...\" keys are comments)");
    /* The position is found through string escapes and multi-byte characters. */
    expect_error("{\"w\\u0077w_root\": 5}",
                 NAME ":1:19: www_root: must be a non-empty string or null");
    expect_error_at("{\"websock\\u0065t\": {\"pa\\u0074h\": 1}}", "1}",
                    "websocket.path: must be a string starting with '/' without whitespace, '?' "
                    "or '#'");
    expect_error(
        "{\"#\u00e9\\\"}\": \"x\\\"y\", \"w\\u0077w_root\": null, \"\u00e9\": 1}", NAME
        ":1:42: \u00e9: unknown key (known keys: listen, tls, log_level, trusted_proxies, "
        "www_root, www_csp, websocket, bosh, discovery, status, upstream, limits, routes; \"#...\" "
        "keys are comments)");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_error("[1]", NAME ":1:1: the top level must be an object");
    expect_error_at("{\"listen\": \"127.0.0.1:5280\"}", "\"127",
                    "listen: must be a non-empty array of \"ADDR:PORT\" strings");
    expect_error_at("{\"listen\": []}", "[]",
                    "listen: must be a non-empty array of \"ADDR:PORT\" strings");
    expect_error_at("{\"listen\": [\"127.0.0.1:1\", 5280]}", "5280",
                    "listen[1]: must be a string \"ADDR:PORT\"");
    expect_error_at("{\"websocket\": []}", "[]", "websocket: must be an object");
    expect_error_at("{\"log_level\": 3}", "3",
                    "log_level: must be one of \"error\", \"warn\", "
                    "\"notice\", \"info\", \"debug\"");
    expect_error_at("{\"www_root\": 1}", "1", "www_root: must be a non-empty string or null");
    expect_error_at("{\"www_root\": \"\"}", "\"\"", "www_root: must be a non-empty string or null");
    expect_error_at("{\"upstream\": {\"ca_dir\": false}}", "false",
                    "upstream.ca_dir: must be a non-empty string or null");
    expect_error_at("{\"websocket\": {\"ping_interval_s\": \"30\"}}", "\"30\"",
                    "websocket.ping_interval_s: must be an integer between 0 and 3600");
    expect_error_at("{\"websocket\": {\"ping_interval_s\": 1.5}}", "1.5",
                    "websocket.ping_interval_s: must be an integer between 0 and 3600");
    expect_error_at("{\"websocket\": {\"ping_interval_s\": 30.0}}", "30.0",
                    "websocket.ping_interval_s: must be an integer between 0 and 3600");
    expect_error_at("{\"websocket\": {\"allowed_origins\": \"https://a\"}}", "\"https",
                    "websocket.allowed_origins: must be an array of origins like "
                    "\"https://app.example\"");
    expect_error_at("{\"routes\": {}}", "{}", "routes: must be an array of route objects");
    expect_error_at("{\"routes\": [\"a=b\"]}", "\"a=b", "routes[0]: must be an object");
    expect_error_at("{\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"tls_verify\": 1}]}", "1}",
                    "routes[0].tls_verify: must be true or false");
}

struct range_case {
    const char *json;   /* one line */
    const char *marker; /* where the offending value starts */
    const char *message;
};

static void test_range_checks(void **state)
{
    static const struct range_case cases[] = {
        {"{\"websocket\": {\"ping_interval_s\": -1}}", "-1",
         "websocket.ping_interval_s: must be an integer between 0 and 3600"},
        {"{\"websocket\": {\"ping_interval_s\": 3601}}", "3601",
         "websocket.ping_interval_s: must be an integer between 0 and 3600"},
        {"{\"websocket\": {\"pong_timeout_s\": 0}}", "0}",
         "websocket.pong_timeout_s: must be an integer between 1 and 3600"},
        {"{\"websocket\": {\"pong_timeout_s\": 3601}}", "3601",
         "websocket.pong_timeout_s: must be an integer between 1 and 3600"},
        {"{\"upstream\": {\"connect_timeout_s\": 0}}", "0}",
         "upstream.connect_timeout_s: must be an integer between 1 and 300"},
        {"{\"upstream\": {\"connect_timeout_s\": 301}}", "301",
         "upstream.connect_timeout_s: must be an integer between 1 and 300"},
        {"{\"upstream\": {\"close_timeout_s\": 0}}", "0}",
         "upstream.close_timeout_s: must be an integer between 1 and 60"},
        {"{\"upstream\": {\"close_timeout_s\": 61}}", "61",
         "upstream.close_timeout_s: must be an integer between 1 and 60"},
        {"{\"limits\": {\"max_stanza_bytes\": 4095}}", "4095",
         "limits.max_stanza_bytes: must be an integer between 4096 and 16777216"},
        {"{\"limits\": {\"max_stanza_bytes\": 16777217}}", "16777217",
         "limits.max_stanza_bytes: must be an integer between 4096 and 16777216"},
        {"{\"limits\": {\"max_queue_bytes\": 1073741825}}", "1073741825",
         "limits.max_queue_bytes: must be an integer between 4096 and 1073741824"},
        {"{\"limits\": {\"max_stanza_bytes\": 8192, \"max_queue_bytes\": 8191}}", "8191",
         "limits.max_queue_bytes: must be at least limits.max_stanza_bytes (8192)"},
        {"{\"limits\": {\"max_stanza_bytes\": 2097152}}", "2097152",
         "limits.max_stanza_bytes: must be at most limits.max_queue_bytes (1048576)"},
        {"{\"limits\": {\"max_sessions\": 0}}", "0}",
         "limits.max_sessions: must be an integer between 1 and 1000000"},
        {"{\"limits\": {\"max_sessions\": 1000001}}", "1000001",
         "limits.max_sessions: must be an integer between 1 and 1000000"},
        {"{\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"port\": 0}]}", "0}",
         "routes[0].port: must be an integer between 1 and 65535"},
        {"{\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"port\": 65536}]}", "65536",
         "routes[0].port: must be an integer between 1 and 65535"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error_at(cases[i].json, cases[i].marker, cases[i].message);
}

static void test_range_boundaries_accepted(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"websocket\": {\"ping_interval_s\": 3600, \"pong_timeout_s\": "
                                "1}, \"upstream\": {\"connect_timeout_s\": 1, \"close_timeout_s\": "
                                "1}, \"limits\": {\"max_stanza_bytes\": 16777216, "
                                "\"max_queue_bytes\": 16777216, \"max_sessions\": 1}, "
                                "\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"port\": 1}, "
                                "{\"domain\": \"b\", \"host\": \"h\", \"port\": 65535}]}"),
                     XGW_OK);
    assert_int_equal(cfg.ws_ping_interval_s, 3600);
    assert_int_equal(cfg.ws_pong_timeout_s, 1);
    assert_int_equal(cfg.connect_timeout_s, 1);
    assert_int_equal(cfg.close_timeout_s, 1);
    assert_int_equal(cfg.max_stanza_bytes, 16777216);
    assert_int_equal(cfg.max_queue_bytes, 16777216);
    assert_int_equal(cfg.max_sessions, 1);
    assert_int_equal(cfg.routes[0].port, 1);
    assert_int_equal(cfg.routes[1].port, 65535);
    xgw_config_cleanup(&cfg);
}

static void test_listen_parse(void **state)
{
    static const char *const bad[] = {
        "1.2.3.4", "1.2.3.4:0", "1.2.3.4:70000", "[::1",         "host.name:80", "::1:80",
        "[::1]",   "[::1]:x",   "1.2.3.4:",      "1.2.3.4:+80",  "[]:80",        "1.2.3:80",
        "",        ":80",       "1.2.3.4:80 ",   "[1.2.3.4]:80", "01.2.3.4:80",  "[::1]:5280x",
    };
    struct xgw_listen listen;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        listen.host = NULL;
        assert_int_equal(xgw_listen_parse(bad[i], &listen), XGW_EINVAL);
        assert_null(listen.host);
    }
    assert_int_equal(xgw_listen_parse("[::]:65535", &listen), XGW_OK);
    assert_string_equal(listen.host, "::");
    assert_int_equal(listen.port, 65535);
    free(listen.host);
    assert_int_equal(xgw_listen_parse("0.0.0.0:1", &listen), XGW_OK);
    assert_string_equal(listen.host, "0.0.0.0");
    assert_int_equal(listen.port, 1);
    free(listen.host);
}

static void test_listen_errors_in_file(void **state)
{
    (void)state;
    expect_error_at("{\"listen\": [\"1.2.3.4\"]}", "\"1.2",
                    "listen[0]: \"1.2.3.4\": missing ':PORT'");
    expect_error_at("{\"listen\": [\"127.0.0.1:80\", \"1.2.3.4:0\"]}", "\"1.2",
                    "listen[1]: \"1.2.3.4:0\": port must be a number between 1 and 65535");
    expect_error_at("{\"listen\": [\"1.2.3.4:70000\"]}", "\"1.2",
                    "listen[0]: \"1.2.3.4:70000\": port must be a number between 1 and 65535");
    expect_error_at("{\"listen\": [\"[::1\"]}", "\"[",
                    "listen[0]: \"[::1\": missing ']' after the IPv6 address");
    expect_error_at("{\"listen\": [\"host.name:80\"]}", "\"host",
                    "listen[0]: \"host.name:80\": not a numeric IPv4 address (host names are not "
                    "accepted)");
    expect_error_at("{\"listen\": [\"::1:80\"]}", "\"::",
                    "listen[0]: \"::1:80\": IPv6 addresses must be in brackets, as in "
                    "\"[::1]:5280\"");
    expect_error_at("{\"listen\": [\"[fe80::x]:80\"]}", "\"[",
                    "listen[0]: \"[fe80::x]:80\": not a numeric IPv6 address");
}

static void test_route_parse(void **state)
{
    static const char *const bad[] = {
        "example.org",           "=host",
        "exa mple.org=host",     "example.org=",
        "example.org=host:0",    "example.org=host:70000",
        "example.org=host:x",    "example.org=[::1",
        "example.org=[host]",    "example.org=a:b:c",
        "example.org=-bad",      "example.org=1.2.3",
        "example.org=[::1]5222", "a@b=host",
        "example.org=h/x",       "1.2.3=host",
    };
    struct xgw_route route;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&route, 0, sizeof(route));
        assert_int_equal(xgw_route_parse(bad[i], &route), XGW_EINVAL);
        assert_null(route.domain);
        assert_null(route.host);
    }
    assert_int_equal(xgw_route_parse("Example.ORG.=xmpp.example.net:5223", &route), XGW_OK);
    assert_string_equal(route.domain, "example.org");
    assert_string_equal(route.host, "xmpp.example.net");
    assert_int_equal(route.port, 5223);
    assert_int_equal(route.tls, XGW_TLS_STARTTLS);
    assert_true(route.tls_verify);
    assert_int_equal(route.allow_plaintext, -1);
    xgw_route_cleanup(&route);
    assert_null(route.domain);
    assert_int_equal(xgw_route_parse("example.org=[2001:db8::1]:5222", &route), XGW_OK);
    assert_string_equal(route.host, "2001:db8::1");
    xgw_route_cleanup(&route);
    assert_int_equal(xgw_route_parse("example.org=::1", &route), XGW_OK);
    assert_string_equal(route.host, "::1");
    assert_int_equal(route.port, 5222);
    xgw_route_cleanup(&route);
    assert_int_equal(xgw_route_parse("localhost=127.0.0.1", &route), XGW_OK);
    assert_string_equal(route.host, "127.0.0.1");
    assert_int_equal(route.port, 5222);
    xgw_route_cleanup(&route);
}

/* XMPP-01: a route without host is looked up in DNS (SRV, then the domain itself). */
static void test_route_srv_and_dns_servers(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"routes\": [{\"domain\": \"a.example\", \"port\": 5333}], "
                                "\"upstream\": {\"dns_servers\": [\"127.0.0.1:5353\", "
                                "\"192.0.2.1\"]}}"),
                     XGW_OK);
    assert_null(cfg.routes[0].host);
    assert_int_equal(cfg.routes[0].port, 5333);
    assert_int_equal(cfg.dns_server_count, 2);
    assert_string_equal(cfg.dns_servers[0].host, "127.0.0.1");
    assert_int_equal(cfg.dns_servers[0].port, 5353);
    assert_int_equal(cfg.dns_servers[1].port, 53);
    /* The copy used for failed loads keeps them (no leak, no loss). */
    assert_int_equal(xgw_config_load_string(&cfg, "{\"upstream\": {\"dns_servers\": 1}}", NAME, err,
                                            sizeof(err)),
                     XGW_EINVAL);
    assert_int_equal(cfg.dns_server_count, 2);
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"upstream\": {\"dns_servers\": [\"::1\"]}}", "\"::1",
                    "upstream.dns_servers[0]: must be a numeric IPv4 address with an optional "
                    "port, like \"127.0.0.1:53\"");
    expect_error_at("{\"upstream\": {\"dns_servers\": [\"dns.example\"]}}", "\"dns.",
                    "upstream.dns_servers[0]: must be a numeric IPv4 address with an optional "
                    "port, like \"127.0.0.1:53\"");
    expect_error_at("{\"upstream\": {\"dns_servers\": [\"1.1.1.1\", \"1.0.0.1\", \"8.8.8.8\", "
                    "\"9.9.9.9\"]}}",
                    "[\"1.1",
                    "upstream.dns_servers: must be an array of at most 3 \"IPV4[:PORT]\" strings");
}

static void test_route_errors_in_file(void **state)
{
    (void)state;
    expect_error_at("{\"routes\": [{\"host\": \"h\"}]}", "{\"host",
                    "routes[0]: missing key \"domain\"");
    expect_error_at("{\"routes\": [{\"domain\": \"a b\", \"host\": \"h\"}]}", "\"a b",
                    "routes[0].domain: must be a valid XMPP domain such as \"example.org\"");
    expect_error_at("{\"routes\": [{\"domain\": \"a\", \"host\": \"[::1]\"}]}", "\"[::",
                    "routes[0].host: must be a host name or a numeric IP address (IPv6 without "
                    "brackets)");
    expect_error_at("{\"routes\": [{\"domain\": \"a\", \"host\": \"\"}]}", "\"\"",
                    "routes[0].host: must be a host name or a numeric IP address (IPv6 without "
                    "brackets)");
    expect_error_at("{\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"tls\": \"ssl\"}]}",
                    "\"ssl", "routes[0].tls: must be \"starttls\" or \"direct\"");
    expect_error_at("{\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"allow_plaintext\": "
                    "\"yes\"}]}",
                    "\"yes", "routes[0].allow_plaintext: must be true, false or \"loopback\"");
    expect_error("{\"routes\": [\n"
                 "  {\"domain\": \"Example.org\", \"host\": \"h1\"},\n"
                 "  {\"domain\": \"b.example\", \"host\": \"h2\"},\n"
                 "  {\"host\": \"h3\", \"domain\": \"example.org.\"}\n"
                 "]}",
                 NAME ":4:28: routes[2].domain: duplicate route domain \"example.org\" (also in "
                      "routes[0])");
}

static void test_websocket_values(void **state)
{
    static const char *const bad_origins[] = {
        "https://app.example/",
        "app.example",
        "https://",
        "https://a.example:0",
        "*",
        "null",
        "https://user@a.example",
        "https://a.example?x",
        "https://[::1",
        "https://a b",
    };
    char json[256];
    (void)state;
    for (size_t i = 0; i < sizeof(bad_origins) / sizeof(bad_origins[0]); i++) {
        char marker[64];
        snprintf(json, sizeof(json), "{\"websocket\": {\"allowed_origins\": [\"%s\"]}}",
                 bad_origins[i]);
        snprintf(marker, sizeof(marker), "\"%s\"", bad_origins[i]);
        expect_error_at(json, marker,
                        "websocket.allowed_origins[0]: must be an origin like "
                        "\"https://app.example\" (scheme://host[:port], no path)");
    }
    static const char *const bad_paths[] = {"xmpp", "", "/a b", "/a?b", "/a#b", "/a\\tb"};
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
        snprintf(json, sizeof(json), "{\"websocket\": {\"path\": \"%s\"}}", bad_paths[i]);
        char marker[32];
        snprintf(marker, sizeof(marker), "\"%s\"}", bad_paths[i]);
        expect_error_at(json, marker,
                        "websocket.path: must be a string starting with '/' without "
                        "whitespace, '?' or '#'");
    }
    expect_error_at("{\"log_level\": \"verbose\"}", "\"verbose",
                    "log_level: must be one of \"error\", \"warn\", \"notice\", \"info\", "
                    "\"debug\"");
    expect_error_at("{\"log_level\": \"INFO\"}", "\"INFO",
                    "log_level: must be one of \"error\", \"warn\", \"notice\", \"info\", "
                    "\"debug\"");
}

static void test_bosh_values(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{}"), XGW_OK);
    assert_string_equal(cfg.bosh_path, "/http-bind");
    assert_int_equal(cfg.bosh_max_wait_s, 50);
    assert_int_equal(cfg.bosh_max_hold, 1);
    assert_int_equal(cfg.bosh_inactivity_s, 60);
    assert_int_equal(cfg.bosh_polling_s, 2);
    assert_int_equal(cfg.bosh_maxpause_s, 120);
    assert_int_equal(cfg.bosh_max_body_bytes, 131072);
    assert_int_equal(cfg.bosh_allowed_origin_count, 0);
    /* CM-08: sessions per client address are limited by default; a local proxy is trusted. */
    assert_int_equal(cfg.max_sessions_per_ip, 100);
    assert_int_equal(cfg.trusted_proxy_count, 2);
    assert_true(xgw_cidr_list_contains(cfg.trusted_proxies, 2, "127.0.0.1"));
    assert_true(xgw_cidr_list_contains(cfg.trusted_proxies, 2, "::1"));
    assert_false(xgw_cidr_list_contains(cfg.trusted_proxies, 2, "10.0.0.1"));
    /* CM-13: a held request and an idle WebSocket are answered or pinged well before the 60 s
     * idle timeouts of common proxies (nginx proxy_read_timeout, load balancers). */
    assert_true(cfg.bosh_max_wait_s < 60);
    assert_true(cfg.ws_ping_interval_s > 0 && cfg.ws_ping_interval_s < 60);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{\"bosh\": {\"path\": \"/bosh\", \"max_wait_s\": 30, "
                                "\"max_hold\": 2, \"inactivity_s\": 90, \"polling_s\": 0, "
                                "\"maxpause_s\": 0, \"max_body_bytes\": 65536, "
                                "\"allowed_origins\": [\"https://App.Example\"]}}"),
                     XGW_OK);
    assert_string_equal(cfg.bosh_path, "/bosh");
    assert_int_equal(cfg.bosh_max_wait_s, 30);
    assert_int_equal(cfg.bosh_max_hold, 2);
    assert_int_equal(cfg.bosh_inactivity_s, 90);
    assert_int_equal(cfg.bosh_max_body_bytes, 65536);
    assert_int_equal(cfg.bosh_allowed_origin_count, 1);
    assert_string_equal(cfg.bosh_allowed_origins[0], "https://app.example");
    /* The copy used for failed loads must carry the BOSH origins too (no leak, no loss). */
    assert_int_equal(
        xgw_config_load_string(&cfg, "{\"bosh\": {\"max_hold\": 0}}", NAME, err, sizeof(err)),
        XGW_EINVAL);
    assert_string_equal(cfg.bosh_allowed_origins[0], "https://app.example");
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"bosh\": {\"max_wait_s\": 0}}", "0}",
                    "bosh.max_wait_s: must be an integer between 1 and 3600");
    expect_error_at("{\"bosh\": {\"inactivity_s\": 4}}", "4}",
                    "bosh.inactivity_s: must be an integer between 5 and 3600");
    expect_error_at("{\"bosh\": {\"allowed_origins\": [\"*\"]}}", "\"*\"",
                    "bosh.allowed_origins[0]: must be an origin like \"https://app.example\" "
                    "(scheme://host[:port], no path)");
    expect_error_at("{\"bosh\": {\"path\": \"/xmpp-websocket\"}}", "\"/xmpp-websocket\"",
                    "bosh.path: \"/xmpp-websocket\" is used by both websocket.path and "
                    "bosh.path");
    expect_error_at("{\"bosh\": {\"wait\": 10}}", "\"wait\"",
                    "bosh.wait: unknown key (known keys: path, max_wait_s, max_hold, "
                    "inactivity_s, polling_s, maxpause_s, max_body_bytes, allowed_origins; "
                    "\"#...\" keys are comments)");
}

static void test_discovery_values(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{}"), XGW_OK);
    assert_true(cfg.discovery_enabled);
    assert_null(cfg.discovery_ws_url);
    assert_null(cfg.discovery_bosh_url);
    assert_int_equal(cfg.discovery_insecure, -1);
    assert_null(cfg.www_csp);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{\"discovery\": {\"enabled\": false, "
                                "\"websocket_url\": \"wss://chat.example/xmpp-websocket\", "
                                "\"bosh_url\": \"https://chat.example:8443/bosh\", "
                                "\"insecure_links\": false}, \"www_csp\": \"\"}"),
                     XGW_OK);
    assert_false(cfg.discovery_enabled);
    assert_string_equal(cfg.discovery_ws_url, "wss://chat.example/xmpp-websocket");
    assert_string_equal(cfg.discovery_bosh_url, "https://chat.example:8443/bosh");
    assert_int_equal(cfg.discovery_insecure, 0);
    assert_string_equal(cfg.www_csp, "");
    /* The copy used for failed loads carries the new strings (no leak, no loss). */
    assert_int_equal(
        xgw_config_load_string(&cfg, "{\"discovery\": {\"enabled\": 1}}", NAME, err, sizeof(err)),
        XGW_EINVAL);
    assert_string_equal(cfg.discovery_ws_url, "wss://chat.example/xmpp-websocket");
    assert_int_equal(xgw_config_load_string(&cfg, "{\"discovery\": {\"websocket_url\": null}}",
                                            NAME, err, sizeof(err)),
                     XGW_OK);
    assert_null(cfg.discovery_ws_url);
    xgw_config_cleanup(&cfg);
    /* Plain links: to loopback by default, anywhere with insecure_links true. */
    assert_int_equal(load(&cfg, "{\"discovery\": {\"websocket_url\": "
                                "\"ws://127.0.0.1:5280/xmpp-websocket\", \"bosh_url\": "
                                "\"http://localhost/http-bind\"}}"),
                     XGW_OK);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{\"discovery\": {\"insecure_links\": true, \"bosh_url\": "
                                "\"http://lan.example/http-bind\"}}"),
                     XGW_OK);
    assert_int_equal(cfg.discovery_insecure, 1);
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"discovery\": {\"bosh_url\": \"http://lan.example/http-bind\"}}",
                    "\"http://lan",
                    "discovery.bosh_url: \"http://lan.example/http-bind\" is not https:// or "
                    "wss:// (XEP-0156); set discovery.insecure_links to true to publish it anyway");
    expect_error_at("{\"discovery\": {\"websocket_url\": \"ws://localhost/ws\", "
                    "\"insecure_links\": false}}",
                    "\"ws://",
                    "discovery.websocket_url: \"ws://localhost/ws\" is not https:// or wss:// "
                    "(XEP-0156); set discovery.insecure_links to true to publish it anyway");
    static const char *const bad_ws[] = {
        "\"https://chat.example/ws\"",
        "\"wss://\"",
        "\"wss:/chat.example/ws\"",
        "\"wss://chat.example/a b\"",
        "\"wss://chat.example/a'b\"",
        "\"wss://chat.example/x#y\"",
        "\"wss://chat example/\"",
        "\"wss://chat.example:99999/\"",
        "\"wss://[zz]/\"",
        "7",
    };
    for (size_t i = 0; i < sizeof(bad_ws) / sizeof(bad_ws[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"discovery\": {\"websocket_url\": %s}}", bad_ws[i]);
        expect_error_at(json, bad_ws[i],
                        "discovery.websocket_url: must be null or an absolute URL "
                        "\"wss://host[:port]/path\"");
    }
    expect_error_at("{\"discovery\": {\"bosh_url\": \"wss://chat.example/b\"}}", "\"wss",
                    "discovery.bosh_url: must be null or an absolute URL "
                    "\"https://host[:port]/path\"");
    expect_error_at("{\"discovery\": {\"insecure_links\": \"yes\"}}", "\"yes\"",
                    "discovery.insecure_links: must be true, false or \"loopback\"");
    expect_error_at("{\"www_csp\": \"default-src 'none'\\r\\nX-Injected: 1\"}", "\"default",
                    "www_csp: must be null, \"\" or a policy without control characters");
    expect_error_at("{\"www_csp\": 1}", "1}",
                    "www_csp: must be null, \"\" or a policy without control characters");
}

static void test_tls_values(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{}"), XGW_OK);
    assert_int_equal(cfg.tls_listen_count, 0);
    assert_null(cfg.tls_cert_file);
    assert_null(cfg.tls_key_file);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{\"tls\": {\"listen\": [\"0.0.0.0:443\", \"[::]:443\"], "
                                "\"cert_file\": \"/etc/x/cert.pem\", \"key_file\": \"k.pem\"}}"),
                     XGW_OK);
    assert_int_equal(cfg.tls_listen_count, 2);
    assert_string_equal(cfg.tls_listens[0].host, "0.0.0.0");
    assert_int_equal(cfg.tls_listens[1].port, 443);
    assert_string_equal(cfg.tls_listens[1].host, "::");
    assert_string_equal(cfg.tls_cert_file, "/etc/x/cert.pem");
    /* The copy used for failed loads carries the TLS listeners (no leak, no loss). */
    assert_int_equal(
        xgw_config_load_string(&cfg, "{\"tls\": {\"listen\": 1}}", NAME, err, sizeof(err)),
        XGW_EINVAL);
    assert_int_equal(cfg.tls_listen_count, 2);
    /* The plain listeners are separate: --listen-style replacement leaves these alone. */
    assert_int_equal(cfg.listen_count, 1);
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"tls\": {\"listen\": [\"0.0.0.0:443\"], \"cert_file\": \"c.pem\"}}",
                    "[\"0.0.0.0",
                    "tls.listen: TLS listeners need both tls.cert_file and tls.key_file");
    expect_error_at("{\"tls\": {\"key_file\": \"k.pem\"}}", "\"k.pem",
                    "tls.key_file: is set but tls.listen is empty: no listener would use it");
    expect_error_at("{\"tls\": {\"listen\": [\"example.org:443\"]}}", "\"example.org",
                    "tls.listen[0]: \"example.org:443\": not a numeric IPv4 address (host names "
                    "are not accepted)");
    expect_error_at("{\"tls\": {\"listen\": \"0.0.0.0:443\"}}", "\"0.0.0.0",
                    "tls.listen: must be an array of \"ADDR:PORT\" strings");
    expect_error_at("{\"tls\": {\"cert_file\": \"\"}}", "\"\"}",
                    "tls.cert_file: must be a non-empty string or null");
    /* The monitoring listener: none by default, same address syntax. */
    assert_int_equal(load(&cfg, "{\"status\": {\"listen\": [\"127.0.0.1:5281\"]}}"), XGW_OK);
    assert_int_equal(cfg.status_listen_count, 1);
    assert_int_equal(cfg.status_listens[0].port, 5281);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{}"), XGW_OK);
    assert_int_equal(cfg.status_listen_count, 0);
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"status\": {\"listen\": [\"localhost:5281\"]}}", "\"localhost",
                    "status.listen[0]: \"localhost:5281\": not a numeric IPv4 address (host "
                    "names are not accepted)");
}

static void test_trusted_proxies(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"trusted_proxies\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}"),
                     XGW_OK);
    assert_int_equal(cfg.trusted_proxy_count, 2);
    assert_true(xgw_cidr_list_contains(cfg.trusted_proxies, 2, "10.9.8.7"));
    assert_false(xgw_cidr_list_contains(cfg.trusted_proxies, 2, "127.0.0.1")); /* replaced */
    /* The copy used for failed loads carries the list (no leak, no loss). */
    assert_int_equal(
        xgw_config_load_string(&cfg, "{\"trusted_proxies\": 1}", NAME, err, sizeof(err)),
        XGW_EINVAL);
    assert_int_equal(cfg.trusted_proxy_count, 2);
    xgw_config_cleanup(&cfg);
    assert_int_equal(load(&cfg, "{\"trusted_proxies\": []}"), XGW_OK);
    assert_int_equal(cfg.trusted_proxy_count, 0);
    xgw_config_cleanup(&cfg);
    expect_error_at("{\"trusted_proxies\": [\"10.0.0.0/8\", \"10.0.0.1/8\"]}", "\"10.0.0.1",
                    "trusted_proxies[1]: must be a numeric address or range like \"10.0.0.0/8\" "
                    "or \"2001:db8::/32\" (no host bits past the prefix)");
    expect_error_at("{\"trusted_proxies\": \"10.0.0.0/8\"}", "\"10.",
                    "trusted_proxies: must be an array of address ranges like \"10.0.0.0/8\"");
}

static void test_failed_load_leaves_config_unchanged(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"listen\": [\"10.0.0.1:1\"], \"www_root\": \"a\"}"), XGW_OK);
    assert_int_equal(xgw_config_load_string(&cfg,
                                            "{\"listen\": [\"10.0.0.2:2\"], \"www_root\": \"b\", "
                                            "\"limits\": {\"max_sessions\": 0}}",
                                            NAME, err, sizeof(err)),
                     XGW_EINVAL);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].host, "10.0.0.1");
    assert_string_equal(cfg.www_root, "a");
    assert_int_equal(cfg.max_sessions, 10000);
    xgw_config_cleanup(&cfg);
}

static void test_load_file(void **state)
{
    struct xgw_config cfg;
    char expected[512];
    (void)state;
    char *path = write_temp("{\n  \"log_level\": \"warn\"\n}\n");
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_config_load_file(&cfg, path, err, sizeof(err)), XGW_OK);
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_WARN);
    assert_string_equal(cfg.source_path, path);
    xgw_config_cleanup(&cfg);
    remove_temp(path);

    path = write_temp(
        "{\n  \"log_level\": \"warn\",\n  \"websocket\": {\"ping_interval_s\": 9999}\n}");
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_config_load_file(&cfg, path, err, sizeof(err)), XGW_EINVAL);
    snprintf(expected, sizeof(expected),
             "%s:3:36: websocket.ping_interval_s: must be an integer between 0 and 3600", path);
    assert_string_equal(err, expected);
    assert_null(cfg.source_path);
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_INFO);
    xgw_config_cleanup(&cfg);
    remove_temp(path);
}

static void test_load_file_missing(void **state)
{
    struct xgw_config cfg;
    (void)state;
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_config_load_file(&cfg, "/nonexistent/xgw.json", err, sizeof(err)),
                     XGW_EINVAL);
    assert_string_equal(err, "/nonexistent/xgw.json: cannot open: No such file or directory");
    assert_int_equal(xgw_config_load_file(&cfg, "/", err, sizeof(err)), XGW_EINVAL);
    assert_string_equal(err, "/: cannot read: Is a directory");
    /* A NULL or empty message buffer is allowed. */
    assert_int_equal(xgw_config_load_file(&cfg, "/nonexistent/xgw.json", NULL, 0), XGW_EINVAL);
    xgw_config_cleanup(&cfg);
}

/* The repository root, from TEST_DATA_DIR = <repo>/tests/unit/data. */
static void repo_path(char *out, size_t out_len, const char *relative)
{
    const char *data = getenv("TEST_DATA_DIR");
    assert_non_null(data);
    size_t len = strlen(data);
    const char *suffix = "/tests/unit/data";
    assert_true(len >= strlen(suffix));
    assert_string_equal(data + len - strlen(suffix), suffix);
    snprintf(out, out_len, "%.*s/%s", (int)(len - strlen(suffix)), data, relative);
}

static void test_example_configs_load(void **state)
{
    struct xgw_config cfg, defaults;
    char path[4096];
    (void)state;
    xgw_config_init_defaults(&defaults);
    repo_path(path, sizeof(path), "conf/xmppgw.example.json");
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_config_load_file(&cfg, path, err, sizeof(err)), XGW_OK);
    /* The example documents the defaults: loading it changes nothing but the demo route. */
    assert_int_equal(cfg.listen_count, defaults.listen_count);
    assert_string_equal(cfg.listens[0].host, defaults.listens[0].host);
    assert_int_equal(cfg.listens[0].port, defaults.listens[0].port);
    assert_int_equal(cfg.log_level, defaults.log_level);
    assert_null(cfg.www_root);
    assert_null(cfg.www_csp);
    assert_int_equal(cfg.discovery_enabled, defaults.discovery_enabled);
    assert_null(cfg.discovery_ws_url);
    assert_null(cfg.discovery_bosh_url);
    assert_int_equal(cfg.discovery_insecure, defaults.discovery_insecure);
    assert_string_equal(cfg.bosh_path, defaults.bosh_path);
    assert_int_equal(cfg.bosh_max_wait_s, defaults.bosh_max_wait_s);
    assert_int_equal(cfg.bosh_max_hold, defaults.bosh_max_hold);
    assert_int_equal(cfg.bosh_inactivity_s, defaults.bosh_inactivity_s);
    assert_int_equal(cfg.bosh_polling_s, defaults.bosh_polling_s);
    assert_int_equal(cfg.bosh_maxpause_s, defaults.bosh_maxpause_s);
    assert_int_equal(cfg.bosh_max_body_bytes, defaults.bosh_max_body_bytes);
    assert_string_equal(cfg.ws_path, defaults.ws_path);
    assert_int_equal(cfg.ws_ping_interval_s, defaults.ws_ping_interval_s);
    assert_int_equal(cfg.ws_pong_timeout_s, defaults.ws_pong_timeout_s);
    assert_int_equal(cfg.ws_open_timeout_s, defaults.ws_open_timeout_s);
    assert_int_equal(cfg.upstream_keepalive_s, 300);
    assert_int_equal(cfg.max_sessions_per_ip, defaults.max_sessions_per_ip);
    assert_int_equal(cfg.trusted_proxy_count, defaults.trusted_proxy_count);
    assert_int_equal(cfg.tls_listen_count, 0);
    assert_int_equal(cfg.status_listen_count, 0);
    assert_int_equal(cfg.ws_allowed_origin_count, 0);
    assert_int_equal(cfg.connect_timeout_s, defaults.connect_timeout_s);
    assert_int_equal(cfg.close_timeout_s, defaults.close_timeout_s);
    assert_null(cfg.ca_file);
    assert_null(cfg.ca_dir);
    assert_int_equal(cfg.max_stanza_bytes, defaults.max_stanza_bytes);
    assert_int_equal(cfg.max_queue_bytes, defaults.max_queue_bytes);
    assert_int_equal(cfg.max_sessions, defaults.max_sessions);
    assert_int_equal(cfg.route_count, 1);
    assert_int_equal(cfg.routes[0].port, XGW_DEFAULT_UPSTREAM_PORT);
    assert_int_equal(cfg.routes[0].tls, XGW_TLS_STARTTLS);
    assert_true(cfg.routes[0].tls_verify);
    assert_int_equal(cfg.routes[0].allow_plaintext, -1);
    xgw_config_cleanup(&cfg);

    repo_path(path, sizeof(path), "conf/xmppgw.json");
    xgw_config_init_defaults(&cfg);
    assert_int_equal(xgw_config_load_file(&cfg, path, err, sizeof(err)), XGW_OK);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].host, "127.0.0.1");
    assert_int_equal(cfg.listens[0].port, 5280);
    assert_string_equal(cfg.www_root, "www");
    assert_int_equal(cfg.route_count, 1);
    assert_string_equal(cfg.routes[0].domain, "localhost");
    assert_string_equal(cfg.routes[0].host, "127.0.0.1");
    assert_int_equal(cfg.routes[0].port, 5222);
    assert_int_equal(cfg.routes[0].allow_plaintext, -1);
    xgw_config_cleanup(&cfg);
    xgw_config_cleanup(&defaults);
}

static void test_find_route(void **state)
{
    struct xgw_config cfg;
    (void)state;
    assert_int_equal(load(&cfg, "{\"routes\": [{\"domain\": \"a.example\", \"host\": \"h1\"}, "
                                "{\"domain\": \"B.Example\", \"host\": \"h2\"}]}"),
                     XGW_OK);
    const struct xgw_route *route = xgw_config_find_route(&cfg, "A.EXAMPLE");
    assert_non_null(route);
    assert_string_equal(route->host, "h1");
    route = xgw_config_find_route(&cfg, "b.example.");
    assert_non_null(route);
    assert_string_equal(route->host, "h2");
    assert_null(xgw_config_find_route(&cfg, "c.example"));
    assert_null(xgw_config_find_route(&cfg, "a.example.org"));
    assert_null(xgw_config_find_route(&cfg, "a.exampl"));
    assert_null(xgw_config_find_route(&cfg, ""));
    xgw_config_cleanup(&cfg);
}

/* Runs xgw_config_from_argv over a NULL-terminated argument list (argv[0] is added). */
static enum xgw_err run_cli(struct xgw_config *cfg, enum xgw_cli_action *action, ...)
{
    char *argv[32] = {"xmppgw"};
    int argc = 1;
    va_list ap;
    va_start(ap, action);
    for (char *arg = va_arg(ap, char *); arg != NULL; arg = va_arg(ap, char *)) {
        assert_true(argc < 31);
        argv[argc++] = arg;
    }
    va_end(ap);
    xgw_config_init_defaults(cfg);
    err[0] = '\0';
    return xgw_config_from_argv(cfg, argc, argv, action, err, sizeof(err));
}

static void test_cli_actions(void **state)
{
    struct xgw_config cfg;
    enum xgw_cli_action action = XGW_CLI_HELP;
    (void)state;
    assert_int_equal(run_cli(&cfg, &action, NULL), XGW_OK);
    assert_int_equal(action, XGW_CLI_RUN);
    assert_int_equal(cfg.listen_count, 1);
    assert_null(cfg.source_path);
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--help", NULL), XGW_OK);
    assert_int_equal(action, XGW_CLI_HELP);
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--version", NULL), XGW_OK);
    assert_int_equal(action, XGW_CLI_VERSION);
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--check-config", NULL), XGW_OK);
    assert_int_equal(action, XGW_CLI_CHECK_CONFIG);
    xgw_config_cleanup(&cfg);
    /* --help does not need a loadable file. */
    assert_int_equal(run_cli(&cfg, &action, "--config", "/nonexistent.json", "--help", NULL),
                     XGW_OK);
    assert_int_equal(action, XGW_CLI_HELP);
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--config", "/nonexistent.json", NULL), XGW_EINVAL);
    assert_string_equal(err, "/nonexistent.json: cannot open: No such file or directory");
    xgw_config_cleanup(&cfg);
}

static const char cli_file[] = "{\"listen\": [\"10.0.0.1:1000\"], \"www_root\": \"file-www\",\n"
                               " \"log_level\": \"warn\",\n"
                               " \"routes\": [{\"domain\": \"a.example\", \"host\": \"ha\"},\n"
                               "            {\"domain\": \"b.example\", \"host\": \"hb\", "
                               "\"tls\": \"direct\", \"port\": 5223}]}";

static void test_cli_file_and_overrides(void **state)
{
    struct xgw_config cfg;
    enum xgw_cli_action action;
    (void)state;
    char *path = write_temp(cli_file);
    /* Overrides come before --config here, and still win over the file. */
    assert_int_equal(run_cli(&cfg, &action, "--listen", "127.0.0.1:81", "--listen=[::1]:82",
                             "--route", "B.EXAMPLE=hb2:5300", "--route=c.example=[::1]", "--www=/w",
                             "--log-level", "debug", "--config", path, "--check-config", NULL),
                     XGW_OK);
    assert_int_equal(action, XGW_CLI_CHECK_CONFIG);
    assert_string_equal(cfg.source_path, path);
    assert_int_equal(cfg.listen_count, 2);
    assert_string_equal(cfg.listens[0].host, "127.0.0.1");
    assert_int_equal(cfg.listens[0].port, 81);
    assert_string_equal(cfg.listens[1].host, "::1");
    assert_int_equal(cfg.listens[1].port, 82);
    assert_int_equal(cfg.route_count, 3);
    assert_string_equal(cfg.routes[0].host, "ha");
    assert_string_equal(cfg.routes[1].domain, "b.example");
    assert_string_equal(cfg.routes[1].host, "hb2");
    assert_int_equal(cfg.routes[1].port, 5300);
    assert_int_equal(cfg.routes[1].tls, XGW_TLS_STARTTLS); /* a replaced route has defaults */
    assert_string_equal(cfg.routes[2].domain, "c.example");
    assert_string_equal(cfg.routes[2].host, "::1");
    assert_string_equal(cfg.www_root, "/w");
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_DEBUG);
    xgw_config_cleanup(&cfg);

    /* Without overrides the file's values stand. */
    assert_int_equal(run_cli(&cfg, &action, "--config", path, NULL), XGW_OK);
    assert_int_equal(action, XGW_CLI_RUN);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listens[0].host, "10.0.0.1");
    assert_int_equal(cfg.route_count, 2);
    assert_int_equal(cfg.routes[1].tls, XGW_TLS_DIRECT);
    assert_string_equal(cfg.www_root, "file-www");
    assert_int_equal(cfg.log_level, XGW_LOG_LEVEL_WARN);
    xgw_config_cleanup(&cfg);
    remove_temp(path);
}

static void test_cli_errors(void **state)
{
    struct xgw_config cfg;
    enum xgw_cli_action action;
    (void)state;
    assert_int_equal(run_cli(&cfg, &action, "--bogus", NULL), XGW_EINVAL);
    assert_string_equal(err, "unknown option \"--bogus\" (see --help)");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--bogus=1", NULL), XGW_EINVAL);
    assert_string_equal(err, "unknown option \"--bogus\" (see --help)");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "-h", NULL), XGW_EINVAL);
    assert_string_equal(err, "unexpected argument \"-h\" (see --help)");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "file.json", NULL), XGW_EINVAL);
    assert_string_equal(err, "unexpected argument \"file.json\" (see --help)");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--listen", NULL), XGW_EINVAL);
    assert_string_equal(err, "--listen: missing value");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--listen", "--www", "x", NULL), XGW_EINVAL);
    assert_string_equal(err, "--listen: missing value");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--help=yes", NULL), XGW_EINVAL);
    assert_string_equal(err, "--help: takes no value");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--listen", "1.2.3.4", NULL), XGW_EINVAL);
    assert_string_equal(err, "--listen: invalid value \"1.2.3.4\": missing ':PORT'");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--listen=127.0.0.1:1", "--route=x", NULL), XGW_EINVAL);
    assert_string_equal(err, "--route: invalid value \"x\": expected DOMAIN=HOST[:PORT]");
    assert_string_equal(cfg.listens[0].host, "127.0.0.1"); /* unchanged on error */
    assert_int_equal(cfg.listens[0].port, 5280);
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--route", "a.example=h:0", NULL), XGW_EINVAL);
    assert_string_equal(err, "--route: invalid value \"a.example=h:0\": PORT must be a number "
                             "between 1 and 65535");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--log-level=loud", NULL), XGW_EINVAL);
    assert_string_equal(err, "--log-level: invalid value \"loud\": expected error, warn, notice, "
                             "info or debug");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--www=", NULL), XGW_EINVAL);
    assert_string_equal(err, "--www: the directory must not be empty");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--config=", NULL), XGW_EINVAL);
    assert_string_equal(err, "--config: the file name must not be empty");
    xgw_config_cleanup(&cfg);
    assert_int_equal(run_cli(&cfg, &action, "--config", "a", "--config=b", NULL), XGW_EINVAL);
    assert_string_equal(err, "--config: given more than once");
    xgw_config_cleanup(&cfg);
}

static void test_cli_config_error_passthrough(void **state)
{
    struct xgw_config cfg;
    enum xgw_cli_action action;
    char expected[512];
    (void)state;
    char *path = write_temp("{\n\"routes\": [{\"domain\": \"a\", \"host\": \"h\", \"tls\": 1}]}");
    assert_int_equal(run_cli(&cfg, &action, "--config", path, "--listen", "127.0.0.1:1", NULL),
                     XGW_EINVAL);
    snprintf(expected, sizeof(expected),
             "%s:2:48: routes[0].tls: must be \"starttls\" or \"direct\"", path);
    assert_string_equal(err, expected);
    assert_int_equal(cfg.listens[0].port, 5280);
    assert_int_equal(cfg.route_count, 0);
    xgw_config_cleanup(&cfg);
    remove_temp(path);
}

static void test_usage(void **state)
{
    static const char *const options[] = {
        "--config FILE", "--check-config",    "--listen ADDR:PORT", "--route DOMAIN=HOST[:PORT]",
        "--www DIR",     "--log-level LEVEL", "--version",          "--help"};
    const char *usage = xgw_config_usage();
    (void)state;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        assert_non_null(strstr(usage, options[i]));
    assert_non_null(strstr(usage, "0 on success, 2 on a usage or configuration error"));
    for (const char *line = usage; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        assert_true(end - line <= 100);
        line = end + 1;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_valid_file),
        cmocka_unit_test(test_empty_object_keeps_defaults),
        cmocka_unit_test(test_nulls_clear_strings),
        cmocka_unit_test(test_comments_ignored),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_range_checks),
        cmocka_unit_test(test_range_boundaries_accepted),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_listen_errors_in_file),
        cmocka_unit_test(test_route_parse),
        cmocka_unit_test(test_route_errors_in_file),
        cmocka_unit_test(test_route_srv_and_dns_servers),
        cmocka_unit_test(test_websocket_values),
        cmocka_unit_test(test_bosh_values),
        cmocka_unit_test(test_discovery_values),
        cmocka_unit_test(test_tls_values),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_failed_load_leaves_config_unchanged),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_missing),
        cmocka_unit_test(test_example_configs_load),
        cmocka_unit_test(test_find_route),
        cmocka_unit_test(test_cli_actions),
        cmocka_unit_test(test_cli_file_and_overrides),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_cli_config_error_passthrough),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
