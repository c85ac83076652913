/* SPDX-License-Identifier: MIT */
/* Unit tests for xml_framer: exact slicing at every split point, splice, caps, restricted XML,
 * stream restart, back-pressure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/ns.h"
#include "xgw/xml_framer.h"

/* Records every callback as one line in `log`; can pause or reset from inside callbacks. */
struct rec {
    struct xgw_buf log;
    struct xgw_framer *framer;
    unsigned elements;
    unsigned opens;
    unsigned pause_at;    /* pause after this element number (1-based), 0 = never */
    bool pause_every;     /* pause after every element */
    const char *reset_on; /* reset from on_element when this local name arrives */
    bool reset_on_open;   /* reset from on_open */
};

static void log_line(struct rec *r, const char *a, size_t alen, const char *b)
{
    assert_int_equal(xgw_buf_append(&r->log, a, alen), XGW_OK);
    assert_int_equal(xgw_buf_append_str(&r->log, b), XGW_OK);
    assert_int_equal(xgw_buf_append_str(&r->log, "\n"), XGW_OK);
}

static const char *opt(const char *s)
{
    return s ? s : "-";
}

static void rec_open(void *user, const struct xgw_stream_header *h)
{
    struct rec *r = user;
    r->opens++;
    assert_int_equal(xgw_buf_printf(&r->log, "OPEN id=%s from=%s to=%s version=%s lang=%s\n",
                                    opt(h->id), opt(h->from), opt(h->to), opt(h->version),
                                    opt(h->lang)),
                     XGW_OK);
    if (r->reset_on_open)
        xgw_framer_reset(r->framer);
}

static void rec_element(void *user, const char *bytes, size_t len, const char *ns,
                        const char *local)
{
    struct rec *r = user;
    r->elements++;
    assert_int_equal(xgw_buf_printf(&r->log, "ELEM {%s}%s ", ns, local), XGW_OK);
    log_line(r, bytes, len, "");
    if (r->pause_every || r->pause_at == r->elements)
        xgw_framer_pause(r->framer);
    if (r->reset_on && strcmp(local, r->reset_on) == 0)
        xgw_framer_reset(r->framer);
}

static void rec_close(void *user)
{
    struct rec *r = user;
    assert_int_equal(xgw_buf_append_str(&r->log, "CLOSE\n"), XGW_OK);
}

static const struct xgw_framer_ops rec_ops = {rec_open, rec_element, rec_close};

static void rec_init(struct rec *r, size_t max_element_bytes, unsigned max_depth)
{
    memset(r, 0, sizeof(*r));
    xgw_buf_init(&r->log, 1 << 24);
    r->framer = xgw_framer_new(&rec_ops, r, max_element_bytes, max_depth);
    assert_non_null(r->framer);
}

static void rec_cleanup(struct rec *r)
{
    xgw_framer_free(r->framer);
    xgw_buf_cleanup(&r->log);
}

static const char *rec_log(const struct rec *r)
{
    return r->log.data ? r->log.data : "";
}

static void feed_ok(struct rec *r, const char *data, size_t len)
{
    enum xgw_stream_cond cond = XGW_SC_BAD_FORMAT;
    enum xgw_err err = xgw_framer_feed(r->framer, data, len, &cond);
    if (err != XGW_OK)
        fail_msg("feed returned %d cond %s; log so far:\n%s", err, xgw_stream_cond_name(cond),
                 rec_log(r));
    assert_int_equal(cond, XGW_SC_NONE);
}

static void feed_str(struct rec *r, const char *s)
{
    feed_ok(r, s, strlen(s));
}

/* Feeds s in one piece and expects the stream to fail with want (possibly after callbacks). */
static void expect_fail(const char *s, size_t max_element_bytes, unsigned max_depth,
                        enum xgw_stream_cond want)
{
    struct rec r;
    rec_init(&r, max_element_bytes, max_depth);
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = xgw_framer_feed(r.framer, s, strlen(s), &cond);
    if (err != XGW_EPROTO || cond != want)
        fail_msg("'%.70s': err=%d cond=%s, want %s", s, err, xgw_stream_cond_name(cond),
                 xgw_stream_cond_name(want));
    /* a failed framer keeps failing */
    cond = XGW_SC_NONE;
    assert_int_equal(xgw_framer_feed(r.framer, "<a/>", 4, &cond), XGW_EPROTO);
    assert_int_equal(cond, want);
    rec_cleanup(&r);
}

