/* SPDX-License-Identifier: MIT */
/* Fuzz target for the client -> server path: parse one document, re-serialise it with the
 * namespace-fixing writer (both flag sets), and check that the output parses again to the same
 * elements, attributes and text, and that writing is idempotent (CM-09: never spliced raw). */
#include <string.h>

#include "fuzz.h"
#include "xgw/buf.h"
#include "xgw/ns.h"
#include "xgw/xml_tree.h"
#include "xgw/xml_write.h"

/* The namespace an element ends up in once written (see xgw_xml_write_element). */
static const char *effective_ns(const struct xgw_xml_node *n, unsigned flags)
{
    if (n->ns == NULL)
        return n->unqualified ? XGW_NS_CLIENT : "";
    if ((flags & XGW_XML_WRITE_HTTPBIND_AS_CLIENT) && strcmp(n->ns, XGW_NS_HTTPBIND) == 0)
        return XGW_NS_CLIENT;
    return n->ns;
}

static bool opt_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_node(const struct xgw_xml_node *a, const struct xgw_xml_node *b, unsigned flags)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == XGW_XML_TEXT)
        return a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0;
    if (strcmp(effective_ns(a, flags), effective_ns(b, flags)) != 0 ||
        strcmp(a->local, b->local) != 0 || a->attr_count != b->attr_count)
        return false;
    for (size_t i = 0; i < a->attr_count; i++) {
        const struct xgw_xml_attr *x = &a->attrs[i], *y = &b->attrs[i];
        if (!opt_eq(x->ns, y->ns) || strcmp(x->local, y->local) != 0 ||
            strcmp(x->value, y->value) != 0)
            return false;
    }
    return true;
}

/* Walks both trees in document order (iteratively: trees may be deep). */
static bool same_tree(const struct xgw_xml_node *a, const struct xgw_xml_node *b, unsigned flags)
{
    const struct xgw_xml_node *ra = a;
    for (;;) {
        if (!same_node(a, b, flags))
            return false;
        if (a->first_child || b->first_child) {
            if (!a->first_child || !b->first_child)
                return false;
            a = a->first_child;
            b = b->first_child;
            continue;
        }
        while (a != ra && !a->next) {
            if (b->next || !b->parent)
                return false;
            a = a->parent;
            b = b->parent;
        }
        if (a == ra)
            return true;
        if (!b->next)
            return false;
        a = a->next;
        b = b->next;
    }
}

static void check_round_trip(const struct xgw_xml_node *root, unsigned flags)
{
    struct xgw_buf first, second;
    xgw_buf_init(&first, SIZE_MAX / 2);
    xgw_buf_init(&second, SIZE_MAX / 2);
    FUZZ_CHECK(xgw_xml_write_element(&first, root, flags) == XGW_OK);

    struct xgw_xml_node *again = fuzz_parse_in_stream(first.data, first.len);
    FUZZ_CHECK(same_tree(root, again, flags));

    FUZZ_CHECK(xgw_xml_write_element(&second, again, flags) == XGW_OK);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fprintf(stderr, "not idempotent:\n  %s\n  %s\n", first.data, second.data);
    FUZZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0);

    xgw_xml_node_free(again);
    xgw_buf_cleanup(&first);
    xgw_buf_cleanup(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    if (xgw_xml_parse_document((const char *)data, size, NULL, &root, &cond) != XGW_OK) {
        FUZZ_CHECK(root == NULL && cond != XGW_SC_NONE);
        return 0;
    }
    FUZZ_CHECK(root != NULL && root->kind == XGW_XML_ELEMENT && cond == XGW_SC_NONE);
    check_round_trip(root, 0);
    check_round_trip(root, XGW_XML_WRITE_HTTPBIND_AS_CLIENT);
    xgw_xml_node_free(root);
    return 0;
}
