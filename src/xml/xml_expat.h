/* SPDX-License-Identifier: MIT */
/* Private to src/xml: the expat setup and restricted-XML guards (RFC 6120 §11.1) shared by the
 * framer and the tree parser, plus the expat error -> stream condition mapping. */
#ifndef XGW_XML_EXPAT_H
#define XGW_XML_EXPAT_H

#define XML_DTD /* before expat.h: declares the billion-laughs setters (pitfall 5) */
#include <expat.h>
#include <stdbool.h>
#include <stddef.h>

#include "xgw/stream_cond.h"

/* Separates URI, local name and prefix in expat's names ("uri<SEP>local<SEP>prefix"); not an XML
 * character, so it cannot occur inside a parsed name or namespace URI. */
#define XGW_EXPAT_NS_SEP     '\x1F'
#define XGW_EXPAT_NS_SEP_STR "\x1F"

/* Embedded in a parsing context. The guard is the parser's user data: the context's own handlers
 * get back to the context with XGW_CONTAINER_OF. */
struct xgw_expat_guard {
    XML_Parser parser;         /* borrowed: owned by the embedding context */
    enum xgw_stream_cond cond; /* first condition a handler failed with, XGW_SC_NONE if none */
    /* Optional: called when the XML declaration is reported, before its encoding is checked. */
    void (*on_xml_decl)(struct xgw_expat_guard *guard);
};

/* A namespace-aware parser (triplets, XGW_EXPAT_NS_SEP) allocating through xgw_malloc, for UTF-8
 * input; NULL if expat could not allocate. Free with XML_ParserFree. */
XML_Parser xgw_expat_parser_new(void);

/* Sets guard as the parser's user data and installs the settings and handlers every parser of
 * ours needs: no reparse deferral (pitfall 6), billion-laughs limits, namespace triplets, and
 * handlers that fail the guard on a non-UTF-8 XML declaration (unsupported-encoding) or on a
 * DOCTYPE, entity declaration, comment, PI or skipped entity (restricted-xml). Call again after
 * XML_ParserReset. guard->parser must already be set. */
void xgw_expat_install_guards(struct xgw_expat_guard *guard);

/* Records cond (unless a condition is already recorded) and stops the parser for good. */
void xgw_expat_fail(struct xgw_expat_guard *guard, enum xgw_stream_cond cond);

/* The stream condition for the parser's current expat error. data/len are the input bytes from
 * the error position on (or the whole document), scanned to tell unsupported-encoding (bytes
 * that are not UTF-8, RFC 6120 §11.6) and invalid-xml (UTF-8 for a character XML forbids) from
 * not-well-formed. A sequence cut by the end of data counts as valid only when more_may_follow
 * (the framer's input may continue). */
enum xgw_stream_cond xgw_expat_error_cond(XML_Parser parser, const char *data, size_t len,
                                          bool more_may_follow);

#endif
