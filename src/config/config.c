/* SPDX-License-Identifier: MIT */
/* Configuration defaults, deep copy, cleanup and route lookup (the values come from limits.h). */
#include "xgw/config.h"

#include <string.h>

#include "xgw/alloc.h"
#include "xgw/limits.h"
#include "config_internal.h"

void xgw_config_init_defaults(struct xgw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listens = xgw_calloc(1, sizeof(*cfg->listens));
    cfg->listens[0].host = xgw_strdup(XGW_DEFAULT_LISTEN_HOST);
    cfg->listens[0].port = XGW_DEFAULT_LISTEN_PORT;
    cfg->listen_count = 1;
    cfg->ws_path = xgw_strdup(XGW_DEFAULT_WS_PATH);
    cfg->ws_ping_interval_s = XGW_DEFAULT_WS_PING_INTERVAL_S;
    cfg->ws_pong_timeout_s = XGW_DEFAULT_WS_PONG_TIMEOUT_S;
    cfg->ws_open_timeout_s = XGW_DEFAULT_WS_OPEN_TIMEOUT_S;
    cfg->bosh_path = xgw_strdup(XGW_DEFAULT_BOSH_PATH);
    cfg->bosh_max_wait_s = XGW_DEFAULT_BOSH_MAX_WAIT_S;
    cfg->bosh_max_hold = XGW_DEFAULT_BOSH_MAX_HOLD;
    cfg->bosh_inactivity_s = XGW_DEFAULT_BOSH_INACTIVITY_S;
    cfg->bosh_polling_s = XGW_DEFAULT_BOSH_POLLING_S;
    cfg->bosh_maxpause_s = XGW_DEFAULT_BOSH_MAXPAUSE_S;
    cfg->bosh_max_body_bytes = XGW_DEFAULT_BOSH_MAX_BODY;
    cfg->connect_timeout_s = XGW_DEFAULT_CONNECT_TIMEOUT_S;
    cfg->close_timeout_s = XGW_DEFAULT_CLOSE_TIMEOUT_S;
    cfg->max_stanza_bytes = XGW_DEFAULT_MAX_STANZA_BYTES;
    cfg->max_queue_bytes = XGW_DEFAULT_MAX_QUEUE_BYTES;
    cfg->max_sessions = XGW_DEFAULT_MAX_SESSIONS;
    cfg->upstream_keepalive_s = XGW_DEFAULT_UPSTREAM_KEEPALIVE_S;
    cfg->max_sessions_per_ip = XGW_DEFAULT_MAX_SESSIONS_PER_IP;
    static const char *const local[] = {"127.0.0.0/8", "::1/128"};
    cfg->trusted_proxies = xgw_calloc(XGW_ARRAY_SIZE(local), sizeof(*cfg->trusted_proxies));
    for (size_t i = 0; i < XGW_ARRAY_SIZE(local); i++)
        (void)xgw_cidr_parse(local[i], &cfg->trusted_proxies[cfg->trusted_proxy_count++]);
    cfg->log_level = XGW_LOG_LEVEL_INFO;
    cfg->discovery_enabled = true;
    cfg->discovery_insecure = -1;
}

void xgw_route_cleanup(struct xgw_route *route)
{
    xgw_free(route->domain);
    xgw_free(route->host);
    route->domain = NULL;
    route->host = NULL;
}

void xgw_config_cleanup(struct xgw_config *cfg)
{
    for (size_t i = 0; i < cfg->listen_count; i++)
        xgw_free(cfg->listens[i].host);
    for (size_t i = 0; i < cfg->tls_listen_count; i++)
        xgw_free(cfg->tls_listens[i].host);
    xgw_free(cfg->tls_listens);
    xgw_free(cfg->trusted_proxies);
    for (size_t i = 0; i < cfg->status_listen_count; i++)
        xgw_free(cfg->status_listens[i].host);
    xgw_free(cfg->status_listens);
    xgw_free(cfg->tls_cert_file);
    xgw_free(cfg->tls_key_file);
    for (size_t i = 0; i < cfg->route_count; i++)
        xgw_route_cleanup(&cfg->routes[i]);
    for (size_t i = 0; i < cfg->ws_allowed_origin_count; i++)
        xgw_free(cfg->ws_allowed_origins[i]);
    xgw_free(cfg->listens);
    xgw_free(cfg->routes);
    xgw_free(cfg->ws_allowed_origins);
    for (size_t i = 0; i < cfg->bosh_allowed_origin_count; i++)
        xgw_free(cfg->bosh_allowed_origins[i]);
    xgw_free(cfg->bosh_allowed_origins);
    xgw_free(cfg->bosh_path);
    xgw_free(cfg->source_path);
    xgw_free(cfg->www_root);
    xgw_free(cfg->www_csp);
    xgw_free(cfg->discovery_ws_url);
    xgw_free(cfg->discovery_bosh_url);
    xgw_free(cfg->ws_path);
    xgw_free(cfg->ca_file);
    xgw_free(cfg->ca_dir);
    for (size_t i = 0; i < cfg->dns_server_count; i++)
        xgw_free(cfg->dns_servers[i].host);
    memset(cfg, 0, sizeof(*cfg));
}

