/* SPDX-License-Identifier: MIT */
/* Cuts the upstream XMPP stream into top-level elements by exact byte ranges, with the splice. */
#include "xgw/xml_framer.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/ns.h"
#include "xgw/xml_write.h"
#include "xml_expat.h"

/* Bytes of a token expat has not finished (pitfall 6: re-scanned on every feed). */
#define MAX_PENDING_BYTES (16u * 1024)
#define BUF_UNBOUNDED     (SIZE_MAX / 2)

/* xml:lang as expat reports it with triplets. */
static const char lang_name[] = XGW_NS_XML XGW_EXPAT_NS_SEP_STR "lang" XGW_EXPAT_NS_SEP_STR "xml";

/* One namespace declaration: prefix NULL for the default namespace, uri "" for undeclaring. */
struct decl {
    char *prefix;
    char *uri;
    bool used; /* header decls: used by the element being cut */
};

struct decl_list {
    struct decl *v;
    size_t n, cap;
};

/* A name as expat reports it with triplets: pointers into the reported string. */
struct qname {
    const char *ns; /* "" if none */
    size_t ns_len;
    const char *local;
    size_t local_len;
    const char *prefix; /* NUL-terminated, NULL if unprefixed */
};

struct xgw_framer {
    struct xgw_expat_guard guard; /* the parser's user data; guard.cond: the stream's condition */
    const struct xgw_framer_ops *ops;
    void *user;
    size_t max_element_bytes;
    unsigned max_depth;

    struct xgw_buf acc;      /* input bytes from absolute offset acc_start on */
    uint64_t acc_start;      /* offsets count bytes since the document start, like expat */
    uint64_t fed_end;        /* bytes given to expat so far */
    uint64_t last_event_end; /* end of the last parse event reported to a handler */

    unsigned depth; /* open elements, the stream header included */
    bool in_elem;   /* a top-level element is open */
    uint64_t elem_start;
    struct xgw_buf elem_name; /* "ns\0local\0" of the open top-level element */
    size_t elem_local_off;
    size_t elem_qname_len; /* prefix:local as written */
    bool elem_own_default; /* declares the default namespace itself */
    bool elem_uses_default;
    bool elem_needs_lang;
    struct decl_list own;     /* declarations on the open top-level element */
    struct decl_list pending; /* declarations seen before the next start tag */
    struct decl_list header;  /* declarations on the stream header */
    char *lang;               /* xml:lang of the stream header */

    struct xgw_buf out;    /* element bytes with the splice */
    struct xgw_buf splice; /* the inserted declarations */

    bool in_callback;
    bool pause_req;
    bool reset_req;
    bool suspended; /* expat is suspended and needs XML_ResumeParser */
    bool paused;
    bool failed;
};

static void decls_clear(struct decl_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        xgw_free(l->v[i].prefix);
        xgw_free(l->v[i].uri);
    }
    l->n = 0;
}

static void decls_free(struct decl_list *l)
{
    decls_clear(l);
    xgw_free(l->v);
    l->v = NULL;
    l->cap = 0;
}

static void decls_swap(struct decl_list *a, struct decl_list *b)
{
    struct decl_list t = *a;
    *a = *b;
    *b = t;
}

static struct xgw_framer *framer_of(void *user)
{
    return XGW_CONTAINER_OF(user, struct xgw_framer, guard);
}

static void fail(struct xgw_framer *f, enum xgw_stream_cond cond)
{
    xgw_expat_fail(&f->guard, cond);
}

static void parse_qname(const char *name, struct qname *q)
{
    const char *s1 = strchr(name, XGW_EXPAT_NS_SEP);
    q->prefix = NULL;
    if (s1 == NULL) {
        q->ns = "";
        q->ns_len = 0;
        q->local = name;
        q->local_len = strlen(name);
        return;
    }
    q->ns = name;
    q->ns_len = (size_t)(s1 - name);
    q->local = s1 + 1;
    const char *s2 = strchr(q->local, XGW_EXPAT_NS_SEP);
    if (s2 == NULL) {
        q->local_len = strlen(q->local);
        return;
    }
    q->local_len = (size_t)(s2 - q->local);
    q->prefix = s2 + 1;
}

static bool span_eq(const char *s, size_t len, const char *z)
{
    return strlen(z) == len && memcmp(s, z, len) == 0;
}