/* ---- the sample stream ---- */

#define HDR                                                                                        \
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "        \
    "xmlns:db='jabber:server:dialback' id='s1' from='example.com' version='1.0' xml:lang='en'>"

static const char sample[] =
    "<?xml version='1.0'?>\n" HDR "\n"
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
    "<x:ext xmlns:x='urn:example:ext'><x:item x:k='v'/></x:ext></stream:features>"
    " \n\t "
    "<message from='a@example.com/r' to='b@example.com' type='chat'>"
    "<body>x &amp; &lt;y&gt; caf\xC3\xA9 \xF0\x9F\x98\x80 &#x1F600;</body></message>"
    "<iq type='result' id='x'/>"
    "\n\n \r\n"
    "<presence xmlns='jabber:client' xml:lang='de'><status>Hallo</status></presence>"
    " "
    "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>&lt;/stream:stream&gt;</text>"
    "</stream:error>"
    "</stream:stream>\n";

#define SPLICE_DB " xmlns:db='jabber:server:dialback'"
#define SPLICE_ST " xmlns:stream='http://etherx.jabber.org/streams'"

static const char sample_expected[] =
    "OPEN id=s1 from=example.com to=- version=1.0 lang=en\n"
    "ELEM {http://etherx.jabber.org/streams}features "
    "<stream:features" SPLICE_ST SPLICE_DB "><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
    "<x:ext xmlns:x='urn:example:ext'><x:item x:k='v'/></x:ext></stream:features>\n"
    "ELEM {jabber:client}message "
    "<message xmlns='jabber:client'" SPLICE_DB " xml:lang='en'"
    " from='a@example.com/r' to='b@example.com' type='chat'>"
    "<body>x &amp; &lt;y&gt; caf\xC3\xA9 \xF0\x9F\x98\x80 &#x1F600;</body></message>\n"
    "ELEM {jabber:client}iq <iq xmlns='jabber:client'" SPLICE_DB " xml:lang='en'"
    " type='result' id='x'/>\n"
    "ELEM {jabber:client}presence <presence" SPLICE_DB " xmlns='jabber:client' xml:lang='de'>"
    "<status>Hallo</status></presence>\n"
    "ELEM {http://etherx.jabber.org/streams}error "
    "<stream:error" SPLICE_ST SPLICE_DB "><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>&lt;/stream:stream&gt;</text>"
    "</stream:error>\n"
    "CLOSE\n";

static void test_sample_one_chunk(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 65536, 32);
    feed_ok(&r, sample, sizeof(sample) - 1);
    assert_string_equal(rec_log(&r), sample_expected);
    rec_cleanup(&r);
}

static void test_sample_every_split(void **state)
{
    (void)state;
    size_t len = sizeof(sample) - 1;
    for (size_t i = 0; i <= len; i++) {
        struct rec r;
        rec_init(&r, 65536, 32);
        feed_ok(&r, sample, i);
        feed_ok(&r, sample + i, len - i);
        if (strcmp(rec_log(&r), sample_expected) != 0)
            fail_msg("split at %zu:\n%s", i, rec_log(&r));
        rec_cleanup(&r);
    }
}

static void test_sample_byte_by_byte(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 65536, 32);
    for (size_t i = 0; i < sizeof(sample) - 1; i++)
        feed_ok(&r, sample + i, 1);
    assert_string_equal(rec_log(&r), sample_expected);
    /* zero-length feeds are harmless */
    feed_ok(&r, "", 0);
    rec_cleanup(&r);
}

/* Byte by byte, every element is delivered as soon as its last byte arrives (no reparse
 * deferral, pitfall 6): after each byte the log equals that of the same prefix fed at once. */