void xgw_config_set_string(char **slot, const char *value)
{
    char *copy = xgw_strdup(value);
    xgw_free(*slot);
    *slot = copy;
}

void xgw_config_copy(struct xgw_config *dst, const struct xgw_config *src)
{
    *dst = *src;
    dst->source_path = xgw_strdup(src->source_path);
    dst->www_root = xgw_strdup(src->www_root);
    dst->www_csp = xgw_strdup(src->www_csp);
    dst->discovery_ws_url = xgw_strdup(src->discovery_ws_url);
    dst->discovery_bosh_url = xgw_strdup(src->discovery_bosh_url);
    dst->ws_path = xgw_strdup(src->ws_path);
    dst->bosh_path = xgw_strdup(src->bosh_path);
    dst->ca_file = xgw_strdup(src->ca_file);
    dst->ca_dir = xgw_strdup(src->ca_dir);
    for (size_t i = 0; i < src->dns_server_count; i++)
        dst->dns_servers[i].host = xgw_strdup(src->dns_servers[i].host);
    dst->listens = xgw_calloc(src->listen_count, sizeof(*dst->listens));
    for (size_t i = 0; i < src->listen_count; i++) {
        dst->listens[i] = src->listens[i];
        dst->listens[i].host = xgw_strdup(src->listens[i].host);
    }
    dst->tls_cert_file = xgw_strdup(src->tls_cert_file);
    dst->tls_key_file = xgw_strdup(src->tls_key_file);
    dst->tls_listens = xgw_calloc(src->tls_listen_count, sizeof(*dst->tls_listens));
    for (size_t i = 0; i < src->tls_listen_count; i++) {
        dst->tls_listens[i] = src->tls_listens[i];
        dst->tls_listens[i].host = xgw_strdup(src->tls_listens[i].host);
    }
    dst->trusted_proxies = xgw_calloc(src->trusted_proxy_count, sizeof(*dst->trusted_proxies));
    if (src->trusted_proxy_count)
        memcpy(dst->trusted_proxies, src->trusted_proxies,
               src->trusted_proxy_count * sizeof(*dst->trusted_proxies));
    dst->status_listens = xgw_calloc(src->status_listen_count, sizeof(*dst->status_listens));
    for (size_t i = 0; i < src->status_listen_count; i++) {
        dst->status_listens[i] = src->status_listens[i];
        dst->status_listens[i].host = xgw_strdup(src->status_listens[i].host);
    }
    dst->routes = xgw_calloc(src->route_count, sizeof(*dst->routes));
    for (size_t i = 0; i < src->route_count; i++) {
        dst->routes[i] = src->routes[i];
        dst->routes[i].domain = xgw_strdup(src->routes[i].domain);
        dst->routes[i].host = xgw_strdup(src->routes[i].host);
    }
    dst->ws_allowed_origins =
        xgw_calloc(src->ws_allowed_origin_count, sizeof(*dst->ws_allowed_origins));
    for (size_t i = 0; i < src->ws_allowed_origin_count; i++)
        dst->ws_allowed_origins[i] = xgw_strdup(src->ws_allowed_origins[i]);
    dst->bosh_allowed_origins =
        xgw_calloc(src->bosh_allowed_origin_count, sizeof(*dst->bosh_allowed_origins));
    for (size_t i = 0; i < src->bosh_allowed_origin_count; i++)
        dst->bosh_allowed_origins[i] = xgw_strdup(src->bosh_allowed_origins[i]);
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

const struct xgw_route *xgw_config_find_route(const struct xgw_config *cfg, const char *domain)
{
    /* Route domains are stored normalized; the query gets the same treatment on the fly:
     * ASCII case folded and one trailing dot ignored (RFC 7622 §3.2). */
    size_t len = strlen(domain);
    if (len > 0 && domain[len - 1] == '.')
        len--;
    for (size_t i = 0; i < cfg->route_count; i++) {
        const char *candidate = cfg->routes[i].domain;
        if (strlen(candidate) != len)
            continue;
        size_t j = 0;
        while (j < len && ascii_lower(domain[j]) == candidate[j])
            j++;
        if (j == len)
            return &cfg->routes[i];
    }
    return NULL;
}
