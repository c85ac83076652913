/* SPDX-License-Identifier: MIT */
/* Parses one complete XML document into an element tree with expat, enforcing restricted XML. */
#include "xgw/xml_tree.h"

#include <limits.h>
#include <string.h>

#include "xgw/alloc.h"
#include "xgw/limits.h"
#include "xml_expat.h"

struct tree_ctx {
    struct xgw_expat_guard guard; /* the parser's user data */
    struct xgw_xml_node *root;
    struct xgw_xml_node *cur; /* innermost open element */
    size_t text_cap;          /* allocated size of cur->last_child->text when it is text */
    unsigned depth;
    unsigned max_depth;
    unsigned default_depth; /* depth of the outermost element declaring xmlns=..., 0 if none */
    bool default_pending;   /* the start tag being reported declares the default namespace */
};

static struct tree_ctx *tree_of(void *user)
{
    return XGW_CONTAINER_OF(user, struct tree_ctx, guard);
}

/* Splits expat's "uri<SEP>local[<SEP>prefix]" (or plain "local") into owned strings. */
static void split_name(const char *name, char **ns, char **local, char **prefix)
{
    const char *s1 = strchr(name, XGW_EXPAT_NS_SEP);
    *prefix = NULL;
    if (s1 == NULL) {
        *ns = NULL;
        *local = xgw_strdup(name);
        return;
    }
    *ns = xgw_strndup(name, (size_t)(s1 - name));
    const char *s2 = strchr(s1 + 1, XGW_EXPAT_NS_SEP);
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
    struct tree_ctx *ctx = tree_of(user);
    if (ctx->depth >= ctx->max_depth) {
        xgw_expat_fail(&ctx->guard, XGW_SC_POLICY_VIOLATION);
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
    struct tree_ctx *ctx = tree_of(user);
    XGW_UNUSED(uri);
    if (prefix == NULL)
        ctx->default_pending = true;
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    struct tree_ctx *ctx = tree_of(user);
    XGW_UNUSED(name);
    if (ctx->depth == ctx->default_depth)
        ctx->default_depth = 0;
    ctx->cur = ctx->cur->parent;
    ctx->depth--;
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct tree_ctx *ctx = tree_of(user);
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

static XML_Parser tree_parser_new(struct tree_ctx *ctx)
{
    XML_Parser p = xgw_expat_parser_new();
    if (p == NULL)
        return NULL;
    ctx->guard.parser = p;
    xgw_expat_install_guards(&ctx->guard);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartNamespaceDeclHandler(p, on_ns_decl);
    return p;
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
    if (tree_parser_new(&ctx) == NULL) {
        *cond = XGW_SC_INTERNAL_SERVER_ERROR;
        return XGW_ENOMEM;
    }
    if (XML_Parse(ctx.guard.parser, data, (int)len, XML_TRUE) == XML_STATUS_OK) {
        *root = ctx.root;
        ctx.root = NULL;
        ret = XGW_OK;
    } else if (ctx.guard.cond != XGW_SC_NONE) {
        *cond = ctx.guard.cond;
    } else {
        /* The whole document is present: a cut UTF-8 sequence at its end is invalid. */
        *cond = xgw_expat_error_cond(ctx.guard.parser, data, len, false);
    }
    xgw_xml_node_free(ctx.root);
    XML_ParserFree(ctx.guard.parser);
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
