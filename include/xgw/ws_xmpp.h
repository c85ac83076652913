/* SPDX-License-Identifier: MIT */
/* RFC 7395 framing rules, pure: classify a client message and build the framing elements
 * (<open/>, <close/>) the gateway sends. No I/O. */
#ifndef XGW_WS_XMPP_H
#define XGW_WS_XMPP_H

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/stream_cond.h"
#include "xgw/xml_framer.h"
#include "xgw/xml_tree.h"

enum xgw_ws_msg_kind {
    XGW_WS_MSG_OPEN,   /* <open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/> */
    XGW_WS_MSG_CLOSE,  /* <close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/> */
    XGW_WS_MSG_STANZA, /* anything else: a stanza, SASL, SM ... element */
    XGW_WS_MSG_BAD,    /* framing element in the wrong namespace (WS-31), or a
                          <stream:stream> from an old-draft client: see cond */
};

/* Classifies one parsed client message. For XGW_WS_MSG_BAD, *cond is the stream error. */
enum xgw_ws_msg_kind xgw_ws_classify(const struct xgw_xml_node *root, enum xgw_stream_cond *cond);

/* Appends <open xmlns=NS_FRAMING from id [to] version xml:lang/> built from the upstream header
 * (WS-33). version defaults to '1.0' and xml:lang to 'en' when absent; id/from are omitted
 * when NULL. */
XGW_MUST_CHECK enum xgw_err xgw_ws_open_build(struct xgw_buf *out,
                                              const struct xgw_stream_header *header);
/* Appends <close xmlns=NS_FRAMING [see-other-uri='...']/>. */
XGW_MUST_CHECK enum xgw_err xgw_ws_close_build(struct xgw_buf *out, const char *see_other_uri);

#endif