static bool opt_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Absolute end offset of the event being reported. */
static uint64_t event_end(const struct xgw_framer *f)
{
    return (uint64_t)XML_GetCurrentByteIndex(f->guard.parser) +
           (uint64_t)XML_GetCurrentByteCount(f->guard.parser);
}

static void after_callback(struct xgw_framer *f)
{
    f->in_callback = false;
    if (f->reset_req)
        XML_StopParser(f->guard.parser, XML_FALSE);
    else if (f->pause_req)
        XML_StopParser(f->guard.parser, XML_TRUE);
}

/* ---- handlers: structure ---- */

static void XMLCALL on_ns_decl(void *user, const XML_Char *prefix, const XML_Char *uri)
{
    struct xgw_framer *f = framer_of(user);
    if (f->depth > 1)
        return; /* only the header's and top-level elements' declarations matter */
    struct decl_list *l = &f->pending;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xgw_realloc(l->v, l->cap * sizeof(*l->v));
    }
    struct decl *d = &l->v[l->n++];
    d->prefix = prefix ? xgw_strdup(prefix) : NULL;
    d->uri = xgw_strdup(uri ? uri : "");
    d->used = false;
}

static const char *header_default(const struct xgw_framer *f)
{
    for (size_t i = 0; i < f->header.n; i++)
        if (f->header.v[i].prefix == NULL)
            return f->header.v[i].uri;
    return "";
}

static void header_start(struct xgw_framer *f, const XML_Char *name, const XML_Char **atts)
{
    struct qname q;
    parse_qname(name, &q);
    if (!span_eq(q.ns, q.ns_len, XGW_NS_STREAM) || !span_eq(q.local, q.local_len, "stream")) {
        fail(f, XGW_SC_INVALID_NAMESPACE);
        return;
    }
    decls_clear(&f->header);
    decls_swap(&f->header, &f->pending);
    struct xgw_stream_header h = {0};
    for (size_t i = 0; atts[i]; i += 2) {
        const char *n = atts[i], *v = atts[i + 1];
        if (strcmp(n, "id") == 0)
            h.id = v;
        else if (strcmp(n, "from") == 0)
            h.from = v;
        else if (strcmp(n, "to") == 0)
            h.to = v;
        else if (strcmp(n, "version") == 0)
            h.version = v;
        else if (strcmp(n, lang_name) == 0)
            h.lang = v;
    }
    xgw_free(f->lang);
    f->lang = h.lang ? xgw_strdup(h.lang) : NULL;
    f->depth = 1;
    if (f->ops->on_open) {
        f->in_callback = true;
        f->ops->on_open(f->user, &h);
        after_callback(f);
    }
}

/* Records what the element or attribute `name` relies on: a header prefix binding, or (for an
 * unprefixed element) the header's default namespace. */
static void note_name(struct xgw_framer *f, const XML_Char *name, bool element)
{
    struct qname q;
    parse_qname(name, &q);
    if (q.prefix) {
        for (size_t k = 0; k < f->header.n; k++) {
            struct decl *d = &f->header.v[k];
            if (opt_eq(d->prefix, q.prefix) && span_eq(q.ns, q.ns_len, d->uri))
                d->used = true;
        }
    } else if (element && q.ns_len && span_eq(q.ns, q.ns_len, header_default(f))) {
        f->elem_uses_default = true;
    }
}

static void note_usage(struct xgw_framer *f, const XML_Char *name, const XML_Char **atts)
{
    note_name(f, name, true);
    for (size_t i = 0; atts[i]; i += 2)
        if (strchr(atts[i], XGW_EXPAT_NS_SEP))
            note_name(f, atts[i], false);
}

static bool is_lang_stanza(const struct qname *q)
{
    return span_eq(q->ns, q->ns_len, XGW_NS_CLIENT) &&
           (span_eq(q->local, q->local_len, "message") ||
            span_eq(q->local, q->local_len, "presence") || span_eq(q->local, q->local_len, "iq"));
}

