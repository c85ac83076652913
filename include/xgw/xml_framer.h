/* SPDX-License-Identifier: MIT */
/* Server -> client direction: incremental framer over expat that cuts the upstream XMPP stream
 * into top-level elements by exact byte ranges (no re-serialisation), splicing in the namespace
 * and language declarations each element needs to stand alone (RFC 7395 §3.3.3, TD-3):
 *  - xmlns='jabber:client' on elements in the content namespace that declare no default ns;
 *  - xmlns:stream='http://etherx.jabber.org/streams' on stream-prefixed elements
 *    (<stream:features/>, <stream:error/>) that do not declare it themselves;
 *  - every other prefix declared on the upstream stream header and not redeclared on the element;
 *  - xml:lang from the stream header on message/presence/iq that have none (WS-27).
 * The splice goes right after the element's qualified name in its start tag. Whitespace between
 * top-level elements (keepalives) is dropped. Restricted XML (comments, PIs, DOCTYPE, entity
 * declarations) ends the stream with XGW_SC_RESTRICTED_XML. */
#ifndef XGW_XML_FRAMER_H
#define XGW_XML_FRAMER_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/stream_cond.h"

/* The upstream's stream header attributes; each NULL when absent. Borrowed: valid only during
 * the on_open callback. */
struct xgw_stream_header {
    const char *id;
    const char *from;
    const char *to;
    const char *version;
    const char *lang; /* xml:lang */
};

struct xgw_framer_ops {
    /* The stream header (<stream:stream ...> start tag) was parsed. */
    void (*on_open)(void *user, const struct xgw_stream_header *header);
    /* One complete top-level element. bytes/len: exact bytes with the splice applied (borrowed,
     * valid during the call). ns/local: the element's namespace URI ("" if none) and local name. */
    void (*on_element)(void *user, const char *bytes, size_t len, const char *ns,
                       const char *local);
    /* The stream's closing tag </stream:stream> was parsed. */
    void (*on_close)(void *user);
};

struct xgw_framer;

/* max_element_bytes caps one top-level element (XGW_SC_POLICY_VIOLATION when passed); max_depth
 * caps nesting inside the stream. ops and user are borrowed for the framer's lifetime. */
struct xgw_framer *xgw_framer_new(const struct xgw_framer_ops *ops, void *user,
                                  size_t max_element_bytes, unsigned max_depth);
void xgw_framer_free(struct xgw_framer *framer);

/* Feeds upstream bytes. Returns:
 *  XGW_OK     all bytes parsed (callbacks fired for every complete element);
 *  XGW_EAGAIN xgw_framer_pause() was called from a callback: the framer keeps the unparsed rest
 *             internally; the caller stops reading and later calls xgw_framer_resume();
 *  XGW_EPROTO the stream is broken, *cond says why (not-well-formed, restricted-xml,
 *             policy-violation, unsupported-encoding, invalid-namespace, bad-format,
 *             invalid-xml for bad UTF-8 or characters XML forbids); the framer must then only
 *             be freed or reset.
 * Bytes fed while paused are kept and parsed by the next resume (feed returns XGW_EAGAIN).
 * Never call feed/resume from inside a callback (XGW_EINVAL). */
XGW_MUST_CHECK enum xgw_err xgw_framer_feed(struct xgw_framer *framer, const char *data, size_t len,
                                            enum xgw_stream_cond *cond);
/* From inside a callback: stop at the end of the current element (back-pressure). Outside a
 * callback: the next feed only buffers its bytes until resume. */
void xgw_framer_pause(struct xgw_framer *framer);
/* Continues after a pause; same returns as feed. */
XGW_MUST_CHECK enum xgw_err xgw_framer_resume(struct xgw_framer *framer,
                                              enum xgw_stream_cond *cond);
bool xgw_framer_is_paused(const struct xgw_framer *framer);
/* Starts a new document (stream restart after STARTTLS or SASL). Outside a callback: immediate.
 * Inside a callback: parsing of the current input stops after that callback, the rest of the
 * bytes given to the current feed are discarded (RFC 6120 §5.4.3.3: plaintext after <proceed/>
 * is dropped) and the framer is reset before feed returns XGW_OK. */
void xgw_framer_reset(struct xgw_framer *framer);

#endif
