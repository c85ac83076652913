/* SPDX-License-Identifier: MIT */
/* Upstream c2s connection: uv_getaddrinfo (off the loop), non-blocking connect over every
 * resolved address, OpenSSL through memory BIOs (STARTTLS or direct TLS, verified against the
 * XMPP domain with SNI), bounded write queue, one timer for connect and close timeouts. */
#include "xgw/upstream_conn.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "io.h"
#include "xgw/alloc.h"
#include "xgw/log.h"
#include "xgw/session.h"

enum conn_state {
    C_RESOLVING,
    C_CONNECTING,
    C_HANDSHAKE, /* TLS handshake running */
    C_OPEN,
    C_CLOSING, /* close requested: flush, then shut down */
};

struct xgw_upstream_conn {
    struct xgw_io *io;             /* borrowed */
    struct xgw_session *session;   /* borrowed; told of every event until released */
    const struct xgw_route *route; /* borrowed */
    enum conn_state state;
    uv_getaddrinfo_t resolver;
    struct addrinfo *addrs; /* owned (uv_freeaddrinfo) */
    struct addrinfo *next_addr;
    uv_tcp_t *tcp; /* owned; one per connect attempt, NULL once closing */
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    uv_timer_t timer;
    unsigned pending; /* live handles and requests; freed when it reaches 0 after close */
    bool resolving;
    bool closing_requested;
    bool read_paused;
    bool loopback;
    SSL *ssl;  /* owned; NULL until TLS starts */
    BIO *wbio; /* borrowed from ssl: ciphertext to send */
    size_t write_queued;
    char peer[72];
    char port_text[8];
    /* Where we are connecting: route->host, else the SRV targets, else the domain itself. */
    char target[XGW_SRV_HOST_MAX];
    struct xgw_srv_job *srv_job; /* a pending SRV lookup (holds a ref) */
    struct xgw_srv_target srv[XGW_SRV_MAX_TARGETS];
    size_t srv_count, srv_next;
};

struct write_req {
    uv_write_t req;
    struct xgw_upstream_conn *conn;
    size_t len;
    char data[];
};

static void conn_release_ref(struct xgw_upstream_conn *c);
static void conn_fail(struct xgw_upstream_conn *c, enum xgw_stream_cond cond, const char *why);
static void try_connect(struct xgw_upstream_conn *c);
static bool next_srv_target(struct xgw_upstream_conn *c);

static const char *sid_of(const struct xgw_upstream_conn *c)
{
    return c->session ? xgw_session_id(c->session) : "-";
}

static void on_handle_closed(uv_handle_t *h)
{
    conn_release_ref(h->data);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct xgw_upstream_conn *c = h->data;
    xgw_free(h);
    conn_release_ref(c);
}

static void conn_release_ref(struct xgw_upstream_conn *c)
{
    if (--c->pending > 0)
        return;
    struct xgw_session *s = c->session;
    if (c->addrs)
        uv_freeaddrinfo(c->addrs);
    SSL_free(c->ssl);
    xgw_free(c);
    if (s)
        xgw_session_upstream_released(s);
}

static void close_tcp(struct xgw_upstream_conn *c)
{
    if (!c->tcp)
        return;
    uv_close((uv_handle_t *)c->tcp, on_tcp_closed);
    c->tcp = NULL;
}

/* Tears everything down; the session hears xgw_session_upstream_released() once. */
static void conn_teardown(struct xgw_upstream_conn *c)
{
    c->state = C_CLOSING;
    close_tcp(c);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- timer -------------------------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
    struct xgw_upstream_conn *c = t->data;
    if (c->state == C_OPEN && c->session)
        conn_fail(c, XGW_SC_CONNECTION_TIMEOUT, "timed out waiting for the server");
    else
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, "connect timeout");
}

static void conn_set_timeout(struct xgw_upstream_conn *c, unsigned timeout_s)
{
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_s * 1000, 0);
}

static void conn_ready(struct xgw_upstream_conn *c)
{
    uv_timer_stop(&c->timer);
}

/* Reports a failure to the session (which then closes us) unless a close is already underway. */
static void conn_fail(struct xgw_upstream_conn *c, enum xgw_stream_cond cond, const char *why)
{
    if (c->closing_requested) {
        conn_teardown(c);
        return;
    }
    XGW_LOG_INFO("sid=%s upstream %s: %s", sid_of(c), c->peer[0] ? c->peer : c->target, why);
    xgw_session_upstream_failed(c->session, cond, why);
    /* The session answers with conn_close(); make sure the handles go. */
    c->closing_requested = true;
    conn_teardown(c);
}

