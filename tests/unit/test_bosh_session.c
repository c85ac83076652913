/* SPDX-License-Identifier: MIT */
/* The BOSH session state machine (XEP-0124 + XEP-0206) over a fake clock, a fake io host that
 * records every response and timer, and a fake upstream under the real session core. Test names
 * carry the checklist IDs they cover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/bosh_session.h"
#include "xgw/buf.h"
#include "xgw/gateway.h"
#include "xgw/log.h"
#include "xgw/session.h"
#include "xgw/upstream_conn.h"

#define NS_HB      "xmlns='http://jabber.org/protocol/httpbind'"
#define NS_XB      "xmlns:xmpp='urn:xmpp:xbosh'"
#define NS_ST      "xmlns:stream='http://etherx.jabber.org/streams'"
#define EMPTY      "<body " NS_HB "/>"
#define T_(cond)   "<body type='terminate' condition='" cond "' " NS_HB "/>"
#define ERROR_BODY "<body type='error' " NS_HB "/>"
#define CTYPE      "text/xml; charset=utf-8"

#define HDR(id)                                                                                    \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='" id "' "              \
    "version='1.0' xml:lang='en'>"
#define SASL_FEATURES                                                                              \
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"                       \
    "<mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>PLAIN</mechanism></mechanisms>"             \
    "</stream:features>"
#define SASL_FEATURES_OUT                                                                          \
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>"      \
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"            \
    "</mechanisms></stream:features>"
#define MSG(id) "<message from='a@example.com' id='" id "'><body>hi</body></message>"
#define MSG_OUT(id)                                                                                \
    "<message xmlns='jabber:client' xml:lang='en' from='a@example.com' id='" id "'><body>hi"       \
    "</body></message>"
#define HEADER_UP                                                                                  \
    "<?xml version='1.0'?><stream:stream to='example.com' version='1.0' xml:lang='en' "            \
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

/* ---- SHA-1 (FIPS 180-4) for the key-sequencing host op; the unit tests link no OpenSSL ---- */

static uint32_t rol(uint32_t v, unsigned n)
{
    return (v << n) | (v >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void sha1_hex(const char *data, size_t len, char out[41])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    unsigned char block[64];
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha1_block(h, (const unsigned char *)data + i);
    size_t rest = len - i;
    memset(block, 0, sizeof(block));
    memcpy(block, data + i, rest);
    block[rest] = 0x80;
    if (rest >= 56) {
        sha1_block(h, block);
        memset(block, 0, sizeof(block));
    }
    uint64_t bits = (uint64_t)len * 8;
    for (int j = 0; j < 8; j++)
        block[63 - j] = (unsigned char)(bits >> (8 * j));
    sha1_block(h, block);
    for (int j = 0; j < 5; j++)
        snprintf(out + 8 * j, 9, "%08x", h[j]);
}

/* ---- fake upstream (as in test_session.c) --------------------------------------------------- */

struct xgw_upstream_conn {
    struct xgw_session *session;
    struct xgw_buf written;
    bool tls, closed, graceful, paused;
};

#define MAX_UPS 128
static struct xgw_upstream_conn *ups[MAX_UPS];
static size_t up_count;

static struct xgw_upstream_conn *f_connect(struct xgw_gateway *gw, struct xgw_session *s,
                                           const struct xgw_route *route)
{
    (void)gw;
    (void)route;
    assert_true(up_count < MAX_UPS);
    struct xgw_upstream_conn *c = xgw_calloc(1, sizeof(*c));
    c->session = s;
    xgw_buf_init(&c->written, 1 << 20);
    ups[up_count++] = c;
    return c;
}

static enum xgw_err f_write(struct xgw_upstream_conn *c, const char *data, size_t len)
{
    return c->closed ? XGW_EIO : xgw_buf_append(&c->written, data, len);
}

static enum xgw_err f_start_tls(struct xgw_upstream_conn *c)
{
    (void)c;
    return XGW_OK;
}

static bool f_is_tls(const struct xgw_upstream_conn *c)
{
    return c->tls;
}

static bool f_is_loopback(const struct xgw_upstream_conn *c)
{
    (void)c;
    return true;
}

static void f_ready(struct xgw_upstream_conn *c)
{
    (void)c;
}

static void f_set_timeout(struct xgw_upstream_conn *c, unsigned timeout_s)
{
    (void)c;
    (void)timeout_s;
}

static void f_pause(struct xgw_upstream_conn *c)
{
    c->paused = true;
}

static void f_resume(struct xgw_upstream_conn *c)
{
    c->paused = false;
}

static void f_close(struct xgw_upstream_conn *c, bool graceful)
{
    c->closed = true;
    c->graceful = graceful;
}

static const char *f_peer(const struct xgw_upstream_conn *c)
{
    (void)c;
    return "127.0.0.1:5222";
}

static const struct xgw_upstream_ops fake_upstream = {
    .connect = f_connect,
    .write = f_write,
    .start_tls = f_start_tls,
    .is_tls = f_is_tls,
    .is_loopback = f_is_loopback,
    .ready = f_ready,
    .set_timeout = f_set_timeout,
    .pause_read = f_pause,
    .resume_read = f_resume,
    .close = f_close,
    .peer = f_peer,
};

/* ---- fake io host ------------------------------------------------------------------------- */

#define MAX_CONNS  512
#define MAX_TIMERS 256

struct xgw_bosh_conn {
    int id;
    bool answered, gone, dropped;
    unsigned status;
    char content_type[128];
    char *body; /* owned */
    int order;  /* position among all responses */
};

struct timer {
    struct xgw_bosh_session *bs;
    uint64_t deadline;
};

struct fixture {
    struct xgw_config cfg;
    struct xgw_gateway gw;
    struct xgw_bosh_settings settings;
    struct xgw_bosh *bosh;
    struct xgw_bosh_conn conns[MAX_CONNS];
    int conn_count;
    int responses;
    struct timer timers[MAX_TIMERS];
    size_t released;
    uint64_t now;
    char sid[64];
    uint64_t rid; /* the last rid sent */
    bool secure;  /* requests arrive over TLS */
};

static struct fixture *fx; /* the host ops find the fixture here */

static void h_respond(void *host, struct xgw_bosh_conn *conn, unsigned status,
                      const char *content_type, const char *body, size_t len)
{
    (void)host;
    if (conn->answered || conn->gone || conn->dropped)
        fail_msg("conn %d answered twice (or after it was gone or dropped)", conn->id);
    conn->answered = true;
    conn->status = status;
    snprintf(conn->content_type, sizeof(conn->content_type), "%s", content_type);
    conn->body = xgw_strndup(body, len);
    conn->order = fx->responses++;
}

static struct timer *timer_of(struct xgw_bosh_session *bs)
{
    for (size_t i = 0; i < MAX_TIMERS; i++)
        if (fx->timers[i].bs == bs)
            return &fx->timers[i];
    return NULL;
}

static void h_schedule(void *host, struct xgw_bosh_session *bs, uint64_t deadline)
{
    (void)host;
    struct timer *t = timer_of(bs);
    if (deadline == UINT64_MAX) {
        if (t)
            t->bs = NULL;
        return;
    }
    if (!t)
        t = timer_of(NULL);
    assert_non_null(t);
    t->bs = bs;
    t->deadline = deadline;
}

static void h_released(void *host, struct xgw_bosh_session *bs)
{
    (void)host;
    struct timer *t = timer_of(bs);
    if (t)
        t->bs = NULL;
    fx->released++;
}

static void h_drop(void *host, struct xgw_bosh_conn *conn)
{
    (void)host;
    if (conn->answered || conn->dropped)
        fail_msg("conn %d dropped after an answer (or twice)", conn->id);
    conn->dropped = true;
}

static const struct xgw_bosh_host_ops host_ops = {
    .respond = h_respond,
    .schedule = h_schedule,
    .released = h_released,
    .drop = h_drop,
    .sha1_hex = sha1_hex,
};

/* Fires every timer that is due now (one-shot, like a libuv timer), until none is. */
static void run(struct fixture *f)
{
    for (int rounds = 0;; rounds++) {
        assert_true(rounds < 1000);
        struct timer *due = NULL;
        for (size_t i = 0; i < MAX_TIMERS; i++)
            if (f->timers[i].bs && f->timers[i].deadline <= f->now)
                due = &f->timers[i];
        if (!due)
            return;
        struct xgw_bosh_session *bs = due->bs;
        due->bs = NULL;
        xgw_bosh_session_tick(bs, f->now);
    }
}

static void advance(struct fixture *f, uint64_t ms)
{
    f->now += ms;
    run(f);
}

/* ---- fixture ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    struct fixture *f = xgw_calloc(1, sizeof(*f));
    fx = f;
    xgw_config_init_defaults(&f->cfg);
    struct xgw_route r;
    assert_int_equal(xgw_route_parse("example.com=127.0.0.1:5222", &r), XGW_OK);
    f->cfg.routes = xgw_calloc(1, sizeof(r));
    f->cfg.routes[0] = r;
    f->cfg.route_count = 1;
    f->gw.cfg = &f->cfg;
    f->gw.upstream = &fake_upstream;
    f->settings = (struct xgw_bosh_settings){.max_wait_s = 30,
                                             .default_wait_s = 20,
                                             .max_hold = 1,
                                             .inactivity_s = 30,
                                             .polling_s = 2,
                                             .maxpause_s = 120,
                                             .max_body_bytes = 65536};
    f->bosh = xgw_bosh_new(&f->gw, &f->settings, &host_ops, NULL);
    f->now = 1000000;
    for (int i = 0; i < MAX_CONNS; i++)
        f->conns[i].id = i;
    up_count = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    xgw_bosh_free(f->bosh);
    for (size_t i = 0; i < up_count; i++) {
        struct xgw_session *s = ups[i]->session;
        xgw_buf_cleanup(&ups[i]->written);
        xgw_free(ups[i]);
        xgw_session_upstream_released(s);
    }
    xgw_gateway_sweep(&f->gw);
    assert_int_equal(f->gw.session_count, 0);
    /* Every request was answered exactly once (or its client left). */
    for (int i = 0; i < f->conn_count; i++) {
        if (!f->conns[i].answered && !f->conns[i].gone && !f->conns[i].dropped)
            fail_msg("conn %d never answered", i);
        xgw_free(f->conns[i].body);
    }
    xgw_config_cleanup(&f->cfg);
    xgw_free(f);
    fx = NULL;
    return 0;
}

