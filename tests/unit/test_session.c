/* SPDX-License-Identifier: MIT */
/* The session core over a fake transport and a fake upstream: stream opening and STARTTLS
 * decisions, feature filtering, SASL restart, close handshakes, errors and lifetimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/gateway.h"
#include "xgw/session.h"
#include "xgw/upstream_conn.h"

/* ---- fakes -------------------------------------------------------------------------------- */

struct xgw_upstream_conn {
    struct xgw_session *session;
    struct xgw_buf written;
    bool tls_started, tls, loopback, ready, closed, graceful, paused;
    unsigned timeout_s;
};

struct fake_transport {
    struct xgw_buf log; /* "OPEN id=..|", "EL <bytes>|", "END cond err|" */
    size_t queued;
    bool ended;
};

static struct xgw_upstream_conn *fake_up; /* the one upstream of the current test */

static struct xgw_upstream_conn *f_connect(struct xgw_gateway *gw, struct xgw_session *s,
                                           const struct xgw_route *route)
{
    (void)gw;
    (void)route;
    struct xgw_upstream_conn *c = xgw_calloc(1, sizeof(*c));
    c->session = s;
    c->loopback = true;
    xgw_buf_init(&c->written, 1 << 20);
    fake_up = c;
    return c;
}

static enum xgw_err f_write(struct xgw_upstream_conn *c, const char *data, size_t len)
{
    return c->closed ? XGW_EIO : xgw_buf_append(&c->written, data, len);
}

static enum xgw_err f_start_tls(struct xgw_upstream_conn *c)
{
    c->tls_started = true;
    return XGW_OK;
}

static bool f_is_tls(const struct xgw_upstream_conn *c)
{
    return c->tls;
}

static bool f_is_loopback(const struct xgw_upstream_conn *c)
{
    return c->loopback;
}

static void f_ready(struct xgw_upstream_conn *c)
{
    c->ready = true;
}

