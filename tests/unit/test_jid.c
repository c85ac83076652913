/* SPDX-License-Identifier: MIT */
/* Unit tests for JID and domainpart checks (src/xmpp/jid.c, RFC 7622). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/jid.h"

static bool domain_ok(const char *s)
{
    return xgw_jid_domain_valid(s, strlen(s));
}

static bool jid_ok(const char *s)
{
    return xgw_jid_valid(s, strlen(s));
}

/* A string of count copies of c (count < size). */
static char *repeat(char *out, size_t size, char c, size_t count)
{
    assert_true(count < size);
    memset(out, c, count);
    out[count] = '\0';
    return out;
}

static void test_domain_valid_names(void **state)
{
    (void)state;
    assert_true(domain_ok("example.com"));
    assert_true(domain_ok("EXAMPLE.Com"));
    assert_true(domain_ok("localhost"));
    assert_true(domain_ok("a"));
    assert_true(domain_ok("example.com."));
    assert_true(domain_ok("xn--bcher-kva.example"));
    assert_true(domain_ok("under_score.example"));
    assert_true(domain_ok("a-b.c-d.example"));
}

static void test_domain_idn_bytes(void **state)
{
    (void)state;
    assert_true(domain_ok("b\xc3\xbc"
                          "cher.example")); /* bücher */
    assert_true(domain_ok(
        "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88")); /* 例え.テスト */
    assert_true(domain_ok("\xf0\x9f\x98\x80.example"));                    /* U+1F600 */
    assert_false(domain_ok("\xc3\x28.example"));                           /* bad continuation */
    assert_false(domain_ok("\xc0\xaf.example"));                           /* overlong '/' */
    assert_false(domain_ok("\xed\xa0\x80.example"));                       /* surrogate */
    assert_false(domain_ok("\xe2\x82"));                                   /* truncated */
    assert_false(domain_ok("\xf4\x90\x80\x80.example"));                   /* > U+10FFFF */
    assert_false(domain_ok("a\xc2\x85"
                           "b.example")); /* C1 control NEL */
    assert_false(domain_ok("\xff.example"));
}

static void test_domain_ip_literals(void **state)
{
    (void)state;
    assert_true(domain_ok("127.0.0.1"));
    assert_true(domain_ok("192.0.2.255"));
    assert_true(domain_ok("[::1]"));
    assert_true(domain_ok("[2001:db8::1]"));
    assert_true(domain_ok("[::ffff:192.0.2.1]"));
    assert_false(domain_ok("1.2.3"));
    assert_false(domain_ok("1.2.3.999"));
    assert_false(domain_ok("256.1.1.1"));
    assert_false(domain_ok("::1"));
    assert_false(domain_ok("[::1"));
    assert_false(domain_ok("[::1]."));
    assert_false(domain_ok("[example.com]"));
    assert_false(domain_ok("[::1%eth0]"));
    assert_false(domain_ok("[]"));
    assert_false(domain_ok("a[::1]"));
}

static void test_domain_invalid_characters(void **state)
{
    (void)state;
    assert_false(domain_ok(""));
    assert_false(domain_ok("."));
    assert_false(domain_ok(".."));
    assert_false(domain_ok(".example.com"));
    assert_false(domain_ok("example..com"));
    assert_false(domain_ok("example.com.."));
    assert_false(domain_ok("user@example.com"));
    assert_false(domain_ok("example.com/res"));
    assert_false(domain_ok("exa mple.com"));
    assert_false(domain_ok("exa\tmple.com"));
    assert_false(domain_ok("exa\x01mple.com"));
    assert_false(domain_ok("exa\x7fmple.com"));
    assert_false(domain_ok("exa<mple.com"));
    assert_false(domain_ok("example.com:5222"));
    assert_false(xgw_jid_domain_valid("a\0b", 3));
    /* The length is what counts, not a terminator: a prefix of an invalid string is valid. */
    assert_true(xgw_jid_domain_valid("example.com/res", 11));
}

/* A name of exactly len bytes made of 40-byte labels (len + 2 <= size). */
static char *long_domain(char *out, size_t size, size_t len)
{
    assert_true(len + 2 <= size);
    memset(out, 'a', len);
    for (size_t i = 40; i < len - 1; i += 41)
        out[i] = '.';
    out[len] = '\0';
    return out;
}

static void test_domain_length_limits(void **state)
{
    char label[80], name[1100];
    (void)state;
    assert_true(domain_ok(repeat(label, sizeof(label), 'a', 63)));
    assert_false(domain_ok(repeat(label, sizeof(label), 'a', 64)));
    assert_true(domain_ok(long_domain(name, sizeof(name), 1023)));
    name[1023] = '.';
    name[1024] = '\0';
    assert_true(domain_ok(name)); /* one trailing dot does not count */
    assert_false(domain_ok(long_domain(name, sizeof(name), 1024)));
    /* Non-ASCII labels are U-labels: their byte length is not limited to 63. */
    for (size_t i = 0; i < 80; i += 2)
        memcpy(name + i, "\xc3\xbc", 2);
    name[80] = '\0';
    assert_true(domain_ok(name));
}

