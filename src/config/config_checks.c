/* SPDX-License-Identifier: MIT */
/* Rules that span several configuration keys, checked after the whole document was walked so
 * that key order does not matter; each error is reported at the key that most likely needs
 * changing. */
#include <stdio.h>
#include <string.h>

#include "config_schema.h"
#include "xgw/discovery.h"

/* A queue must hold at least one stanza of the largest allowed size. */
enum xgw_err xgw_cfg_check_limits(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg)
{
    if (cfg->max_queue_bytes >= cfg->max_stanza_bytes)
        return XGW_OK;
    json_t *limits = json_object_get(root, "limits");
    bool queue_in_file = json_object_get(limits, "max_queue_bytes") != NULL;
    xgw_cfg_push_key(ctx, "limits");
    xgw_cfg_push_key(ctx, queue_in_file ? "max_queue_bytes" : "max_stanza_bytes");
    if (queue_in_file)
        return xgw_cfg_fail(ctx, false, "must be at least limits.max_stanza_bytes (%zu)",
                            cfg->max_stanza_bytes);
    return xgw_cfg_fail(ctx, false, "must be at most limits.max_queue_bytes (%zu)",
                        cfg->max_queue_bytes);
}

/* The WebSocket and BOSH endpoints share the port, so they need different paths. */
enum xgw_err xgw_cfg_check_paths(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg)
{
    if (strcmp(cfg->ws_path, cfg->bosh_path) != 0)
        return XGW_OK;
    bool bosh_in_file = json_object_get(json_object_get(root, "bosh"), "path") != NULL;
    xgw_cfg_push_key(ctx, bosh_in_file ? "bosh" : "websocket");
    xgw_cfg_push_key(ctx, "path");
    return xgw_cfg_fail(ctx, false, "\"%s\" is used by both websocket.path and bosh.path",
                        cfg->bosh_path);
}

/* XEP-0156 §2.2 lists only https:// and wss:// links; a plain one must be allowed explicitly
 * (or point at loopback with the default "loopback"). */
enum xgw_err xgw_cfg_check_discovery(struct load_ctx *ctx, json_t *root,
                                     const struct xgw_config *cfg)
{
    static const char *const keys[] = {"websocket_url", "bosh_url"};
    const char *urls[] = {cfg->discovery_ws_url, cfg->discovery_bosh_url};
    json_t *section = json_object_get(root, "discovery");
    for (size_t i = 0; i < XGW_ARRAY_SIZE(keys); i++) {
        const char *url = urls[i];
        if (url == NULL || cfg->discovery_insecure == 1 ||
            (strncmp(url, "ws://", 5) != 0 && strncmp(url, "http://", 7) != 0))
            continue;
        char authority[XGW_DISCOVERY_HOST_MAX + 1];
        const char *host = strstr(url, "://") + 3;
        snprintf(authority, sizeof(authority), "%.*s", (int)strcspn(host, "/?#"), host);
        if (cfg->discovery_insecure == -1 && xgw_http_host_is_loopback(authority))
            continue;
        xgw_cfg_push_key(ctx, "discovery");
        xgw_cfg_push_key(ctx, json_object_get(section, keys[i]) ? keys[i] : "insecure_links");
        return xgw_cfg_fail(ctx, false,
                            "\"%s\" is not https:// or wss:// (XEP-0156); set "
                            "discovery.insecure_links to true to publish it anyway",
                            url);
    }
    return XGW_OK;
}

/* TLS listeners need a certificate and its key; a certificate nobody uses is a mistake. */
enum xgw_err xgw_cfg_check_tls(struct load_ctx *ctx, json_t *root, const struct xgw_config *cfg)
{
    bool has_files = cfg->tls_cert_file && cfg->tls_key_file;
    if (cfg->tls_listen_count > 0 && has_files)
        return XGW_OK;
    if (cfg->tls_listen_count == 0 && !cfg->tls_cert_file && !cfg->tls_key_file)
        return XGW_OK;
    json_t *section = json_object_get(root, "tls");
    xgw_cfg_push_key(ctx, "tls");
    if (cfg->tls_listen_count == 0) {
        xgw_cfg_push_key(ctx, json_object_get(section, "cert_file") ? "cert_file" : "key_file");
        return xgw_cfg_fail(ctx, false, "is set but tls.listen is empty: no listener would use it");
    }
    xgw_cfg_push_key(ctx, "listen");
    return xgw_cfg_fail(ctx, false, "TLS listeners need both tls.cert_file and tls.key_file");
}
