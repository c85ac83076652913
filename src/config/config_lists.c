/* SPDX-License-Identifier: MIT */
/* Array-valued configuration keys: listen addresses (plain, TLS, status), trusted proxy ranges,
 * DNS servers and allowed origins. Each replaces the default list; a bad item is reported at
 * its index. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "config_schema.h"
#include "xgw/alloc.h"

/* upstream.dns_servers: "IPV4[:PORT]" resolvers for SRV lookups instead of resolv.conf's. */
enum xgw_err xgw_cfg_dns_servers(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                 void *target)
{
    struct xgw_config *cfg = target;
    size_t n = json_array_size(value);
    XGW_UNUSED(spec);
    if (!json_is_array(value) || n > XGW_MAX_DNS_SERVERS)
        return xgw_cfg_fail(ctx, false, "must be an array of at most %d \"IPV4[:PORT]\" strings",
                            XGW_MAX_DNS_SERVERS);
    struct xgw_listen parsed[XGW_MAX_DNS_SERVERS];
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(value, i);
        const char *text = json_string_value(item);
        char with_port[64];
        if (text && !strchr(text, ':'))
            snprintf(with_port, sizeof(with_port), "%s:53", text);
        const char *reason = NULL;
        if (!text || strchr(text, '[') ||
            xgw_config_parse_listen(strchr(text, ':') ? text : with_port, &parsed[i], &reason) !=
                XGW_OK) {
            for (size_t j = 0; j < i; j++)
                xgw_free(parsed[j].host);
            xgw_cfg_push_index(ctx, i);
            enum xgw_err err = xgw_cfg_fail(ctx, false,
                                            "must be a numeric IPv4 address with an "
                                            "optional port, like \"127.0.0.1:53\"");
            ctx->depth--;
            return err;
        }
    }
    for (size_t i = 0; i < cfg->dns_server_count; i++)
        xgw_free(cfg->dns_servers[i].host);
    for (size_t i = 0; i < n; i++)
        cfg->dns_servers[i] = parsed[i];
    cfg->dns_server_count = n;
    return XGW_OK;
}

/* An array of "ADDR:PORT" strings into (*items, *count), replacing what was there. */
static enum xgw_err load_listens(struct load_ctx *ctx, json_t *value, bool allow_empty,
                                 struct xgw_listen **items, size_t *count_out)
{
    size_t count = json_array_size(value);
    enum xgw_err err = XGW_OK;
    if (!json_is_array(value) || (count == 0 && !allow_empty))
        return xgw_cfg_fail(ctx, false, "must be %s array of \"ADDR:PORT\" strings",
                            allow_empty ? "an" : "a non-empty");
    struct xgw_listen *listens = xgw_calloc(count, sizeof(*listens));
    for (size_t i = 0; i < count && err == XGW_OK; i++) {
        json_t *item = json_array_get(value, i);
        const char *reason = NULL;
        xgw_cfg_push_index(ctx, i);
        if (!json_is_string(item))
            err = xgw_cfg_fail(ctx, false, "must be a string \"ADDR:PORT\"");
        else if (xgw_config_parse_listen(json_string_value(item), &listens[i], &reason) != XGW_OK)
            err = xgw_cfg_fail(ctx, false, "\"%s\": %s", json_string_value(item), reason);
        ctx->depth--;
    }
    struct xgw_listen *old = err == XGW_OK ? *items : listens;
    size_t old_count = err == XGW_OK ? *count_out : count;
    for (size_t i = 0; i < old_count; i++)
        xgw_free(old[i].host);
    xgw_free(old);
    if (err == XGW_OK) {
        *items = listens;
        *count_out = count;
    }
    return err;
}

enum xgw_err xgw_cfg_listen(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                            void *target)
{
    struct xgw_config *cfg = target;
    XGW_UNUSED(spec);
    return load_listens(ctx, value, false, &cfg->listens, &cfg->listen_count);
}

enum xgw_err xgw_cfg_tls_listen(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                void *target)
{
    struct xgw_config *cfg = target;
    XGW_UNUSED(spec);
    return load_listens(ctx, value, true, &cfg->tls_listens, &cfg->tls_listen_count);
}

enum xgw_err xgw_cfg_status_listen(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                   void *target)
{
    struct xgw_config *cfg = target;
    XGW_UNUSED(spec);
    return load_listens(ctx, value, true, &cfg->status_listens, &cfg->status_listen_count);
}

/* trusted_proxies: address ranges, replacing the default list. */
enum xgw_err xgw_cfg_trusted_proxies(struct load_ctx *ctx, json_t *value,
                                     const struct key_spec *spec, void *target)
{
    struct xgw_config *cfg = target;
    size_t n = json_array_size(value);
    XGW_UNUSED(spec);
    if (!json_is_array(value))
        return xgw_cfg_fail(ctx, false, "must be an array of address ranges like \"10.0.0.0/8\"");
    struct xgw_cidr *list = xgw_calloc(n, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(value, i);
        if (json_is_string(item) && xgw_cidr_parse(json_string_value(item), &list[i]))
            continue;
        xgw_free(list);
        xgw_cfg_push_index(ctx, i);
        enum xgw_err err = xgw_cfg_fail(ctx, false,
                                        "must be a numeric address or range like \"10.0.0.0/8\" or "
                                        "\"2001:db8::/32\" (no host bits past the prefix)");
        ctx->depth--;
        return err;
    }
    xgw_free(cfg->trusted_proxies);
    cfg->trusted_proxies = list;
    cfg->trusted_proxy_count = n;
    return XGW_OK;
}

/* An array of origins into (*items, *count), replacing what was there. */
static enum xgw_err load_origins(struct load_ctx *ctx, json_t *value, char ***items, size_t *count)
{
    size_t n = json_array_size(value);
    if (!json_is_array(value))
        return xgw_cfg_fail(ctx, false, "must be an array of origins like \"https://app.example\"");
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(value, i);
        if (json_is_string(item) && xgw_config_origin_valid(json_string_value(item)))
            continue;
        xgw_cfg_push_index(ctx, i);
        enum xgw_err err = xgw_cfg_fail(ctx, false,
                                        "must be an origin like \"https://app.example\" "
                                        "(scheme://host[:port], no path)");
        ctx->depth--;
        return err;
    }
    for (size_t i = 0; i < *count; i++)
        xgw_free((*items)[i]);
    xgw_free(*items);
    *items = xgw_calloc(n, sizeof(char *));
    *count = n;
    for (size_t i = 0; i < n; i++) {
        /* Browsers serialize scheme and host in lower case (RFC 6454 §6.2). */
        char *origin = xgw_strdup(json_string_value(json_array_get(value, i)));
        for (char *p = origin; *p; p++)
            *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
        (*items)[i] = origin;
    }
    return XGW_OK;
}

enum xgw_err xgw_cfg_origins(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                             void *target)
{
    struct xgw_config *cfg = target;
    XGW_UNUSED(spec);
    return load_origins(ctx, value, &cfg->ws_allowed_origins, &cfg->ws_allowed_origin_count);
}

enum xgw_err xgw_cfg_bosh_origins(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                  void *target)
{
    struct xgw_config *cfg = target;
    XGW_UNUSED(spec);
    return load_origins(ctx, value, &cfg->bosh_allowed_origins, &cfg->bosh_allowed_origin_count);
}