/* Posts a body on a new connection; returns the connection's index. */
static int post(struct fixture *f, const char *fmt, ...) XGW_PRINTF(2, 3);
static int post(struct fixture *f, const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(body));
    assert_true(f->conn_count < MAX_CONNS);
    int id = f->conn_count++;
    xgw_bosh_handle(f->bosh, &f->conns[id], body, (size_t)n, "192.0.2.7", f->secure, f->now);
    return id;
}

/* A request on the current session with an explicit rid. */
static int req_rid(struct fixture *f, uint64_t rid, const char *attrs, const char *payload)
{
    return post(f, "<body rid='%llu' sid='%s' %s " NS_HB " " NS_XB ">%s</body>",
                (unsigned long long)rid, f->sid, attrs, payload);
}

/* The next request in rid order. */
static int req(struct fixture *f, const char *attrs, const char *payload)
{
    return req_rid(f, ++f->rid, attrs, payload);
}

static const char *answer(struct fixture *f, int c)
{
    return f->conns[c].answered ? f->conns[c].body : NULL;
}

static struct xgw_upstream_conn *up(void)
{
    assert_true(up_count > 0);
    return ups[up_count - 1];
}

static void server(struct fixture *f, const char *text)
{
    xgw_session_upstream_data(up()->session, text, strlen(text));
    run(f); /* the io layer's immediate tick */
}

static const char *written(void)
{
    return up()->written.data ? up()->written.data : "";
}

static void take_sid(struct fixture *f, const char *body)
{
    const char *p = strstr(body, "sid='");
    assert_non_null(p);
    p += 5;
    size_t len = strcspn(p, "'");
    assert_true(len < sizeof(f->sid));
    memcpy(f->sid, p, len);
    f->sid[len] = '\0';
}

/* Creation request (rid 1000) with extra attributes; the session is created but held. */
static int create(struct fixture *f, const char *attrs)
{
    f->rid = 1000;
    return post(f, "<body rid='1000' to='example.com' xml:lang='en' " NS_HB " " NS_XB " %s/>",
                attrs);
}