/* ---- writing ------------------------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct xgw_upstream_conn *c = w->conn;
    c->write_queued -= w->len;
    xgw_free(w);
    if (status < 0 && status != UV_ECANCELED && c->state != C_CLOSING)
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, uv_strerror(status));
    conn_release_ref(c);
}

static int raw_write(struct xgw_upstream_conn *c, const char *data, size_t len)
{
    if (!c->tcp || len == 0)
        return 0;
    struct write_req *w = xgw_malloc(sizeof(*w) + len);
    w->conn = c;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)c->tcp, &buf, 1, on_written);
    if (rc < 0) {
        xgw_free(w);
        return rc;
    }
    c->pending++;
    c->write_queued += len;
    return 0;
}

/* Moves everything OpenSSL produced into the socket's write queue. */
static int flush_tls(struct xgw_upstream_conn *c)
{
    char chunk[16384];
    int n;
    while ((n = BIO_read(c->wbio, chunk, sizeof(chunk))) > 0) {
        int rc = raw_write(c, chunk, (size_t)n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static enum xgw_err conn_write(struct xgw_upstream_conn *c, const char *data, size_t len)
{
    if (c->state == C_CLOSING || !c->tcp)
        return XGW_EIO;
    if (c->write_queued + len > c->io->cfg->max_queue_bytes)
        return XGW_ELIMIT;
    if (!c->ssl)
        return raw_write(c, data, len) < 0 ? XGW_EIO : XGW_OK;
    /* Partial writes are enabled: each SSL_write may take only one record (16 KiB). With a
     * memory BIO it never blocks, so loop until everything is encrypted. */
    while (len > 0) {
        int n = SSL_write(c->ssl, data, len > INT_MAX ? INT_MAX : (int)len);
        if (n <= 0) {
            xgw_tls_log_errors(sid_of(c), "SSL_write");
            return XGW_EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return flush_tls(c) < 0 ? XGW_EIO : XGW_OK;
}

/* ---- reading ------------------------------------------------------------------------------ */

static void drain_tls(struct xgw_upstream_conn *c)
{
    while (c->state == C_OPEN && !c->read_paused) {
        int n = SSL_read(c->ssl, c->io->read_buf, sizeof(c->io->read_buf));
        if (n > 0) {
            xgw_session_upstream_data(c->session, c->io->read_buf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, "TLS closed by server");
        } else {
            xgw_tls_log_errors(sid_of(c), "SSL_read");
            conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, "TLS error");
        }
        return;
    }
    if (c->state == C_OPEN)
        (void)flush_tls(c); /* renegotiation or key update replies */
}

static void tls_handshake_step(struct xgw_upstream_conn *c)
{
    int rc = SSL_do_handshake(c->ssl);
    (void)flush_tls(c);
    if (rc == 1) {
        bool direct = c->route->tls == XGW_TLS_DIRECT;
        c->state = C_OPEN;
        if (direct)
            xgw_session_upstream_connected(c->session);
        else
            xgw_session_upstream_tls_done(c->session);
        if (c->state == C_OPEN)
            drain_tls(c); /* data that came with the last handshake flight */
        return;
    }
    if (SSL_get_error(c->ssl, rc) == SSL_ERROR_WANT_READ)
        return;
    long verify = SSL_get_verify_result(c->ssl);
    char why[256];
    if (verify != X509_V_OK)
        snprintf(why, sizeof(why), "TLS certificate verification failed for %s: %s",
                 c->route->domain, X509_verify_cert_error_string(verify));
    else
        snprintf(why, sizeof(why), "TLS handshake failed");
    xgw_tls_log_errors(sid_of(c), "TLS handshake");
    XGW_LOG_WARN("sid=%s upstream %s: %s", sid_of(c), c->peer, why);
    conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, why);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct xgw_upstream_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->io->read_buf, sizeof(c->io->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct xgw_upstream_conn *c = stream->data;
    if (nread == 0 || c->closing_requested)
        return;
    if (nread < 0) {
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED,
                  nread == UV_EOF ? "connection closed by server" : uv_strerror((int)nread));
        return;
    }
    if (!c->ssl) {
        xgw_session_upstream_data(c->session, buf->base, (size_t)nread);
        return;
    }
    BIO_write(SSL_get_rbio(c->ssl), buf->base, (int)nread);
    if (c->state == C_HANDSHAKE)
        tls_handshake_step(c);
    else
        drain_tls(c);
}

static void conn_pause_read(struct xgw_upstream_conn *c)
{
    c->read_paused = true;
    if (c->tcp)
        uv_read_stop((uv_stream_t *)c->tcp);
}

static void conn_resume_read(struct xgw_upstream_conn *c)
{
    if (!c->read_paused || !c->tcp)
        return;
    c->read_paused = false;
    if (c->ssl && c->state == C_OPEN)
        drain_tls(c); /* plaintext already decrypted before the pause */
    if (!c->read_paused && c->tcp)
        uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read);
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static enum xgw_err conn_start_tls(struct xgw_upstream_conn *c)
{
    c->ssl = SSL_new(c->io->client_tls);
    if (!c->ssl)
        return XGW_ENOMEM;
    BIO *rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    /* XMPP-06: SNI and reference identity are the XMPP domain, not the connected host. */
    SSL_set_tlsext_host_name(c->ssl, c->route->domain);
    if (c->route->tls_verify) {
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!SSL_set1_host(c->ssl, c->route->domain))
            return XGW_EINVAL;
    } else {
        SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    }
    c->state = C_HANDSHAKE;
    tls_handshake_step(c);
    return XGW_OK;
}

static bool conn_is_tls(const struct xgw_upstream_conn *c)
{
    return c->ssl != NULL && c->state == C_OPEN;
}

static bool conn_is_loopback(const struct xgw_upstream_conn *c)
{
    return c->loopback;
}

static const char *conn_peer(const struct xgw_upstream_conn *c)
{
    return c->peer;
}

/* ---- connecting --------------------------------------------------------------------------- */

static void note_peer(struct xgw_upstream_conn *c, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        c->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        c->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, port);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    struct xgw_upstream_conn *c = req->data;
    conn_release_ref(c); /* the request itself; c stays alive through its handles */
    if (c->closing_requested)
        return;
    if (status < 0) {
        XGW_LOG_INFO("sid=%s upstream %s: connect failed: %s", sid_of(c), c->peer,
                     uv_strerror(status));
        if (c->next_addr) {
            close_tcp(c);
            try_connect(c);
            return;
        }
        close_tcp(c);
        if (next_srv_target(c))
            return;
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(c->tcp, 1); /* design.md pitfall 11 */
    uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read);
    if (c->route->tls == XGW_TLS_DIRECT) {
        if (conn_start_tls(c) != XGW_OK)
            conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, "TLS setup failed");
        return;
    }
    c->state = C_OPEN;
    xgw_session_upstream_connected(c->session);
}

