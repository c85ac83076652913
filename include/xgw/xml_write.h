/* SPDX-License-Identifier: MIT */
/* Serialisation of parsed elements and the only place that escapes XML. */
#ifndef XGW_XML_WRITE_H
#define XGW_XML_WRITE_H

#include <stddef.h>

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/xml_tree.h"

enum xgw_xml_write_flags {
    /* Elements in the BOSH namespace (http://jabber.org/protocol/httpbind) are written as if they
     * were in jabber:client: XEP-0206 §2, BOSH clients often send unqualified stanzas. */
    XGW_XML_WRITE_HTTPBIND_AS_CLIENT = 1u << 0,
};

/* Appends element `node` (whole subtree) to out, serialised for the inside of an upstream c2s
 * stream whose default namespace is jabber:client and where prefix "stream" is bound to
 * http://etherx.jabber.org/streams. Output rules:
 * - namespace declarations are generated (namespace fix-up) so the element is namespace-well-
 *   formed in that context, whatever was declared on ancestors in the input (e.g. on <body/>);
 *   a declaration is only emitted where the binding in scope in the output differs;
 * - elements in jabber:client are always unprefixed (XMPP-15): a top-level jabber:client element
 *   therefore carries no xmlns at all;
 * - unqualified elements (node->unqualified: no default namespace declared anywhere above them
 *   in the input) are read as if written inside that stream, i.e. as jabber:client; an element
 *   put in no namespace by an explicit xmlns='' keeps it (written with xmlns='');
 * - prefixes of other elements and attributes are kept as written where possible;
 *   xml:lang is written as xml:lang with no declaration;
 * - no whitespace is added (XMPP-08); text and attribute values are escaped (attributes use
 *   single quotes; &, <, >, ', ", TAB, LF and CR in attributes are written as references).
 * XGW_ELIMIT if out would exceed its max. */
XGW_MUST_CHECK enum xgw_err xgw_xml_write_element(struct xgw_buf *out,
                                                  const struct xgw_xml_node *node, unsigned flags);

/* Escape helpers for builders of our own elements (headers, <open/>, BOSH bodies). */
XGW_MUST_CHECK enum xgw_err xgw_xml_escape_text(struct xgw_buf *out, const char *s, size_t len);
XGW_MUST_CHECK enum xgw_err xgw_xml_escape_attr(struct xgw_buf *out, const char *s, size_t len);
/* Appends ` name='value'` with value escaped as by xgw_xml_escape_attr; name is written as given
 * (a literal of ours, e.g. "xml:lang"). Both borrowed. XGW_ELIMIT (out unchanged) past its max. */
XGW_MUST_CHECK enum xgw_err xgw_xml_write_attr(struct xgw_buf *out, const char *name,
                                               const char *value);
/* Appends the namespace declaration ` xmlns='uri'` (prefix NULL) or ` xmlns:prefix='uri'`, uri
 * escaped. Both borrowed. XGW_ELIMIT (out unchanged) past its max. */
XGW_MUST_CHECK enum xgw_err xgw_xml_write_ns_decl(struct xgw_buf *out, const char *prefix,
                                                  const char *uri);

#endif
