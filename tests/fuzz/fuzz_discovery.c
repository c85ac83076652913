/* SPDX-License-Identifier: MIT */
/* Fuzz target for what a request's Host header (attacker-controlled) becomes: a Host the
 * gateway accepts yields host-meta documents that parse (the XRD as XML with exactly the two
 * links, the JRD as JSON), links that start with the expected schemes, and a CSP without
 * control characters; a refused Host yields no document. Also runs the CIDR matcher on the same
 * bytes as an address. */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/cidr.h"
#include "xgw/config.h"
#include "xgw/discovery.h"
#include "xgw/xml_tree.h"

static void check_docs(const struct xgw_config *cfg, const struct xgw_endpoints *ep)
{
    FUZZ_CHECK(strncmp(ep->websocket, "ws://", 5) == 0 || strncmp(ep->websocket, "wss://", 6) == 0);
    FUZZ_CHECK(strncmp(ep->bosh, "http://", 7) == 0 || strncmp(ep->bosh, "https://", 8) == 0);
    struct xgw_buf out;
    xgw_buf_init(&out, 1 << 20);
    FUZZ_CHECK(xgw_discovery_xrd(ep, &out) == XGW_OK);
    const char *xml = strstr(out.data, "<XRD");
    FUZZ_CHECK(xml != NULL);
    struct xgw_xml_node *doc = fuzz_must_parse(xml, out.len - (size_t)(xml - out.data), 4, "XRD");
    size_t links = 0;
    for (const struct xgw_xml_node *c = doc->first_child; c; c = c->next)
        links += c->kind == XGW_XML_ELEMENT;
    FUZZ_CHECK(links == 2);
    xgw_xml_node_free(doc);
    xgw_buf_reset(&out);
    FUZZ_CHECK(xgw_discovery_jrd(ep, &out) == XGW_OK);
    json_error_t jerr;
    json_t *j = json_loads(out.data, 0, &jerr);
    FUZZ_CHECK(j != NULL && json_array_size(json_object_get(j, "links")) == 2);
    json_decref(j);
    xgw_buf_reset(&out);
    FUZZ_CHECK(xgw_www_csp(cfg, ep, &out) == XGW_OK);
    for (size_t i = 0; i < out.len; i++)
        FUZZ_CHECK((unsigned char)out.data[i] >= 0x20 && out.data[i] != 0x7f);
    xgw_buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *host = xgw_strndup((const char *)data, size > 300 ? 300 : size);
    struct xgw_config cfg;
    xgw_config_init_defaults(&cfg);
    cfg.discovery_insecure = 1; /* publish plain links too, to check them as well */
    for (int secure = 0; secure < 2; secure++) {
        struct xgw_endpoints ep;
        enum xgw_discovery_status st = xgw_discovery_endpoints(&cfg, host, secure, &ep);
        FUZZ_CHECK((st == XGW_DISCOVERY_OK) == xgw_http_host_valid(host));
        if (st == XGW_DISCOVERY_OK)
            check_docs(&cfg, &ep);
    }
    (void)xgw_cidr_list_contains(cfg.trusted_proxies, cfg.trusted_proxy_count, host);
    struct xgw_cidr c;
    if (xgw_cidr_parse(host, &c)) {
        const char *slash = strchr(host, '/');
        char *addr = xgw_strndup(host, slash ? (size_t)(slash - host) : strlen(host));
        FUZZ_CHECK(xgw_cidr_list_contains(&c, 1, addr)); /* a range holds its own address */
        xgw_free(addr);
    }
    xgw_config_cleanup(&cfg);
    xgw_free(host);
    return 0;
}
