/* SPDX-License-Identifier: MIT */
/* Unit tests for address ranges (src/config/cidr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xgw/cidr.h"

static void test_parse(void **state)
{
    struct xgw_cidr c;
    (void)state;
    static const char *const good[] = {"10.0.0.0/8",    "127.0.0.0/8", "192.0.2.7",
                                       "0.0.0.0/0",     "::1/128",     "::1",
                                       "2001:db8::/32", "::/0",        "192.0.2.128/25"};
    static const char *const bad[] = {"",
                                      "10.0.0.1/8",
                                      "10.0.0.0/33",
                                      "::1/129",
                                      "10/8",
                                      "10.0.0.0/",
                                      "10.0.0.0/8x",
                                      "example.org",
                                      "2001:db8::1/32",
                                      "::ffff:127.0.0.1",
                                      "10.0.0.0/-1",
                                      " 10.0.0.0/8",
                                      "192.0.2.129/25"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(xgw_cidr_parse(good[i], &c));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (xgw_cidr_parse(bad[i], &c))
            fail_msg("accepted \"%s\"", bad[i]);
}

static void test_contains(void **state)
{
    struct xgw_cidr list[4];
    (void)state;
    assert_true(xgw_cidr_parse("127.0.0.0/8", &list[0]));
    assert_true(xgw_cidr_parse("::1/128", &list[1]));
    assert_true(xgw_cidr_parse("10.20.0.0/14", &list[2]));
    assert_true(xgw_cidr_parse("2001:db8:1::/48", &list[3]));
    static const char *const in[] = {"127.0.0.1",        "127.255.1.2",        "::1",
                                     "::ffff:127.0.0.1", "10.20.0.1",          "10.23.255.255",
                                     "2001:db8:1::5",    "2001:db8:1:ffff::1", "::ffff:10.21.3.4"};
    static const char *const out[] = {
        "128.0.0.1", "10.24.0.0", "10.19.255.255", "::2",        "2001:db8:2::1",
        "192.0.2.1", "",          "not-an-ip",     "127.0.0.1 ", "::ffff:10.24.0.1"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        if (!xgw_cidr_list_contains(list, 4, in[i]))
            fail_msg("\"%s\" should be inside", in[i]);
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
        if (xgw_cidr_list_contains(list, 4, out[i]))
            fail_msg("\"%s\" should be outside", out[i]);
    assert_false(xgw_cidr_list_contains(list, 0, "127.0.0.1"));
    assert_false(xgw_cidr_list_contains(list, 4, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_contains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