static void test_sample_no_deferral(void **state)
{
    (void)state;
    size_t len = sizeof(sample) - 1;
    struct rec r;
    rec_init(&r, 65536, 32);
    for (size_t i = 1; i <= len; i++) {
        feed_ok(&r, sample + i - 1, 1);
        struct rec once;
        rec_init(&once, 65536, 32);
        feed_ok(&once, sample, i);
        if (strcmp(rec_log(&r), rec_log(&once)) != 0)
            fail_msg("after %zu bytes:\n%s\nvs at once:\n%s", i, rec_log(&r), rec_log(&once));
        rec_cleanup(&once);
    }
    /* the final log is the expected one too */
    assert_string_equal(rec_log(&r), sample_expected);
    rec_cleanup(&r);
}

static void test_sample_three_chunks(void **state)
{
    (void)state;
    size_t len = sizeof(sample) - 1;
    srand(7);
    for (int k = 0; k < 2000; k++) {
        size_t a = (size_t)rand() % (len + 1), b = (size_t)rand() % (len + 1);
        if (a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        struct rec r;
        rec_init(&r, 65536, 32);
        feed_ok(&r, sample, a);
        feed_ok(&r, sample + a, b - a);
        feed_ok(&r, sample + b, len - b);
        if (strcmp(rec_log(&r), sample_expected) != 0)
            fail_msg("split at %zu,%zu:\n%s", a, b, rec_log(&r));
        rec_cleanup(&r);
    }
}

/* ---- stream styles and namespaces ---- */

static void test_prefix_free_stream(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 65536, 32);
    feed_str(&r, "<stream xmlns='http://etherx.jabber.org/streams' version='1.0' id='p'>"
                 "<features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></features>"
                 "<message xmlns='jabber:client'><body>x</body></message>"
                 "<error><foo/></error></stream>");
    assert_string_equal(rec_log(&r), "OPEN id=p from=- to=- version=1.0 lang=-\n"
                                     "ELEM {http://etherx.jabber.org/streams}features <features "
                                     "xmlns='http://etherx.jabber.org/streams'><bind "
                                     "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></features>\n"
                                     "ELEM {jabber:client}message <message xmlns='jabber:client'>"
                                     "<body>x</body></message>\n"
                                     "ELEM {http://etherx.jabber.org/streams}error <error "
                                     "xmlns='http://etherx.jabber.org/streams'><foo/></error>\n"
                                     "CLOSE\n");
    rec_cleanup(&r);
}

static void test_other_prefixes(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 65536, 32);
    /* a stream prefix other than "stream"; a header prefix redeclared on the element; an
     * unprefixed descendant of a prefixed element relying on the header default; a descendant
     * using the stream prefix */
    feed_str(&r, "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' "
                 "xmlns:db='urn:db'>"
                 "<s:features><db:x xmlns:db='urn:other'/><plain/></s:features>"
                 "<iq><s:odd s:attr='1'/></iq>"
                 "<message><db:y/></message>"
                 "<q xmlns='urn:q'><db:z/></q>"
                 "</s:stream>");
    assert_string_equal(rec_log(&r),
                        "OPEN id=- from=- to=- version=- lang=-\n"
                        "ELEM {http://etherx.jabber.org/streams}features <s:features "
                        "xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' "
                        "xmlns:db='urn:db'><db:x xmlns:db='urn:other'/><plain/></s:features>\n"
                        "ELEM {jabber:client}iq <iq xmlns='jabber:client' "
                        "xmlns:s='http://etherx.jabber.org/streams' xmlns:db='urn:db'>"
                        "<s:odd s:attr='1'/></iq>\n"
                        "ELEM {jabber:client}message <message xmlns='jabber:client' "
                        "xmlns:db='urn:db'><db:y/></message>\n"
                        "ELEM {urn:q}q <q xmlns:db='urn:db' xmlns='urn:q'><db:z/></q>\n"
                        "CLOSE\n");
    rec_cleanup(&r);
}

