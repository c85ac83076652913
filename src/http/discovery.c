/* SPDX-License-Identifier: MIT */
/* XEP-0156 host-meta documents and the web client's Content-Security-Policy. The links are the
 * configured public URLs or, by default, built from the request's Host so that the same gateway
 * answers correctly under every name it is reached by (loopback demo, LAN address, proxy). */
#include "xgw/discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xgw/json_doc.h"
#include "xgw/xml_write.h"

#define NS_XRD              "http://docs.oasis-open.org/ns/xri/xrd-1.0"
#define REL_WS              "urn:xmpp:alt-connections:websocket"
#define REL_BOSH            "urn:xmpp:alt-connections:xbosh"
#define HOST_NAME_MAX_BYTES 255

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ":PORT" at p (1..65535, at most 5 digits) followed by the end of the string. */
static bool port_ok(const char *p)
{
    if (*p == '\0')
        return true;
    if (*p != ':' || !is_digit(p[1]))
        return false;
    unsigned long port = 0;
    size_t digits = 0;
    for (p++; is_digit(*p); p++, digits++)
        port = port * 10 + (unsigned long)(*p - '0');
    return *p == '\0' && digits <= 5 && port >= 1 && port <= 65535;
}

/* Length of the host part (brackets included), or 0 if it is not a valid one. */
static size_t host_part_len(const char *host)
{
    size_t len = 0;
    if (host[0] == '[') {
        for (len = 1; host[len] && host[len] != ']'; len++) {
            char c = host[len];
            bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (!hex && c != ':' && c != '.')
                return 0;
        }
        return host[len] == ']' && len > 2 && len <= HOST_NAME_MAX_BYTES ? len + 1 : 0;
    }
    for (; host[len] && host[len] != ':'; len++) {
        char c = host[len];
        bool ldh = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                   c == '.' || c == '_';
        if (!ldh)
            return 0;
    }
    return len > 0 && len <= HOST_NAME_MAX_BYTES ? len : 0;
}

bool xgw_http_host_valid(const char *host)
{
    if (host == NULL)
        return false;
    size_t len = host_part_len(host);
    return len > 0 && port_ok(host + len);
}

static bool ascii_ieq(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (x != b[i])
            return false;
    }
    return true;
}

bool xgw_http_host_is_loopback(const char *host)
{
    if (!xgw_http_host_valid(host))
        return false;
    size_t len = host_part_len(host);
    if (len > 1 && host[len - 1] == '.')
        len--; /* "localhost." */
    if (len == 5 && strncmp(host, "[::1]", 5) == 0)
        return true;
    if ((len == 9 && ascii_ieq(host, "localhost", 9)) ||
        (len > 10 && ascii_ieq(host + len - 10, ".localhost", 10)))
        return true;
    /* 127.0.0.0/8 as a dotted quad. */
    unsigned a, b, c, d;
    char tail;
    char quad[16];
    if (len >= sizeof(quad))
        return false;
    memcpy(quad, host, len);
    quad[len] = '\0';
    return sscanf(quad, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

static bool url_insecure(const char *url)
{
    return strncmp(url, "ws://", 5) == 0 || strncmp(url, "http://", 7) == 0;
}

/* The host[:port] of an absolute URL, copied into out. */
static void url_authority(const char *url, char *out, size_t out_len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), p);
}

static bool link_allowed(const struct xgw_config *cfg, const char *url)
{
    if (!url_insecure(url) || cfg->discovery_insecure == 1)
        return true;
    if (cfg->discovery_insecure == 0)
        return false;
    char authority[XGW_DISCOVERY_HOST_MAX + 1];
    url_authority(url, authority, sizeof(authority));
    return xgw_http_host_is_loopback(authority);
}