static void top_start(struct xgw_framer *f, const XML_Char *name, const XML_Char **atts)
{
    struct qname q;
    parse_qname(name, &q);
    f->in_elem = true;
    f->elem_start = (uint64_t)XML_GetCurrentByteIndex(f->guard.parser);
    xgw_buf_reset(&f->elem_name);
    if (xgw_buf_append(&f->elem_name, q.ns, q.ns_len) != XGW_OK ||
        xgw_buf_append(&f->elem_name, "", 1) != XGW_OK ||
        xgw_buf_append(&f->elem_name, q.local, q.local_len) != XGW_OK) {
        fail(f, XGW_SC_POLICY_VIOLATION);
        return;
    }
    f->elem_local_off = q.ns_len + 1;
    f->elem_qname_len = q.local_len + (q.prefix ? strlen(q.prefix) + 1 : 0);
    decls_clear(&f->own);
    decls_swap(&f->own, &f->pending);
    f->elem_own_default = false;
    for (size_t i = 0; i < f->own.n; i++)
        if (f->own.v[i].prefix == NULL)
            f->elem_own_default = true;
    for (size_t i = 0; i < f->header.n; i++)
        f->header.v[i].used = false;
    f->elem_uses_default = false;
    f->elem_needs_lang = f->lang && is_lang_stanza(&q);
    for (size_t i = 0; atts[i] && f->elem_needs_lang; i += 2)
        if (strcmp(atts[i], lang_name) == 0)
            f->elem_needs_lang = false;
}

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **atts)
{
    struct xgw_framer *f = framer_of(user);
    f->last_event_end = event_end(f);
    if (f->depth == 0) {
        header_start(f, name, atts);
        return;
    }
    if (f->depth > f->max_depth) {
        fail(f, XGW_SC_POLICY_VIOLATION);
        return;
    }
    if (f->depth == 1)
        top_start(f, name, atts);
    else
        decls_clear(&f->pending);
    if (f->guard.cond != XGW_SC_NONE)
        return;
    if (f->last_event_end - f->elem_start > f->max_element_bytes) {
        fail(f, XGW_SC_POLICY_VIOLATION);
        return;
    }
    note_usage(f, name, atts);
    f->depth++;
}

static bool decl_declared(const struct decl_list *l, const char *prefix)
{
    for (size_t i = 0; i < l->n; i++)
        if (opt_eq(l->v[i].prefix, prefix))
            return true;
    return false;
}

/* Builds the declarations the open top-level element needs to stand alone. */
static enum xgw_err build_splice(struct xgw_framer *f)
{
    struct xgw_buf *s = &f->splice;
    enum xgw_err err = XGW_OK;
    xgw_buf_reset(s);
    const char *dflt = header_default(f);
    if (!f->elem_own_default && f->elem_uses_default && dflt[0])
        err = xgw_xml_write_ns_decl(s, NULL, dflt);
    for (size_t i = 0; i < f->header.n && err == XGW_OK; i++) {
        const struct decl *d = &f->header.v[i];
        if (d->prefix == NULL || decl_declared(&f->own, d->prefix))
            continue;
        if (strcmp(d->uri, XGW_NS_STREAM) == 0 && !d->used)
            continue;
        err = xgw_xml_write_ns_decl(s, d->prefix, d->uri);
    }
    if (err == XGW_OK && f->elem_needs_lang)
        err = xgw_xml_write_attr(s, "xml:lang", f->lang);
    return err;
}

static void top_end(struct xgw_framer *f)
{
    uint64_t end = event_end(f);
    f->in_elem = false;
    if (end - f->elem_start > f->max_element_bytes) {
        fail(f, XGW_SC_POLICY_VIOLATION);
        return;
    }
    if (f->elem_start < f->acc_start || end > f->acc_start + f->acc.len) {
        fail(f, XGW_SC_INTERNAL_SERVER_ERROR); /* cannot happen: bytes are kept until cut */
        return;
    }
    const char *bytes = f->acc.data + (f->elem_start - f->acc_start);
    size_t len = (size_t)(end - f->elem_start);
    size_t at = 1 + f->elem_qname_len;
    if (build_splice(f) != XGW_OK || at > len) {
        fail(f, XGW_SC_INTERNAL_SERVER_ERROR);
        return;
    }
    if (f->splice.len) {
        xgw_buf_reset(&f->out);
        if (xgw_buf_append(&f->out, bytes, at) != XGW_OK ||
            xgw_buf_append(&f->out, f->splice.data, f->splice.len) != XGW_OK ||
            xgw_buf_append(&f->out, bytes + at, len - at) != XGW_OK) {
            fail(f, XGW_SC_INTERNAL_SERVER_ERROR);
            return;
        }
        bytes = f->out.data;
        len = f->out.len;
    }
    if (f->ops->on_element) {
        f->in_callback = true;
        f->ops->on_element(f->user, bytes, len, f->elem_name.data,
                           f->elem_name.data + f->elem_local_off);
        after_callback(f);
    }
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    struct xgw_framer *f = framer_of(user);
    XGW_UNUSED(name);
    f->last_event_end = event_end(f);
    f->depth--;
    if (f->depth == 1) {
        top_end(f);
    } else if (f->depth == 0 && f->ops->on_close) {
        f->in_callback = true;
        f->ops->on_close(f->user);
        after_callback(f);
    }
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct xgw_framer *f = framer_of(user);
    f->last_event_end = event_end(f);
    if (f->depth > 1) {
        if (f->last_event_end - f->elem_start > f->max_element_bytes)
            fail(f, XGW_SC_POLICY_VIOLATION);
        return;
    }
    for (int i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            fail(f, XGW_SC_BAD_FORMAT);
            return;
        }
    }
}

