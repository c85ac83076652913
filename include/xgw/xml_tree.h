/* SPDX-License-Identifier: MIT */
/* Client -> server direction: parse one complete XML document (a WebSocket message or a BOSH
 * <body/>) fully into a small element tree, enforcing restricted XML (RFC 6120 §11.1), size and
 * depth caps. The tree is then re-serialised by xml_write, never spliced raw (CM-09). */
#ifndef XGW_XML_TREE_H
#define XGW_XML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/stream_cond.h"

struct xgw_xml_attr {
    char *ns;     /* owned; namespace URI of a prefixed attribute, NULL for unprefixed ones */
    char *prefix; /* owned; prefix as written (e.g. "xml" for xml:lang), NULL if none */
    char *local;  /* owned */
    char *value;  /* owned; NUL-terminated, decoded (entities resolved) */
};

enum xgw_xml_kind { XGW_XML_ELEMENT, XGW_XML_TEXT };

struct xgw_xml_node {
    enum xgw_xml_kind kind;
    char *ns;     /* owned; ELEMENT: namespace URI, NULL if none */
    char *prefix; /* owned; ELEMENT: prefix as written, NULL if unprefixed */
    char *local;  /* owned; ELEMENT: local name */
    char *text;   /* owned; TEXT: decoded character data (adjacent runs merged), NUL-terminated */
    size_t text_len;
    struct xgw_xml_attr *attrs; /* owned array; namespace declarations are NOT listed here */
    size_t attr_count;
    struct xgw_xml_node *parent;      /* borrowed */
    struct xgw_xml_node *first_child; /* owned list */
    struct xgw_xml_node *last_child;  /* borrowed (tail of the owned list) */
    struct xgw_xml_node *next;        /* owned by the parent's list */
    /* ELEMENT: true when ns is NULL only because no default namespace was declared on the
     * element or any ancestor in the document (false after an explicit xmlns=''). xml_write puts
     * such elements in the default namespace of the stream they are written into. */
    bool unqualified;
};

struct xgw_xml_limits {
    size_t max_bytes;   /* whole document size cap -> XGW_SC_POLICY_VIOLATION */
    unsigned max_depth; /* element nesting cap (root = depth 1) -> XGW_SC_POLICY_VIOLATION */
};

/* Parses exactly one document: optional XML declaration, one root element, surrounding
 * whitespace. On XGW_OK *root is the root element (free with xgw_xml_node_free).
 * On XGW_EPROTO *cond is: XGW_SC_NOT_WELL_FORMED (syntax, empty input, several roots, text
 * outside the root, unbound prefix), XGW_SC_RESTRICTED_XML (comment, PI, DOCTYPE, entity
 * declaration or non-predefined entity reference), XGW_SC_POLICY_VIOLATION (size or depth),
 * XGW_SC_UNSUPPORTED_ENCODING (declared encoding other than UTF-8, or bytes that are not
 * UTF-8: RFC 6120 §11.6) or XGW_SC_INVALID_XML (UTF-8 for a character XML forbids). */
XGW_MUST_CHECK enum xgw_err xgw_xml_parse_document(const char *data, size_t len,
                                                   const struct xgw_xml_limits *limits,
                                                   struct xgw_xml_node **root,
                                                   enum xgw_stream_cond *cond);

void xgw_xml_node_free(struct xgw_xml_node *node);

/* True if node is an element with this namespace (NULL matches "no namespace") and local name. */
bool xgw_xml_is(const struct xgw_xml_node *node, const char *ns, const char *local);
/* Value of the attribute (ns NULL for unprefixed attributes), or NULL. */
const char *xgw_xml_attr_get(const struct xgw_xml_node *node, const char *ns, const char *local);
/* First child element matching ns/local (either may be NULL = any), or NULL. */
struct xgw_xml_node *xgw_xml_child(const struct xgw_xml_node *node, const char *ns,
                                   const char *local);
/* Number of child elements (text nodes not counted). */
size_t xgw_xml_child_count(const struct xgw_xml_node *node);

#endif
