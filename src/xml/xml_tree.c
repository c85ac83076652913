/* SPDX-License-Identifier: MIT */
/* Parses one complete XML document into an element tree with expat, enforcing restricted XML. */
#define XML_DTD /* before expat.h: declares the billion-laughs setters (pitfall 5) */
#include "xgw/xml_tree.h"

#include <expat.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "xgw/alloc.h"
#include "xgw/limits.h"

/* Separates URI, local name and prefix in expat's names; not an XML character, so it cannot
 * occur inside a parsed name or namespace URI. */
#define NS_SEP '\x1F'

struct tree_ctx {
    XML_Parser parser;
    struct xgw_xml_node *root;
    struct xgw_xml_node *cur; /* innermost open element */
    size_t text_cap;          /* allocated size of cur->last_child->text when it is text */
    unsigned depth;
    unsigned max_depth;
    unsigned default_depth;    /* depth of the outermost element declaring xmlns=..., 0 if none */
    bool default_pending;      /* the start tag being reported declares the default namespace */
    enum xgw_stream_cond cond; /* set by a handler that stopped the parser */
};

static const XML_Memory_Handling_Suite tree_mem = {xgw_malloc, xgw_realloc, xgw_free};

static void fail(struct tree_ctx *ctx, enum xgw_stream_cond cond)
{
    if (ctx->cond == XGW_SC_NONE)
        ctx->cond = cond;
    XML_StopParser(ctx->parser, XML_FALSE);
}

/* Splits expat's "uri<SEP>local[<SEP>prefix]" (or plain "local") into owned strings. */
static void split_name(const char *name, char **ns, char **local, char **prefix)
{
    const char *s1 = strchr(name, NS_SEP);
    *prefix = NULL;
    if (s1 == NULL) {
        *ns = NULL;
        *local = xgw_strdup(name);
        return;
    }
    *ns = xgw_strndup(name, (size_t)(s1 - name));
    const char *s2 = strchr(s1 + 1, NS_SEP);
    if (s2 == NULL) {
        *local = xgw_strdup(s1 + 1);
        return;
    }
    *local = xgw_strndup(s1 + 1, (size_t)(s2 - s1 - 1));
    *prefix = xgw_strdup(s2 + 1);
}

static void append_child(struct xgw_xml_node *parent, struct xgw_xml_node *child)
{
    child->parent = parent;
    if (parent->last_child)
        parent->last_child->next = child;
    else
        parent->first_child = child;
    parent->last_child = child;
}

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **atts)
{
    struct tree_ctx *ctx = user;
    if (ctx->depth >= ctx->max_depth) {
        fail(ctx, XGW_SC_POLICY_VIOLATION);
        return;
    }
    size_t count = 0;
    while (atts[2 * count])
        count++;
    struct xgw_xml_node *node = xgw_calloc(1, sizeof(*node));
    node->kind = XGW_XML_ELEMENT;
    split_name(name, &node->ns, &node->local, &node->prefix);
    if (count) {
        node->attrs = xgw_calloc(count, sizeof(*node->attrs));
        node->attr_count = count;
        for (size_t i = 0; i < count; i++) {
            struct xgw_xml_attr *a = &node->attrs[i];
            split_name(atts[2 * i], &a->ns, &a->local, &a->prefix);
            a->value = xgw_strdup(atts[2 * i + 1]);
        }
    }
    if (ctx->cur)
        append_child(ctx->cur, node);
    else
        ctx->root = node;
    ctx->cur = node;
    ctx->depth++;
    if (ctx->default_pending && ctx->default_depth == 0)
        ctx->default_depth = ctx->depth;
    ctx->default_pending = false;
    node->unqualified = node->ns == NULL && ctx->default_depth == 0;
}

static void XMLCALL on_ns_decl(void *user, const XML_Char *prefix, const XML_Char *uri)
{
    struct tree_ctx *ctx = user;
    XGW_UNUSED(uri);
    if (prefix == NULL)
        ctx->default_pending = true;
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    struct tree_ctx *ctx = user;
    XGW_UNUSED(name);
    if (ctx->depth == ctx->default_depth)
        ctx->default_depth = 0;
    ctx->cur = ctx->cur->parent;
    ctx->depth--;
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct tree_ctx *ctx = user;
    if (ctx->cur == NULL || len <= 0)
        return;
    struct xgw_xml_node *t = ctx->cur->last_child;
    if (t == NULL || t->kind != XGW_XML_TEXT) {
        t = xgw_calloc(1, sizeof(*t));
        t->kind = XGW_XML_TEXT;
        ctx->text_cap = 0;
        append_child(ctx->cur, t);
    }
    size_t need = t->text_len + (size_t)len + 1;
    if (need > ctx->text_cap) {
        size_t cap = ctx->text_cap ? ctx->text_cap : 32;
        while (cap < need)
            cap *= 2;
        t->text = xgw_realloc(t->text, cap);
        ctx->text_cap = cap;
    }
    memcpy(t->text + t->text_len, s, (size_t)len);
    t->text_len += (size_t)len;
    t->text[t->text_len] = '\0';
}

