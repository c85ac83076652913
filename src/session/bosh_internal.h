/* SPDX-License-Identifier: MIT */
/* Private structures of the BOSH session layer, shared by bosh_session.c (public API, creation,
 * request processing, timers), bosh_answer.c (responses and termination), bosh_rid.c (waiting
 * requests, replay cache, keys) and bosh_table.c (sid and connection hash tables).
 * XEP-0124 + XEP-0206. */
#ifndef XGW_BOSH_INTERNAL_H
#define XGW_BOSH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/bosh_body.h"
#include "xgw/bosh_session.h"
#include "xgw/buf.h"

#define BOSH_NO_DEADLINE   UINT64_MAX
#define BOSH_DEFAULT_CTYPE "text/xml; charset=utf-8" /* BOSH-04 */
#define BOSH_MAX_REPEATS   20  /* BOSH-67: repeats of one rid before policy-violation */
#define BOSH_MAX_CTYPE     256 /* longest 'content' we put into a Content-Type header */

enum bosh_state {
    BS_CREATING, /* the creation request is held until the server's features or `wait` */
    BS_OPEN,     /* creation answered: ordinary request processing */
    BS_TERMINAL, /* the stream ended with nobody held: the terminal body waits for a request */
    BS_DEAD,     /* the sid is dead; freed at the end of the current entry point */
};

/* Where a waiting request is. */
enum bosh_wait_kind {
    BW_LOOSE,    /* in no list: just created, or taken out to be processed */
    BW_HELD,     /* processed (payloads forwarded); waiting for data or its wait expiry */
    BW_BUFFERED, /* arrived out of order; waits for the rid gap below it to fill */
};

/* Progress of the server's first (post-TLS) stream header toward the client (XEP206-03/05). */
enum bosh_header {
    BH_NONE,    /* not received yet */
    BH_PENDING, /* received; from/authid/xmpp:version go on the next response with payloads */
    BH_SENT,    /* delivered (restart headers are never reported) */
};

/* One HTTP request the session has not answered yet. */
struct bosh_wait {
    struct bosh_wait *next;      /* owned by the session's list (held or buffered), rid order */
    struct bosh_wait *hash_next; /* chain in the connection table */
    struct xgw_bosh_session *bs; /* borrowed: the owner */
    struct xgw_bosh_conn *conn;  /* borrowed from the io layer; NULL once the client left */
    enum bosh_wait_kind kind;
    uint64_t rid;
    uint64_t arrival_ms;
    uint64_t deadline_ms;    /* held: wait expiry; buffered: gap expiry (BOSH-63) */
    struct xgw_bosh_req req; /* owned; buffered requests only (root NULL otherwise) */
    char *key;               /* owned; the request's 'key', compared on repeats (BOSH-84) */
};

/* One buffered response for retransmissions (BOSH-64/65). */
struct bosh_cached {
    uint64_t rid;
    char *key;  /* owned; the 'key' of the request answered, NULL if none */
    char *body; /* owned; the exact bytes sent */
    size_t len;
};

struct xgw_bosh_session {
    struct xgw_bosh *bosh;              /* borrowed */
    struct xgw_bosh_session *hash_next; /* chain in the sid table */
    struct xgw_session *core;           /* the core session; NULL once detached */
    void *host_slot;                    /* the io layer's (its timer) */
    enum bosh_state state;
    char sid[40];
    char peer[64];

    /* Negotiated at creation (XEP-0124 §7.2). */
    unsigned wait_s, hold, requests, inactivity_s, polling_s, maxpause_s;
    unsigned ver_major, ver_minor;
    bool legacy;            /* the creation request had no 'ver' (BOSH-80) */
    bool acks;              /* the creation request had 'ack' (BOSH-31/45) */
    bool secure;            /* created over TLS: plain-HTTP requests are dropped (BOSH-81) */
    char *content_type;     /* owned; every response's Content-Type (BOSH-04/05) */
    char *to, *lang, *from; /* owned; creation values reused by restarts (XEP206-13) */
    char *key;              /* owned; expected SHA-1 hex of the next 'key'; NULL: no keys */

    /* Request ids (XEP-0124 §14). */
    uint64_t creation_rid;
    uint64_t last_rid;      /* highest rid processed with no gap below it */
    struct bosh_wait *held; /* owned list, oldest first */
    size_t held_count;
    struct bosh_wait *buffered; /* owned list, ascending rid */
    size_t buffered_count;
    struct bosh_cached *cache; /* owned array of `requests` slots */
    size_t cache_count;
    uint64_t repeat_rid; /* BOSH-67 */
    unsigned repeat_count;
    uint64_t poll_rid; /* BOSH-57: last new empty request answered empty, 0: none */
    uint64_t poll_ms;

    /* Toward the client. */
    struct xgw_buf queue; /* standalone elements not delivered yet */
    bool drained; /* the queue was emptied: tell the core (back-pressure) before returning */
    enum bosh_header header;
    char *hdr_from, *hdr_id, *hdr_version; /* owned; the server's first stream header */
    struct xgw_buf terminal; /* BS_TERMINAL: the terminal body for the oldest waiting request */
    unsigned terminal_status;

    /* Timers (milliseconds on the caller's monotonic clock). */
    uint64_t last_response_ms;
    uint64_t inactivity_ms; /* current limit: inactivity, or the pause value (BOSH-49) */
    uint64_t scheduled_ms;  /* deadline the host's timer is armed for; BOSH_NO_DEADLINE: none */
};