static void test_lang_escaped(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 65536, 32);
    feed_str(&r, "<stream:stream xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' xml:lang=\"a'&amp;b\">"
                 "<message/><presence/><iq/><other/>");
    assert_string_equal(rec_log(&r), "OPEN id=- from=- to=- version=- lang=a'&b\n"
                                     "ELEM {jabber:client}message <message xmlns='jabber:client'"
                                     " xml:lang='a&apos;&amp;b'/>\n"
                                     "ELEM {jabber:client}presence <presence "
                                     "xmlns='jabber:client' xml:lang='a&apos;&amp;b'/>\n"
                                     "ELEM {jabber:client}iq <iq xmlns='jabber:client' "
                                     "xml:lang='a&apos;&amp;b'/>\n"
                                     "ELEM {jabber:client}other <other xmlns='jabber:client'/>\n");
    rec_cleanup(&r);
}

static void test_bad_namespace(void **state)
{
    (void)state;
    expect_fail("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>", 4096, 8,
                XGW_SC_INVALID_NAMESPACE);
    expect_fail("<stream xmlns='jabber:client'>", 4096, 8, XGW_SC_INVALID_NAMESPACE);
    expect_fail("<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>", 4096, 8,
                XGW_SC_INVALID_NAMESPACE);
    expect_fail("<stream:stream xmlns='jabber:client'>", 4096, 8, XGW_SC_NOT_WELL_FORMED);
}

/* ---- errors ---- */

static void test_restricted_xml(void **state)
{
    (void)state;
    expect_fail(HDR "<!-- hi -->", 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail(HDR "<message><!-- hi --></message>", 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail("<!-- hi -->" HDR, 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail(HDR "<?pi x?>", 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail("<?pi x?>" HDR, 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail("<!DOCTYPE stream:stream>" HDR, 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail("<!DOCTYPE s [<!ENTITY e 'x'>]>" HDR, 4096, 8, XGW_SC_RESTRICTED_XML);
    expect_fail(HDR "<message><body>&e;</body></message>", 4096, 8, XGW_SC_RESTRICTED_XML);
}

static void test_other_errors(void **state)
{
    (void)state;
    expect_fail("<?xml version='1.0' encoding='ISO-8859-1'?>" HDR, 4096, 8,
                XGW_SC_UNSUPPORTED_ENCODING);
    expect_fail(HDR "hello", 4096, 8, XGW_SC_BAD_FORMAT);
    expect_fail(HDR " &amp; ", 4096, 8, XGW_SC_BAD_FORMAT);
    expect_fail(HDR "<message></iq>", 4096, 8, XGW_SC_NOT_WELL_FORMED);
    expect_fail(HDR "<p:message/>", 4096, 8, XGW_SC_NOT_WELL_FORMED);
    expect_fail(HDR "<message><body>\xC3\x28</body></message>", 4096, 8,
                XGW_SC_UNSUPPORTED_ENCODING); /* XMPP-16: not UTF-8 */
    expect_fail(HDR "<message><body>\x01</body></message>", 4096, 8, XGW_SC_INVALID_XML);
    expect_fail(HDR "<message><body>&#0;</body></message>", 4096, 8, XGW_SC_INVALID_XML);
    expect_fail(HDR "</stream:stream><message/>", 4096, 8, XGW_SC_NOT_WELL_FORMED);
    expect_fail(HDR "<?xml version='1.0'?>", 4096, 8, XGW_SC_NOT_WELL_FORMED);
}

static void test_element_cap(void **state)
{
    (void)state;
    /* exactly max_element_bytes is fine, one more byte is not */
    const char *el = "<message><body>0123456789</body></message>"; /* 41 bytes */
    size_t n = strlen(el);
    struct rec r;
    rec_init(&r, n, 8);
    feed_str(&r, HDR);
    feed_str(&r, el);
    assert_int_equal(r.elements, 1);
    rec_cleanup(&r);
    char buf[512];
    snprintf(buf, sizeof(buf), HDR "%s", el);
    expect_fail(buf, n - 1, 8, XGW_SC_POLICY_VIOLATION);

    /* an unfinished element fails as soon as it is over the cap, before its end arrives */
    rec_init(&r, 100, 8);
    feed_str(&r, HDR "<message><body>");
    enum xgw_stream_cond cond = XGW_SC_NONE;
    char chunk[40];
    memset(chunk, 'a', sizeof(chunk));
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_OK);
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_OK);
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_EPROTO);
    assert_int_equal(cond, XGW_SC_POLICY_VIOLATION);
    assert_int_equal(r.elements, 0);
    rec_cleanup(&r);

    /* also when the growth is an unfinished nested start tag (no parse event yet) */
    rec_init(&r, 100, 8);
    feed_str(&r, HDR "<message><body x='"); /* 18 bytes of the element */
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_OK);
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_OK);
    assert_int_equal(xgw_framer_feed(r.framer, chunk, sizeof(chunk), &cond), XGW_EPROTO);
    assert_int_equal(cond, XGW_SC_POLICY_VIOLATION);
    rec_cleanup(&r);
}

static void test_pending_cap(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 1 << 20, 8);
    feed_str(&r, HDR "<message to='");
    char *big = xgw_malloc(17 * 1024);
    memset(big, 'a', 17 * 1024);
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = XGW_OK;
    for (size_t i = 0; i < 17 && err == XGW_OK; i++)
        err = xgw_framer_feed(r.framer, big + i * 1024, 1024, &cond);
    assert_int_equal(err, XGW_EPROTO);
    assert_int_equal(cond, XGW_SC_POLICY_VIOLATION);
    rec_cleanup(&r);

    /* long text and long runs of keepalive whitespace are not "pending": they are reported */
    rec_init(&r, 1 << 20, 8);
    feed_str(&r, HDR "<message><body>");
    for (size_t i = 0; i < 40; i++)
        feed_ok(&r, big, 1024);
    feed_str(&r, "</body></message>");
    memset(big, ' ', 17 * 1024);
    for (size_t i = 0; i < 64; i++)
        feed_ok(&r, big, 17 * 1024);
    feed_str(&r, "<iq/>");
    assert_int_equal(r.elements, 2);
    rec_cleanup(&r);
    xgw_free(big);
}