static void f_set_timeout(struct xgw_upstream_conn *c, unsigned timeout_s)
{
    c->timeout_s = timeout_s;
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

static const struct xgw_upstream_ops fake_ops = {
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

static void t_open(void *t, const struct xgw_stream_header *h)
{
    struct fake_transport *ft = t;
    assert_int_equal(xgw_buf_printf(&ft->log, "OPEN id=%s|", h->id ? h->id : "-"), XGW_OK);
}

static void t_element(void *t, const char *bytes, size_t len)
{
    struct fake_transport *ft = t;
    assert_int_equal(xgw_buf_printf(&ft->log, "EL %.*s|", (int)len, bytes), XGW_OK);
    ft->queued += len;
}

static void t_end(void *t, enum xgw_stream_cond cond, const char *error, size_t error_len)
{
    struct fake_transport *ft = t;
    ft->ended = true;
    assert_int_equal(xgw_buf_printf(&ft->log, "END %s %.*s|",
                                    cond ? xgw_stream_cond_name(cond) : "none", (int)error_len,
                                    error ? error : ""),
                     XGW_OK);
}

static size_t t_queued(void *t)
{
    return ((struct fake_transport *)t)->queued;
}

static const struct xgw_transport_ops transport_ops = {t_open, t_element, t_end, t_queued};

/* ---- fixture ------------------------------------------------------------------------------ */

struct fixture {
    struct xgw_config cfg;
    struct xgw_gateway gw;
    struct fake_transport transport;
    struct xgw_session *session;
};

static int setup(void **state)
{
    struct fixture *f = xgw_calloc(1, sizeof(*f));
    xgw_config_init_defaults(&f->cfg);
    struct xgw_route r;
    assert_int_equal(xgw_route_parse("example.com=127.0.0.1:5222", &r), XGW_OK);
    f->cfg.routes = xgw_calloc(1, sizeof(r));
    f->cfg.routes[0] = r;
    f->cfg.route_count = 1;
    f->gw.cfg = &f->cfg;
    f->gw.upstream = &fake_ops;
    xgw_buf_init(&f->transport.log, 1 << 20);
    enum xgw_stream_cond cond;
    f->session = xgw_session_new(&f->gw, XGW_TRANSPORT_WS, &transport_ops, &f->transport,
                                 "127.0.0.1", &cond);
    assert_non_null(f->session);
    fake_up = NULL;
    *state = f;
    return 0;
}

static void release_upstream(struct fixture *f)
{
    if (!fake_up)
        return;
    struct xgw_upstream_conn *c = fake_up;
    fake_up = NULL;
    xgw_buf_cleanup(&c->written);
    xgw_free(c);
    xgw_session_upstream_released(f->session);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->session) {
        xgw_session_detach(f->session);
        release_upstream(f);
    }
    xgw_gateway_sweep(&f->gw);
    assert_int_equal(f->gw.session_count, 0);
    assert_null(f->gw.sessions);
    xgw_buf_cleanup(&f->transport.log);
    xgw_config_cleanup(&f->cfg);
    xgw_free(f);
    return 0;
}

static void feed(const char *text)
{
    xgw_session_upstream_data(fake_up->session, text, strlen(text));
}

static const char *log_of(struct fixture *f)
{
    return f->transport.log.data ? f->transport.log.data : "";
}

static const char *written(void)
{
    return fake_up->written.data ? fake_up->written.data : "";
}

#define HDR(id)                                                                                    \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                                   \
    "xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='" id "' "              \
    "version='1.0' xml:lang='en'>"
#define SASL_FEATURES                                                                              \
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"                       \
    "<mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>PLAIN</mechanism></mechanisms>"             \
    "</stream:features>"

static void open_plain(struct fixture *f)
{
    xgw_session_client_open(f->session, "Example.COM", "en", NULL);
    assert_non_null(fake_up);
    xgw_session_upstream_connected(f->session);
    feed(HDR("s1") SASL_FEATURES);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_open_plaintext_loopback(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    /* TD-1: header with the normalised domain, no id, no from before TLS. */
    assert_string_equal(written(), "<?xml version='1.0'?><stream:stream to='example.com' "
                                   "version='1.0' xml:lang='en' xmlns='jabber:client' "
                                   "xmlns:stream='http://etherx.jabber.org/streams'>");
    assert_true(fake_up->ready);
    /* XMPP-04: -PLUS stripped; the header goes out only after the TLS decision. */
    assert_string_equal(
        log_of(f), "OPEN id=s1|EL <stream:features xmlns:stream='http://etherx.jabber.org/streams' "
                   "xmlns='jabber:client'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                   "<mechanism>PLAIN</mechanism></mechanisms></stream:features>|");
}

static void test_no_route_host_unknown(void **state)
{
    struct fixture *f = *state;
    xgw_session_client_open(f->session, "other.example", NULL, NULL);
    assert_null(fake_up);
    assert_string_equal(log_of(f), "END host-unknown |");
}

static void test_plaintext_refused_off_loopback(void **state)
{
    struct fixture *f = *state;
    xgw_session_client_open(f->session, "example.com", NULL, NULL);
    fake_up->loopback = false;
    xgw_session_upstream_connected(f->session);
    feed(HDR("s1") SASL_FEATURES);
    assert_string_equal(log_of(f), "END remote-connection-failed |");
    assert_true(fake_up->closed);
}

static void test_starttls_then_restart(void **state)
{
    struct fixture *f = *state;
    xgw_session_client_open(f->session, "example.com", NULL, "juliet@example.com");
    xgw_session_upstream_connected(f->session);
    xgw_buf_reset(&fake_up->written);
    feed(HDR("pre") "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                    "<required/></starttls></stream:features>");
    assert_string_equal(written(), "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    /* XMPP-05 / pitfall 9: bytes after <proceed/> are dropped. */
    feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><garbage>");
    assert_true(fake_up->tls_started);
    assert_string_equal(log_of(f), ""); /* nothing pre-TLS reaches the client (TD-12) */
    fake_up->tls = true;
    xgw_buf_reset(&fake_up->written);
    xgw_session_upstream_tls_done(f->session);
    /* XMPP-02: 'from' only once TLS protects the stream. */
    assert_non_null(strstr(written(), " from='juliet@example.com'"));
    feed(HDR("post") SASL_FEATURES);
    assert_non_null(strstr(log_of(f), "OPEN id=post|")); /* XMPP-07: the post-TLS id */
    assert_null(strstr(log_of(f), "pre"));
}

static void test_sasl_restart_same_connection(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    /* WS-38: an open before SASL success is a second stream. */
    xgw_buf_reset(&fake_up->written);
    feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    xgw_session_client_open(f->session, "example.com", "en", NULL);
    /* WS-37 / XMPP-09: a new header, no closing tag, same connection. */
    assert_string_equal(written(), "<?xml version='1.0'?><stream:stream to='example.com' "
                                   "version='1.0' xml:lang='en' xmlns='jabber:client' "
                                   "xmlns:stream='http://etherx.jabber.org/streams'>");
    feed(HDR("s2") "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
                   "</stream:features>");
    assert_non_null(strstr(log_of(f), "OPEN id=s2|EL <stream:features xmlns:stream="));
    assert_false(fake_up->closed);
}

static void test_second_open_is_conflict(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    xgw_session_client_open(f->session, "example.com", NULL, NULL);
    assert_non_null(strstr(log_of(f), "END conflict |"));
    assert_true(fake_up->closed);
    assert_non_null(strstr(written(), "</stream:stream>"));
}

static void test_client_close_waits_for_server(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    xgw_session_client_close(f->session);
    assert_non_null(strstr(written(), "</stream:stream>"));
    assert_int_equal(fake_up->timeout_s, f->cfg.close_timeout_s);
    assert_false(f->transport.ended);
    /* XMPP-11: stanzas before the server's closing tag still reach the client. */
    feed("<message from='a@example.com'><body>last</body></message></stream:stream>");
    assert_non_null(strstr(log_of(f), "EL <message xmlns='jabber:client' xml:lang='en' "
                                      "from='a@example.com'><body>last</body></message>|"
                                      "END none |"));
    assert_true(fake_up->closed);
}

static void test_server_stream_error_relayed(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    feed("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    /* WS-45 / TD-6: verbatim, with the stream prefix declared. */
    assert_non_null(strstr(log_of(f),
                           "END none <stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
                           "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                           "</stream:error>|"));
    assert_non_null(strstr(written(), "</stream:stream>"));
}

static void test_client_elements_reserialised(void **state)
{
    struct fixture *f = *state;
    xgw_session_client_open(f->session, "example.com", NULL, NULL);
    struct xgw_xml_limits limits = {.max_bytes = 4096, .max_depth = 16};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond;
    const char msg[] = "<message xmlns='jabber:client' to='b@example.com'><body>&lt;/stream:stream"
                       "&gt;</body></message>";
    assert_int_equal(xgw_xml_parse_document(msg, strlen(msg), &limits, &root, &cond), XGW_OK);
    /* Before the stream is open the element is held back, in order. */
    xgw_session_client_element(f->session, root, 0);
    xgw_session_upstream_connected(f->session);
    xgw_buf_reset(&fake_up->written);
    feed(HDR("s1") SASL_FEATURES);
    /* CM-09 / XMPP-14: re-serialised, markup in text stays escaped. */
    assert_string_equal(written(), "<message to='b@example.com'><body>&lt;/stream:stream&gt;"
                                   "</body></message>");
    xgw_xml_node_free(root);
}

static void test_backpressure_pauses_and_resumes(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    f->transport.queued = f->cfg.max_queue_bytes; /* the client stopped reading */
    feed("<message><body>1</body></message><message><body>2</body></message>");
    assert_true(fake_up->paused);
    assert_null(strstr(log_of(f), "<body>2</body>"));
    f->transport.queued = 0;
    xgw_session_client_writable(f->session);
    assert_false(fake_up->paused);
    assert_non_null(strstr(log_of(f), "<body>2</body>"));
}

static void test_detach_with_resumption_skips_footer(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    feed("<enabled xmlns='urn:xmpp:sm:3' id='x' resume='true'/>");
    xgw_buf_reset(&fake_up->written);
    xgw_session_detach(f->session);
    /* WS-40: no closing tag, so the server keeps the session resumable. */
    assert_string_equal(written(), "");
    assert_true(fake_up->closed);
    release_upstream(f); /* the session is freed at the next sweep */
    f->session = NULL;
    assert_non_null(f->gw.dead);
}

static void test_upstream_lost(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    xgw_session_upstream_failed(f->session, XGW_SC_REMOTE_CONNECTION_FAILED, "reset");
    assert_non_null(strstr(log_of(f), "END remote-connection-failed |"));
    assert_null(strstr(written(), "</stream:stream>"));
}

static void test_bad_xml_from_server(void **state)
{
    struct fixture *f = *state;
    open_plain(f);
    feed("<!-- comment -->");
    /* XMPP-13: the server is told restricted-xml, the client remote-connection-failed. */
    assert_non_null(strstr(written(), "<restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-"
                                      "streams'/>"));
    assert_non_null(strstr(log_of(f), "END remote-connection-failed |"));
}

static void test_session_cap(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_sessions = 1;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    assert_null(
        xgw_session_new(&f->gw, XGW_TRANSPORT_WS, &transport_ops, &f->transport, "x", &cond));
    assert_int_equal(cond, XGW_SC_RESOURCE_CONSTRAINT);
    f->gw.shutting_down = true;
    assert_null(
        xgw_session_new(&f->gw, XGW_TRANSPORT_WS, &transport_ops, &f->transport, "x", &cond));
    assert_int_equal(cond, XGW_SC_SYSTEM_SHUTDOWN);
    assert_int_equal(strlen(xgw_session_id(f->session)), 34); /* 2 loop digits + 128 bits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_plaintext_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_route_host_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_refused_off_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls_then_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sasl_restart_same_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_open_is_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_close_waits_for_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_stream_error_relayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_elements_reserialised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_pauses_and_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_with_resumption_skips_footer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_xml_from_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