static void try_connect(struct xgw_upstream_conn *c)
{
    struct addrinfo *ai = c->next_addr;
    c->next_addr = ai->ai_next;
    c->tcp = xgw_malloc(sizeof(*c->tcp));
    uv_tcp_init(&c->io->loop, c->tcp);
    c->tcp->data = c;
    c->pending++;
    note_peer(c, ai->ai_addr);
    c->connect_req.data = c;
    int rc = uv_tcp_connect(&c->connect_req, c->tcp, ai->ai_addr, on_connected);
    if (rc < 0) {
        close_tcp(c);
        if (c->next_addr) {
            try_connect(c);
            return;
        }
        if (next_srv_target(c))
            return;
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, uv_strerror(rc));
        return;
    }
    c->pending++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct xgw_upstream_conn *c = req->data;
    c->addrs = res;
    c->resolving = false;
    if (c->closing_requested) {
        conn_release_ref(c); /* the resolver request */
        return;
    }
    c->pending--; /* the resolver request; the timer keeps c alive */
    if (status < 0 || !res) {
        char why[XGW_SRV_HOST_MAX + 64];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->target, uv_strerror(status));
        if (next_srv_target(c)) {
            XGW_LOG_INFO("sid=%s upstream %s", sid_of(c), why);
            return;
        }
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED, why);
        return;
    }
    c->state = C_CONNECTING;
    c->next_addr = res;
    try_connect(c);
}

/* Resolves host:port off the loop (design.md pitfall 2); on_resolved goes on from there. */
static void resolve(struct xgw_upstream_conn *c, const char *host, uint16_t port)
{
    snprintf(c->target, sizeof(c->target), "%s", host);
    snprintf(c->port_text, sizeof(c->port_text), "%u", (unsigned)port);
    if (c->addrs) {
        uv_freeaddrinfo(c->addrs);
        c->addrs = NULL;
    }
    c->next_addr = NULL;
    c->peer[0] = '\0';
    c->state = C_RESOLVING;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->resolver.data = c;
    int rc =
        uv_getaddrinfo(&c->io->loop, &c->resolver, on_resolved, c->target, c->port_text, &hints);
    if (rc == 0) {
        c->pending++;
        c->resolving = true;
    } else {
        /* A failed start is reported by the connect timer, never synchronously. */
        XGW_LOG_WARN("sid=%s cannot start resolving %s: %s", sid_of(c), c->target, uv_strerror(rc));
    }
}

