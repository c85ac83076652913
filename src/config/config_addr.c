/* SPDX-License-Identifier: MIT */
/* Address-like config values: listen "ADDR:PORT", route "DOMAIN=HOST[:PORT]", upstream host
 * names, WebSocket origins (RFC 6454 serialization) and the WebSocket path. */
#include "config_internal.h"

#include <arpa/inet.h>
#include <string.h>

#include "xgw/alloc.h"
#include "xgw/jid.h"
#include "xgw/limits.h"

#define ADDR_TEXT_MAX  45  /* longest IPv6 text form */
#define HOST_MAX_BYTES 253 /* RFC 1035 name, dotted form without the trailing dot */
#define LABEL_MAX      63
#define URL_MAX_BYTES  1000 /* public endpoint URLs (XGW_DISCOVERY_URL_MAX holds them) */

static bool numeric_address(const char *text, size_t len, int family)
{
    char copy[ADDR_TEXT_MAX + 1];
    unsigned char addr[16];
    if (len == 0 || len > ADDR_TEXT_MAX)
        return false;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return inet_pton(family, copy, addr) == 1;
}

/* 1..65535 in decimal digits only: no sign, no spaces, no hex. */
static bool parse_port(const char *text, size_t len, uint16_t *out)
{
    unsigned long value = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (unsigned long)(text[i] - '0');
    }
    if (value < 1 || value > 65535)
        return false;
    *out = (uint16_t)value;
    return true;
}

enum xgw_err xgw_config_parse_listen(const char *text, struct xgw_listen *out, const char **reason)
{
    const char *host = text, *port;
    size_t host_len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL) {
            *reason = "missing ']' after the IPv6 address";
            return XGW_EINVAL;
        }
        host = text + 1;
        host_len = (size_t)(close - host);
        port = close + 1;
    } else {
        port = strrchr(text, ':');
        if (port && memchr(text, ':', (size_t)(port - text))) {
            *reason = "IPv6 addresses must be in brackets, as in \"[::1]:5280\"";
            return XGW_EINVAL;
        }
        host_len = port ? (size_t)(port - text) : strlen(text);
    }
    if (port == NULL || *port != ':') {
        *reason = "missing ':PORT'";
        return XGW_EINVAL;
    }
    if (!numeric_address(host, host_len, text[0] == '[' ? AF_INET6 : AF_INET)) {
        *reason = text[0] == '[' ? "not a numeric IPv6 address"
                                 : "not a numeric IPv4 address (host names are not accepted)";
        return XGW_EINVAL;
    }
    if (!parse_port(port + 1, strlen(port + 1), &out->port)) {
        *reason = "port must be a number between 1 and 65535";
        return XGW_EINVAL;
    }
    out->host = xgw_strndup(host, host_len);
    return XGW_OK;
}

enum xgw_err xgw_listen_parse(const char *text, struct xgw_listen *out)
{
    const char *reason;
    return xgw_config_parse_listen(text, out, &reason);
}

bool xgw_config_host_valid(const char *host)
{
    size_t len = strlen(host), label_len = 0;
    bool all_numeric = true;
    if (strchr(host, ':'))
        return numeric_address(host, len, AF_INET6);
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > HOST_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (c == '.') {
            if (label_len == 0 || host[i - 1] == '-')
                return false;
            label_len = 0;
            continue;
        }
        bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_';
        if (!ldh || (c == '-' && label_len == 0) || ++label_len > LABEL_MAX)
            return false;
        all_numeric = all_numeric && c >= '0' && c <= '9';
    }
    if (host[len - 1] == '-')
        return false;
    /* "10.0.0" would be resolved by getaddrinfo as an inet_aton short form: refuse it. */
    return !all_numeric || numeric_address(host, len, AF_INET);
}

