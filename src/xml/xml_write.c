/* SPDX-License-Identifier: MIT */
/* Namespace-fixing serialiser for parsed elements, and the XML escaping helpers. */
#include "xgw/xml_write.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xgw/alloc.h"
#include "xgw/ns.h"

/* One prefix (NULL: the default namespace) -> URI ("" = no namespace) binding in the output. */
struct binding {
    const char *prefix; /* borrowed from the tree or a static string; unused if gen[0] */
    const char *uri;    /* borrowed */
    char gen[16];       /* generated prefix, when the written one could not be kept */
};

/* One open element in the output. */
struct frame {
    const struct xgw_xml_node *node;
    const char *prefix; /* prefix written on the start tag, NULL if none */
    size_t mark;        /* binding count when the element was opened */
};

struct writer {
    struct xgw_buf *out;
    unsigned flags;
    enum xgw_err err;
    struct binding *bind;
    size_t nbind, capbind;
    struct frame *frames;
    size_t nframes, capframes;
};

static void put(struct writer *w, const char *s, size_t len)
{
    if (w->err == XGW_OK)
        w->err = xgw_buf_append(w->out, s, len);
}

static void put_str(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static const char *binding_prefix(const struct binding *b)
{
    return b->gen[0] ? b->gen : b->prefix;
}

/* URI bound to prefix (NULL: default namespace) in the output scope, or NULL if unbound. */
static const char *lookup(const struct writer *w, const char *prefix)
{
    for (size_t i = w->nbind; i-- > 0;)
        if (str_eq(binding_prefix(&w->bind[i]), prefix))
            return w->bind[i].uri;
    return NULL;
}

/* True if prefix was declared on the element being opened (bindings from mark on). */
static bool declared_here(const struct writer *w, size_t mark, const char *prefix)
{
    for (size_t i = mark; i < w->nbind; i++)
        if (str_eq(binding_prefix(&w->bind[i]), prefix))
            return true;
    return false;
}

static struct binding *push_binding(struct writer *w, const char *prefix, const char *uri)
{
    if (w->nbind == w->capbind) {
        w->capbind = w->capbind ? w->capbind * 2 : 8;
        w->bind = xgw_realloc(w->bind, w->capbind * sizeof(*w->bind));
    }
    struct binding *b = &w->bind[w->nbind++];
    b->prefix = prefix;
    b->uri = uri;
    b->gen[0] = '\0';
    return b;
}

/* Appends ` [prefix:]local='value'` with value escaped; out is unchanged on failure. */
static enum xgw_err append_attr(struct xgw_buf *out, const char *prefix, const char *local,
                                const char *value)
{
    size_t start = out->len;
    enum xgw_err err = xgw_buf_append_str(out, " ");
    if (err == XGW_OK && prefix) {
        err = xgw_buf_append_str(out, prefix);
        if (err == XGW_OK)
            err = xgw_buf_append_str(out, ":");
    }
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, local);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "='");
    if (err == XGW_OK)
        err = xgw_xml_escape_attr(out, value, strlen(value));
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "'");
    if (err != XGW_OK) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return err;
}

static void write_decl(struct writer *w, const struct binding *b)
{
    if (w->err == XGW_OK)
        w->err = xgw_xml_write_ns_decl(w->out, binding_prefix(b), b->uri);
}

/* Makes prefix -> uri hold in the output scope, declaring it on the current element if needed.
 * Returns the prefix to write: the requested one, or a generated one if the requested prefix is
 * already bound to another URI on this same element (valid until the next push). */
static const char *ensure_binding(struct writer *w, size_t mark, const char *prefix,
                                  const char *uri)
{
    if (str_eq(lookup(w, prefix), uri))
        return prefix;
    char gen[16] = "";
    if (prefix && declared_here(w, mark, prefix)) {
        for (unsigned n = 0;; n++) {
            snprintf(gen, sizeof(gen), "ns%u", n);
            if (!declared_here(w, mark, gen) && lookup(w, gen) == NULL)
                break;
        }
    }
    struct binding *b = push_binding(w, prefix, uri);
    memcpy(b->gen, gen, sizeof(gen));
    write_decl(w, b);
    return binding_prefix(b);
}

/* Namespace an element is written in ("" for none), after the HTTPBIND_AS_CLIENT mapping. */
static const char *element_ns(const struct writer *w, const struct xgw_xml_node *node)
{
    if (node->ns == NULL)
        return node->unqualified ? XGW_NS_CLIENT : "";
    const char *ns = node->ns;
    if ((w->flags & XGW_XML_WRITE_HTTPBIND_AS_CLIENT) && strcmp(ns, XGW_NS_HTTPBIND) == 0)
        ns = XGW_NS_CLIENT;
    return ns;
}

static const char *element_prefix(const struct xgw_xml_node *node, const char *ns)
{
    const char *p = node->prefix;
    if (ns[0] == '\0' || strcmp(ns, XGW_NS_CLIENT) == 0 || p == NULL || p[0] == '\0')
        return NULL;
    if (strcmp(p, "xmlns") == 0 || (strcmp(p, "xml") == 0 && strcmp(ns, XGW_NS_XML) != 0))
        return NULL;
    return p;
}