/* ---- parser setup and error mapping ---- */

/* The XML declaration is a parse event: bytes up to its end need not be kept (trim). */
static void on_xml_decl(struct xgw_expat_guard *guard)
{
    struct xgw_framer *f = framer_of(guard);
    f->last_event_end = event_end(f);
}

static void install(struct xgw_framer *f)
{
    XML_Parser p = f->guard.parser;
    f->guard.on_xml_decl = on_xml_decl;
    xgw_expat_install_guards(&f->guard);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetNamespaceDeclHandler(p, on_ns_decl, NULL);
}

/* The condition for expat's error: the bytes from the error position on tell invalid-xml from
 * not-well-formed; a UTF-8 sequence cut by the end of the input so far may still be completed. */
static enum xgw_stream_cond map_expat_error(const struct xgw_framer *f)
{
    uint64_t at = (uint64_t)XML_GetCurrentByteIndex(f->guard.parser);
    size_t i = at > f->acc_start ? (size_t)(at - f->acc_start) : 0;
    if (i >= f->acc.len)
        return xgw_expat_error_cond(f->guard.parser, "", 0, true);
    return xgw_expat_error_cond(f->guard.parser, f->acc.data + i, f->acc.len - i, true);
}

/* ---- lifecycle ---- */

static void clear_state(struct xgw_framer *f)
{
    xgw_buf_reset(&f->acc);
    f->acc_start = 0;
    f->fed_end = 0;
    f->last_event_end = 0;
    f->depth = 0;
    f->in_elem = false;
    f->elem_start = 0;
    decls_clear(&f->own);
    decls_clear(&f->pending);
    decls_clear(&f->header);
    xgw_free(f->lang);
    f->lang = NULL;
    f->in_callback = false;
    f->pause_req = false;
    f->reset_req = false;
    f->suspended = false;
    f->paused = false;
    f->failed = false;
    f->guard.cond = XGW_SC_NONE;
}

struct xgw_framer *xgw_framer_new(const struct xgw_framer_ops *ops, void *user,
                                  size_t max_element_bytes, unsigned max_depth)
{
    struct xgw_framer *f = xgw_calloc(1, sizeof(*f));
    f->guard.parser = xgw_expat_parser_new();
    if (f->guard.parser == NULL) {
        xgw_free(f);
        return NULL;
    }
    f->ops = ops;
    f->user = user;
    f->max_element_bytes = max_element_bytes;
    f->max_depth = max_depth;
    xgw_buf_init(&f->acc, BUF_UNBOUNDED);
    xgw_buf_init(&f->elem_name, BUF_UNBOUNDED);
    xgw_buf_init(&f->out, BUF_UNBOUNDED);
    xgw_buf_init(&f->splice, BUF_UNBOUNDED);
    install(f);
    return f;
}

void xgw_framer_free(struct xgw_framer *framer)
{
    if (framer == NULL)
        return;
    XML_ParserFree(framer->guard.parser);
    xgw_buf_cleanup(&framer->acc);
    xgw_buf_cleanup(&framer->elem_name);
    xgw_buf_cleanup(&framer->out);
    xgw_buf_cleanup(&framer->splice);
    decls_free(&framer->own);
    decls_free(&framer->pending);
    decls_free(&framer->header);
    xgw_free(framer->lang);
    xgw_free(framer);
}

