/* SPDX-License-Identifier: MIT */
/* Strict JSON configuration loading with jansson: every key is known or a "#" comment, every
 * value is type- and range-checked, and each error reads "file:line:column: key.path: why". */
#include "xgw/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/jid.h"
#include "xgw/limits.h"
#include "config_internal.h"
#include "config_schema.h"
#include "json_locate.h"

#define MAX_CONFIG_BYTES      (4u * 1024 * 1024)
#define MAX_QUEUE_BYTES_LIMIT (1024ll * 1024 * 1024)
#define MAX_SESSIONS_LIMIT    1000000
#define READ_CHUNK            4096

static void XGW_PRINTF(3, 4) write_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    /* Keys and values may carry escaped control characters; the message stays one line. */
    for (char *p = err; *p; p++) {
        if ((unsigned char)*p < 0x20)
            *p = '?';
    }
}

static void format_path(const struct load_ctx *ctx, char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ctx->depth && used < out_len; i++) {
        const struct xgw_json_locate_seg *seg = &ctx->path[i];
        int n = seg->key ? snprintf(out + used, out_len - used, "%s%s", i ? "." : "", seg->key)
                         : snprintf(out + used, out_len - used, "[%zu]", seg->index);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* Reports an error at the current path: at the value, or at the key itself when at_key. */
enum xgw_err xgw_cfg_fail(struct load_ctx *ctx, bool at_key, const char *fmt, ...)
{
    char path[256], message[512];
    int line, column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    format_path(ctx, path, sizeof(path));
    const char *sep = path[0] ? ": " : "";
    if (xgw_json_locate(ctx->text, ctx->text_len, ctx->path, ctx->depth, at_key, &line, &column))
        write_err(ctx->err, ctx->err_len, "%s:%d:%d: %s%s%s", ctx->name, line, column, path, sep,
                  message);
    else
        write_err(ctx->err, ctx->err_len, "%s: %s%s%s", ctx->name, path, sep, message);
    return XGW_EINVAL;
}

void xgw_cfg_push_key(struct load_ctx *ctx, const char *key)
{
    if (ctx->depth < MAX_PATH_DEPTH)
        ctx->path[ctx->depth] = (struct xgw_json_locate_seg){key, 0};
    ctx->depth++;
}

void xgw_cfg_push_index(struct load_ctx *ctx, size_t index)
{
    if (ctx->depth < MAX_PATH_DEPTH)
        ctx->path[ctx->depth] = (struct xgw_json_locate_seg){NULL, index};
    ctx->depth++;
}

void *xgw_cfg_field(void *target, const struct key_spec *spec)
{
    return (char *)target + spec->offset;
}

static enum xgw_err get_integer(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                long long *out)
{
    /* json_is_integer rejects 1.5, 30.0 and "30"; the range check rejects negatives. */
    if (!json_is_integer(value) || json_integer_value(value) < spec->min ||
        json_integer_value(value) > spec->max)
        return xgw_cfg_fail(ctx, false, "must be an integer between %lld and %lld", spec->min,
                            spec->max);
    *out = json_integer_value(value);
    return XGW_OK;
}

static enum xgw_err handle_unsigned(struct load_ctx *ctx, json_t *value,
                                    const struct key_spec *spec, void *target)
{
    long long number = 0;
    if (get_integer(ctx, value, spec, &number) != XGW_OK)
        return XGW_EINVAL;
    *(unsigned *)xgw_cfg_field(target, spec) = (unsigned)number;
    return XGW_OK;
}

static enum xgw_err handle_size(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                void *target)
{
    long long number = 0;
    if (get_integer(ctx, value, spec, &number) != XGW_OK)
        return XGW_EINVAL;
    *(size_t *)xgw_cfg_field(target, spec) = (size_t)number;
    return XGW_OK;
}

static enum xgw_err handle_port(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                void *target)
{
    long long number = 0;
    if (get_integer(ctx, value, spec, &number) != XGW_OK)
        return XGW_EINVAL;
    *(uint16_t *)xgw_cfg_field(target, spec) = (uint16_t)number;
    return XGW_OK;
}

static enum xgw_err handle_bool(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                void *target)
{
    if (!json_is_boolean(value))
        return xgw_cfg_fail(ctx, false, "must be true or false");
    *(bool *)xgw_cfg_field(target, spec) = json_is_true(value);
    return XGW_OK;
}

/* A non-empty string, or null for "not set" (www_root, ca_file, ca_dir). */
static enum xgw_err handle_optional_string(struct load_ctx *ctx, json_t *value,
                                           const struct key_spec *spec, void *target)
{
    if (!json_is_null(value) && (!json_is_string(value) || json_string_length(value) == 0))
        return xgw_cfg_fail(ctx, false, "must be a non-empty string or null");
    xgw_config_set_string(xgw_cfg_field(target, spec), json_string_value(value));
    return XGW_OK;
}

static enum xgw_err handle_log_level(struct load_ctx *ctx, json_t *value,
                                     const struct key_spec *spec, void *target)
{
    enum xgw_log_level level;
    if (!json_is_string(value) || xgw_log_level_parse(json_string_value(value), &level) != 0)
        return xgw_cfg_fail(ctx, false,
                            "must be one of \"error\", \"warn\", \"notice\", \"info\", \"debug\"");
    *(enum xgw_log_level *)xgw_cfg_field(target, spec) = level;
    return XGW_OK;
}

static enum xgw_err handle_ws_path(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                   void *target)
{
    if (!json_is_string(value) || !xgw_config_ws_path_valid(json_string_value(value)))
        return xgw_cfg_fail(ctx, false,
                            "must be a string starting with '/' without whitespace, '?' or '#'");
    xgw_config_set_string(xgw_cfg_field(target, spec), json_string_value(value));
    return XGW_OK;
}

static enum xgw_err handle_tls(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                               void *target)
{
    const char *text = json_string_value(value);
    enum xgw_tls_mode *mode = xgw_cfg_field(target, spec);
    if (text && strcmp(text, "starttls") == 0)
        *mode = XGW_TLS_STARTTLS;
    else if (text && strcmp(text, "direct") == 0)
        *mode = XGW_TLS_DIRECT;
    else
        return xgw_cfg_fail(ctx, false, "must be \"starttls\" or \"direct\"");
    return XGW_OK;
}

static enum xgw_err handle_allow_plaintext(struct load_ctx *ctx, json_t *value,
                                           const struct key_spec *spec, void *target)
{
    int *allow = xgw_cfg_field(target, spec);
    if (json_is_boolean(value))
        *allow = json_is_true(value) ? 1 : 0;
    else if (json_is_string(value) && strcmp(json_string_value(value), "loopback") == 0)
        *allow = -1;
    else
        return xgw_cfg_fail(ctx, false, "must be true, false or \"loopback\"");
    return XGW_OK;
}

static enum xgw_err handle_route_domain(struct load_ctx *ctx, json_t *value,
                                        const struct key_spec *spec, void *target)
{
    const char *text = json_string_value(value);
    size_t len = json_string_length(value);
    if (text == NULL || !xgw_jid_domain_valid(text, len))
        return xgw_cfg_fail(ctx, false, "must be a valid XMPP domain such as \"example.org\"");
    char **slot = xgw_cfg_field(target, spec);
    xgw_free(*slot);
    *slot = xgw_malloc(len + 1);
    xgw_jid_domain_normalize(text, len, *slot, len + 1);
    return XGW_OK;
}

static enum xgw_err handle_route_host(struct load_ctx *ctx, json_t *value,
                                      const struct key_spec *spec, void *target)
{
    if (!json_is_string(value) || !xgw_config_host_valid(json_string_value(value)))
        return xgw_cfg_fail(ctx, false,
                            "must be a host name or a numeric IP address (IPv6 without brackets)");
    xgw_config_set_string(xgw_cfg_field(target, spec), json_string_value(value));
    return XGW_OK;
}

static enum xgw_err walk_object(struct load_ctx *ctx, json_t *object, const struct key_table *table,
                                void *target);

/* discovery.websocket_url / bosh_url: null (derive from the request) or an absolute URL. */
static enum xgw_err set_public_url(struct load_ctx *ctx, json_t *value, char **slot,
                                   const char *secure, const char *plain)
{
    if (json_is_null(value)) {
        xgw_config_set_string(slot, NULL);
        return XGW_OK;
    }
    if (!json_is_string(value) || !xgw_config_url_valid(json_string_value(value), secure, plain))
        return xgw_cfg_fail(ctx, false, "must be null or an absolute URL \"%s://host[:port]/path\"",
                            secure);
    xgw_config_set_string(slot, json_string_value(value));
    return XGW_OK;
}

static enum xgw_err handle_ws_url(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                  void *target)
{
    return set_public_url(ctx, value, xgw_cfg_field(target, spec), "wss", "ws");
}

static enum xgw_err handle_bosh_url(struct load_ctx *ctx, json_t *value,
                                    const struct key_spec *spec, void *target)
{
    return set_public_url(ctx, value, xgw_cfg_field(target, spec), "https", "http");
}

/* www_csp: null (built-in policy), "" (none) or a policy on one header line. */
static enum xgw_err handle_csp(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                               void *target)
{
    const char *text = json_string_value(value);
    bool ok = json_is_null(value) || (text && strlen(text) == json_string_length(value));
    for (const unsigned char *p = (const unsigned char *)text; ok && p && *p; p++)
        ok = *p >= 0x20 && *p != 0x7f;
    if (!ok)
        return xgw_cfg_fail(ctx, false,
                            "must be null, \"\" or a policy without control characters");
    xgw_config_set_string(xgw_cfg_field(target, spec), text);
    return XGW_OK;
}

static enum xgw_err handle_section(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                   void *target)
{
    return walk_object(ctx, value, spec->table, target);
}

static void list_keys(const struct key_table *table, char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < table->count && used < out_len; i++) {
        int n = snprintf(out + used, out_len - used, "%s%s", i ? ", " : "", table->keys[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* Applies every key of object through table; keys starting with '#' are comments. */
static enum xgw_err walk_object(struct load_ctx *ctx, json_t *object, const struct key_table *table,
                                void *target)
{
    const char *key;
    json_t *value;
    if (!json_is_object(object))
        return xgw_cfg_fail(ctx, false, "must be an object");
    json_object_foreach(object, key, value)
    {
        if (key[0] == '#')
            continue;
        const struct key_spec *spec = NULL;
        for (size_t i = 0; i < table->count && spec == NULL; i++) {
            if (strcmp(table->keys[i].name, key) == 0)
                spec = &table->keys[i];
        }
        enum xgw_err err;
        xgw_cfg_push_key(ctx, key);
        if (spec) {
            err = spec->handle(ctx, value, spec, target);
        } else {
            char known[256];
            list_keys(table, known, sizeof(known));
            err = xgw_cfg_fail(ctx, true,
                               "unknown key (known keys: %s; \"#...\" keys are comments)", known);
        }
        ctx->depth--;
        if (err != XGW_OK)
            return err;
    }
    return XGW_OK;
}

static enum xgw_err handle_routes(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                  void *target);

#define CFG(member)   offsetof(struct xgw_config, member)
#define ROUTE(member) offsetof(struct xgw_route, member)
#define TABLE(keys)                                                                                \
    {                                                                                              \
        keys, XGW_ARRAY_SIZE(keys)                                                                 \
    }

static const struct key_spec websocket_keys[] = {
    {"path", handle_ws_path, CFG(ws_path), 0, 0, NULL},
    {"ping_interval_s", handle_unsigned, CFG(ws_ping_interval_s), 0, 3600, NULL},
    {"pong_timeout_s", handle_unsigned, CFG(ws_pong_timeout_s), 1, 3600, NULL},
    {"open_timeout_s", handle_unsigned, CFG(ws_open_timeout_s), 1, 3600, NULL},
    {"allowed_origins", xgw_cfg_origins, 0, 0, 0, NULL},
};
static const struct key_spec bosh_keys[] = {
    {"path", handle_ws_path, CFG(bosh_path), 0, 0, NULL},
    {"max_wait_s", handle_unsigned, CFG(bosh_max_wait_s), 1, 3600, NULL},
    {"max_hold", handle_unsigned, CFG(bosh_max_hold), 1, 10, NULL},
    {"inactivity_s", handle_unsigned, CFG(bosh_inactivity_s), 5, 3600, NULL},
    {"polling_s", handle_unsigned, CFG(bosh_polling_s), 0, 60, NULL},
    {"maxpause_s", handle_unsigned, CFG(bosh_maxpause_s), 0, 3600, NULL},
    {"max_body_bytes", handle_size, CFG(bosh_max_body_bytes), XGW_MIN_STANZA_BYTES,
     XGW_MAX_STANZA_BYTES, NULL},
    {"allowed_origins", xgw_cfg_bosh_origins, 0, 0, 0, NULL},
};
static const struct key_spec discovery_keys[] = {
    {"enabled", handle_bool, CFG(discovery_enabled), 0, 0, NULL},
    {"websocket_url", handle_ws_url, CFG(discovery_ws_url), 0, 0, NULL},
    {"bosh_url", handle_bosh_url, CFG(discovery_bosh_url), 0, 0, NULL},
    {"insecure_links", handle_allow_plaintext, CFG(discovery_insecure), 0, 0, NULL},
};
static const struct key_spec tls_keys[] = {
    {"listen", xgw_cfg_tls_listen, 0, 0, 0, NULL},
    {"cert_file", handle_optional_string, CFG(tls_cert_file), 0, 0, NULL},
    {"key_file", handle_optional_string, CFG(tls_key_file), 0, 0, NULL},
};
static const struct key_spec status_keys[] = {
    {"listen", xgw_cfg_status_listen, 0, 0, 0, NULL},
};
static const struct key_spec upstream_keys[] = {
    {"connect_timeout_s", handle_unsigned, CFG(connect_timeout_s), 1, 300, NULL},
    {"close_timeout_s", handle_unsigned, CFG(close_timeout_s), 1, 60, NULL},
    {"keepalive_s", handle_unsigned, CFG(upstream_keepalive_s), 0, 3600, NULL},
    {"ca_file", handle_optional_string, CFG(ca_file), 0, 0, NULL},
    {"ca_dir", handle_optional_string, CFG(ca_dir), 0, 0, NULL},
    {"dns_servers", xgw_cfg_dns_servers, 0, 0, 0, NULL},
};
static const struct key_spec limits_keys[] = {
    {"max_stanza_bytes", handle_size, CFG(max_stanza_bytes), XGW_MIN_STANZA_BYTES,
     XGW_MAX_STANZA_BYTES, NULL},
    {"max_queue_bytes", handle_size, CFG(max_queue_bytes), XGW_MIN_STANZA_BYTES,
     MAX_QUEUE_BYTES_LIMIT, NULL},
    {"max_sessions", handle_unsigned, CFG(max_sessions), 1, MAX_SESSIONS_LIMIT, NULL},
    {"max_sessions_per_ip", handle_unsigned, CFG(max_sessions_per_ip), 0, MAX_SESSIONS_LIMIT, NULL},
};
static const struct key_spec route_keys[] = {
    {"domain", handle_route_domain, ROUTE(domain), 0, 0, NULL},
    {"host", handle_route_host, ROUTE(host), 0, 0, NULL},
    {"port", handle_port, ROUTE(port), 1, 65535, NULL},
    {"tls", handle_tls, ROUTE(tls), 0, 0, NULL},
    {"tls_verify", handle_bool, ROUTE(tls_verify), 0, 0, NULL},
    {"allow_plaintext", handle_allow_plaintext, ROUTE(allow_plaintext), 0, 0, NULL},
};
static const struct key_table websocket_table = TABLE(websocket_keys);
static const struct key_table bosh_table = TABLE(bosh_keys);
static const struct key_table discovery_table = TABLE(discovery_keys);
static const struct key_table tls_table = TABLE(tls_keys);
static const struct key_table status_table = TABLE(status_keys);
static const struct key_table upstream_table = TABLE(upstream_keys);
static const struct key_table limits_table = TABLE(limits_keys);
static const struct key_table route_table = TABLE(route_keys);
static const struct key_spec top_keys[] = {
    {"listen", xgw_cfg_listen, 0, 0, 0, NULL},
    {"tls", handle_section, 0, 0, 0, &tls_table},
    {"log_level", handle_log_level, CFG(log_level), 0, 0, NULL},
    {"trusted_proxies", xgw_cfg_trusted_proxies, 0, 0, 0, NULL},
    {"www_root", handle_optional_string, CFG(www_root), 0, 0, NULL},
    {"www_csp", handle_csp, CFG(www_csp), 0, 0, NULL},
    {"websocket", handle_section, 0, 0, 0, &websocket_table},
    {"bosh", handle_section, 0, 0, 0, &bosh_table},
    {"discovery", handle_section, 0, 0, 0, &discovery_table},
    {"status", handle_section, 0, 0, 0, &status_table},
    {"upstream", handle_section, 0, 0, 0, &upstream_table},
    {"limits", handle_section, 0, 0, 0, &limits_table},
    {"routes", handle_routes, 0, 0, 0, NULL},
};
static const struct key_table top_table = TABLE(top_keys);

/* routes[index]: the object, its required keys and the uniqueness of its domain. */
static enum xgw_err load_route(struct load_ctx *ctx, json_t *item, struct xgw_route *routes,
                               size_t index)
{
    struct xgw_route *route = &routes[index];
    xgw_config_route_defaults(route);
    if (walk_object(ctx, item, &route_table, route) != XGW_OK)
        return XGW_EINVAL;
    if (route->domain == NULL)
        return xgw_cfg_fail(ctx, false, "missing key \"domain\"");
    for (size_t i = 0; i < index; i++) {
        if (strcmp(routes[i].domain, route->domain) != 0)
            continue;
        xgw_cfg_push_key(ctx, "domain");
        enum xgw_err err = xgw_cfg_fail(
            ctx, false, "duplicate route domain \"%s\" (also in routes[%zu])", route->domain, i);
        ctx->depth--;
        return err;
    }
    return XGW_OK;
}

static enum xgw_err handle_routes(struct load_ctx *ctx, json_t *value, const struct key_spec *spec,
                                  void *target)
{
    struct xgw_config *cfg = target;
    size_t count = json_array_size(value);
    enum xgw_err err = XGW_OK;
    XGW_UNUSED(spec);
    if (!json_is_array(value))
        return xgw_cfg_fail(ctx, false, "must be an array of route objects");
    struct xgw_route *routes = xgw_calloc(count, sizeof(*routes));
    for (size_t i = 0; i < count && err == XGW_OK; i++) {
        xgw_cfg_push_index(ctx, i);
        err = load_route(ctx, json_array_get(value, i), routes, i);
        ctx->depth--;
    }
    struct xgw_route *old = err == XGW_OK ? cfg->routes : routes;
    size_t old_count = err == XGW_OK ? cfg->route_count : count;
    for (size_t i = 0; i < old_count; i++)
        xgw_route_cleanup(&old[i]);
    xgw_free(old);
    if (err == XGW_OK) {
        cfg->routes = routes;
        cfg->route_count = count;
    }
    return err;
}

static enum xgw_err load_text(struct xgw_config *cfg, const char *text, size_t len,
                              const char *name, char *err, size_t err_len)
{
    json_error_t json_err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &json_err);
    if (root == NULL) {
        write_err(err, err_len, "%s:%d:%d: %s", name, json_err.line, json_err.column,
                  json_err.text);
        return XGW_EINVAL;
    }
    struct load_ctx ctx = {
        .text = text, .text_len = len, .name = name, .err = err, .err_len = err_len};
    /* Work on a copy so that a failed load leaves cfg exactly as it was. */
    struct xgw_config scratch;
    xgw_config_copy(&scratch, cfg);
    enum xgw_err result = json_is_object(root)
                              ? walk_object(&ctx, root, &top_table, &scratch)
                              : xgw_cfg_fail(&ctx, false, "the top level must be an object");
    if (result == XGW_OK)
        result = xgw_cfg_check_limits(&ctx, root, &scratch);
    if (result == XGW_OK)
        result = xgw_cfg_check_paths(&ctx, root, &scratch);
    if (result == XGW_OK)
        result = xgw_cfg_check_discovery(&ctx, root, &scratch);
    if (result == XGW_OK)
        result = xgw_cfg_check_tls(&ctx, root, &scratch);
    if (result == XGW_OK) {
        xgw_config_cleanup(cfg);
        *cfg = scratch;
    } else {
        xgw_config_cleanup(&scratch);
    }
    json_decref(root);
    return result;
}

enum xgw_err xgw_config_load_string(struct xgw_config *cfg, const char *json, const char *name,
                                    char *err, size_t err_len)
{
    return load_text(cfg, json, strlen(json), name, err, err_len);
}

/* Reads the whole file (at most MAX_CONFIG_BYTES) so that errors can be located in it. */
static enum xgw_err read_file(const char *path, struct xgw_buf *buf, char *err, size_t err_len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        write_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return XGW_EINVAL;
    }
    size_t n, want;
    do {
        want = buf->max - buf->len < READ_CHUNK ? buf->max - buf->len : READ_CHUNK;
        char *space = xgw_buf_reserve(buf, want);
        n = space ? fread(space, 1, want, file) : 0;
        if (space)
            xgw_buf_commit(buf, n);
    } while (n == want && want > 0);
    enum xgw_err result = XGW_OK;
    if (ferror(file)) {
        write_err(err, err_len, "%s: cannot read: %s", path, strerror(errno));
        result = XGW_EINVAL;
    } else if (buf->len > MAX_CONFIG_BYTES) {
        write_err(err, err_len, "%s: larger than %u bytes", path, MAX_CONFIG_BYTES);
        result = XGW_EINVAL;
    }
    fclose(file);
    return result;
}

enum xgw_err xgw_config_load_file(struct xgw_config *cfg, const char *path, char *err,
                                  size_t err_len)
{
    struct xgw_buf buf;
    xgw_buf_init(&buf, MAX_CONFIG_BYTES + 1);
    enum xgw_err result = read_file(path, &buf, err, err_len);
    if (result == XGW_OK)
        result = load_text(cfg, buf.data ? buf.data : "", buf.len, path, err, err_len);
    if (result == XGW_OK)
        xgw_config_set_string(&cfg->source_path, path);
    xgw_buf_cleanup(&buf);
    return result;
}
