/* SPDX-License-Identifier: MIT */
/* Unit tests for xml_write: namespace fix-up, prefixes, escaping and the buffer cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/ns.h"
#include "xgw/xml_tree.h"
#include "xgw/xml_write.h"

static struct xgw_xml_node *parse(const char *doc)
{
    static const struct xgw_xml_limits lim = {1 << 20, 20000};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    if (xgw_xml_parse_document(doc, strlen(doc), &lim, &root, &cond) != XGW_OK)
        fail_msg("parse of '%s' failed: %s", doc, xgw_stream_cond_name(cond));
    return root;
}

/* Writes node and compares with want. */
static void check_write(const struct xgw_xml_node *node, unsigned flags, const char *want)
{
    struct xgw_buf out;
    xgw_buf_init(&out, 1 << 20);
    assert_int_equal(xgw_xml_write_element(&out, node, flags), XGW_OK);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
        fail_msg("wrote\n  %s\nwant\n  %s", out.data ? out.data : "", want);
    xgw_buf_cleanup(&out);
}

static void check_doc(const char *doc, unsigned flags, const char *want)
{
    struct xgw_xml_node *root = parse(doc);
    check_write(root, flags, want);
    xgw_xml_node_free(root);
}

static void test_client_message(void **state)
{
    (void)state;
    check_doc("<message xmlns='jabber:client' to='a@b'><body>x &amp; &lt;y&gt;</body></message>", 0,
              "<message to='a@b'><body>x &amp; &lt;y&gt;</body></message>");
    check_doc("<c:message xmlns:c='jabber:client'><body>x</body></c:message>", 0,
              "<message><body>x</body></message>");
    check_doc("<c:message xmlns:c='jabber:client'><c:body>x</c:body></c:message>", 0,
              "<message><body>x</body></message>");
}

static void test_bosh_child(void **state)
{
    (void)state;
    struct xgw_xml_node *body =
        parse("<body xmlns='http://jabber.org/protocol/httpbind' xmlns:ns='urn:example:x'>"
              "<message to='c@d'><body>Good</body><ns:hint/></message></body>");
    struct xgw_xml_node *msg = xgw_xml_child(body, XGW_NS_HTTPBIND, "message");
    assert_non_null(msg);
    check_write(msg, XGW_XML_WRITE_HTTPBIND_AS_CLIENT,
                "<message to='c@d'><body>Good</body><ns:hint xmlns:ns='urn:example:x'/></message>");
    /* without the flag the httpbind namespace is kept and declared */
    check_write(msg, 0,
                "<message xmlns='http://jabber.org/protocol/httpbind' to='c@d'><body>Good</body>"
                "<ns:hint xmlns:ns='urn:example:x'/></message>");
    xgw_xml_node_free(body);
}

static void test_identical_bytes(void **state)
{
    (void)state;
    const char *same[] = {
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGZvbwBiYXI=</auth>",
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>web</resource></bind></iq>",
        "<presence/>",
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        "<mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        "<message xml:lang='de'><body xml:lang='en'>hi</body></message>",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        /* parse inside a wrapper providing the c2s context, then write the child */
        char doc[1024];
        snprintf(doc, sizeof(doc),
                 "<w xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>%s</w>",
                 same[i]);
        struct xgw_xml_node *w = parse(doc);
        check_write(w->first_child, 0, same[i]);
        xgw_xml_node_free(w);
    }
}

static void test_no_namespace_child(void **state)
{
    (void)state;
    check_doc("<query xmlns='jabber:iq:roster'><item xmlns='' jid='x'/><item jid='y'/></query>", 0,
              "<query xmlns='jabber:iq:roster'><item xmlns='' jid='x'/><item jid='y'/></query>");
    /* an explicit xmlns='' on the root is kept: the context default is jabber:client */
    check_doc("<plain xmlns='' a='1'><x:k xmlns:x='urn:k'><inner/></x:k></plain>", 0,
              "<plain xmlns='' a='1'><x:k xmlns:x='urn:k'><inner/></x:k></plain>");
    /* unqualified elements (no default declared at all) are read in the stream context */
    check_doc("<plain a='1'><x:k xmlns:x='urn:k'><inner/></x:k></plain>", 0,
              "<plain a='1'><x:k xmlns:x='urn:k'><inner/></x:k></plain>");
    check_doc("<x:k xmlns:x='urn:k'><inner xmlns=''><deeper/></inner></x:k>", 0,
              "<x:k xmlns:x='urn:k'><inner xmlns=''><deeper/></inner></x:k>");
    check_doc("<x:k xmlns:x='urn:k' xmlns='urn:d'><x:m xmlns=''><leaf/></x:m></x:k>", 0,
              "<x:k xmlns:x='urn:k'><x:m><leaf xmlns=''/></x:m></x:k>");
    /* a jabber:client element below a foreign default gets its namespace back */
    check_doc(
        "<iq xmlns='jabber:client'><q xmlns='urn:q'><message xmlns='jabber:client'/></q></iq>", 0,
        "<iq><q xmlns='urn:q'><message xmlns='jabber:client'/></q></iq>");
}