/* A session whose creation response (with features) has arrived; upstream writes cleared. */
static int open_session(struct fixture *f, const char *attrs)
{
    int c = create(f, attrs);
    xgw_session_upstream_connected(up()->session);
    server(f, HDR("s1") SASL_FEATURES);
    assert_non_null(answer(f, c));
    take_sid(f, answer(f, c));
    xgw_buf_reset(&up()->written);
    return c;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- creation ------------------------------------------------------------------------------ */

/* XEP206-03/04/05/06, BOSH-24..31, TD-2: held until the post-TLS features, then every creation
 * attribute, from/authid/xmpp:version and the filtered features. */
static void test_creation_held_until_features(void **state)
{
    struct fixture *f = *state;
    int c = create(f, "ver='1.10' wait='60' hold='5'");
    assert_null(answer(f, c));
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    xgw_session_upstream_connected(up()->session);
    /* TD-1, BOSH-35, XEP206-01: header from 'to' and xml:lang, version 1.0. */
    assert_string_equal(written(), HEADER_UP);
    advance(f, 5000);
    assert_null(answer(f, c));
    server(f, HDR("s1") SASL_FEATURES);
    assert_non_null(answer(f, c));
    take_sid(f, answer(f, c));
    assert_int_equal(strlen(f->sid), 34); /* 2 loop digits + 128 random bits (BOSH-21) */
    char want[2048];
    snprintf(want, sizeof(want),
             "<body sid='%s' wait='30' requests='2' hold='1' inactivity='30' polling='2' "
             "maxpause='120' ver='1.10' from='example.com' authid='s1' xmpp:version='1.0' "
             "xmpp:restartlogic='true' " NS_HB " " NS_XB " " NS_ST ">" SASL_FEATURES_OUT "</body>",
             f->sid);
    assert_string_equal(answer(f, c), want);
    assert_int_equal(f->conns[c].status, 200);
    assert_string_equal(f->conns[c].content_type, CTYPE); /* BOSH-04 */
}

/* CM-02, E-15: at wait expiry the creation response goes out with sid and no features; the
 * features (with from/authid/xmpp:version, XEP206-03) come on the next request. */
static void test_creation_wait_expiry_then_features(void **state)
{
    struct fixture *f = *state;
    int c = create(f, "ver='1.6' wait='5'");
    xgw_session_upstream_connected(up()->session);
    advance(f, 4999);
    assert_null(answer(f, c));
    advance(f, 1);
    assert_non_null(answer(f, c));
    take_sid(f, answer(f, c));
    char want[1024];
    snprintf(want, sizeof(want),
             "<body sid='%s' wait='5' requests='2' hold='1' inactivity='30' polling='2' "
             "maxpause='120' ver='1.6' xmpp:restartlogic='true' " NS_HB " " NS_XB "/>",
             f->sid);
    assert_string_equal(answer(f, c), want);
    int r1 = req(f, "", "");
    assert_null(answer(f, r1));
    server(f, HDR("s1") SASL_FEATURES);
    assert_string_equal(answer(f, r1),
                        "<body from='example.com' authid='s1' xmpp:version='1.0' " NS_HB " " NS_XB
                        " " NS_ST ">" SASL_FEATURES_OUT "</body>");
    /* BOSH-33: no creation attributes on later responses. */
    assert_null(strstr(answer(f, r1), "sid="));
}

/* TERM-03, BOSH-22: unknown domain -> T(host-unknown), no upstream, session released. */
static void test_creation_host_unknown(void **state)
{
    struct fixture *f = *state;
    int c = post(f, "<body rid='5' to='other.example' ver='1.11' " NS_HB "/>");
    assert_string_equal(answer(f, c), T_("host-unknown"));
    assert_int_equal(up_count, 0);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_int_equal(f->released, 1);
    /* TERM-04: no 'to'. */
    c = post(f, "<body rid='5' ver='1.11' " NS_HB "/>");
    assert_string_equal(answer(f, c), T_("improper-addressing"));
    /* TERM-09/CM-03: the connect fails. */
    c = create(f, "ver='1.11'");
    xgw_session_upstream_failed(up()->session, XGW_SC_REMOTE_CONNECTION_FAILED, "refused");
    run(f);
    assert_string_equal(answer(f, c), T_("remote-connection-failed"));
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
}

/* BOSH-76, TERM-12: the core refuses new sessions. */
static void test_creation_refused(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_sessions = 0;
    int c = create(f, "ver='1.11' content='text/plain'");
    assert_string_equal(answer(f, c),
                        "<body type='terminate' condition='undefined-condition' " NS_HB " " NS_ST
                        "><text xmlns='urn:xmppgw:bosh'>session limit "
                        "reached</text></body>");
    assert_string_equal(f->conns[c].content_type, "text/plain");
    f->cfg.max_sessions = 10;
    f->gw.shutting_down = true;
    c = create(f, "ver='1.11'");
    assert_string_equal(answer(f, c), T_("system-shutdown"));
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_int_equal(f->released, 0); /* never shown to the host */
    /* A 'content' that would inject a header line is refused. */
    f->gw.shutting_down = false;
    c = create(f, "content='text/xml&#13;&#10;X-Evil: 1'");
    assert_string_equal(answer(f, c), T_("bad-request"));
}

/* ---- holds and delivery -------------------------------------------------------------------- */

/* BOSH-37: hold=1; a new request answers the older held one at once, payload goes upstream. */
static void test_hold_rule(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10' hold='1'");
    int r1 = req(f, "", "");
    assert_null(answer(f, r1));
    int r2 = req(f, "", "<message to='b@example.com'><body>x</body></message>");
    assert_string_equal(answer(f, r1), EMPTY);
    assert_null(answer(f, r2));
    /* TD-4: unqualified BOSH payload written as plain jabber:client. */
    assert_string_equal(written(), "<message to='b@example.com'><body>x</body></message>");
}

/* BOSH-39/40: answered empty at wait expiry, not before. */
static void test_wait_expiry(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    advance(f, 9999);
    assert_null(answer(f, r1));
    advance(f, 1);
    assert_string_equal(answer(f, r1), EMPTY);
}

/* BOSH-41/42, XEP206-07, BOSH-16: data on the held request at once; without a request it is
 * queued and the next request gets it all, in order, without whitespace keepalives. */
static void test_queued_delivery(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    server(f, MSG("m1"));
    assert_string_equal(answer(f, r1), "<body " NS_HB " " NS_ST ">" MSG_OUT("m1") "</body>");
    server(f, MSG("m2") "  \n" MSG("m3") " " MSG("m4"));
    int r2 = req(f, "", "");
    assert_string_equal(answer(f, r2), "<body " NS_HB " " NS_ST ">" MSG_OUT("m2") MSG_OUT("m3")
                                           MSG_OUT("m4") "</body>");
}

/* One upstream read with several stanzas becomes one response (the tick batches them). */
static void test_batched_delivery(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    server(f, MSG("a") MSG("b"));
    assert_string_equal(answer(f, r1),
                        "<body " NS_HB " " NS_ST ">" MSG_OUT("a") MSG_OUT("b") "</body>");
}

/* BOSH-19, E-18: several payloads forwarded in document order. */
static void test_payload_order(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11'");
    req(f, "", "<message id='1'/>\n<message id='2'/><message id='3'/>");
    assert_string_equal(written(), "<message id='1'/><message id='2'/><message id='3'/>");
}

/* ---- rids ---------------------------------------------------------------------------------- */

/* BOSH-62, E-01/E-05: n+2 before n+1: buffered, forwarded and answered in rid order. */
static void test_out_of_order(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r2 = req_rid(f, 1002, "", "<message id='b'/>");
    assert_null(answer(f, r2));
    assert_string_equal(written(), "");
    advance(f, 200);
    int r1 = req_rid(f, 1001, "", "<message id='a'/>");
    f->rid = 1002;
    assert_string_equal(written(), "<message id='a'/><message id='b'/>");
    assert_string_equal(answer(f, r1), EMPTY); /* hold rule, in rid order */
    assert_null(answer(f, r2));
    advance(f, 10000);
    assert_string_equal(answer(f, r2), EMPTY);
    assert_true(f->conns[r1].order < f->conns[r2].order);
}

/* BOSH-63: a gap that does not fill within wait -> type='error'; resending both works. */
static void test_gap_expiry(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r2 = req_rid(f, 1002, "", "<message id='b'/>");
    advance(f, 10000);
    assert_string_equal(answer(f, r2), ERROR_BODY);
    assert_string_equal(written(), "");
    int r1 = req_rid(f, 1001, "", "<message id='a'/>");
    r2 = req_rid(f, 1002, "", "<message id='b'/>");
    f->rid = 1002;
    assert_string_equal(answer(f, r1), EMPTY);
    assert_null(answer(f, r2));
    assert_string_equal(written(), "<message id='a'/><message id='b'/>");
}

/* BOSH-64/65, E-02: an answered rid is replayed byte for byte, its payload not resent; an
 * older rid out of the cache is item-not-found (BOSH-61/68). */
static void test_replay(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "<message id='p'/>");
    server(f, MSG("x"));
    const char *first = answer(f, r1);
    assert_non_null(strstr(first, MSG_OUT("x")));
    int again = req_rid(f, 1001, "", "<message id='p'/>");
    assert_string_equal(answer(f, again), first);
    assert_int_equal(count_of(written(), "<message id='p'/>"), 1);
    /* requests=2: once 1002 and 1003 are answered, 1001 drops out of the cache. */
    int r2 = req(f, "", "");
    int r3 = req(f, "", "");
    assert_string_equal(answer(f, r2), EMPTY);
    assert_string_equal(answer(f, req_rid(f, 1001, "", "")), first); /* still cached */
    advance(f, 10000);
    assert_string_equal(answer(f, r3), EMPTY);
    assert_string_equal(answer(f, req_rid(f, 1002, "", "")), EMPTY);
    int old = req_rid(f, 1001, "", "");
    assert_string_equal(answer(f, old), T_("item-not-found"));
    assert_true(up()->closed);
}