/* The part after '=' in a route: "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6. */
static enum xgw_err parse_route_target(const char *text, struct xgw_route *out, const char **reason)
{
    const char *host = text, *port = NULL;
    size_t host_len = strlen(text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            *reason = "expected \"[IPV6]\" or \"[IPV6]:PORT\" after '='";
            return XGW_EINVAL;
        }
        host = text + 1;
        host_len = (size_t)(close - host);
        port = close[1] == ':' ? close + 1 : NULL;
    } else if (!numeric_address(text, host_len, AF_INET6)) {
        port = strchr(text, ':');
        host_len = port ? (size_t)(port - text) : host_len;
    }
    char *host_copy = xgw_strndup(host, host_len);
    if (!xgw_config_host_valid(host_copy) || (text[0] == '[' && !strchr(host_copy, ':'))) {
        xgw_free(host_copy);
        *reason = "HOST must be a host name or a numeric address";
        return XGW_EINVAL;
    }
    if (port && !parse_port(port + 1, strlen(port + 1), &out->port)) {
        xgw_free(host_copy);
        *reason = "PORT must be a number between 1 and 65535";
        return XGW_EINVAL;
    }
    out->host = host_copy;
    return XGW_OK;
}

void xgw_config_route_defaults(struct xgw_route *route)
{
    memset(route, 0, sizeof(*route));
    route->port = XGW_DEFAULT_UPSTREAM_PORT;
    route->tls = XGW_TLS_STARTTLS;
    route->tls_verify = true;
    route->allow_plaintext = -1;
}

enum xgw_err xgw_config_parse_route(const char *text, struct xgw_route *out, const char **reason)
{
    struct xgw_route route;
    const char *equals = strchr(text, '=');
    xgw_config_route_defaults(&route);
    if (equals == NULL) {
        *reason = "expected DOMAIN=HOST[:PORT]";
        return XGW_EINVAL;
    }
    size_t domain_len = (size_t)(equals - text);
    if (!xgw_jid_domain_valid(text, domain_len)) {
        *reason = "DOMAIN is not a valid XMPP domain";
        return XGW_EINVAL;
    }
    if (parse_route_target(equals + 1, &route, reason) != XGW_OK)
        return XGW_EINVAL;
    route.domain = xgw_malloc(domain_len + 1);
    xgw_jid_domain_normalize(text, domain_len, route.domain, domain_len + 1);
    *out = route;
    return XGW_OK;
}

enum xgw_err xgw_route_parse(const char *text, struct xgw_route *out)
{
    const char *reason;
    return xgw_config_parse_route(text, out, &reason);
}

bool xgw_config_origin_valid(const char *origin)
{
    /* RFC 6454 §6.2: scheme "://" host [":" port], which is exactly what browsers send. */
    const char *p = origin;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return false;
    p += 3;
    const char *host_end = p[0] == '[' ? strchr(p, ']') : p + strcspn(p, ":/?#");
    if (host_end == NULL)
        return false;
    if (p[0] == '[' && !numeric_address(p + 1, (size_t)(host_end - p - 1), AF_INET6))
        return false;
    host_end += p[0] == '[' ? 1 : 0;
    char *host = xgw_strndup(p, (size_t)(host_end - p));
    bool host_ok = p[0] == '[' || (xgw_config_host_valid(host) && !strchr(host, ':'));
    xgw_free(host);
    uint16_t port;
    if (!host_ok || (*host_end != '\0' && *host_end != ':'))
        return false;
    return *host_end == '\0' || parse_port(host_end + 1, strlen(host_end + 1), &port);
}

bool xgw_config_ws_path_valid(const char *path)
{
    if (path[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return false;
    }
    return true;
}

bool xgw_config_url_valid(const char *url, const char *secure, const char *plain)
{
    size_t scheme_len = strcspn(url, ":");
    bool scheme_ok = (strlen(secure) == scheme_len && strncmp(url, secure, scheme_len) == 0) ||
                     (strlen(plain) == scheme_len && strncmp(url, plain, scheme_len) == 0);
    if (!scheme_ok || strncmp(url + scheme_len, "://", 3) != 0 || strlen(url) > URL_MAX_BYTES)
        return false;
    const char *path = url + scheme_len + 3 + strcspn(url + scheme_len + 3, "/?#");
    char *origin = xgw_strndup(url, (size_t)(path - url));
    bool ok = xgw_config_origin_valid(origin) && (*path == '\0' || *path == '/');
    xgw_free(origin);
    for (const unsigned char *p = (const unsigned char *)path; ok && *p; p++)
        ok = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\'' && *p != '<' && *p != '>' &&
             *p != '\\' && *p != '#';
    return ok;
}