/* The next SRV target after the current one failed; false when there is none. */
static bool next_srv_target(struct xgw_upstream_conn *c)
{
    if (c->srv_next >= c->srv_count || c->closing_requested)
        return false;
    const struct xgw_srv_target *t = &c->srv[c->srv_next++];
    XGW_LOG_INFO("sid=%s upstream: trying SRV target %s:%u", sid_of(c), t->host, (unsigned)t->port);
    resolve(c, t->host, t->port);
    return true;
}

static unsigned random_below(void *ctx, unsigned bound)
{
    (void)ctx;
    return bound == UINT_MAX ? arc4random() : arc4random_uniform(bound + 1);
}

/* XMPP-01, RFC 6120 §3.2.1: the SRV targets in RFC 2782 order, "." means no service, no
 * records (or no answer) falls back to the domain itself on the route's port. */
static void on_srv(void *arg, struct xgw_srv_result *r)
{
    struct xgw_upstream_conn *c = arg;
    c->srv_job = NULL;
    if (c->closing_requested) {
        conn_release_ref(c); /* the lookup */
        return;
    }
    c->pending--; /* the lookup; the timer keeps c alive */
    if (xgw_srv_no_service(r->targets, r->count)) {
        conn_fail(c, XGW_SC_REMOTE_CONNECTION_FAILED,
                  "DNS SRV says there is no XMPP service for this domain (target \".\")");
        return;
    }
    if (r->count == 0) {
        XGW_LOG_INFO("sid=%s upstream: no SRV records for %s (%s): connecting to %s:%u", sid_of(c),
                     c->target, r->error[0] ? r->error : "none", c->route->domain,
                     (unsigned)c->route->port);
        resolve(c, c->route->domain, c->route->port);
        return;
    }
    memcpy(c->srv, r->targets, r->count * sizeof(*c->srv));
    c->srv_count = r->count;
    c->srv_next = 0;
    xgw_srv_order(c->srv, c->srv_count, random_below, NULL);
    (void)next_srv_target(c);
}

static struct xgw_upstream_conn *conn_connect(struct xgw_gateway *gw, struct xgw_session *s,
                                              const struct xgw_route *route)
{
    struct xgw_upstream_conn *c = xgw_calloc(1, sizeof(*c));
    c->io = xgw_io_from_gateway(gw);
    c->session = s;
    c->route = route;
    c->state = C_RESOLVING;
    uv_timer_init(&c->io->loop, &c->timer);
    c->timer.data = c;
    c->pending = 1; /* the timer */
    conn_set_timeout(c, c->io->cfg->connect_timeout_s);
    if (route->host) {
        resolve(c, route->host, route->port);
        return c;
    }
    /* XEP-0368: direct TLS routes look for _xmpps-client, STARTTLS ones for _xmpp-client. */
    snprintf(c->target, sizeof(c->target), "_%s._tcp.%s",
             route->tls == XGW_TLS_DIRECT ? "xmpps-client" : "xmpp-client", route->domain);
    c->srv_job = xgw_srv_lookup(c->io, c->target, on_srv, c);
    if (c->srv_job)
        c->pending++;
    else
        XGW_LOG_WARN("sid=%s cannot start the SRV lookup of %s", xgw_session_id(s), c->target);
    return c;
}

/* ---- closing ------------------------------------------------------------------------------ */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct xgw_upstream_conn *c = req->data;
    (void)status;
    close_tcp(c);
    conn_release_ref(c);
}

static void conn_close(struct xgw_upstream_conn *c, bool graceful)
{
    if (c->closing_requested && c->state == C_CLOSING)
        return;
    bool was_open = c->state == C_OPEN;
    c->closing_requested = true;
    c->state = C_CLOSING;
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolver);
    if (c->srv_job)
        xgw_srv_cancel(c->srv_job);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (!c->tcp)
        return;
    uv_read_stop((uv_stream_t *)c->tcp);
    if (graceful && was_open) {
        if (c->ssl) {
            SSL_shutdown(c->ssl); /* close_notify (XMPP-11) */
            (void)flush_tls(c);
        }
        /* uv_shutdown waits for queued writes (our closing tag) before the FIN. */
        c->shutdown_req.data = c;
        if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)c->tcp, on_shutdown) == 0) {
            c->pending++;
            return;
        }
    }
    close_tcp(c);
}

const struct xgw_upstream_ops xgw_upstream_conn_ops = {
    .connect = conn_connect,
    .write = conn_write,
    .start_tls = conn_start_tls,
    .is_tls = conn_is_tls,
    .is_loopback = conn_is_loopback,
    .ready = conn_ready,
    .set_timeout = conn_set_timeout,
    .pause_read = conn_pause_read,
    .resume_read = conn_resume_read,
    .close = conn_close,
    .peer = conn_peer,
};