static void test_jid_valid_forms(void **state)
{
    (void)state;
    assert_true(jid_ok("example.com"));
    assert_true(jid_ok("user@example.com"));
    assert_true(jid_ok("user@example.com/res"));
    assert_true(jid_ok("example.com/res"));
    assert_true(jid_ok("user@example.com/res/with/slashes"));
    assert_true(jid_ok("user@example.com/r@x@y"));
    assert_true(jid_ok("user@example.com/ spaces are fine "));
    assert_true(jid_ok("user@[::1]/r"));
    assert_true(jid_ok("\xc3\xbc@b\xc3\xbc"
                       "cher.example/\xc3\xbc"));
    assert_true(jid_ok("user@example.com./res"));
    /* RFC 7622 §3.1: the first '/' ends the domain, so this is domain "a" with a resource. */
    assert_true(jid_ok("a/b@example.com"));
}

static void test_jid_invalid_forms(void **state)
{
    (void)state;
    assert_false(jid_ok(""));
    assert_false(jid_ok("@example.com"));
    assert_false(jid_ok("user@"));
    assert_false(jid_ok("user@example.com/"));
    assert_false(jid_ok("/res"));
    assert_false(jid_ok("a@b@example.com"));
    assert_false(jid_ok("user@exa mple.com"));
    assert_false(jid_ok("user@example.com/r\x07"));
    assert_false(jid_ok("user@example.com/\xc3"));
    assert_false(jid_ok("\xc3@example.com"));
    assert_false(xgw_jid_valid("user@example.com/r\0x", 20));
}

static void test_jid_localpart_forbidden(void **state)
{
    const char *forbidden = "\"&':<> \t";
    char jid[64];
    (void)state;
    for (const char *c = forbidden; *c; c++) {
        snprintf(jid, sizeof(jid), "us%cer@example.com", *c);
        assert_false(jid_ok(jid));
        snprintf(jid, sizeof(jid), "example.com/us%cer", *c);
        /* The same characters are allowed in a resourcepart, except controls. */
        assert_true(jid_ok(jid) == (*c != '\t'));
    }
    assert_true(jid_ok("us.er+tag_x-y@example.com"));
}

static void test_jid_length_limits(void **state)
{
    char part[1100], jid[2300];
    (void)state;
    repeat(part, sizeof(part), 'l', 1023);
    snprintf(jid, sizeof(jid), "%s@example.com", part);
    assert_true(jid_ok(jid));
    repeat(part, sizeof(part), 'l', 1024);
    snprintf(jid, sizeof(jid), "%s@example.com", part);
    assert_false(jid_ok(jid));
    repeat(part, sizeof(part), 'r', 1023);
    snprintf(jid, sizeof(jid), "u@example.com/%s", part);
    assert_true(jid_ok(jid));
    repeat(part, sizeof(part), 'r', 1024);
    snprintf(jid, sizeof(jid), "u@example.com/%s", part);
    assert_false(jid_ok(jid));
}

static void test_domain_normalize(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(xgw_jid_domain_normalize("Example.COM.", 12, out, sizeof(out)), 11);
    assert_string_equal(out, "example.com");
    assert_int_equal(xgw_jid_domain_normalize("B\xc3\x9c"
                                              "cher.Example",
                                              15, out, sizeof(out)),
                     15);
    assert_string_equal(out, "b\xc3\x9c"
                             "cher.example"); /* non-ASCII bytes unchanged */
    assert_int_equal(xgw_jid_domain_normalize("[2001:DB8::1]", 13, out, sizeof(out)), 13);
    assert_string_equal(out, "[2001:db8::1]");
    /* Only the given length is read. */
    assert_int_equal(xgw_jid_domain_normalize("ABCdef", 3, out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    /* Too small an output: empty result instead of an overflow. */
    assert_int_equal(xgw_jid_domain_normalize("example.com", 11, out, 11), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_valid_names),
        cmocka_unit_test(test_domain_idn_bytes),
        cmocka_unit_test(test_domain_ip_literals),
        cmocka_unit_test(test_domain_invalid_characters),
        cmocka_unit_test(test_domain_length_limits),
        cmocka_unit_test(test_jid_valid_forms),
        cmocka_unit_test(test_jid_invalid_forms),
        cmocka_unit_test(test_jid_localpart_forbidden),
        cmocka_unit_test(test_jid_length_limits),
        cmocka_unit_test(test_domain_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