static void test_depth_cap(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 4096, 3);
    feed_str(&r, HDR "<iq><a><b/></a></iq>"); /* depth 3 */
    assert_int_equal(r.elements, 1);
    rec_cleanup(&r);
    expect_fail(HDR "<iq><a><b><c/></b></a></iq>", 4096, 3, XGW_SC_POLICY_VIOLATION);

    /* 10,000 nested elements: refused early, no crash */
    size_t n = 10000;
    char *deep = xgw_malloc(strlen(HDR) + 3 * n + 1);
    strcpy(deep, HDR);
    for (size_t i = 0; i < n; i++)
        memcpy(deep + strlen(HDR) + 3 * i, "<e>", 3);
    deep[strlen(HDR) + 3 * n] = '\0';
    expect_fail(deep, 1 << 20, 64, XGW_SC_POLICY_VIOLATION);
    xgw_free(deep);
}

/* ---- restart ---- */

#define TLS_PART                                                                                   \
    HDR "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"   \
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

static const char restart_expected[] =
    "OPEN id=s1 from=example.com to=- version=1.0 lang=en\n"
    "ELEM {http://etherx.jabber.org/streams}features <stream:features" SPLICE_ST SPLICE_DB
    "><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>\n"
    "ELEM {urn:ietf:params:xml:ns:xmpp-tls}proceed <proceed" SPLICE_DB
    " xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
    "OPEN id=s2 from=example.com to=- version=1.0 lang=-\n"
    "ELEM {jabber:client}message <message xmlns='jabber:client'><body>after</body></message>\n";

#define SECOND_STREAM                                                                              \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' id='s2' from='example.com' version='1.0'>"    \
    "<message><body>after</body></message>"