/* BOSH-66, E-07: the same rid while still held: the older copy gets type='error' at once, the
 * new copy takes over the hold. */
static void test_repeat_while_held(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int a = req(f, "", "<message id='once'/>");
    int b = req_rid(f, f->rid, "", "<message id='once'/>");
    assert_string_equal(answer(f, a), ERROR_BODY);
    assert_null(answer(f, b));
    server(f, MSG("later"));
    assert_non_null(strstr(answer(f, b), MSG_OUT("later")));
    assert_int_equal(count_of(written(), "id='once'"), 1);
}

/* BOSH-60, TERM-06/07, E-04: rid above the window -> T(item-not-found), held requests
 * T(other-request), upstream closed; the sid is dead afterwards (BOSH-71). */
static void test_rid_beyond_window(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    int bad = req_rid(f, f->rid + 3, "", "<message id='never'/>");
    assert_string_equal(answer(f, bad), T_("item-not-found"));
    assert_string_equal(answer(f, r1), T_("other-request"));
    assert_true(up()->closed);
    assert_non_null(strstr(written(), "</stream:stream>"));
    assert_null(strstr(written(), "never"));
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    int later = req(f, "", "");
    assert_string_equal(answer(f, later), T_("item-not-found"));
    assert_int_equal(f->conns[later].status, 200);
}

/* BOSH-52/60: rid n+2 is inside the window (requests=2); a terminate may use one more. */
static void test_window_edges(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r2 = req_rid(f, 1002, "", "");
    assert_null(answer(f, r2)); /* buffered, not refused */
    int t = req_rid(f, 1003, "type='terminate'", "");
    assert_null(answer(f, t)); /* exempt (BOSH-52): buffered too */
    int r1 = req_rid(f, 1001, "", "");
    /* 1001 and 1002 processed (hold rule answers 1001), then the terminate: 1002 is the
     * oldest open request and gets T(), the terminate request <body/> (BOSH-70). */
    assert_string_equal(answer(f, r1), EMPTY);
    assert_string_equal(answer(f, r2), "<body type='terminate' " NS_HB "/>");
    assert_string_equal(answer(f, t), EMPTY);
}

/* BOSH-67/58: repeats are served from the cache and do not count as new requests, up to a cap
 * after which the session ends with policy-violation. */