enum xgw_discovery_status xgw_discovery_endpoints(const struct xgw_config *cfg, const char *host,
                                                  bool secure, struct xgw_endpoints *out)
{
    memset(out, 0, sizeof(*out));
    bool derive = !cfg->discovery_ws_url || !cfg->discovery_bosh_url;
    if (derive && !xgw_http_host_valid(host))
        return XGW_DISCOVERY_NO_HOST;
    if (cfg->discovery_ws_url)
        snprintf(out->websocket, sizeof(out->websocket), "%s", cfg->discovery_ws_url);
    else
        snprintf(out->websocket, sizeof(out->websocket), "%s://%s%s", secure ? "wss" : "ws", host,
                 cfg->ws_path);
    if (cfg->discovery_bosh_url)
        snprintf(out->bosh, sizeof(out->bosh), "%s", cfg->discovery_bosh_url);
    else
        snprintf(out->bosh, sizeof(out->bosh), "%s://%s%s", secure ? "https" : "http", host,
                 cfg->bosh_path);
    if (!link_allowed(cfg, out->websocket) || !link_allowed(cfg, out->bosh))
        return XGW_DISCOVERY_INSECURE;
    return XGW_DISCOVERY_OK;
}

static enum xgw_err xrd_link(struct xgw_buf *out, const char *rel, const char *href)
{
    enum xgw_err err = xgw_buf_append_str(out, "  <Link");
    if (err == XGW_OK)
        err = xgw_xml_write_attr(out, "rel", rel);
    if (err == XGW_OK)
        err = xgw_xml_write_attr(out, "href", href);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "/>\n");
    return err;
}

enum xgw_err xgw_discovery_xrd(const struct xgw_endpoints *ep, struct xgw_buf *out)
{
    enum xgw_err err = xgw_buf_append_str(out, "<?xml version='1.0' encoding='utf-8'?>\n"
                                               "<XRD xmlns='" NS_XRD "'>\n");
    if (err == XGW_OK)
        err = xrd_link(out, REL_WS, ep->websocket);
    if (err == XGW_OK)
        err = xrd_link(out, REL_BOSH, ep->bosh);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "</XRD>\n");
    return err;
}

enum xgw_err xgw_discovery_jrd(const struct xgw_endpoints *ep, struct xgw_buf *out)
{
    /* json_pack fails only on invalid UTF-8, which validated URLs cannot contain. */
    return xgw_json_doc_append(out,
                               json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "links", "rel", REL_WS,
                                         "href", ep->websocket, "rel", REL_BOSH, "href", ep->bosh));
}

/* Appends " scheme://authority" of url unless it is already in out. */
static enum xgw_err add_origin(struct xgw_buf *out, const char *url)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL)
        return XGW_OK;
    size_t len = (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
    char origin[XGW_DISCOVERY_URL_MAX + 2];
    snprintf(origin, sizeof(origin), " %.*s", (int)len, url);
    size_t olen = strlen(origin);
    for (const char *hit = out->data ? strstr(out->data, origin) : NULL; hit;
         hit = strstr(hit + 1, origin)) {
        if (hit[olen] == ' ' || hit[olen] == ';' || hit[olen] == '\0')
            return XGW_OK;
    }
    return xgw_buf_append_str(out, origin);
}

enum xgw_err xgw_www_csp(const struct xgw_config *cfg, const struct xgw_endpoints *ep,
                         struct xgw_buf *out)
{
    if (cfg->www_csp)
        return xgw_buf_append_str(out, cfg->www_csp);
    /* No inline code, no framing, nothing loaded from elsewhere; the client may only connect
     * to its own origin and the XMPP endpoints (which may be on another host). */
    enum xgw_err err = xgw_buf_append_str(out, "default-src 'none'; script-src 'self'; "
                                               "style-src 'self'; img-src 'self' data:; "
                                               "connect-src 'self'");
    if (err == XGW_OK && ep && ep->websocket[0])
        err = add_origin(out, ep->websocket);
    if (err == XGW_OK && ep && ep->bosh[0])
        err = add_origin(out, ep->bosh);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "; manifest-src 'self'; base-uri 'none'; "
                                      "form-action 'none'; frame-ancestors 'none'");
    return err;
}