static void test_restart_outside_callback(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 4096, 8);
    feed_str(&r, "<?xml version='1.0'?>" TLS_PART);
    xgw_framer_reset(r.framer);
    feed_str(&r, SECOND_STREAM);
    assert_string_equal(rec_log(&r), restart_expected);
    /* a reset while a stanza is half parsed also starts clean */
    feed_str(&r, "<message><bo");
    xgw_framer_reset(r.framer);
    xgw_buf_reset(&r.log);
    feed_str(&r, SECOND_STREAM);
    assert_string_equal(rec_log(&r), "OPEN id=s2 from=example.com to=- version=1.0 lang=-\n"
                                     "ELEM {jabber:client}message <message xmlns='jabber:client'>"
                                     "<body>after</body></message>\n");
    rec_cleanup(&r);
}

static void test_restart_inside_callback(void **state)
{
    (void)state;
    /* plaintext sent after <proceed/> in the same read is discarded */
    const char *input = "<?xml version='1.0'?>" TLS_PART "<message><body>injected</body>"
                        "</message><stream:stream";
    size_t len = strlen(input);
    size_t proceed_end = strlen("<?xml version='1.0'?>" TLS_PART);
    /* every split that puts the end of <proceed/> into the second feed */
    for (size_t split = 0; split < proceed_end; split++) {
        struct rec r;
        rec_init(&r, 4096, 8);
        r.reset_on = "proceed";
        feed_ok(&r, input, split);
        feed_ok(&r, input + split, len - split);
        r.reset_on = NULL;
        feed_str(&r, SECOND_STREAM);
        if (strcmp(rec_log(&r), restart_expected) != 0)
            fail_msg("split %zu:\n%s", split, rec_log(&r));
        rec_cleanup(&r);
    }
    /* one chunk, and a reset requested from on_open */
    struct rec r;
    rec_init(&r, 4096, 8);
    r.reset_on = "proceed";
    feed_str(&r, "<?xml version='1.0'?>" TLS_PART "<message><body>injected</body></message>");
    assert_null(strstr(rec_log(&r), "injected"));
    r.reset_on = NULL;
    r.reset_on_open = true;
    feed_str(&r, SECOND_STREAM);
    assert_int_equal(r.opens, 2);
    assert_null(strstr(rec_log(&r), "after"));
    r.reset_on_open = false;
    feed_str(&r, SECOND_STREAM);
    assert_int_equal(r.opens, 3);
    assert_non_null(strstr(rec_log(&r), "<body>after</body>"));
    rec_cleanup(&r);
}

/* ---- back-pressure ---- */

#define THREE                                                                                      \
    "<message id='1'/><message id='2'><body>two</body></message>"                                  \
    "<message id='3'/>"

static const char three_expected[] =
    "ELEM {jabber:client}message <message xmlns='jabber:client'" SPLICE_DB
    " xml:lang='en' id='1'/>\n"
    "ELEM {jabber:client}message <message xmlns='jabber:client'" SPLICE_DB
    " xml:lang='en' id='2'><body>two</body></message>\n"
    "ELEM {jabber:client}message <message xmlns='jabber:client'" SPLICE_DB
    " xml:lang='en' id='3'/>\n";

static void test_pause_resume(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 4096, 8);
    feed_str(&r, HDR);
    xgw_buf_reset(&r.log);
    r.pause_at = 1;
    enum xgw_stream_cond cond = XGW_SC_BAD_FORMAT;
    assert_int_equal(xgw_framer_feed(r.framer, THREE, strlen(THREE), &cond), XGW_EAGAIN);
    assert_int_equal(cond, XGW_SC_NONE);
    assert_true(xgw_framer_is_paused(r.framer));
    assert_int_equal(r.elements, 1);
    /* bytes given while paused are kept for later */
    assert_int_equal(xgw_framer_feed(r.framer, "<iq/>", 5, &cond), XGW_EAGAIN);
    assert_int_equal(r.elements, 1);
    assert_int_equal(xgw_framer_resume(r.framer, &cond), XGW_OK);
    assert_false(xgw_framer_is_paused(r.framer));
    assert_int_equal(r.elements, 4);
    char want[2048];
    snprintf(want, sizeof(want),
             "%sELEM {jabber:client}iq <iq xmlns='jabber:client'" SPLICE_DB " xml:lang='en'/>\n",
             three_expected);
    assert_string_equal(rec_log(&r), want);
    rec_cleanup(&r);
}