static void test_repeat_cap(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    req(f, "", ""); /* answers r1, stays held */
    for (int i = 0; i < 20; i++)
        assert_string_equal(answer(f, req_rid(f, 1001, "", "")), answer(f, r1));
    int last = req_rid(f, 1001, "", "");
    assert_string_equal(answer(f, last), T_("policy-violation"));
}

/* ---- keys (XEP-0124 §15) -------------------------------------------------------------------- */

/* BOSH-84: K3 = sha1(K2), K2 = sha1(K1): the creation newkey is K3, then keys K2, K1. */
static void test_key_sequence(void **state)
{
    struct fixture *f = *state;
    char k1[41], k2[41], k3[41], attrs[128];
    sha1_hex("seed-key", 8, k1);
    sha1_hex(k1, strlen(k1), k2);
    sha1_hex(k2, strlen(k2), k3);
    snprintf(attrs, sizeof(attrs), "ver='1.11' wait='10' newkey='%s'", k3);
    open_session(f, attrs);
    snprintf(attrs, sizeof(attrs), "key='%s'", k2);
    int r1 = req(f, attrs, "<message id='k2'/>");
    assert_null(answer(f, r1));
    /* A repeat carrying its original key is served (BOSH-66) ... */
    int again = req_rid(f, f->rid, attrs, "");
    assert_string_equal(answer(f, r1), ERROR_BODY);
    assert_null(answer(f, again));
    snprintf(attrs, sizeof(attrs), "key='%s'", k1);
    int r2 = req(f, attrs, "<message id='k1'/>");
    assert_string_equal(answer(f, again), EMPTY);
    assert_null(answer(f, r2));
    assert_string_equal(written(), "<message id='k2'/><message id='k1'/>");
    /* ... one with another key is not (a stranger must not read the cached response). */
    int thief = req_rid(f, f->rid - 1, "key='guess'", "");
    assert_string_equal(answer(f, thief), T_("item-not-found"));
    assert_string_equal(answer(f, r2), T_("other-request"));
}

/* A wrong key: not processed, terminal item-not-found (BOSH-84). */
static void test_key_wrong(void **state)
{
    struct fixture *f = *state;
    char k1[41], attrs[128];
    sha1_hex("k0", 2, k1);
    snprintf(attrs, sizeof(attrs), "ver='1.11' wait='10' newkey='%s'", k1);
    open_session(f, attrs);
    int r1 = req(f, "key='k0'", "");
    int bad = req(f, "key='wrong'", "<message id='evil'/>");
    assert_string_equal(answer(f, bad), T_("item-not-found"));
    assert_null(strstr(written(), "evil"));
    assert_string_equal(answer(f, r1), T_("other-request"));
}

