/* SPDX-License-Identifier: MIT */
/* Unit tests for xml_tree: document parsing, restricted XML, caps and the lookup helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/ns.h"
#include "xgw/xml_tree.h"

static const struct xgw_xml_limits lim = {65536, 64};

static struct xgw_xml_node *parse_ok(const char *doc)
{
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_BAD_FORMAT;
    enum xgw_err err = xgw_xml_parse_document(doc, strlen(doc), &lim, &root, &cond);
    if (err != XGW_OK)
        fail_msg("parse of '%s' failed: %s", doc, xgw_stream_cond_name(cond));
    assert_int_equal(cond, XGW_SC_NONE);
    assert_non_null(root);
    return root;
}

static void expect_cond_len(const char *doc, size_t len, const struct xgw_xml_limits *l,
                            enum xgw_stream_cond want)
{
    struct xgw_xml_node *root = (struct xgw_xml_node *)1;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = xgw_xml_parse_document(doc, len, l, &root, &cond);
    if (err != XGW_EPROTO || cond != want)
        fail_msg("'%.60s': got err=%d cond=%s, want %s", doc, err, xgw_stream_cond_name(cond),
                 xgw_stream_cond_name(want));
    assert_null(root);
}

static void expect_cond(const char *doc, enum xgw_stream_cond want)
{
    expect_cond_len(doc, strlen(doc), &lim, want);
}

static void test_basic_structure(void **state)
{
    (void)state;
    struct xgw_xml_node *root =
        parse_ok("<message xmlns='jabber:client' xmlns:x='urn:x' to='a@b' xml:lang='en' x:flag='1'>"
                 "<body>hi &amp; bye</body><x:hint/>tail</message>");
    assert_true(xgw_xml_is(root, XGW_NS_CLIENT, "message"));
    assert_false(xgw_xml_is(root, NULL, "message"));
    assert_null(root->prefix);
    assert_int_equal(root->attr_count, 3); /* the two xmlns declarations are not attributes */
    assert_string_equal(xgw_xml_attr_get(root, NULL, "to"), "a@b");
    assert_string_equal(xgw_xml_attr_get(root, XGW_NS_XML, "lang"), "en");
    assert_null(xgw_xml_attr_get(root, NULL, "lang"));
    assert_string_equal(xgw_xml_attr_get(root, "urn:x", "flag"), "1");
    assert_null(xgw_xml_attr_get(root, NULL, "flag"));
    assert_null(xgw_xml_attr_get(root, NULL, "xmlns"));
    assert_int_equal(xgw_xml_child_count(root), 2);

    struct xgw_xml_node *body = xgw_xml_child(root, XGW_NS_CLIENT, "body");
    assert_non_null(body);
    assert_ptr_equal(body->parent, root);
    /* "hi ", "&", " bye" arrive as three runs and are merged into one text node */
    assert_non_null(body->first_child);
    assert_ptr_equal(body->first_child, body->last_child);
    assert_int_equal(body->first_child->kind, XGW_XML_TEXT);
    assert_string_equal(body->first_child->text, "hi & bye");
    assert_int_equal(body->first_child->text_len, 8);

    struct xgw_xml_node *hint = xgw_xml_child(root, "urn:x", NULL);
    assert_non_null(hint);
    assert_string_equal(hint->prefix, "x");
    assert_string_equal(hint->local, "hint");
    assert_ptr_equal(xgw_xml_child(root, NULL, "hint"), hint);
    assert_ptr_equal(xgw_xml_child(root, NULL, NULL), body);
    assert_null(xgw_xml_child(root, "urn:y", NULL));
    assert_int_equal(root->last_child->kind, XGW_XML_TEXT);
    assert_string_equal(root->last_child->text, "tail");
    xgw_xml_node_free(root);
}