static void test_pause_every_element(void **state)
{
    (void)state;
    size_t hdr = strlen(HDR), len = hdr + strlen(THREE);
    char input[2048];
    snprintf(input, sizeof(input), HDR THREE);
    for (size_t split = hdr; split <= len; split++) {
        struct rec r;
        rec_init(&r, 4096, 8);
        r.pause_every = true;
        enum xgw_stream_cond cond;
        enum xgw_err err = xgw_framer_feed(r.framer, input, split, &cond);
        unsigned resumes = 0;
        bool second_fed = false;
        for (;;) {
            if (err == XGW_EAGAIN) {
                err = xgw_framer_resume(r.framer, &cond);
                resumes++;
                continue;
            }
            assert_int_equal(err, XGW_OK);
            if (second_fed)
                break;
            second_fed = true;
            err = xgw_framer_feed(r.framer, input + split, len - split, &cond);
        }
        assert_int_equal(resumes, 3);
        const char *log = rec_log(&r);
        const char *nl = strchr(log, '\n');
        assert_non_null(nl);
        if (strcmp(nl + 1, three_expected) != 0)
            fail_msg("split %zu:\n%s", split, log);
        rec_cleanup(&r);
    }
}

static void test_pause_then_reset(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 4096, 8);
    r.pause_at = 1;
    enum xgw_stream_cond cond;
    assert_int_equal(xgw_framer_feed(r.framer, HDR THREE, strlen(HDR THREE), &cond), XGW_EAGAIN);
    xgw_framer_reset(r.framer);
    assert_false(xgw_framer_is_paused(r.framer));
    r.pause_at = 0;
    xgw_buf_reset(&r.log);
    feed_str(&r, SECOND_STREAM);
    assert_string_equal(rec_log(&r), "OPEN id=s2 from=example.com to=- version=1.0 lang=-\n"
                                     "ELEM {jabber:client}message <message xmlns='jabber:client'>"
                                     "<body>after</body></message>\n");
    rec_cleanup(&r);
}

static void test_failed_then_reset(void **state)
{
    (void)state;
    struct rec r;
    rec_init(&r, 4096, 8);
    enum xgw_stream_cond cond;
    assert_int_equal(xgw_framer_feed(r.framer, HDR "<!--x-->", strlen(HDR "<!--x-->"), &cond),
                     XGW_EPROTO);
    assert_int_equal(xgw_framer_resume(r.framer, &cond), XGW_EPROTO);
    assert_int_equal(cond, XGW_SC_RESTRICTED_XML);
    xgw_framer_reset(r.framer);
    xgw_buf_reset(&r.log);
    feed_str(&r, SECOND_STREAM);
    assert_non_null(strstr(rec_log(&r), "<body>after</body>"));
    rec_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_one_chunk),
        cmocka_unit_test(test_sample_every_split),
        cmocka_unit_test(test_sample_byte_by_byte),
        cmocka_unit_test(test_sample_no_deferral),
        cmocka_unit_test(test_sample_three_chunks),
        cmocka_unit_test(test_prefix_free_stream),
        cmocka_unit_test(test_other_prefixes),
        cmocka_unit_test(test_lang_escaped),
        cmocka_unit_test(test_bad_namespace),
        cmocka_unit_test(test_restricted_xml),
        cmocka_unit_test(test_other_errors),
        cmocka_unit_test(test_element_cap),
        cmocka_unit_test(test_pending_cap),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_restart_outside_callback),
        cmocka_unit_test(test_restart_inside_callback),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_pause_every_element),
        cmocka_unit_test(test_pause_then_reset),
        cmocka_unit_test(test_failed_then_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
