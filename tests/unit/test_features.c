/* SPDX-License-Identifier: MIT */
/* Feature filtering toward the web client (XMPP-04, TD-12, WS-36) and STARTTLS detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/features.h"

#define STREAM_NS "xmlns:stream='http://etherx.jabber.org/streams'"

static const char full[] =
    "<stream:features " STREAM_NS ">"
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism>"
    "<mechanism>PLAIN</mechanism></mechanisms>"
    "<compression xmlns='http://jabber.org/features/compress'><method>zlib</method></compression>"
    "<sm xmlns='urn:xmpp:sm:3'/>"
    "</stream:features>";

static void test_starttls_detection(void **state)
{
    (void)state;
    assert_int_equal(xgw_features_tls(full, strlen(full)), XGW_FEATURES_STARTTLS_REQUIRED);
    const char optional[] =
        "<stream:features " STREAM_NS "><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        "</stream:features>";
    assert_int_equal(xgw_features_tls(optional, strlen(optional)), XGW_FEATURES_STARTTLS);
    const char none[] = "<stream:features " STREAM_NS "><bind "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
    assert_int_equal(xgw_features_tls(none, strlen(none)), XGW_FEATURES_NO_STARTTLS);
}

static void test_filter_strips(void **state)
{
    (void)state;
    struct xgw_buf out;
    xgw_buf_init(&out, 65536);
    assert_int_equal(xgw_features_filter(full, strlen(full), &out), XGW_OK);
    assert_string_equal(out.data,
                        "<stream:features xmlns:stream='http://etherx.jabber.org/streams' "
                        "xmlns='jabber:client'>"
                        "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                        "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>"
                        "</mechanisms><sm xmlns='urn:xmpp:sm:3'/></stream:features>");
    xgw_buf_cleanup(&out);
}

static void test_filter_passthrough(void **state)
{
    (void)state;
    struct xgw_buf out;
    xgw_buf_init(&out, 65536);
    const char clean[] = "<stream:features " STREAM_NS "><mechanisms "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
                         "</mechanisms></stream:features>";
    assert_int_equal(xgw_features_filter(clean, strlen(clean), &out), XGW_EAGAIN);
    assert_int_equal(out.len, 0);
    assert_int_equal(xgw_features_filter("<broken", 7, &out), XGW_EPROTO);
    xgw_buf_cleanup(&out);
}

static void test_sm_resume(void **state)
{
    (void)state;
    const char yes[] = "<enabled xmlns='urn:xmpp:sm:3' id='x' resume='true'/>";
    const char one[] = "<enabled xmlns='urn:xmpp:sm:3' resume='1'/>";
    const char no[] = "<enabled xmlns='urn:xmpp:sm:3'/>";
    assert_true(xgw_features_sm_resume(yes, strlen(yes)));
    assert_true(xgw_features_sm_resume(one, strlen(one)));
    assert_false(xgw_features_sm_resume(no, strlen(no)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_detection),
        cmocka_unit_test(test_filter_strips),
        cmocka_unit_test(test_filter_passthrough),
        cmocka_unit_test(test_sm_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