static void test_no_namespace_and_prefix_rebinding(void **state)
{
    (void)state;
    struct xgw_xml_node *root =
        parse_ok("<a><b xmlns='urn:b'><c xmlns=''/></b><p:d xmlns:p='urn:p' p:k='v' k='w'/></a>");
    assert_true(xgw_xml_is(root, NULL, "a"));
    assert_null(root->ns);
    struct xgw_xml_node *b = xgw_xml_child(root, "urn:b", "b");
    assert_non_null(b);
    struct xgw_xml_node *c = b->first_child;
    assert_true(xgw_xml_is(c, NULL, "c"));
    assert_true(root->unqualified);
    assert_false(b->unqualified);
    assert_false(c->unqualified); /* explicit xmlns='' */
    struct xgw_xml_node *d = xgw_xml_child(root, "urn:p", "d");
    assert_false(d->unqualified);
    xgw_xml_node_free(root);

    /* a default declared on a prefixed ancestor and then undeclared is not "unqualified" */
    root = parse_ok("<p:a xmlns:p='urn:p'><b/><p:c xmlns='urn:d'><d xmlns=''><e/></d></p:c>"
                    "<f/></p:a>");
    assert_false(root->unqualified);
    assert_true(xgw_xml_child(root, NULL, "b")->unqualified);
    assert_true(xgw_xml_child(root, NULL, "f")->unqualified);
    struct xgw_xml_node *pc = xgw_xml_child(root, "urn:p", "c");
    assert_false(pc->first_child->unqualified);
    assert_false(pc->first_child->first_child->unqualified);
    xgw_xml_node_free(root);
    root =
        parse_ok("<a><b xmlns='urn:b'><c xmlns=''/></b><p:d xmlns:p='urn:p' p:k='v' k='w'/></a>");
    d = xgw_xml_child(root, "urn:p", "d");
    assert_non_null(d);
    assert_string_equal(xgw_xml_attr_get(d, "urn:p", "k"), "v");
    assert_string_equal(xgw_xml_attr_get(d, NULL, "k"), "w");
    assert_string_equal(d->attrs[0].prefix, "p");
    assert_null(d->attrs[1].prefix);
    xgw_xml_node_free(root);
}

static void test_xml_declaration_and_open_forms(void **state)
{
    (void)state;
    const char *docs[] = {
        "<?xml version='1.0'?><open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x' "
        "version='1.0'/>",
        "<?xml version='1.0' encoding='utf-8'?>\n<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'"
        " to='x' version='1.0'></open>\n",
        "\xEF\xBB\xBF<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x' version='1.0'/>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct xgw_xml_node *root = parse_ok(docs[i]);
        assert_true(xgw_xml_is(root, XGW_NS_FRAMING, "open"));
        assert_string_equal(xgw_xml_attr_get(root, NULL, "to"), "x");
        assert_null(root->first_child);
        xgw_xml_node_free(root);
    }
}

