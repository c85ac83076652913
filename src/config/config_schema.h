/* SPDX-License-Identifier: MIT */
/* The JSON walk shared by config_load.c (the schema and the walk), config_lists.c (array-valued
 * keys) and config_checks.c (rules across keys): where the walk is, how a key is handled, and
 * how an error is reported as "file:line:column: key.path: why". Private to src/config. */
#ifndef XGW_CONFIG_SCHEMA_H
#define XGW_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "xgw/compiler.h"
#include "xgw/config.h"
#include "json_locate.h"

#define MAX_PATH_DEPTH 8 /* the schema nests three deep: routes[0].port */

struct load_ctx {
    const char *text; /* borrowed: the JSON source, for error positions */
    size_t text_len;
    const char *name;                                /* borrowed: file name used in messages */
    struct xgw_json_locate_seg path[MAX_PATH_DEPTH]; /* where the walk is; keys borrowed */
    size_t depth;
    char *err; /* borrowed: the caller's message buffer */
    size_t err_len;
};

struct key_spec;
typedef enum xgw_err key_handler_fn(struct load_ctx *ctx, json_t *value,
                                    const struct key_spec *spec, void *target);

struct key_table {
    const struct key_spec *keys;
    size_t count;
};

/* One known key: its handler writes into target (a struct xgw_config or xgw_route) at offset. */
struct key_spec {
    const char *name;
    key_handler_fn *handle;
    size_t offset;
    long long min, max;            /* integers only */
    const struct key_table *table; /* nested objects only */
};

/* Reports an error at the current path: at the value, or at the key itself when at_key.
 * Always returns XGW_EINVAL. */
enum xgw_err xgw_cfg_fail(struct load_ctx *ctx, bool at_key, const char *fmt, ...) XGW_PRINTF(3, 4);
void xgw_cfg_push_key(struct load_ctx *ctx, const char *key);
void xgw_cfg_push_index(struct load_ctx *ctx, size_t index);
/* The member of target a key writes to. */
void *xgw_cfg_field(void *target, const struct key_spec *spec);

/* config_lists.c: array-valued keys. */
key_handler_fn xgw_cfg_listen, xgw_cfg_tls_listen, xgw_cfg_status_listen, xgw_cfg_trusted_proxies,
    xgw_cfg_origins, xgw_cfg_bosh_origins, xgw_cfg_dns_servers;

/* config_checks.c: rules across keys, after the walk (root is the parsed document). */
enum xgw_err xgw_cfg_check_limits(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg);
enum xgw_err xgw_cfg_check_paths(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg);
enum xgw_err xgw_cfg_check_discovery(struct load_ctx *ctx, json_t *root,
                                     const struct xgw_config *cfg);
enum xgw_err xgw_cfg_check_tls(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg);

#endif
