/* SPDX-License-Identifier: MIT */
/* BOSH request body parsing: the <body/> wrapper, rid/ver/number syntax, xbosh attributes under
 * any prefix, payload order and restricted XML (XEP-0124 §6-§15, XEP-0206 §3-§5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/bosh_body.h"

#define HB "xmlns='http://jabber.org/protocol/httpbind'"
#define XB "xmlns:xmpp='urn:xmpp:xbosh'"

static enum xgw_err parse(const char *text, struct xgw_bosh_req *req, enum xgw_bosh_cond *cond)
{
    return xgw_bosh_req_parse(text, strlen(text), 65536, req, cond);
}

/* Parses text expecting failure with the given condition. */
static void expect_bad(const char *text, enum xgw_bosh_cond want)
{
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond = XGW_BOSH_COND_NONE;
    enum xgw_err err = parse(text, &req, &cond);
    if (err == XGW_OK) {
        xgw_bosh_req_cleanup(&req);
        fail_msg("accepted: %s", text);
    }
    if (cond != want)
        fail_msg("%s: condition %s, want %s", text, xgw_bosh_cond_name(cond),
                 xgw_bosh_cond_name(want));
    assert_null(req.root);
}

static void test_creation_attributes(void **state)
{
    (void)state;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    const char *text = "<body content='text/xml; charset=utf-8' hold='1' rid='1573741820' "
                       "to='example.com' route='xmpp:example.com:9999' ver='1.6' wait='60' "
                       "ack='1' xml:lang='en' xmpp:version='1.0' from='u@example.com' "
                       "newkey='abc' " HB " " XB "/>";
    assert_int_equal(parse(text, &req, &cond), XGW_OK);
    assert_true(req.rid == 1573741820ull);
    assert_null(req.sid);
    assert_string_equal(req.to, "example.com");
    assert_string_equal(req.route, "xmpp:example.com:9999");
    assert_string_equal(req.from, "u@example.com");
    assert_string_equal(req.lang, "en");
    assert_string_equal(req.content, "text/xml; charset=utf-8");
    assert_string_equal(req.newkey, "abc");
    assert_null(req.key);
    assert_true(req.has_ver);
    assert_int_equal(req.ver_major, 1);
    assert_int_equal(req.ver_minor, 6);
    assert_true(req.has_wait);
    assert_int_equal(req.wait_s, 60);
    assert_true(req.has_hold);
    assert_int_equal(req.hold, 1);
    assert_true(req.has_ack);
    assert_true(req.ack == 1);
    assert_false(req.has_pause);
    assert_string_equal(req.xmpp_version, "1.0");
    assert_false(req.restart);
    assert_false(req.terminate);
    assert_int_equal(req.payload_count, 0);
    xgw_bosh_req_cleanup(&req);
    assert_null(req.root);
}

/* BOSH-18: rids are 64-bit integers in 1..2^53-1, digits only. */
static void test_rid_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {"abc", "-5",  "0", "9007199254740992",     "+5",  " 5",
                                      "5 ",  "1e3", "",  "18446744073709551617", "0x10"};
    char text[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "<body rid='%s' sid='s' " HB "/>", bad[i]);
        expect_bad(text, XGW_BOSH_COND_BAD_REQUEST);
    }
    expect_bad("<body sid='s' " HB "/>", XGW_BOSH_COND_BAD_REQUEST); /* missing */
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    assert_int_equal(parse("<body rid='9007199254740991' sid='s' " HB "/>", &req, &cond), XGW_OK);
    assert_true(req.rid == 9007199254740991ull);
    xgw_bosh_req_cleanup(&req);
    assert_int_equal(parse("<body rid='9007199254740000' sid='s' " HB "/>", &req, &cond), XGW_OK);
    assert_true(req.rid == 9007199254740000ull);
    xgw_bosh_req_cleanup(&req);
}

/* BOSH-24: 'ver' compared as two integers; malformed numbers are bad-request. */
static void test_ver_and_numbers(void **state)
{
    (void)state;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    assert_int_equal(parse("<body rid='1' ver='1.10' " HB "/>", &req, &cond), XGW_OK);
    assert_true(req.has_ver);
    assert_int_equal(req.ver_major, 1);
    assert_int_equal(req.ver_minor, 10);
    xgw_bosh_req_cleanup(&req);
    assert_int_equal(parse("<body rid='1' " HB "/>", &req, &cond), XGW_OK);
    assert_false(req.has_ver);
    assert_false(req.has_wait);
    assert_false(req.has_hold);
    assert_false(req.has_ack);
    xgw_bosh_req_cleanup(&req);
    static const char *const bad[] = {
        "ver='1'",     "ver='1.'",   "ver='.1'",           "ver='a.b'",
        "ver='1.1.1'", "wait='-1'",  "wait='x'",           "hold='1.5'",
        "ack='z'",     "pause='-3'", "wait='99999999999'", "xmpp:restart='yes'",
    };
    char text[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "<body rid='1' %s " HB " " XB "/>", bad[i]);
        expect_bad(text, XGW_BOSH_COND_BAD_REQUEST);
    }
    assert_int_equal(parse("<body rid='7' sid='s' pause='60' ack='6' " HB "/>", &req, &cond),
                     XGW_OK);
    assert_true(req.has_pause);
    assert_int_equal(req.pause_s, 60);
    assert_true(req.ack == 6);
    xgw_bosh_req_cleanup(&req);
}

