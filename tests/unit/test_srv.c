/* SPDX-License-Identifier: MIT */
/* Unit tests for SRV target ordering (src/xmpp/srv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/srv.h"

static struct xgw_srv_target rec(uint16_t prio, uint16_t weight, const char *host)
{
    struct xgw_srv_target t = {.priority = prio, .weight = weight, .port = 5222};
    snprintf(t.host, sizeof(t.host), "%s", host);
    return t;
}

static unsigned pick_zero(void *ctx, unsigned bound)
{
    (void)ctx;
    (void)bound;
    return 0;
}

static unsigned pick_max(void *ctx, unsigned bound)
{
    (void)ctx;
    return bound;
}

/* A small deterministic generator for the distribution test. */
static unsigned pick_lcg(void *ctx, unsigned bound)
{
    uint32_t *state = ctx;
    *state = *state * 1664525u + 1013904223u;
    return (unsigned)((*state >> 8) % (bound + 1));
}

static void test_priority_first(void **state)
{
    (void)state;
    struct xgw_srv_target t[] = {rec(20, 0, "c"), rec(10, 5, "a"), rec(30, 1, "d"),
                                 rec(10, 5, "b")};
    xgw_srv_order(t, 4, pick_zero, NULL);
    assert_string_equal(t[2].host, "c");
    assert_string_equal(t[3].host, "d");
    assert_int_equal(t[0].priority, 10);
    assert_int_equal(t[1].priority, 10);
}

static void test_weights(void **state)
{
    (void)state;
    /* rand 0: the running sum reaches 0 at the first record, the zero-weight one. */
    struct xgw_srv_target a[] = {rec(10, 60, "big"), rec(10, 0, "zero"), rec(10, 40, "small")};
    xgw_srv_order(a, 3, pick_zero, NULL);
    assert_string_equal(a[0].host, "zero");
    /* rand = sum: the last one with weight reaches it. */
    struct xgw_srv_target b[] = {rec(10, 60, "big"), rec(10, 0, "zero"), rec(10, 40, "small")};
    xgw_srv_order(b, 3, pick_max, NULL);
    assert_string_equal(b[0].host, "small");
    /* Over many draws the heavy record comes first about 3 times in 4. */
    unsigned heavy_first = 0;
    uint32_t seed = 12345;
    for (int i = 0; i < 4000; i++) {
        struct xgw_srv_target c[] = {rec(5, 75, "heavy"), rec(5, 25, "light")};
        xgw_srv_order(c, 2, pick_lcg, &seed);
        heavy_first += strcmp(c[0].host, "heavy") == 0;
        assert_string_not_equal(c[0].host, c[1].host); /* a permutation */
    }
    assert_in_range(heavy_first, 2800, 3200);
}

static void test_no_service(void **state)
{
    (void)state;
    struct xgw_srv_target dot[] = {rec(0, 0, ".")};
    assert_true(xgw_srv_no_service(dot, 1));
    struct xgw_srv_target two[] = {rec(0, 0, "."), rec(5, 0, "x")};
    assert_false(xgw_srv_no_service(two, 2));
    struct xgw_srv_target one[] = {rec(0, 0, "xmpp.example")};
    assert_false(xgw_srv_no_service(one, 1));
    assert_false(xgw_srv_no_service(one, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_first),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_no_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