static void XMLCALL on_xml_decl(void *user, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    XGW_UNUSED(version);
    XGW_UNUSED(standalone);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(user, XGW_SC_UNSUPPORTED_ENCODING);
}

static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    XGW_UNUSED(name);
    XGW_UNUSED(sysid);
    XGW_UNUSED(pubid);
    XGW_UNUSED(has_internal_subset);
    fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_entity_decl(void *user, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    XGW_UNUSED(name);
    XGW_UNUSED(is_param);
    XGW_UNUSED(value);
    XGW_UNUSED(value_len);
    XGW_UNUSED(base);
    XGW_UNUSED(sysid);
    XGW_UNUSED(pubid);
    XGW_UNUSED(notation);
    fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_comment(void *user, const XML_Char *data)
{
    XGW_UNUSED(data);
    fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_pi(void *user, const XML_Char *target, const XML_Char *data)
{
    XGW_UNUSED(target);
    XGW_UNUSED(data);
    fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_skipped_entity(void *user, const XML_Char *name, int is_param)
{
    XGW_UNUSED(name);
    XGW_UNUSED(is_param);
    fail(user, XGW_SC_RESTRICTED_XML);
}

static XML_Parser tree_parser_new(struct tree_ctx *ctx)
{
    static const XML_Char sep[] = {NS_SEP, '\0'};
    XML_Parser p = XML_ParserCreate_MM("UTF-8", &tree_mem, sep);
    if (p == NULL)
        return NULL;
    XML_SetReturnNSTriplet(p, XML_TRUE);
    XML_SetReparseDeferralEnabled(p, XML_FALSE);
    (void)XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
    (void)XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1024 * 1024);
    XML_SetUserData(p, ctx);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartNamespaceDeclHandler(p, on_ns_decl);
    XML_SetXmlDeclHandler(p, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetCommentHandler(p, on_comment);
    XML_SetProcessingInstructionHandler(p, on_pi);
    XML_SetSkippedEntityHandler(p, on_skipped_entity);
    return p;
}

/* Length of the UTF-8 sequence at s (at most n bytes available) if it encodes a character
 * allowed by XML 1.0, 0 if it is invalid; *partial is set when s is a valid but cut prefix. */
static size_t xml_char_len(const unsigned char *s, size_t n, bool *partial)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    *partial = false;
    if (c < 0x80)
        return (c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD) ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n) {
            *partial = true;
            return 0;
        }
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE ||
        cp == 0xFFFF)
        return 0;
    return len;
}

/* True if data holds only well-encoded XML characters (a cut sequence at the end counts as
 * invalid here: the whole document is present). */