static void test_prefixes(void **state)
{
    (void)state;
    /* prefixed attributes get their declaration; xml: never does */
    check_doc("<message xmlns='jabber:client' xmlns:a='urn:a' a:x='1' xml:lang='en'>"
              "<a:e a:y='2'/></message>",
              0, "<message xmlns:a='urn:a' a:x='1' xml:lang='en'><a:e a:y='2'/></message>");
    /* stream prefix is already bound in the output context */
    check_doc("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
              "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
              0,
              "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
              "</stream:error>");
    /* the stream prefix bound to something else is redeclared locally */
    check_doc("<stream:x xmlns:stream='urn:other'/>", 0, "<stream:x xmlns:stream='urn:other'/>");
    /* the jabber:client prefix is dropped but an attribute still needs it */
    check_doc("<c:message xmlns:c='jabber:client' c:k='v'/>", 0,
              "<message xmlns:c='jabber:client' c:k='v'/>");
    /* prefixed elements keep their prefix; unprefixed foreign ones use the default */
    check_doc("<iq xmlns='jabber:client'><p:q xmlns:p='urn:p'><r xmlns='urn:r'><p:s/></r></p:q>"
              "</iq>",
              0, "<iq><p:q xmlns:p='urn:p'><r xmlns='urn:r'><p:s/></r></p:q></iq>");
}

static void test_escaping_injection(void **state)
{
    (void)state;
    /* XMPP-14: markup in text or attributes never comes out as markup */
    check_doc("<message xmlns='jabber:client' to='&lt;/stream:stream>&apos;&quot;'>"
              "<body>&lt;/stream:stream&gt;&lt;stream:stream to='evil'&gt;</body></message>",
              0,
              "<message to='&lt;/stream:stream&gt;&apos;&quot;'><body>&lt;/stream:stream&gt;"
              "&lt;stream:stream to='evil'&gt;</body></message>");
    check_doc("<m xmlns='jabber:client' a='t&#9;n&#10;r&#13;&amp;'>a&#13;b]]&gt;</m>", 0,
              "<m a='t&#9;n&#10;r&#13;&amp;'>a&#13;b]]&gt;</m>");
    /* whitespace text is kept as is, none is added */
    check_doc("<m xmlns='jabber:client'> <b> x </b>\n</m>", 0, "<m> <b> x </b>\n</m>");
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *doc = "<iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='v1'>"
                      "<item jid='a@b' name='A &amp; B' subscription='both'><group>G</group>"
                      "</item></query></iq>";
    struct xgw_xml_node *root = parse(doc);
    struct xgw_buf out;
    xgw_buf_init(&out, 4096);
    assert_int_equal(xgw_xml_write_element(&out, root, 0), XGW_OK);
    assert_string_equal(out.data, doc);
    /* the output parses back to the same output */
    struct xgw_xml_node *again = parse(out.data);
    struct xgw_buf out2;
    xgw_buf_init(&out2, 4096);
    assert_int_equal(xgw_xml_write_element(&out2, again, 0), XGW_OK);
    assert_string_equal(out2.data, out.data);
    xgw_buf_cleanup(&out);
    xgw_buf_cleanup(&out2);
    xgw_xml_node_free(root);
    xgw_xml_node_free(again);
}

static void test_limit_leaves_buffer(void **state)
{
    (void)state;
    struct xgw_xml_node *root = parse("<message xmlns='jabber:client'><body>0123456789</body>"
                                      "</message>");
    struct xgw_buf out;
    xgw_buf_init(&out, 20);
    assert_int_equal(xgw_buf_append_str(&out, "keep"), XGW_OK);
    assert_int_equal(xgw_xml_write_element(&out, root, 0), XGW_ELIMIT);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "keep");
    assert_int_equal(xgw_xml_escape_text(&out, "<<<<<", 5), XGW_ELIMIT);
    assert_string_equal(out.data, "keep");
    assert_int_equal(xgw_xml_escape_attr(&out, "ab'", 3), XGW_OK);
    assert_string_equal(out.data, "keepab&apos;");
    xgw_buf_cleanup(&out);
    assert_int_equal(xgw_xml_write_element(&out, NULL, 0), XGW_EINVAL);
    xgw_xml_node_free(root);
}

