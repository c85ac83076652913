/* SPDX-License-Identifier: MIT */
/* Builders for BOSH response bodies (XEP-0124 §7.2, §8, §17; XEP-0206 §2, §4, §6): the session
 * creation response, ordinary and empty bodies, terminal and recoverable error bodies. Pure. */
#ifndef XGW_BOSH_REPLY_H
#define XGW_BOSH_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/bosh_body.h"
#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/err.h"

/* The highest BOSH version the gateway speaks (BOSH-24). */
#define XGW_BOSH_VER_MAJOR 1
#define XGW_BOSH_VER_MINOR 11

enum xgw_bosh_reply_type {
    XGW_BOSH_REPLY_NORMAL,    /* no type attribute */
    XGW_BOSH_REPLY_TERMINATE, /* type='terminate' [condition='...'] (XEP-0124 §17.2) */
    XGW_BOSH_REPLY_ERROR,     /* type='error': recoverable (XEP-0124 §17.3) */
};

/* Attributes only the session creation response carries (XEP-0124 §7.2, XEP206-04). */
struct xgw_bosh_creation {
    const char *sid; /* borrowed */
    unsigned wait_s, requests, hold, inactivity_s, polling_s;
    unsigned maxpause_s; /* 0: the attribute is left out */
    unsigned ver_major, ver_minor;
};

/* One response body. Every pointer is borrowed for the call; NULL strings are left out. */
struct xgw_bosh_reply {
    enum xgw_bosh_reply_type type;
    enum xgw_bosh_cond cond;                  /* TERMINATE only; NONE: no condition attribute */
    const struct xgw_bosh_creation *creation; /* NULL except on the creation response */
    bool has_ack;                             /* ack='...' (XEP-0124 §9.1) */
    uint64_t ack;
    const char *from;         /* the server's stream 'from' (BOSH-30) */
    const char *authid;       /* the server's stream 'id' (XEP206-05) */
    const char *xmpp_version; /* the server's stream 'version' as xmpp:version (XEP206-03) */
    const char *payload;      /* standalone child elements, concatenated, copied verbatim */
    size_t payload_len;
};

/* Appends one <body/> in http://jabber.org/protocol/httpbind. Each attribute appears at most once
 * (E-12); values are escaped. xmlns:xmpp is declared when an xmpp: attribute is present, and
 * xmlns:stream whenever the body has children (XEP206-06, BOSH-75). A body without children is
 * self-closing. XGW_ELIMIT when out would pass its max (out is then unspecified). */
XGW_MUST_CHECK enum xgw_err xgw_bosh_reply_build(struct xgw_buf *out,
                                                 const struct xgw_bosh_reply *reply);

/* Shorthands: <body xmlns='...'/>; <body type='terminate' [condition='cond'] xmlns='...'/>
 * (with children when payload_len > 0); <body type='error' xmlns='...'/>. */
XGW_MUST_CHECK enum xgw_err xgw_bosh_reply_empty(struct xgw_buf *out);
XGW_MUST_CHECK enum xgw_err xgw_bosh_reply_terminate(struct xgw_buf *out, enum xgw_bosh_cond cond,
                                                     const char *payload, size_t payload_len);
XGW_MUST_CHECK enum xgw_err xgw_bosh_reply_error(struct xgw_buf *out);

#endif
