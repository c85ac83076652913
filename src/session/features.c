/* SPDX-License-Identifier: MIT */
/* Server feature inspection and filtering (RFC 6120 §5.4.3.3, XMPP-04, TD-12). */
#include "xgw/features.h"

#include <string.h>

#include "xgw/limits.h"
#include "xgw/ns.h"
#include "xgw/xml_tree.h"
#include "xgw/xml_write.h"

static struct xgw_xml_node *parse(const char *bytes, size_t len)
{
    /* The framer already bounded the element; take it as deep as the framer allows. */
    struct xgw_xml_limits limits = {.max_bytes = len + 1, .max_depth = XGW_MAX_XML_DEPTH};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond;
    if (xgw_xml_parse_document(bytes, len, &limits, &root, &cond) != XGW_OK)
        return NULL;
    return root;
}

enum xgw_features_tls xgw_features_tls(const char *bytes, size_t len)
{
    struct xgw_xml_node *root = parse(bytes, len);
    if (!root)
        return XGW_FEATURES_NO_STARTTLS;
    enum xgw_features_tls result = XGW_FEATURES_NO_STARTTLS;
    struct xgw_xml_node *starttls = xgw_xml_child(root, XGW_NS_TLS, "starttls");
    if (starttls)
        result = xgw_xml_child(starttls, XGW_NS_TLS, "required") ? XGW_FEATURES_STARTTLS_REQUIRED
                                                                 : XGW_FEATURES_STARTTLS;
    xgw_xml_node_free(root);
    return result;
}

static bool is_plus_mechanism(const struct xgw_xml_node *n)
{
    if (!xgw_xml_is(n, XGW_NS_SASL, "mechanism") || !n->first_child ||
        n->first_child->kind != XGW_XML_TEXT)
        return false;
    size_t len = n->first_child->text_len;
    return len >= 5 && memcmp(n->first_child->text + len - 5, "-PLUS", 5) == 0;
}

static bool is_stripped_feature(const struct xgw_xml_node *n)
{
    return xgw_xml_is(n, XGW_NS_TLS, "starttls") || xgw_xml_is(n, XGW_NS_COMPRESS, "compression");
}

/* Unlinks and frees the children of parent for which drop() is true; returns how many. */
static size_t drop_children(struct xgw_xml_node *parent, bool (*drop)(const struct xgw_xml_node *))
{
    size_t dropped = 0;
    struct xgw_xml_node **link = &parent->first_child;
    parent->last_child = NULL;
    while (*link) {
        struct xgw_xml_node *child = *link;
        if (child->kind == XGW_XML_ELEMENT && drop(child)) {
            *link = child->next;
            child->next = NULL;
            xgw_xml_node_free(child);
            dropped++;
        } else {
            parent->last_child = child;
            link = &child->next;
        }
    }
    return dropped;
}

enum xgw_err xgw_features_filter(const char *bytes, size_t len, struct xgw_buf *out)
{
    struct xgw_xml_node *root = parse(bytes, len);
    if (!root)
        return XGW_EPROTO;
    size_t dropped = drop_children(root, is_stripped_feature);
    struct xgw_xml_node *mechanisms = xgw_xml_child(root, XGW_NS_SASL, "mechanisms");
    if (mechanisms)
        dropped += drop_children(mechanisms, is_plus_mechanism);
    enum xgw_err err = XGW_EAGAIN;
    if (dropped) {
        /* The wrapper declares what xml_write assumes is in scope, so the children serialise
         * to a standalone, namespace-well-formed element (WS-26). */
        err = xgw_buf_append_str(out, "<stream:features xmlns:stream='" XGW_NS_STREAM
                                      "' xmlns='" XGW_NS_CLIENT "'>");
        for (struct xgw_xml_node *c = root->first_child; c && err == XGW_OK; c = c->next) {
            if (c->kind == XGW_XML_ELEMENT)
                err = xgw_xml_write_element(out, c, 0);
        }
        if (err == XGW_OK)
            err = xgw_buf_append_str(out, "</stream:features>");
    }
    xgw_xml_node_free(root);
    return err;
}

bool xgw_features_sm_resume(const char *bytes, size_t len)
{
    struct xgw_xml_node *root = parse(bytes, len);
    if (!root)
        return false;
    const char *resume = xgw_xml_attr_get(root, NULL, "resume");
    bool result = resume && (strcmp(resume, "true") == 0 || strcmp(resume, "1") == 0);
    xgw_xml_node_free(root);
    return result;
}