/* BOSH-85: the newkey compared case-insensitively with the hash of the key. */
static void test_key_case_insensitive_and_missing(void **state)
{
    struct fixture *f = *state;
    char k2[41], attrs[128];
    sha1_hex("k1", 2, k2);
    char k2_upper[41];
    memcpy(k2_upper, k2, sizeof(k2));
    for (char *p = k2_upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    snprintf(attrs, sizeof(attrs), "ver='1.11' wait='10' newkey='%s'", k2_upper);
    open_session(f, attrs);
    int r1 = req(f, "key='k1'", "");
    assert_null(answer(f, r1));
    /* The chain had a key: a request without one is refused (BOSH-84). */
    int r2 = req(f, "", "<message id='nokey'/>");
    assert_string_equal(answer(f, r2), T_("item-not-found"));
    assert_null(strstr(written(), "nokey"));
}

/* ---- pause, inactivity ---------------------------------------------------------------------- */

/* BOSH-49/50/51: every held request answered at once, the pause answer empty; the session
 * survives past inactivity; the next request restores it; pause > maxpause is clamped. */
static void test_pause(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    server(f, "");
    int p = req(f, "pause='60'", "");
    assert_string_equal(answer(f, r1), EMPTY);
    assert_string_equal(answer(f, p), EMPTY);
    server(f, MSG("kept")); /* BOSH-49: kept for the next request */
    advance(f, 59000);      /* well past inactivity=30 */
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    int r3 = req(f, "", "");
    assert_non_null(strstr(answer(f, r3), MSG_OUT("kept")));
    advance(f, 30000); /* BOSH-50: back to 30 s */
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
}

static void test_pause_clamped(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int p = req(f, "pause='100000'", "");
    assert_string_equal(answer(f, p), EMPTY);
    advance(f, 119000);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    advance(f, 1000); /* maxpause = 120 */
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
}

/* BOSH-47, CM-06: inactivity ends the session silently, upstream closed gracefully; later
 * requests T(item-not-found) (BOSH-71). */
static void test_inactivity(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    advance(f, 10000);
    assert_string_equal(answer(f, r1), EMPTY);
    advance(f, 29999);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    assert_false(up()->closed);
    advance(f, 1);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_true(up()->closed);
    assert_string_equal(written(), "</stream:stream>");
    int later = req(f, "", "");
    assert_string_equal(answer(f, later), T_("item-not-found"));
}

/* CM-06, WS-40 mirror: with XEP-0198 resumption enabled, inactivity drops TCP without
 * </stream:stream> so the server keeps the session resumable. */
static void test_inactivity_resumable(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    server(f, "<enabled xmlns='urn:xmpp:sm:3' id='x' resume='true'/>");
    assert_non_null(answer(f, r1));
    advance(f, 30000);
    assert_true(up()->closed);
    assert_string_equal(written(), "");
}

/* ---- termination ---------------------------------------------------------------------------- */

/* BOSH-69/70, TD-8: payloads, then </stream:stream>; oldest held T(), the terminate request
 * <body/>; the sid is dead (BOSH-71). */
static void test_terminate(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    int t = req(f, "type='terminate'", "<presence type='unavailable'/>");
    assert_string_equal(answer(f, r1), "<body type='terminate' " NS_HB "/>");
    assert_string_equal(answer(f, t), EMPTY);
    assert_string_equal(written(), "<presence type='unavailable'/></stream:stream>");
    assert_true(up()->closed);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_string_equal(answer(f, req(f, "", "")), T_("item-not-found"));
}

static void test_terminate_alone(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int t = req(f, "type='terminate'", "");
    assert_string_equal(answer(f, t), "<body type='terminate' " NS_HB "/>");
}

/* ---- restarts (XEP-0206 §5) ------------------------------------------------------------------ */

/* XEP206-11/12/13/14, E-13: a long poll held before the restart gets <body/> (hold rule); the
 * restart's payload is dropped; a new header goes out on the same connection (creation 'to'
 * reused); the new features reach the restart request, with xmlns:stream on <body/>. */
static void test_restart_racing_held_request(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "",
                 "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                 "AGEAYg==</auth>");
    server(f, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert_non_null(strstr(answer(f, r1), "<success"));
    int poll = req(f, "", "");
    xgw_buf_reset(&up()->written);
    int restart = req(f, "xmpp:restart='true'", "<presence id='dropped'/>");
    assert_string_equal(answer(f, poll), EMPTY);
    assert_null(answer(f, restart));
    assert_string_equal(written(), HEADER_UP);
    assert_false(up()->closed);
    server(f, HDR("s2") "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
                        "</stream:features>");
    const char *body = answer(f, restart);
    assert_non_null(body);
    assert_true(strncmp(body, "<body " NS_HB " " NS_ST "><stream:features ",
                        strlen("<body " NS_HB " " NS_ST "><stream:features ")) == 0);
    assert_non_null(strstr(body, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"));
    assert_null(strstr(body, "authid=")); /* header fields only with the first features */
}

/* XEP206-15: a restart that is not due ends the session with bad-request. */
static void test_restart_not_due(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r = req(f, "xmpp:restart='1'", "");
    assert_string_equal(answer(f, r), T_("bad-request"));
}

/* ---- the server ends the stream ------------------------------------------------------------- */

/* BOSH-74/75, TD-6, E-19/E-20: stanzas first, then the stream error verbatim. */
static void test_remote_stream_error(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    server(f, MSG("m1"));
    int r1 = req(f, "", "");
    assert_non_null(strstr(answer(f, r1), MSG_OUT("m1")));
    int r2 = req(f, "", "");
    int r3 = req(f, "", "");
    server(f, MSG("m2") "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>"
                        "Replaced</text><app xmlns='urn:x'/></stream:error>");
    assert_string_equal(answer(f, r2), EMPTY); /* hold rule answered it before */
    assert_string_equal(
        answer(f, r3),
        "<body type='terminate' condition='remote-stream-error' " NS_HB " " NS_ST ">" MSG_OUT(
            "m2") "<stream:error " NS_ST "><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                  "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Replaced</text>"
                  "<app xmlns='urn:x'/></stream:error></body>");
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
}

/* BOSH-72, CM-05: a graceful server close with nobody held is kept for the next request. */
static void test_server_close_kept_for_next_request(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    server(f, MSG("bye") "</stream:stream>");
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    int r = req(f, "", "");
    assert_string_equal(answer(f, r),
                        "<body type='terminate' " NS_HB " " NS_ST ">" MSG_OUT("bye") "</body>");
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_string_equal(answer(f, req(f, "", "")), T_("item-not-found"));
}

/* CM-04, TERM-09: TCP lost while a request is held. */
static void test_upstream_lost_while_held(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r = req(f, "", "");
    int later = req_rid(f, f->rid + 2, "", ""); /* buffered behind a gap */
    xgw_session_upstream_failed(up()->session, XGW_SC_REMOTE_CONNECTION_FAILED, "reset");
    run(f);
    assert_string_equal(answer(f, r), T_("remote-connection-failed"));
    assert_string_equal(answer(f, later), T_("other-request")); /* TERM-07 */
}

/* ---- legacy clients, policing ---------------------------------------------------------------- */

/* BOSH-80: no 'ver' at creation -> 404 / 400 / 403; unknown sid always 200 (E-22). */
static void test_legacy_http_codes(void **state)
{
    struct fixture *f = *state;
    open_session(f, "wait='10'");
    assert_non_null(strstr(answer(f, 0), "ver='1.11'")); /* BOSH-24: ver always sent */
    int r1 = req(f, "", "");
    int bad = req_rid(f, f->rid + 10, "", "");
    assert_int_equal(f->conns[bad].status, 404);
    assert_string_equal(answer(f, bad), T_("item-not-found"));
    assert_int_equal(f->conns[r1].status, 200);
    open_session(f, "wait='10'");
    int junk = post(f, "<body rid='x' sid='%s' " NS_HB "/>", f->sid);
    assert_int_equal(f->conns[junk].status, 400);
    assert_string_equal(answer(f, junk), T_("bad-request"));
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    int unknown = post(f, "<body rid='5' sid='nope' " NS_HB "/>");
    assert_int_equal(f->conns[unknown].status, 200);
    assert_string_equal(answer(f, unknown), T_("item-not-found"));
    open_session(f, "wait='0' hold='0'");
    assert_non_null(strstr(answer(f, req(f, "", "")), "<stream:features")); /* CM-02 */
    assert_string_equal(answer(f, req(f, "", "")), EMPTY);
    int fast = req(f, "", "");
    assert_int_equal(f->conns[fast].status, 403);
}

/* BOSH-57, E-12: polling sessions; two empty requests closer than `polling` after an empty
 * answer -> policy-violation; farther apart is fine. */
static void test_polling_violation(void **state)
{
    struct fixture *f = *state;
    int c = open_session(f, "ver='1.11' wait='0' hold='0'");
    assert_non_null(strstr(answer(f, c), " wait='0' requests='1' hold='0' "));
    /* wait=0: the creation response could not wait for the features (CM-02). */
    assert_non_null(strstr(answer(f, req(f, "", "")), "<stream:features"));
    assert_string_equal(answer(f, req(f, "", "")), EMPTY);
    advance(f, 2001);
    assert_string_equal(answer(f, req(f, "", "")), EMPTY);
    advance(f, 1000);
    int fast = req(f, "", "");
    assert_string_equal(answer(f, fast), T_("policy-violation"));
    assert_int_equal(f->conns[fast].status, 200);
}

/* BOSH-53: hold=2 (requests=3): a fourth unanswered new request is over the limit. */
static void test_too_many_requests(void **state)
{
    struct fixture *f = *state;
    f->settings.max_hold = 2;
    xgw_bosh_free(f->bosh);
    f->bosh = xgw_bosh_new(&f->gw, &f->settings, &host_ops, NULL);
    open_session(f, "ver='1.11' wait='10' hold='2'");
    int r1 = req(f, "", "");
    int r2 = req(f, "", "");
    int r4 = req_rid(f, 1004, "", "");
    assert_null(answer(f, r4));        /* 3 unanswered = requests: fine */
    int r5 = req_rid(f, 1005, "", ""); /* inside the window, but a 4th unanswered request */
    assert_string_equal(answer(f, r5), T_("policy-violation"));
    assert_string_equal(answer(f, r1), T_("other-request"));
    assert_string_equal(answer(f, r2), T_("other-request"));
    assert_string_equal(answer(f, r4), T_("other-request"));
}

/* ---- acks, content type, misc -------------------------------------------------------------- */

/* BOSH-31/45: ack on the creation response; ack = highest contiguous rid when it differs. */
static void test_acks(void **state)
{
    struct fixture *f = *state;
    int c = open_session(f, "ver='1.11' wait='10' ack='1'");
    assert_non_null(strstr(answer(f, c), " ack='1000'"));
    int r1 = req(f, "", "");
    int r2 = req(f, "", "");
    assert_string_equal(answer(f, r1), "<body ack='1002' " NS_HB "/>");
    advance(f, 10000);
    assert_string_equal(answer(f, r2), EMPTY); /* ack would equal its rid */
    /* BOSH-46: a client ack lets the cache go: 1001 is no longer replayable. */
    req(f, "ack='1002'", "");
    assert_string_equal(answer(f, req_rid(f, 1001, "", "")), T_("item-not-found"));
}

/* BOSH-05: the creation 'content' is every response's Content-Type, terminate included. */
static void test_content_type(void **state)
{
    struct fixture *f = *state;
    int c = open_session(f, "ver='1.11' wait='10' content='text/html; charset=utf-8'");
    int r1 = req(f, "", "");
    server(f, MSG("m"));
    int t = req(f, "type='terminate'", "");
    int gone = req(f, "", "");
    const int all[] = {c, r1, t};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(f->conns[all[i]].content_type, "text/html; charset=utf-8");
    assert_string_equal(f->conns[gone].content_type, CTYPE); /* unknown sid: default */
}

/* TERM-12, CM-07: held requests T(system-shutdown), upstream closed, later requests too. */
static void test_shutdown(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    xgw_bosh_shutdown(f->bosh, f->now);
    assert_string_equal(answer(f, r1), T_("system-shutdown"));
    assert_true(up()->closed);
    assert_string_equal(written(), "</stream:stream>");
    assert_int_equal(xgw_bosh_session_count(f->bosh), 0);
    assert_string_equal(answer(f, req(f, "", "")), T_("system-shutdown"));
    assert_string_equal(answer(f, create(f, "ver='1.11'")), T_("system-shutdown"));
}

/* A held request whose client left (E-02) keeps its place without a connection: data never
 * goes to it; a resend of that rid takes its place and gets the data, without forwarding its
 * payload again. A newer request answers it empty (cached) and carries the data instead. */
static void test_conn_gone(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "<message id='once'/>");
    /* Data arrives (its tick not run yet), then the client of the held request leaves. */
    const char data[] = MSG("wait");
    xgw_session_upstream_data(up()->session, data, sizeof(data) - 1);
    f->conns[r1].gone = true;
    xgw_bosh_conn_gone(f->bosh, &f->conns[r1], f->now);
    run(f);
    int again = req_rid(f, f->rid, "", "<message id='once'/>");
    assert_non_null(strstr(answer(f, again), MSG_OUT("wait")));
    assert_int_equal(count_of(written(), "id='once'"), 1);
    /* The same with a newer request instead of a resend. */
    int r2 = req(f, "", "");
    f->conns[r2].gone = true;
    xgw_bosh_conn_gone(f->bosh, &f->conns[r2], f->now);
    const char data2[] = MSG("later");
    xgw_session_upstream_data(up()->session, data2, sizeof(data2) - 1);
    run(f);
    int r3 = req(f, "", "");
    assert_non_null(strstr(answer(f, r3), MSG_OUT("later")));
    int r2_again = req_rid(f, f->rid - 1, "", "");
    assert_string_equal(answer(f, r2_again), EMPTY);
    /* Unclaimed, it is answered (into the void) at its wait expiry like any held request. */
    int r4 = req(f, "", "");
    f->conns[r4].gone = true;
    xgw_bosh_conn_gone(f->bosh, &f->conns[r4], f->now);
    advance(f, 10000);
    int r4_again = req_rid(f, f->rid, "", "");
    assert_string_equal(answer(f, r4_again), EMPTY);
    /* The creation request's client leaving ends that session. */
    int c = create(f, "ver='1.11'");
    f->conns[c].gone = true;
    xgw_bosh_conn_gone(f->bosh, &f->conns[c], f->now);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
}

/* BOSH-81: a session created over HTTPS ignores plain-HTTP requests (connection closed, no
 * answer, nothing forwarded, not even an unparsable one ends it); it goes on over HTTPS. */
static void test_secure_session_downgrade(void **state)
{
    struct fixture *f = *state;
    f->secure = true;
    open_session(f, "ver='1.11' wait='10'");
    f->secure = false;
    int plain = req(f, "", "<message id='sneak'/>");
    assert_true(f->conns[plain].dropped);
    assert_null(answer(f, plain));
    int garbage = post(f, "<body sid='%s' rid='x' " NS_HB "/>", f->sid);
    assert_true(f->conns[garbage].dropped);
    assert_int_equal(count_of(written(), "sneak"), 0);
    assert_int_equal(xgw_bosh_session_count(f->bosh), 1);
    f->secure = true;
    int again = req_rid(f, f->rid, "", "<message id='ok'/>");
    assert_int_equal(count_of(written(), "id='ok'"), 1);
    advance(f, 10000);
    assert_string_equal(answer(f, again), EMPTY);
    /* Created over plain HTTP: TLS requests are fine too (no downgrade). */
    int c = create(f, "ver='1.11'");
    assert_false(f->conns[c].dropped);
}

/* BOSH-87: to/route on an existing sid: an ordinary request, no second upstream. */
static void test_to_on_existing_sid(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r = req(f, "to='other.example' route='xmpp:127.0.0.1:22' wait='1'", "");
    assert_int_equal(up_count, 1);
    advance(f, 1000);
    assert_null(answer(f, r)); /* BOSH-34: wait='1' ignored */
    advance(f, 9000);
    assert_string_equal(answer(f, r), EMPTY);
}

/* BOSH-15/83, TERM-01: a malformed body with a known sid ends that session. */
static void test_bad_body_known_sid(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r1 = req(f, "", "");
    /* Restricted XML: not even the sid can be read; nothing is forwarded. */
    int bad = post(f, "<body rid='1002' sid='%s' " NS_HB "><!--x--><presence/></body>", f->sid);
    assert_string_equal(answer(f, bad), T_("bad-request"));
    assert_string_equal(written(), "");
    assert_null(answer(f, r1));
    /* Well-formed but invalid (rid): terminal for the session it names. */
    bad = post(f, "<body rid='-5' sid='%s' " NS_HB "><presence/></body>", f->sid);
    assert_string_equal(answer(f, bad), T_("bad-request"));
    assert_int_equal(f->conns[bad].status, 200);
    assert_string_equal(answer(f, r1), T_("other-request"));
    assert_string_equal(written(), "</stream:stream>");
    int junk = post(f, "hello");
    assert_string_equal(answer(f, junk), T_("bad-request"));
    xgw_bosh_reject(f->bosh, &f->conns[f->conn_count++], XGW_BOSH_COND_POLICY_VIOLATION);
    assert_string_equal(answer(f, f->conn_count - 1), T_("policy-violation"));
}

/* XEP206-09, TD-12: a client <starttls/> is never forwarded and ends the session. */
static void test_client_starttls(void **state)
{
    struct fixture *f = *state;
    open_session(f, "ver='1.11' wait='10'");
    int r = req(f, "", "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_string_equal(answer(f, r), T_("bad-request"));
    assert_null(strstr(written(), "starttls"));
}

/* Back-pressure: a full queue pauses the upstream; a request that drains it resumes reading. */
static void test_back_pressure(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_queue_bytes = 200;
    xgw_bosh_free(f->bosh);
    f->bosh = xgw_bosh_new(&f->gw, &f->settings, &host_ops, NULL);
    open_session(f, "ver='1.11' wait='10'");
    server(f, MSG("1") MSG("2") MSG("3") MSG("4"));
    assert_true(up()->paused);
    int r1 = req(f, "", "");
    assert_non_null(strstr(answer(f, r1), MSG_OUT("1")));
    assert_null(strstr(answer(f, r1), MSG_OUT("4")));
    assert_false(up()->paused);
    int r2 = req(f, "", "");
    assert_non_null(strstr(answer(f, r2), MSG_OUT("4")));
}

/* BOSH-21: distinct sids; the sid and connection tables grow past their first size (64). */
static void test_many_sessions(void **state)
{
    struct fixture *f = *state;
    enum { N = 100 };
    static char sids[N][64];
    int created[N], held[N];
    for (int i = 0; i < N; i++)
        created[i] = create(f, "ver='1.11' wait='5'"); /* 100 held creation requests */
    assert_int_equal(xgw_bosh_session_count(f->bosh), N);
    advance(f, 5000); /* CM-02: all answered without features */
    for (int i = 0; i < N; i++) {
        assert_non_null(answer(f, created[i]));
        take_sid(f, answer(f, created[i]));
        memcpy(sids[i], f->sid, sizeof(f->sid));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(sids[i], sids[j]);
    }
    for (int i = 0; i < N; i++) {
        memcpy(f->sid, sids[i], sizeof(f->sid));
        held[i] = req_rid(f, 1001, "", "");
    }
    advance(f, 4999);
    for (int i = 0; i < N; i++)
        assert_null(answer(f, held[i]));
    /* The last client leaves: found through the connection table. */
    f->conns[held[N - 1]].gone = true;
    xgw_bosh_conn_gone(f->bosh, &f->conns[held[N - 1]], f->now);
    advance(f, 1);
    for (int i = 0; i < N - 1; i++)
        assert_string_equal(answer(f, held[i]), EMPTY);
    assert_null(answer(f, held[N - 1]));
}

/* A kept terminal body is only given to a request holding the right key. */
static void test_terminal_needs_key(void **state)
{
    struct fixture *f = *state;
    char k1[41], attrs[128];
    sha1_hex("k0", 2, k1);
    snprintf(attrs, sizeof(attrs), "ver='1.11' wait='10' newkey='%s'", k1);
    open_session(f, attrs);
    server(f, "</stream:stream>");
    assert_string_equal(answer(f, req(f, "key='nope'", "")), T_("item-not-found"));
    assert_string_equal(answer(f, req(f, "key='k0'", "")), "<body type='terminate' " NS_HB "/>");
}

int main(void)
{
    xgw_log_level_current = XGW_LOG_LEVEL_ERROR; /* quiet; the log lines are not under test */
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_creation_held_until_features),
        T(test_creation_wait_expiry_then_features),
        T(test_creation_host_unknown),
        T(test_creation_refused),
        T(test_hold_rule),
        T(test_wait_expiry),
        T(test_queued_delivery),
        T(test_batched_delivery),
        T(test_payload_order),
        T(test_out_of_order),
        T(test_gap_expiry),
        T(test_replay),
        T(test_repeat_while_held),
        T(test_rid_beyond_window),
        T(test_window_edges),
        T(test_repeat_cap),
        T(test_key_sequence),
        T(test_key_wrong),
        T(test_key_case_insensitive_and_missing),
        T(test_pause),
        T(test_pause_clamped),
        T(test_inactivity),
        T(test_inactivity_resumable),
        T(test_terminate),
        T(test_terminate_alone),
        T(test_restart_racing_held_request),
        T(test_restart_not_due),
        T(test_remote_stream_error),
        T(test_server_close_kept_for_next_request),
        T(test_upstream_lost_while_held),
        T(test_legacy_http_codes),
        T(test_polling_violation),
        T(test_too_many_requests),
        T(test_acks),
        T(test_content_type),
        T(test_shutdown),
        T(test_conn_gone),
        T(test_secure_session_downgrade),
        T(test_to_on_existing_sid),
        T(test_bad_body_known_sid),
        T(test_client_starttls),
        T(test_back_pressure),
        T(test_many_sessions),
        T(test_terminal_needs_key),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
