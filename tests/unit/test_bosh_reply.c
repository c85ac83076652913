/* SPDX-License-Identifier: MIT */
/* BOSH response bodies: creation attributes, empty, terminal and recoverable bodies, namespace
 * declarations (XEP-0124 §7.2, §17; XEP-0206 §2, §4, §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/bosh_reply.h"

#define NS_HB " xmlns='http://jabber.org/protocol/httpbind'"
#define NS_XB " xmlns:xmpp='urn:xmpp:xbosh'"
#define NS_ST " xmlns:stream='http://etherx.jabber.org/streams'"

struct fixture {
    struct xgw_buf out;
};

static int setup(void **state)
{
    static struct fixture f;
    xgw_buf_init(&f.out, 1 << 16);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    xgw_buf_cleanup(&f->out);
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* BOSH-24..31, XEP206-03/04/05, TD-2: the exact creation response. */
static void test_creation_exact(void **state)
{
    struct fixture *f = *state;
    struct xgw_bosh_creation c = {.sid = "00abc",
                                  .wait_s = 60,
                                  .requests = 2,
                                  .hold = 1,
                                  .inactivity_s = 30,
                                  .polling_s = 5,
                                  .maxpause_s = 120,
                                  .ver_major = 1,
                                  .ver_minor = 6};
#define FEATURES                                                                                   \
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    const char features[] = FEATURES;
    struct xgw_bosh_reply r = {.creation = &c,
                               .has_ack = true,
                               .ack = 1573741820,
                               .from = "example.com",
                               .authid = "id'<1>",
                               .xmpp_version = "1.0",
                               .payload = features,
                               .payload_len = sizeof(features) - 1};
    assert_int_equal(xgw_bosh_reply_build(&f->out, &r), XGW_OK);
    assert_string_equal(f->out.data,
                        "<body sid='00abc' wait='60' requests='2' hold='1' inactivity='30' "
                        "polling='5' maxpause='120' ver='1.6' from='example.com' "
                        "authid='id&apos;&lt;1&gt;' xmpp:version='1.0' xmpp:restartlogic='true' "
                        "ack='1573741820'" NS_HB NS_XB NS_ST ">" FEATURES "</body>");
}

/* E-12 / BOSH-13: wait='0' and no maxpause: each attribute once, maxpause absent. */
static void test_creation_wait_zero_no_duplicates(void **state)
{
    struct fixture *f = *state;
    struct xgw_bosh_creation c = {.sid = "s",
                                  .requests = 1,
                                  .polling_s = 2,
                                  .ver_major = 1,
                                  .ver_minor = 11,
                                  .inactivity_s = 60};
    struct xgw_bosh_reply r = {.creation = &c};
    assert_int_equal(xgw_bosh_reply_build(&f->out, &r), XGW_OK);
    assert_string_equal(f->out.data, "<body sid='s' wait='0' requests='1' hold='0' "
                                     "inactivity='60' polling='2' ver='1.11' "
                                     "xmpp:restartlogic='true'" NS_HB NS_XB "/>");
    static const char *const names[] = {
        " sid=", " wait=", " requests=", " hold=", " inactivity=", " polling=", " ver=", " xmlns="};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(count(f->out.data, names[i]), 1);
    assert_int_equal(count(f->out.data, "maxpause"), 0);
    assert_int_equal(count(f->out.data, "xmlns:stream"), 0); /* no children */
}

/* BOSH-40: the empty body. */
static void test_empty(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(xgw_bosh_reply_empty(&f->out), XGW_OK);
    assert_string_equal(f->out.data, "<body xmlns='http://jabber.org/protocol/httpbind'/>");
}

/* TERM-*, CM-05: terminate with and without condition; BOSH-75 children with xmlns:stream. */
static void test_terminate(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(xgw_bosh_reply_terminate(&f->out, XGW_BOSH_COND_ITEM_NOT_FOUND, NULL, 0),
                     XGW_OK);
    assert_string_equal(f->out.data,
                        "<body type='terminate' condition='item-not-found'" NS_HB "/>");
    xgw_buf_reset(&f->out);
    assert_int_equal(xgw_bosh_reply_terminate(&f->out, XGW_BOSH_COND_NONE, NULL, 0), XGW_OK);
    assert_string_equal(f->out.data, "<body type='terminate'" NS_HB "/>");
    xgw_buf_reset(&f->out);
#define KIDS                                                                                       \
    "<message xmlns='jabber:client' id='m1'/><stream:error><conflict "                             \
    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
    const char kids[] = KIDS;
    assert_int_equal(xgw_bosh_reply_terminate(&f->out, XGW_BOSH_COND_REMOTE_STREAM_ERROR, kids,
                                              sizeof(kids) - 1),
                     XGW_OK);
    assert_string_equal(f->out.data,
                        "<body type='terminate' condition='remote-stream-error'" NS_HB NS_ST
                        ">" KIDS "</body>");
}

/* BOSH-77: the recoverable error body; XEP206-06 any body with children gets xmlns:stream. */
static void test_error_and_plain_children(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(xgw_bosh_reply_error(&f->out), XGW_OK);
    assert_string_equal(f->out.data, "<body type='error'" NS_HB "/>");
    xgw_buf_reset(&f->out);
#define MSG "<message xmlns='jabber:client'/>"
    const char msg[] = MSG;
    struct xgw_bosh_reply r = {
        .has_ack = true, .ack = 5, .payload = msg, .payload_len = sizeof(msg) - 1};
    assert_int_equal(xgw_bosh_reply_build(&f->out, &r), XGW_OK);
    assert_string_equal(f->out.data, "<body ack='5'" NS_HB NS_ST ">" MSG "</body>");
    /* No xmpp: attribute, so no xmlns:xmpp. */
    assert_int_equal(count(f->out.data, "xmlns:xmpp"), 0);
}

static void test_limit(void **state)
{
    (void)state;
    struct xgw_buf small;
    xgw_buf_init(&small, 20);
    assert_int_equal(xgw_bosh_reply_empty(&small), XGW_ELIMIT);
    xgw_buf_cleanup(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creation_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creation_wait_zero_no_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_and_plain_children, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
