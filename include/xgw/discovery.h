/* SPDX-License-Identifier: MIT */
/* XEP-0156 connection discovery (/.well-known/host-meta and host-meta.json) and the
 * Content-Security-Policy of the static web client, both built from the configuration and, when
 * no public URLs are configured, from the request's Host. Pure: no I/O. */
#ifndef XGW_DISCOVERY_H
#define XGW_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/config.h"
#include "xgw/err.h"

#define XGW_DISCOVERY_HOST_MAX 262 /* "[" + 255 + "]:" + port, see xgw_http_host_valid */
#define XGW_DISCOVERY_URL_MAX  1024

/* The public URLs of the two endpoints. */
struct xgw_endpoints {
    char websocket[XGW_DISCOVERY_URL_MAX]; /* ws:// or wss:// */
    char bosh[XGW_DISCOVERY_URL_MAX];      /* http:// or https:// */
};

enum xgw_discovery_status {
    XGW_DISCOVERY_OK,
    XGW_DISCOVERY_NO_HOST,  /* derived URLs but no (valid) Host header */
    XGW_DISCOVERY_INSECURE, /* plain ws:// / http:// links that discovery.insecure_links forbids */
};

/* A Host header value (RFC 9110 §7.2): a host name, a dotted IPv4 address or a bracketed IPv6
 * address, then an optional ":PORT". Nothing that could break out of a URL, XML, JSON or a
 * header. */
bool xgw_http_host_valid(const char *host);
/* "localhost" (and *.localhost, RFC 6761), 127.0.0.0/8 or [::1], with or without a port. */
bool xgw_http_host_is_loopback(const char *host);

/* The endpoint URLs for a request: the configured discovery URLs, else derived from `host`
 * (the request's Host header, may be NULL) with wss:/https: when `secure` (TLS, or a proxy's
 * X-Forwarded-Proto: https) and ws:/http: otherwise. Plain links are only given out as
 * discovery.insecure_links allows (XEP-0156 §2.2 rule 1 wants https/wss only). */
enum xgw_discovery_status xgw_discovery_endpoints(const struct xgw_config *cfg, const char *host,
                                                  bool secure, struct xgw_endpoints *out);

/* The XRD (application/xrd+xml) and JRD (application/json) host-meta documents. */
XGW_MUST_CHECK enum xgw_err xgw_discovery_xrd(const struct xgw_endpoints *ep, struct xgw_buf *out);
XGW_MUST_CHECK enum xgw_err xgw_discovery_jrd(const struct xgw_endpoints *ep, struct xgw_buf *out);

/* The Content-Security-Policy for the files under www_root: www_csp when configured (an empty
 * string: none, out stays empty), else a strict built-in policy whose connect-src allows the
 * page's own origin and the origins of the endpoints (ep may be NULL). */
XGW_MUST_CHECK enum xgw_err xgw_www_csp(const struct xgw_config *cfg,
                                        const struct xgw_endpoints *ep, struct xgw_buf *out);

#endif
