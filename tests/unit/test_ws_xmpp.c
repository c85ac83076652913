/* SPDX-License-Identifier: MIT */
/* RFC 7395 message classification and framing builders (WS-29, WS-31, WS-33, TD-7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/stream.h"
#include "xgw/ws_xmpp.h"

static enum xgw_ws_msg_kind classify(const char *xml, enum xgw_stream_cond *cond)
{
    struct xgw_xml_limits limits = {.max_bytes = 65536, .max_depth = 32};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond parse_cond;
    assert_int_equal(xgw_xml_parse_document(xml, strlen(xml), &limits, &root, &parse_cond), XGW_OK);
    enum xgw_ws_msg_kind kind = xgw_ws_classify(root, cond);
    xgw_xml_node_free(root);
    return kind;
}

static void test_open_and_close_forms(void **state)
{
    (void)state;
    enum xgw_stream_cond cond;
    assert_int_equal(classify("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='a.example' "
                              "version='1.0'/>",
                              &cond),
                     XGW_WS_MSG_OPEN);
    /* WS-29: both the empty-element and the start/end-tag forms. */
    assert_int_equal(
        classify("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='a'></open>", &cond),
        XGW_WS_MSG_OPEN);
    assert_int_equal(classify("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>", &cond),
                     XGW_WS_MSG_CLOSE);
    assert_int_equal(classify("<message xmlns='jabber:client'><body>x</body></message>", &cond),
                     XGW_WS_MSG_STANZA);
    assert_int_equal(cond, XGW_SC_NONE);
}

static void test_wrong_namespace(void **state)
{
    (void)state;
    enum xgw_stream_cond cond;
    /* WS-31 */
    assert_int_equal(classify("<open xmlns='jabber:client' to='a' version='1.0'/>", &cond),
                     XGW_WS_MSG_BAD);
    assert_int_equal(cond, XGW_SC_INVALID_NAMESPACE);
    assert_int_equal(classify("<close/>", &cond), XGW_WS_MSG_BAD);
    assert_int_equal(cond, XGW_SC_INVALID_NAMESPACE);
    assert_int_equal(
        classify("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='a'/>", &cond),
        XGW_WS_MSG_BAD);
}

static void test_open_build(void **state)
{
    (void)state;
    struct xgw_buf b;
    xgw_buf_init(&b, 4096);
    struct xgw_stream_header h = {
        .id = "abc<'", .from = "example.com", .version = "1.0", .lang = "de"};
    assert_int_equal(xgw_ws_open_build(&b, &h), XGW_OK);
    assert_string_equal(b.data, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                                "from='example.com' id='abc&lt;&apos;' version='1.0' "
                                "xml:lang='de'/>");
    /* WS-33: version and xml:lang are always present. */
    xgw_buf_reset(&b);
    struct xgw_stream_header bare = {0};
    assert_int_equal(xgw_ws_open_build(&b, &bare), XGW_OK);
    assert_string_equal(b.data, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                                "version='1.0' xml:lang='en'/>");
    xgw_buf_reset(&b);
    assert_int_equal(xgw_ws_close_build(&b, "wss://other.example/ws"), XGW_OK);
    assert_string_equal(b.data, "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                                "see-other-uri='wss://other.example/ws'/>");
    xgw_buf_cleanup(&b);
}

static void test_stream_header_and_error(void **state)
{
    (void)state;
    struct xgw_buf b;
    xgw_buf_init(&b, 4096);
    /* TD-1 / XMPP-02: declaration, to, version, lang, namespaces, never an id. */
    assert_int_equal(xgw_stream_header_build(&b, "example.com", "en", NULL), XGW_OK);
    assert_string_equal(b.data, "<?xml version='1.0'?><stream:stream to='example.com' "
                                "version='1.0' xml:lang='en' xmlns='jabber:client' "
                                "xmlns:stream='http://etherx.jabber.org/streams'>");
    xgw_buf_reset(&b);
    assert_int_equal(xgw_stream_error_build(&b, XGW_SC_HOST_UNKNOWN, NULL), XGW_OK);
    assert_string_equal(b.data, "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
                                "<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                                "</stream:error>");
    xgw_buf_reset(&b);
    assert_int_equal(xgw_stream_error_build(&b, XGW_SC_POLICY_VIOLATION, "a<b"), XGW_OK);
    assert_non_null(strstr(b.data, "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' "
                                   "xml:lang='en'>a&lt;b</text>"));
    xgw_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_close_forms),
        cmocka_unit_test(test_wrong_namespace),
        cmocka_unit_test(test_open_build),
        cmocka_unit_test(test_stream_header_and_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