static bool utf8_xml_valid(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        bool partial;
        size_t n = xml_char_len(s + i, len - i, &partial);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static enum xgw_stream_cond map_expat_error(enum XML_Error err, const char *data, size_t len)
{
    switch (err) {
    case XML_ERROR_INVALID_TOKEN:
    case XML_ERROR_PARTIAL_CHAR:
        return utf8_xml_valid(data, len) ? XGW_SC_NOT_WELL_FORMED : XGW_SC_INVALID_XML;
    case XML_ERROR_BAD_CHAR_REF:
        return XGW_SC_INVALID_XML;
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_PARAM_ENTITY_REF:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_ASYNC_ENTITY:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
        return XGW_SC_RESTRICTED_XML;
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING:
        return XGW_SC_UNSUPPORTED_ENCODING;
    default:
        return XGW_SC_NOT_WELL_FORMED;
    }
}

enum xgw_err xgw_xml_parse_document(const char *data, size_t len,
                                    const struct xgw_xml_limits *limits, struct xgw_xml_node **root,
                                    enum xgw_stream_cond *cond)
{
    static const struct xgw_xml_limits defaults = {XGW_DEFAULT_MAX_STANZA_BYTES, XGW_MAX_XML_DEPTH};
    const struct xgw_xml_limits *lim = limits ? limits : &defaults;
    struct tree_ctx ctx = {.max_depth = lim->max_depth};
    enum xgw_err ret = XGW_EPROTO;

    *root = NULL;
    *cond = XGW_SC_NONE;
    if (len > lim->max_bytes || len > INT_MAX) {
        *cond = XGW_SC_POLICY_VIOLATION;
        return XGW_EPROTO;
    }
    ctx.parser = tree_parser_new(&ctx);
    if (ctx.parser == NULL) {
        *cond = XGW_SC_INTERNAL_SERVER_ERROR;
        return XGW_ENOMEM;
    }
    if (XML_Parse(ctx.parser, data, (int)len, XML_TRUE) == XML_STATUS_OK) {
        *root = ctx.root;
        ctx.root = NULL;
        ret = XGW_OK;
    } else if (ctx.cond != XGW_SC_NONE) {
        *cond = ctx.cond;
    } else {
        *cond = map_expat_error(XML_GetErrorCode(ctx.parser), data, len);
    }
    xgw_xml_node_free(ctx.root);
    XML_ParserFree(ctx.parser);
    return ret;
}

static void free_one(struct xgw_xml_node *node)
{
    for (size_t i = 0; i < node->attr_count; i++) {
        xgw_free(node->attrs[i].ns);
        xgw_free(node->attrs[i].prefix);
        xgw_free(node->attrs[i].local);
        xgw_free(node->attrs[i].value);
    }
    xgw_free(node->attrs);
    xgw_free(node->ns);
    xgw_free(node->prefix);
    xgw_free(node->local);
    xgw_free(node->text);
    xgw_free(node);
}

/* Removes node from its parent's child list, if it has a parent. */
static void unlink_node(struct xgw_xml_node *node)
{
    struct xgw_xml_node *parent = node->parent;
    if (parent == NULL)
        return;
    struct xgw_xml_node *prev = NULL;
    for (struct xgw_xml_node *c = parent->first_child; c && c != node; c = c->next)
        prev = c;
    if (prev)
        prev->next = node->next;
    else if (parent->first_child == node)
        parent->first_child = node->next;
    if (parent->last_child == node)
        parent->last_child = prev;
    node->parent = NULL;
    node->next = NULL;
}

void xgw_xml_node_free(struct xgw_xml_node *node)
{
    if (node == NULL)
        return;
    unlink_node(node);
    /* Iterative post-order walk: deep trees must not exhaust the C stack. */
    struct xgw_xml_node *cur = node;
    for (;;) {
        struct xgw_xml_node *child = cur->first_child;
        if (child) {
            cur->first_child = child->next;
            cur = child;
            continue;
        }
        struct xgw_xml_node *parent = cur->parent;
        bool done = cur == node;
        free_one(cur);
        if (done)
            return;
        cur = parent;
    }
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

bool xgw_xml_is(const struct xgw_xml_node *node, const char *ns, const char *local)
{
    return node && node->kind == XGW_XML_ELEMENT && str_eq(node->ns, ns) &&
           str_eq(node->local, local);
}

const char *xgw_xml_attr_get(const struct xgw_xml_node *node, const char *ns, const char *local)
{
    if (node == NULL || local == NULL)
        return NULL;
    for (size_t i = 0; i < node->attr_count; i++) {
        const struct xgw_xml_attr *a = &node->attrs[i];
        if (str_eq(a->ns, ns) && strcmp(a->local, local) == 0)
            return a->value;
    }
    return NULL;
}

struct xgw_xml_node *xgw_xml_child(const struct xgw_xml_node *node, const char *ns,
                                   const char *local)
{
    if (node == NULL)
        return NULL;
    for (struct xgw_xml_node *c = node->first_child; c; c = c->next) {
        if (c->kind != XGW_XML_ELEMENT)
            continue;
        if ((ns == NULL || str_eq(c->ns, ns)) && (local == NULL || str_eq(c->local, local)))
            return c;
    }
    return NULL;
}

size_t xgw_xml_child_count(const struct xgw_xml_node *node)
{
    size_t n = 0;
    if (node == NULL)
        return 0;
    for (const struct xgw_xml_node *c = node->first_child; c; c = c->next)
        if (c->kind == XGW_XML_ELEMENT)
            n++;
    return n;
}