struct xgw_bosh {
    struct xgw_gateway *gw; /* borrowed */
    struct xgw_bosh_settings settings;
    const struct xgw_bosh_host_ops *ops;   /* borrowed */
    void *host;                            /* borrowed */
    struct xgw_bosh_session **sid_buckets; /* owned array; sessions are owned through it */
    size_t sid_bucket_count, session_count;
    struct bosh_wait **conn_buckets; /* owned array of borrowed chains */
    size_t conn_bucket_count, conn_count;
    struct xgw_buf scratch; /* response serialisation, reused */
    uint64_t now_ms;        /* the latest clock reading seen */
    unsigned entry_depth;   /* > 0 inside an xgw_bosh_* entry point */
    bool shutting_down;
};

/* bosh_table.c */
void xgw_bosh_tables_init(struct xgw_bosh *bosh);
void xgw_bosh_tables_cleanup(struct xgw_bosh *bosh);
void xgw_bosh_sid_insert(struct xgw_bosh *bosh, struct xgw_bosh_session *bs);
struct xgw_bosh_session *xgw_bosh_sid_find(const struct xgw_bosh *bosh, const char *sid);
void xgw_bosh_sid_remove(struct xgw_bosh *bosh, struct xgw_bosh_session *bs);
/* The first session in a bucket at or after *cursor (advanced), or NULL: visits every session
 * once in O(sessions + buckets) while the caller removes what it gets (shutdown, free). */
struct xgw_bosh_session *xgw_bosh_sid_next(const struct xgw_bosh *bosh, size_t *cursor);
void xgw_bosh_conn_insert(struct xgw_bosh *bosh, struct bosh_wait *w);
struct bosh_wait *xgw_bosh_conn_find(const struct xgw_bosh *bosh, const struct xgw_bosh_conn *c);
void xgw_bosh_conn_remove(struct xgw_bosh *bosh, struct bosh_wait *w);

/* bosh_rid.c */
struct bosh_wait *xgw_bosh_wait_new(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                                    uint64_t rid, const char *key, uint64_t now_ms);
/* Unlinks w from its list and the connection table and frees it (not its conn). */
void xgw_bosh_wait_free(struct xgw_bosh_session *bs, struct bosh_wait *w);
/* Takes w out of its list (it becomes BW_LOOSE). */
void xgw_bosh_wait_unlink(struct xgw_bosh_session *bs, struct bosh_wait *w);
void xgw_bosh_wait_set_conn(struct xgw_bosh_session *bs, struct bosh_wait *w,
                            struct xgw_bosh_conn *conn);
void xgw_bosh_held_push(struct xgw_bosh_session *bs, struct bosh_wait *w);
void xgw_bosh_buffered_insert(struct xgw_bosh_session *bs, struct bosh_wait *w);
struct bosh_wait *xgw_bosh_wait_find(const struct xgw_bosh_session *bs, uint64_t rid);
/* The buffered request with rid last_rid + 1, unlinked, or NULL. */
struct bosh_wait *xgw_bosh_buffered_next(struct xgw_bosh_session *bs);
void xgw_bosh_cache_put(struct xgw_bosh_session *bs, uint64_t rid, const char *key,
                        const char *body, size_t len);
const struct bosh_cached *xgw_bosh_cache_find(const struct xgw_bosh_session *bs, uint64_t rid);
void xgw_bosh_cache_trim(struct xgw_bosh_session *bs, uint64_t acked_rid);
void xgw_bosh_cache_clear(struct xgw_bosh_session *bs);
/* XEP-0124 §15: checks req's key against the chain and advances it. */
bool xgw_bosh_key_check(struct xgw_bosh_session *bs, const struct xgw_bosh_req *req);
bool xgw_bosh_key_same(const char *a, const char *b);

/* bosh_request.c */
/* One request with a known sid (the parsed request may be taken over: req is then zeroed). */
void xgw_bosh_request(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                      struct xgw_bosh_req *req, uint64_t now);
/* Relays the element children of root to the core, in order, while the stream lives. */
void xgw_bosh_forward(struct xgw_bosh_session *bs, const struct xgw_xml_node *root);

/* bosh_answer.c */
void xgw_bosh_respond(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn, unsigned status,
                      const char *body, size_t len);
/* Answers the held request w (then freed) with an ordinary body, with the queue if with_queue;
 * the response is cached unless it is for a pause request (cache false). */
void xgw_bosh_answer_held(struct xgw_bosh_session *bs, struct bosh_wait *w, bool with_queue,
                          bool cache);
void xgw_bosh_answer_error(struct xgw_bosh_session *bs, struct bosh_wait *w);
void xgw_bosh_answer_cond(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn,
                          enum xgw_bosh_cond cond);
/* Every waiting request gets T(cond) and is freed. */
void xgw_bosh_answer_all(struct xgw_bosh_session *bs, enum xgw_bosh_cond cond);
void xgw_bosh_answer_creation(struct xgw_bosh_session *bs);
/* Ends the session because of request `conn`: it gets T(cond), every waiting request
 * T(other-request) (TERM-07); the session is dead. */
void xgw_bosh_fail(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn, enum xgw_bosh_cond cond,
                   const char *why);
/* The core's end(): builds the terminal body and enters BS_TERMINAL (BOSH-72). */
void xgw_bosh_stream_ended(struct xgw_bosh_session *bs, enum xgw_bosh_cond cond, const char *error,
                           size_t error_len);
/* BS_TERMINAL: gives the terminal body to conn (NULL: the oldest waiting request; the others get
 * other-request). The session is dead afterwards. */
void xgw_bosh_deliver_terminal(struct xgw_bosh_session *bs, struct xgw_bosh_conn *conn);
enum xgw_bosh_cond xgw_bosh_cond_from_stream(enum xgw_stream_cond cond, bool has_error);
void xgw_bosh_log_end(const struct xgw_bosh_session *bs, const char *why, enum xgw_bosh_cond cond);

#endif