static void do_reset(struct xgw_framer *f)
{
    XML_ParserReset(f->guard.parser, "UTF-8");
    install(f);
    clear_state(f);
}

void xgw_framer_reset(struct xgw_framer *framer)
{
    if (framer->in_callback)
        framer->reset_req = true; /* acted on when the callback returns */
    else
        do_reset(framer);
}

void xgw_framer_pause(struct xgw_framer *framer)
{
    if (framer->in_callback)
        framer->pause_req = true;
    else
        framer->paused = true; /* between feeds: hold further input until resume */
}

bool xgw_framer_is_paused(const struct xgw_framer *framer)
{
    return framer->paused;
}

/* ---- feeding ---- */

static enum xgw_err stop_failed(struct xgw_framer *f, enum xgw_stream_cond cond,
                                enum xgw_stream_cond *out)
{
    if (!f->failed) {
        f->failed = true;
        f->guard.cond = cond;
    }
    *out = f->guard.cond;
    return XGW_EPROTO;
}

/* Drops buffered bytes no future element can start in. */
static void trim(struct xgw_framer *f)
{
    uint64_t keep = f->in_elem ? f->elem_start : f->last_event_end;
    if (keep <= f->acc_start)
        return;
    uint64_t drop = keep - f->acc_start;
    if (drop > f->acc.len)
        drop = f->acc.len;
    xgw_buf_consume(&f->acc, (size_t)drop);
    f->acc_start += drop;
}

static enum xgw_err finish(struct xgw_framer *f, enum XML_Status st, enum xgw_stream_cond *cond)
{
    uint64_t end = f->acc_start + f->acc.len;
    if (f->reset_req) {
        do_reset(f);
        return XGW_OK;
    }
    if (st == XML_STATUS_ERROR)
        return stop_failed(f, f->guard.cond != XGW_SC_NONE ? f->guard.cond : map_expat_error(f),
                           cond);
    if (st == XML_STATUS_SUSPENDED) {
        f->suspended = true;
        f->paused = true;
        f->pause_req = false;
        trim(f);
        return XGW_EAGAIN;
    }
    if (f->in_elem && end - f->elem_start > f->max_element_bytes)
        return stop_failed(f, XGW_SC_POLICY_VIOLATION, cond);
    if (end - f->last_event_end > MAX_PENDING_BYTES)
        return stop_failed(f, XGW_SC_POLICY_VIOLATION, cond);
    trim(f);
    return XGW_OK;
}

/* Resumes expat if suspended, then parses every buffered byte not yet given to it. */
static enum xgw_err run(struct xgw_framer *f, enum xgw_stream_cond *cond)
{
    enum XML_Status st = XML_STATUS_OK;
    if (f->suspended) {
        f->suspended = false;
        st = XML_ResumeParser(f->guard.parser);
    }
    while (st == XML_STATUS_OK && !f->reset_req && f->fed_end < f->acc_start + f->acc.len) {
        size_t off = (size_t)(f->fed_end - f->acc_start);
        size_t n = f->acc.len - off;
        if (n > INT_MAX / 2)
            n = INT_MAX / 2;
        f->fed_end += n;
        st = XML_Parse(f->guard.parser, f->acc.data + off, (int)n, XML_FALSE);
    }
    return finish(f, st, cond);
}

enum xgw_err xgw_framer_feed(struct xgw_framer *framer, const char *data, size_t len,
                             enum xgw_stream_cond *cond)
{
    *cond = XGW_SC_NONE;
    if (framer->failed)
        return stop_failed(framer, framer->guard.cond, cond);
    if (framer->in_callback)
        return XGW_EINVAL;
    if (len && xgw_buf_append(&framer->acc, data, len) != XGW_OK)
        return stop_failed(framer, XGW_SC_POLICY_VIOLATION, cond);
    if (framer->paused)
        return XGW_EAGAIN; /* kept; parsed on resume */
    return run(framer, cond);
}

enum xgw_err xgw_framer_resume(struct xgw_framer *framer, enum xgw_stream_cond *cond)
{
    *cond = XGW_SC_NONE;
    if (framer->failed)
        return stop_failed(framer, framer->guard.cond, cond);
    if (framer->in_callback)
        return XGW_EINVAL;
    framer->paused = false;
    return run(framer, cond);
}