static void write_attr(struct writer *w, size_t mark, const struct xgw_xml_attr *a)
{
    const char *prefix = NULL;
    if (a->ns && a->ns[0]) {
        if (strcmp(a->ns, XGW_NS_XML) == 0) {
            prefix = "xml"; /* bound by definition, never declared */
        } else {
            const char *want = a->prefix;
            if (want == NULL || want[0] == '\0' || strcmp(want, "xml") == 0 ||
                strcmp(want, "xmlns") == 0)
                want = "ns0";
            prefix = ensure_binding(w, mark, want, a->ns);
        }
    }
    if (w->err == XGW_OK)
        w->err = append_attr(w->out, prefix, a->local, a->value);
}

static void open_element(struct writer *w, const struct xgw_xml_node *node)
{
    if (w->nframes == w->capframes) {
        w->capframes = w->capframes ? w->capframes * 2 : 16;
        w->frames = xgw_realloc(w->frames, w->capframes * sizeof(*w->frames));
    }
    struct frame *f = &w->frames[w->nframes++];
    const char *ns = element_ns(w, node);
    f->node = node;
    f->mark = w->nbind;
    f->prefix = element_prefix(node, ns);
    put_str(w, "<");
    if (f->prefix) {
        put_str(w, f->prefix);
        put_str(w, ":");
    }
    put_str(w, node->local);
    (void)ensure_binding(w, f->mark, f->prefix, ns);
    for (size_t i = 0; i < node->attr_count; i++)
        write_attr(w, f->mark, &node->attrs[i]);
}

static void close_element(struct writer *w, bool empty)
{
    struct frame *f = &w->frames[--w->nframes];
    if (empty) {
        put_str(w, "/>");
    } else {
        put_str(w, "</");
        if (f->prefix) {
            put_str(w, f->prefix);
            put_str(w, ":");
        }
        put_str(w, f->node->local);
        put_str(w, ">");
    }
    w->nbind = f->mark;
}

static void write_tree(struct writer *w, const struct xgw_xml_node *root)
{
    const struct xgw_xml_node *n = root;
    while (w->err == XGW_OK) {
        if (n->kind == XGW_XML_TEXT) {
            w->err = xgw_xml_escape_text(w->out, n->text ? n->text : "", n->text_len);
        } else {
            open_element(w, n);
            if (n->first_child) {
                put_str(w, ">");
                n = n->first_child;
                continue;
            }
            close_element(w, true);
        }
        while (n != root && n->next == NULL) {
            n = n->parent;
            close_element(w, false);
        }
        if (n == root)
            break;
        n = n->next;
    }
}

enum xgw_err xgw_xml_write_element(struct xgw_buf *out, const struct xgw_xml_node *node,
                                   unsigned flags)
{
    if (node == NULL)
        return XGW_EINVAL;
    struct writer w = {.out = out, .flags = flags, .err = XGW_OK};
    size_t start = out->len;
    /* The context of the upstream stream: default jabber:client, stream prefix, xml prefix. */
    push_binding(&w, NULL, XGW_NS_CLIENT);
    push_binding(&w, "stream", XGW_NS_STREAM);
    push_binding(&w, "xml", XGW_NS_XML);
    write_tree(&w, node);
    if (w.err != XGW_OK) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    xgw_free(w.bind);
    xgw_free(w.frames);
    return w.err;
}

/* Appends s with every byte for which repl() gives a non-NULL string replaced by it; the buffer
 * is unchanged on failure. */
static enum xgw_err escape(struct xgw_buf *out, const char *s, size_t len,
                           const char *(*repl)(char c))
{
    size_t start = out->len;
    size_t run = 0;
    enum xgw_err err = XGW_OK;
    for (size_t i = 0; i < len && err == XGW_OK; i++) {
        const char *r = repl(s[i]);
        if (r == NULL)
            continue;
        err = xgw_buf_append(out, s + run, i - run);
        if (err == XGW_OK)
            err = xgw_buf_append_str(out, r);
        run = i + 1;
    }
    if (err == XGW_OK)
        err = xgw_buf_append(out, s + run, len - run);
    if (err != XGW_OK) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return err;
}

static const char *text_repl(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '\r':
        return "&#13;"; /* a literal CR would be normalised away by the reader */
    default:
        return NULL;
    }
}

static const char *attr_repl(char c)
{
    switch (c) {
    case '\'':
        return "&apos;";
    case '"':
        return "&quot;";
    case '\t':
        return "&#9;";
    case '\n':
        return "&#10;";
    default:
        return text_repl(c);
    }
}

enum xgw_err xgw_xml_escape_text(struct xgw_buf *out, const char *s, size_t len)
{
    return escape(out, s, len, text_repl);
}

enum xgw_err xgw_xml_escape_attr(struct xgw_buf *out, const char *s, size_t len)
{
    return escape(out, s, len, attr_repl);
}

enum xgw_err xgw_xml_write_attr(struct xgw_buf *out, const char *name, const char *value)
{
    return append_attr(out, NULL, name, value);
}

enum xgw_err xgw_xml_write_ns_decl(struct xgw_buf *out, const char *prefix, const char *uri)
{
    return prefix ? append_attr(out, "xmlns", prefix, uri) : append_attr(out, NULL, "xmlns", uri);
}