/* XEP206-11 both true forms; XEP206-17 the namespace decides, not the prefix. */
static void test_xbosh_any_prefix_and_restart(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "<body rid='2' sid='s' xmlns:x='urn:xmpp:xbosh' x:restart='true' x:version='1.0' " HB "/>",
        "<body rid='2' sid='s' xmpp:restart='1' " XB " " HB "/>",
    };
    for (size_t i = 0; i < 2; i++) {
        struct xgw_bosh_req req;
        enum xgw_bosh_cond cond;
        assert_int_equal(parse(forms[i], &req, &cond), XGW_OK);
        assert_true(req.restart);
        xgw_bosh_req_cleanup(&req);
    }
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    assert_int_equal(parse(forms[0], &req, &cond), XGW_OK);
    assert_string_equal(req.xmpp_version, "1.0");
    xgw_bosh_req_cleanup(&req);
    /* A 'restart' attribute in another namespace is not a restart. */
    assert_int_equal(
        parse("<body rid='2' sid='s' xmlns:y='urn:other' y:restart='true' " HB "/>", &req, &cond),
        XGW_OK);
    assert_false(req.restart);
    xgw_bosh_req_cleanup(&req);
    assert_int_equal(
        parse("<body rid='2' sid='s' xmpp:restart='false' " XB " " HB "/>", &req, &cond), XGW_OK);
    assert_false(req.restart);
    xgw_bosh_req_cleanup(&req);
}

/* BOSH-17: declaration and whitespace accepted; BOSH-19 several payloads in order; terminate. */
static void test_payloads_and_whitespace(void **state)
{
    (void)state;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    const char *text = "<?xml version='1.0'?>\n<body rid='3' sid='s' type='terminate' " HB ">\n  "
                       "<message id='1'/>\n  <message id='2'/><message id='3'/>\n</body>\n";
    assert_int_equal(parse(text, &req, &cond), XGW_OK);
    assert_true(req.terminate);
    assert_int_equal(req.payload_count, 3);
    const char *want[] = {"1", "2", "3"};
    size_t i = 0;
    for (const struct xgw_xml_node *c = req.root->first_child; c; c = c->next) {
        if (c->kind != XGW_XML_ELEMENT)
            continue;
        assert_true(i < 3);
        assert_string_equal(xgw_xml_attr_get(c, NULL, "id"), want[i]);
        i++;
    }
    assert_int_equal(i, 3);
    xgw_bosh_req_cleanup(&req);
}

/* XEP-0124 §6 / TERM-01 / BOSH-15: what is not an acceptable body. */
static void test_malformed_bodies(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "hello",
        "",
        "<body rid='1' xmlns='urn:wrong'/>",
        "<body rid='1'/>",
        "<notbody rid='1' " HB "/>",
        "<body rid='1' " HB ">hello<presence/></body>",
        "<body rid='1' " HB "><presence/>x</body>",
        "<body rid='1' " HB "><!--x--><presence/></body>",
        "<!DOCTYPE body [<!ENTITY a 'b'>]><body rid='1' " HB ">&a;</body>",
        "<body rid='1' " HB "><?pi x?></body>",
        "<body rid='1' " HB "><presence>",
        "<body rid='1' " HB "/><body rid='2' " HB "/>",
        "<body rid='1' " HB ">\xff\xfe</body>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><body rid='1' " HB "/>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bad(bad[i], XGW_BOSH_COND_BAD_REQUEST);
}

/* TERM-08: over the size cap; CM-09 nesting past the cap. */
static void test_limits(void **state)
{
    (void)state;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond;
    const char *text = "<body rid='1' " HB "/>";
    assert_int_equal(xgw_bosh_req_parse(text, strlen(text), 10, &req, &cond), XGW_ELIMIT);
    assert_int_equal(cond, XGW_BOSH_COND_POLICY_VIOLATION);
    char deep[4096];
    size_t n = (size_t)snprintf(deep, sizeof(deep), "<body rid='1' " HB ">");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<a>");
    assert_int_equal(xgw_bosh_req_parse(deep, n, 65536, &req, &cond), XGW_ELIMIT);
    assert_int_equal(cond, XGW_BOSH_COND_POLICY_VIOLATION);
}

static void test_peek_sid_and_names(void **state)
{
    (void)state;
    char sid[64];
    const char *bad_rid = "<body rid='x' sid='abc' " HB "/>";
    assert_true(xgw_bosh_req_peek_sid(bad_rid, strlen(bad_rid), 4096, sid, sizeof(sid)));
    assert_string_equal(sid, "abc");
    assert_false(xgw_bosh_req_peek_sid("junk", 4, 4096, sid, sizeof(sid)));
    const char *wrong_ns = "<body rid='1' sid='abc' xmlns='urn:x'/>";
    assert_false(xgw_bosh_req_peek_sid(wrong_ns, strlen(wrong_ns), 4096, sid, sizeof(sid)));
    assert_false(xgw_bosh_req_peek_sid(bad_rid, strlen(bad_rid), 4096, sid, 3));
    assert_string_equal(xgw_bosh_cond_name(XGW_BOSH_COND_NONE), "");
    assert_string_equal(xgw_bosh_cond_name(XGW_BOSH_COND_ITEM_NOT_FOUND), "item-not-found");
    assert_string_equal(xgw_bosh_cond_name(XGW_BOSH_COND_REMOTE_STREAM_ERROR),
                        "remote-stream-error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creation_attributes),
        cmocka_unit_test(test_rid_syntax),
        cmocka_unit_test(test_ver_and_numbers),
        cmocka_unit_test(test_xbosh_any_prefix_and_restart),
        cmocka_unit_test(test_payloads_and_whitespace),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_peek_sid_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
