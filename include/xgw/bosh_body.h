/* SPDX-License-Identifier: MIT */
/* Parsing and validation of one BOSH request body (XEP-0124 §6-§7, §9-§15; XEP-0206 §3-§5).
 * Pure: no I/O, no clock. */
#ifndef XGW_BOSH_BODY_H
#define XGW_BOSH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/xml_tree.h"

/* XEP-0124 §17.2 terminal binding conditions (plus NONE). */
enum xgw_bosh_cond {
    XGW_BOSH_COND_NONE = 0,
    XGW_BOSH_COND_BAD_REQUEST,
    XGW_BOSH_COND_HOST_GONE,
    XGW_BOSH_COND_HOST_UNKNOWN,
    XGW_BOSH_COND_IMPROPER_ADDRESSING,
    XGW_BOSH_COND_INTERNAL_SERVER_ERROR,
    XGW_BOSH_COND_ITEM_NOT_FOUND,
    XGW_BOSH_COND_OTHER_REQUEST,
    XGW_BOSH_COND_POLICY_VIOLATION,
    XGW_BOSH_COND_REMOTE_CONNECTION_FAILED,
    XGW_BOSH_COND_REMOTE_STREAM_ERROR,
    XGW_BOSH_COND_SEE_OTHER_URI,
    XGW_BOSH_COND_SYSTEM_SHUTDOWN,
    XGW_BOSH_COND_UNDEFINED_CONDITION,
};

/* The attribute value ("item-not-found"), or "" for NONE. */
const char *xgw_bosh_cond_name(enum xgw_bosh_cond cond);

#define XGW_BOSH_MAX_RID 9007199254740991ull /* 2^53 - 1 (BOSH-18) */

/* One parsed request. Strings point into the tree (valid while `root` lives) or are NULL when
 * the attribute is absent. Numbers are valid only when their has_ flag is set. */
struct xgw_bosh_req {
    struct xgw_xml_node *root; /* owned: the <body/> element; payloads are its element children */
    uint64_t rid;              /* always present after a successful parse (1..2^53-1) */
    const char *sid;
    const char *to;
    const char *route;
    const char *from;
    const char *lang;    /* xml:lang */
    const char *content; /* creation only: the Content-Type to use for every response */
    const char *key;     /* XEP-0124 §15 */
    const char *newkey;
    bool has_ver;
    unsigned ver_major, ver_minor; /* 'ver', compared as integers (BOSH-24) */
    bool has_wait;
    unsigned wait_s;
    bool has_hold;
    unsigned hold;
    bool has_ack;
    uint64_t ack;
    bool has_pause;
    unsigned pause_s;
    const char *xmpp_version; /* xmpp:version (urn:xmpp:xbosh), any prefix (XEP206-17) */
    bool restart;             /* xmpp:restart='true' or '1' (XEP206-11) */
    bool terminate;           /* type='terminate' */
    size_t payload_count;     /* element children of <body/> */
};

/* Parses a request body of len bytes (at most max_bytes, else XGW_ELIMIT / policy-violation).
 * On XGW_OK *req is filled (free with xgw_bosh_req_cleanup). On XGW_EPROTO / XGW_ELIMIT, *cond
 * is the condition to answer with: BAD_REQUEST for anything malformed (not XML, restricted XML,
 * invalid UTF-8, root not <body/> in http://jabber.org/protocol/httpbind, missing or invalid
 * rid, non-numeric wait/hold/ack/pause/ver, non-whitespace character data directly in <body/>),
 * POLICY_VIOLATION for a body over max_bytes. An XML declaration before <body> and whitespace
 * between payloads are accepted (BOSH-17). */
XGW_MUST_CHECK enum xgw_err xgw_bosh_req_parse(const char *data, size_t len, size_t max_bytes,
                                               struct xgw_bosh_req *req, enum xgw_bosh_cond *cond);
void xgw_bosh_req_cleanup(struct xgw_bosh_req *req);

/* For a body xgw_bosh_req_parse refused: if it is still well-formed XML whose root is <body/> in
 * http://jabber.org/protocol/httpbind with a 'sid' attribute of fewer than out_len bytes, copies
 * the sid into out and returns true, so the session can be told (legacy HTTP 400, BOSH-80). */
bool xgw_bosh_req_peek_sid(const char *data, size_t len, size_t max_bytes, char *out,
                           size_t out_len);

#endif