static void test_not_well_formed(void **state)
{
    (void)state;
    expect_cond("", XGW_SC_NOT_WELL_FORMED);
    expect_cond("  \n\t ", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a/><b/>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a/>text", XGW_SC_NOT_WELL_FORMED);
    expect_cond("text<a/>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a></b>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<p:a/>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a p:x='1'/>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a x='1' x='2'/>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a><></a>", XGW_SC_NOT_WELL_FORMED);
    expect_cond("<a/><?xml version='1.0'?>", XGW_SC_NOT_WELL_FORMED);
    expect_cond_len("<a>\0</a>", 8, &lim, XGW_SC_INVALID_XML);
}

static void test_restricted_xml(void **state)
{
    (void)state;
    expect_cond("<a><!-- c --></a>", XGW_SC_RESTRICTED_XML);
    expect_cond("<!-- c --><a/>", XGW_SC_RESTRICTED_XML);
    expect_cond("<a><?pi data?></a>", XGW_SC_RESTRICTED_XML);
    expect_cond("<?xml-stylesheet href='x'?><a/>", XGW_SC_RESTRICTED_XML);
    expect_cond("<!DOCTYPE a><a/>", XGW_SC_RESTRICTED_XML);
    expect_cond("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", XGW_SC_RESTRICTED_XML);
    expect_cond("<!DOCTYPE a [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]>"
                "<a>&lol2;</a>",
                XGW_SC_RESTRICTED_XML);
    expect_cond("<a>&foo;</a>", XGW_SC_RESTRICTED_XML);
    expect_cond("<a x='&foo;'/>", XGW_SC_RESTRICTED_XML);
}

static void test_encoding(void **state)
{
    (void)state;
    expect_cond("<?xml version='1.0' encoding='ISO-8859-1'?><a/>", XGW_SC_UNSUPPORTED_ENCODING);
    expect_cond("<?xml version='1.0' encoding='UTF-16'?><a/>", XGW_SC_UNSUPPORTED_ENCODING);
    expect_cond("<?xml version='1.0' encoding='bogus'?><a/>", XGW_SC_UNSUPPORTED_ENCODING);
    struct xgw_xml_node *root = parse_ok("<?xml version='1.0' encoding='UTF-8'?><a/>");
    xgw_xml_node_free(root);
}

static void test_invalid_xml(void **state)
{
    (void)state;
    expect_cond("<a>\x01</a>", XGW_SC_INVALID_XML);
    expect_cond("<a>\xC3</a>", XGW_SC_UNSUPPORTED_ENCODING);         /* cut sequence */
    expect_cond("<a>\xC0\xAF</a>", XGW_SC_UNSUPPORTED_ENCODING);     /* overlong */
    expect_cond("<a>\xED\xA0\x80</a>", XGW_SC_UNSUPPORTED_ENCODING); /* surrogate */
    expect_cond("<a>\xEF\xBF\xBE</a>", XGW_SC_INVALID_XML);          /* U+FFFE */
    expect_cond("<a x='\xFF'/>", XGW_SC_UNSUPPORTED_ENCODING);
    expect_cond("<a>&#0;</a>", XGW_SC_INVALID_XML);
    expect_cond("<a>&#xD800;</a>", XGW_SC_INVALID_XML);
    expect_cond("<a>\xC3", XGW_SC_UNSUPPORTED_ENCODING); /* cut at the end of the document */
    /* valid multi-byte text, including an astral-plane character, is accepted */
    struct xgw_xml_node *root = parse_ok("<a>\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80&#x1F600;</a>");
    assert_string_equal(root->first_child->text,
                        "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
    xgw_xml_node_free(root);
}

/* Builds <e><e>...</e></e> nested n deep. */
static char *nested(unsigned n, size_t *len)
{
    char *s = xgw_malloc(7u * n + 1);
    size_t p = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(s + p, "<e>", 3);
        p += 3;
    }
    for (unsigned i = 0; i < n; i++) {
        memcpy(s + p, "</e>", 4);
        p += 4;
    }
    s[p] = '\0';
    *len = p;
    return s;
}

static void test_depth_cap(void **state)
{
    (void)state;
    size_t len;
    char *doc = nested(10000, &len);
    struct xgw_xml_limits l = {1024 * 1024, 64};
    expect_cond_len(doc, len, &l, XGW_SC_POLICY_VIOLATION);
    xgw_free(doc);

    /* exactly max_depth deep is accepted, one more is refused */
    doc = nested(64, &len);
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond;
    assert_int_equal(xgw_xml_parse_document(doc, len, &l, &root, &cond), XGW_OK);
    xgw_xml_node_free(root);
    xgw_free(doc);
    doc = nested(65, &len);
    expect_cond_len(doc, len, &l, XGW_SC_POLICY_VIOLATION);
    xgw_free(doc);

    /* a deep tree allowed by a large cap is built and freed without recursion */
    doc = nested(10000, &len);
    l.max_depth = 20000;
    assert_int_equal(xgw_xml_parse_document(doc, len, &l, &root, &cond), XGW_OK);
    unsigned depth = 0;
    for (struct xgw_xml_node *n = root; n; n = n->first_child)
        depth++;
    assert_int_equal(depth, 10000);
    xgw_xml_node_free(root);
    xgw_free(doc);
}

static void test_size_cap(void **state)
{
    (void)state;
    const char *doc = "<a>0123456789</a>"; /* 17 bytes */
    struct xgw_xml_limits l = {17, 8};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond;
    assert_int_equal(xgw_xml_parse_document(doc, 17, &l, &root, &cond), XGW_OK);
    xgw_xml_node_free(root);
    l.max_bytes = 16;
    expect_cond_len(doc, 17, &l, XGW_SC_POLICY_VIOLATION);
    /* NULL limits: defaults */
    assert_int_equal(xgw_xml_parse_document(doc, 17, NULL, &root, &cond), XGW_OK);
    xgw_xml_node_free(root);
}

static void test_free_child_unlinks(void **state)
{
    (void)state;
    struct xgw_xml_node *root = parse_ok("<a><b/><c><d/></c><e/></a>");
    struct xgw_xml_node *c = xgw_xml_child(root, NULL, "c");
    xgw_xml_node_free(c);
    assert_int_equal(xgw_xml_child_count(root), 2);
    assert_true(xgw_xml_is(root->first_child, NULL, "b"));
    assert_true(xgw_xml_is(root->first_child->next, NULL, "e"));
    struct xgw_xml_node *e = root->last_child;
    xgw_xml_node_free(e);
    assert_ptr_equal(root->last_child, root->first_child);
    assert_null(root->first_child->next);
    xgw_xml_node_free(root);
    xgw_xml_node_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_structure),
        cmocka_unit_test(test_no_namespace_and_prefix_rebinding),
        cmocka_unit_test(test_xml_declaration_and_open_forms),
        cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_restricted_xml),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_invalid_xml),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_free_child_unlinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
