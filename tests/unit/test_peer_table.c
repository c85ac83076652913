/* SPDX-License-Identifier: MIT */
/* Unit tests for the per-address session counts (src/session/peer_table.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "xgw/peer_table.h"

static void test_counts(void **state)
{
    struct xgw_peer_table t = {0};
    (void)state;
    assert_int_equal(xgw_peer_table_count(&t, "192.0.2.1"), 0);
    xgw_peer_table_add(&t, "192.0.2.1");
    xgw_peer_table_add(&t, "192.0.2.1");
    xgw_peer_table_add(&t, "2001:db8::1");
    assert_int_equal(xgw_peer_table_count(&t, "192.0.2.1"), 2);
    assert_int_equal(xgw_peer_table_count(&t, "2001:db8::1"), 1);
    assert_int_equal(xgw_peer_table_count(&t, "192.0.2.10"), 0);
    assert_int_equal(t.entries, 2);
    xgw_peer_table_remove(&t, "192.0.2.1");
    assert_int_equal(xgw_peer_table_count(&t, "192.0.2.1"), 1);
    xgw_peer_table_remove(&t, "192.0.2.1");
    xgw_peer_table_remove(&t, "2001:db8::1");
    /* Empty again: the buckets are gone (nothing to clean up, nothing leaks). */
    assert_int_equal(t.entries, 0);
    assert_null(t.buckets);
    xgw_peer_table_remove(&t, "192.0.2.1"); /* tolerated */
    assert_int_equal(xgw_peer_table_count(&t, "192.0.2.1"), 0);
}

/* Many addresses, several per bucket: counts stay exact and removal in any order empties it. */
static void test_many(void **state)
{
    struct xgw_peer_table t = {0};
    char addr[64];
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 10000; i++) {
            snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
            xgw_peer_table_add(&t, addr);
        }
    assert_int_equal(t.entries, 10000);
    for (int i = 0; i < 10000; i += 997) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(xgw_peer_table_count(&t, addr), 3);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 9999; i >= 0; i--) {
            snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
            xgw_peer_table_remove(&t, addr);
        }
    assert_int_equal(t.entries, 0);
    assert_null(t.buckets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
