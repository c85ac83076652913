/* SPDX-License-Identifier: MIT */
/* Helpers shared by the config defaults, the JSON loader and the command-line parser. */
#ifndef XGW_CONFIG_INTERNAL_H
#define XGW_CONFIG_INTERNAL_H

#include <stdbool.h>

#include "xgw/config.h"

/* xgw_listen_parse with the reason for a failure: *reason gets a static phrase such as
 * "missing ':PORT'". On success out->host is owned by the caller (xgw_free). */
XGW_MUST_CHECK enum xgw_err xgw_config_parse_listen(const char *text, struct xgw_listen *out,
                                                    const char **reason);
/* xgw_route_parse with the reason for a failure (static phrase in *reason). */
XGW_MUST_CHECK enum xgw_err xgw_config_parse_route(const char *text, struct xgw_route *out,
                                                   const char **reason);
/* Fills a route with the default options and no domain or host. */
void xgw_config_route_defaults(struct xgw_route *route);
/* A host name (letters, digits, '-', '_', dot-separated labels) or a numeric IPv4 or
 * unbracketed IPv6 address. */
bool xgw_config_host_valid(const char *host);
/* "scheme://host[:port]" with no path, query or fragment. */
bool xgw_config_origin_valid(const char *origin);
/* Starts with '/', no whitespace, controls, '?' or '#'. */
bool xgw_config_ws_path_valid(const char *path);
/* An absolute URL "scheme://host[:port]/path" whose scheme is `secure` or `plain` (e.g. "wss",
 * "ws"), with nothing that needs escaping in XML, JSON or a header. */
bool xgw_config_url_valid(const char *url, const char *secure, const char *plain);
/* Deep copy: dst receives its own allocations (free with xgw_config_cleanup). */
void xgw_config_copy(struct xgw_config *dst, const struct xgw_config *src);
/* Replaces *slot (freed) with an owned copy of value (NULL allowed). */
void xgw_config_set_string(char **slot, const char *value);

#endif