static void test_escape_helpers(void **state)
{
    (void)state;
    struct xgw_buf out;
    xgw_buf_init(&out, 1024);
    const char s[] = "a&b<c>d'e\"f\tg\nh\ri";
    assert_int_equal(xgw_xml_escape_text(&out, s, sizeof(s) - 1), XGW_OK);
    assert_string_equal(out.data, "a&amp;b&lt;c&gt;d'e\"f\tg\nh&#13;i");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_xml_escape_attr(&out, s, sizeof(s) - 1), XGW_OK);
    assert_string_equal(out.data, "a&amp;b&lt;c&gt;d&apos;e&quot;f&#9;g&#10;h&#13;i");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_xml_escape_text(&out, "x\0y", 3), XGW_OK);
    assert_int_equal(out.len, 3);
    xgw_buf_cleanup(&out);
}

static void test_write_attr_and_decl(void **state)
{
    (void)state;
    struct xgw_buf out;
    xgw_buf_init(&out, 64);
    assert_int_equal(xgw_buf_append_str(&out, "<a"), XGW_OK);
    assert_int_equal(xgw_xml_write_attr(&out, "xml:lang", "en"), XGW_OK);
    assert_int_equal(xgw_xml_write_attr(&out, "v", "'<&>\"\n"), XGW_OK);
    assert_string_equal(out.data, "<a xml:lang='en' v='&apos;&lt;&amp;&gt;&quot;&#10;'");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_xml_write_attr(&out, "empty", ""), XGW_OK);
    assert_string_equal(out.data, " empty=''");
    /* a value that does not fit leaves the buffer as it was, not with half an attribute */
    assert_int_equal(xgw_xml_write_attr(
                         &out, "to", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789"),
                     XGW_ELIMIT);
    assert_int_equal(out.len, 9);
    assert_string_equal(out.data, " empty=''");
    xgw_buf_reset(&out);
    assert_int_equal(xgw_xml_write_ns_decl(&out, NULL, "jabber:client"), XGW_OK);
    assert_int_equal(xgw_xml_write_ns_decl(&out, "p", "urn:a'b"), XGW_OK);
    assert_string_equal(out.data, " xmlns='jabber:client' xmlns:p='urn:a&apos;b'");
    xgw_buf_cleanup(&out);
}

static void test_deep_tree(void **state)
{
    (void)state;
    enum { N = 5000 };
    char *doc = xgw_malloc(N * 7 + 1);
    size_t p = 0;
    for (int i = 0; i < N; i++, p += 3)
        memcpy(doc + p, "<e>", 3);
    for (int i = 0; i < N; i++, p += 4)
        memcpy(doc + p, "</e>", 4);
    doc[p] = '\0';
    struct xgw_xml_node *root = parse(doc);
    struct xgw_buf out;
    xgw_buf_init(&out, 1 << 20);
    assert_int_equal(xgw_xml_write_element(&out, root, 0), XGW_OK);
    /* unqualified, so written as jabber:client: identical except the innermost <e/> */
    assert_int_equal(out.len, p - 3);
    assert_memory_equal(out.data, "<e><e><e>", 9);
    assert_memory_equal(out.data + 3 * (N - 1), "<e/></e></e>", 12);
    xgw_buf_cleanup(&out);
    xgw_xml_node_free(root);
    xgw_free(doc);
}

static void test_handmade_conflict(void **state)
{
    (void)state;
    /* a tree built by hand may ask for the same prefix with two URIs on one element */
    struct xgw_xml_attr attrs[2] = {
        {.ns = "urn:one", .prefix = "p", .local = "a", .value = "1"},
        {.ns = "urn:two", .prefix = "p", .local = "b", .value = "2"},
    };
    struct xgw_xml_node n = {.kind = XGW_XML_ELEMENT,
                             .ns = "urn:e",
                             .prefix = "p",
                             .local = "x",
                             .attrs = attrs,
                             .attr_count = 2};
    check_write(&n, 0,
                "<p:x xmlns:p='urn:e' xmlns:ns0='urn:one' ns0:a='1' xmlns:ns1='urn:two' "
                "ns1:b='2'/>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_message),    cmocka_unit_test(test_bosh_child),
        cmocka_unit_test(test_identical_bytes),   cmocka_unit_test(test_no_namespace_child),
        cmocka_unit_test(test_prefixes),          cmocka_unit_test(test_escaping_injection),
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_limit_leaves_buffer),
        cmocka_unit_test(test_escape_helpers),    cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_handmade_conflict), cmocka_unit_test(test_write_attr_and_decl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
