/* SPDX-License-Identifier: MIT */
/* Fuzz target for the strict JSON config loader (mosquitto's --test-config fuzzing): arbitrary
 * text is loaded over the defaults; a failure must leave the config unchanged and give a
 * one-line "name:..." message, a success must give a config the daemon can use. */
#include <string.h>

#include "fuzz.h"
#include "xgw/alloc.h"
#include "xgw/config.h"

#define NAME "fuzz.json"

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool same_routes(const struct xgw_config *a, const struct xgw_config *b)
{
    if (a->route_count != b->route_count)
        return false;
    for (size_t i = 0; i < a->route_count; i++) {
        const struct xgw_route *x = &a->routes[i], *y = &b->routes[i];
        if (!str_eq(x->domain, y->domain) || !str_eq(x->host, y->host) || x->port != y->port ||
            x->tls != y->tls || x->tls_verify != y->tls_verify ||
            x->allow_plaintext != y->allow_plaintext)
            return false;
    }
    return true;
}

static bool same_strings(char *const *a, size_t a_count, char *const *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static bool same_lists(const struct xgw_config *a, const struct xgw_config *b)
{
    if (a->listen_count != b->listen_count)
        return false;
    for (size_t i = 0; i < a->listen_count; i++)
        if (!str_eq(a->listens[i].host, b->listens[i].host) ||
            a->listens[i].port != b->listens[i].port)
            return false;
    return same_routes(a, b) &&
           same_strings(a->ws_allowed_origins, a->ws_allowed_origin_count, b->ws_allowed_origins,
                        b->ws_allowed_origin_count) &&
           same_strings(a->bosh_allowed_origins, a->bosh_allowed_origin_count,
                        b->bosh_allowed_origins, b->bosh_allowed_origin_count);
}

static bool same_config(const struct xgw_config *a, const struct xgw_config *b)
{
    return same_lists(a, b) && str_eq(a->source_path, b->source_path) &&
           str_eq(a->www_root, b->www_root) && str_eq(a->ws_path, b->ws_path) &&
           str_eq(a->bosh_path, b->bosh_path) && str_eq(a->ca_file, b->ca_file) &&
           str_eq(a->ca_dir, b->ca_dir) && a->ws_ping_interval_s == b->ws_ping_interval_s &&
           a->ws_pong_timeout_s == b->ws_pong_timeout_s &&
           a->bosh_max_wait_s == b->bosh_max_wait_s && a->bosh_max_hold == b->bosh_max_hold &&
           a->bosh_inactivity_s == b->bosh_inactivity_s && a->bosh_polling_s == b->bosh_polling_s &&
           a->bosh_maxpause_s == b->bosh_maxpause_s &&
           a->bosh_max_body_bytes == b->bosh_max_body_bytes &&
           a->connect_timeout_s == b->connect_timeout_s &&
           a->close_timeout_s == b->close_timeout_s && a->max_stanza_bytes == b->max_stanza_bytes &&
           a->max_queue_bytes == b->max_queue_bytes && a->max_sessions == b->max_sessions &&
           a->log_level == b->log_level;
}

/* What the rest of the daemon relies on after a successful load. */
static void check_usable(const struct xgw_config *cfg)
{
    FUZZ_CHECK(cfg->listen_count >= 1);
    for (size_t i = 0; i < cfg->listen_count; i++)
        FUZZ_CHECK(cfg->listens[i].host != NULL && cfg->listens[i].port != 0);
    FUZZ_CHECK(cfg->ws_path != NULL && cfg->ws_path[0] == '/');
    FUZZ_CHECK(cfg->bosh_path != NULL && cfg->bosh_path[0] == '/');
    FUZZ_CHECK(cfg->max_queue_bytes >= cfg->max_stanza_bytes);
    FUZZ_CHECK(cfg->dns_server_count <= XGW_MAX_DNS_SERVERS);
    for (size_t i = 0; i < cfg->dns_server_count; i++)
        FUZZ_CHECK(cfg->dns_servers[i].host != NULL && cfg->dns_servers[i].port != 0);
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct xgw_route *r = &cfg->routes[i];
        /* host may be NULL: the domain is looked up in DNS (SRV). */
        FUZZ_CHECK(r->domain != NULL && r->port != 0);
        /* Domains are unique, so each finds itself. */
        FUZZ_CHECK(xgw_config_find_route(cfg, r->domain) == r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xgw_malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct xgw_config cfg, defaults;
    xgw_config_init_defaults(&cfg);
    xgw_config_init_defaults(&defaults);
    char err[512] = "";
    if (xgw_config_load_string(&cfg, text, NAME, err, sizeof(err)) == XGW_OK) {
        check_usable(&cfg);
        /* Loading again over a loaded config replaces every owned value without leaking. */
        FUZZ_CHECK(xgw_config_load_string(&cfg, text, NAME, err, sizeof(err)) == XGW_OK);
        check_usable(&cfg);
    } else {
        FUZZ_CHECK(same_config(&cfg, &defaults));
        FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
        FUZZ_CHECK(strchr(err, '\n') == NULL);
        char tiny[4];
        memset(tiny, 'x', sizeof(tiny));
        FUZZ_CHECK(xgw_config_load_string(&cfg, text, NAME, tiny, sizeof(tiny)) == XGW_EINVAL);
        FUZZ_CHECK(memchr(tiny, '\0', sizeof(tiny)) != NULL);
    }
    xgw_config_cleanup(&cfg);
    xgw_config_cleanup(&defaults);
    xgw_free(text);
    return 0;
}
