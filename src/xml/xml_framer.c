/* SPDX-License-Identifier: MIT */
/* Cuts the upstream XMPP stream into top-level elements by exact byte ranges, with the splice. */
#define XML_DTD /* before expat.h: declares the billion-laughs setters (pitfall 5) */
#include "xgw/xml_framer.h"

#include <expat.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "xgw/alloc.h"
#include "xgw/buf.h"
#include "xgw/ns.h"
#include "xgw/xml_write.h"

/* Separates URI, local name and prefix in expat's names; not an XML character. */
#define NS_SEP     '\x1F'
#define NS_SEP_STR "\x1F"
/* Bytes of a token expat has not finished (pitfall 6: re-scanned on every feed). */
#define MAX_PENDING_BYTES (16u * 1024)
#define BUF_UNBOUNDED     (SIZE_MAX / 2)

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
    XML_Parser parser;
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
    enum xgw_stream_cond cond;
};

static const XML_Memory_Handling_Suite framer_mem = {xgw_malloc, xgw_realloc, xgw_free};

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

static void fail(struct xgw_framer *f, enum xgw_stream_cond cond)
{
    if (f->cond == XGW_SC_NONE)
        f->cond = cond;
    XML_StopParser(f->parser, XML_FALSE);
}

static void parse_qname(const char *name, struct qname *q)
{
    const char *s1 = strchr(name, NS_SEP);
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
    const char *s2 = strchr(q->local, NS_SEP);
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
    return (uint64_t)XML_GetCurrentByteIndex(f->parser) +
           (uint64_t)XML_GetCurrentByteCount(f->parser);
}

static void after_callback(struct xgw_framer *f)
{
    f->in_callback = false;
    if (f->reset_req)
        XML_StopParser(f->parser, XML_FALSE);
    else if (f->pause_req)
        XML_StopParser(f->parser, XML_TRUE);
}

/* ---- handlers: restricted XML ---- */

static void XMLCALL on_xml_decl(void *user, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    struct xgw_framer *f = user;
    XGW_UNUSED(version);
    XGW_UNUSED(standalone);
    f->last_event_end = event_end(f);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(f, XGW_SC_UNSUPPORTED_ENCODING);
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

/* ---- handlers: structure ---- */

static void XMLCALL on_ns_decl(void *user, const XML_Char *prefix, const XML_Char *uri)
{
    struct xgw_framer *f = user;
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
    static const char lang_name[] = XGW_NS_XML NS_SEP_STR "lang" NS_SEP_STR "xml";
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
        if (strchr(atts[i], NS_SEP))
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
    static const char lang_name[] = XGW_NS_XML NS_SEP_STR "lang" NS_SEP_STR "xml";
    struct qname q;
    parse_qname(name, &q);
    f->in_elem = true;
    f->elem_start = (uint64_t)XML_GetCurrentByteIndex(f->parser);
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
    struct xgw_framer *f = user;
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
    if (f->cond != XGW_SC_NONE)
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

static enum xgw_err splice_decl(struct xgw_buf *s, const char *prefix, const char *uri)
{
    enum xgw_err err = xgw_buf_append_str(s, prefix ? " xmlns:" : " xmlns");
    if (err == XGW_OK && prefix)
        err = xgw_buf_append_str(s, prefix);
    if (err == XGW_OK)
        err = xgw_buf_append_str(s, "='");
    if (err == XGW_OK)
        err = xgw_xml_escape_attr(s, uri, strlen(uri));
    if (err == XGW_OK)
        err = xgw_buf_append_str(s, "'");
    return err;
}

/* Builds the declarations the open top-level element needs to stand alone. */
static enum xgw_err build_splice(struct xgw_framer *f)
{
    struct xgw_buf *s = &f->splice;
    enum xgw_err err = XGW_OK;
    xgw_buf_reset(s);
    const char *dflt = header_default(f);
    if (!f->elem_own_default && f->elem_uses_default && dflt[0])
        err = splice_decl(s, NULL, dflt);
    for (size_t i = 0; i < f->header.n && err == XGW_OK; i++) {
        const struct decl *d = &f->header.v[i];
        if (d->prefix == NULL || decl_declared(&f->own, d->prefix))
            continue;
        if (strcmp(d->uri, XGW_NS_STREAM) == 0 && !d->used)
            continue;
        err = splice_decl(s, d->prefix, d->uri);
    }
    if (err == XGW_OK && f->elem_needs_lang) {
        err = xgw_buf_append_str(s, " xml:lang='");
        if (err == XGW_OK)
            err = xgw_xml_escape_attr(s, f->lang, strlen(f->lang));
        if (err == XGW_OK)
            err = xgw_buf_append_str(s, "'");
    }
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
    struct xgw_framer *f = user;
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
    struct xgw_framer *f = user;
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

static void install(struct xgw_framer *f)
{
    XML_Parser p = f->parser;
    XML_SetReturnNSTriplet(p, XML_TRUE);
    XML_SetReparseDeferralEnabled(p, XML_FALSE);
    (void)XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
    (void)XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1024 * 1024);
    XML_SetUserData(p, f);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetNamespaceDeclHandler(p, on_ns_decl, NULL);
    XML_SetXmlDeclHandler(p, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetCommentHandler(p, on_comment);
    XML_SetProcessingInstructionHandler(p, on_pi);
    XML_SetSkippedEntityHandler(p, on_skipped_entity);
}

/* 0 if the UTF-8 sequence at s is invalid or not an XML character, its length otherwise;
 * a sequence cut by the end of the data counts as valid (more bytes may follow). */
static size_t xml_char_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
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
        if (i >= n)
            return n; /* cut: cannot tell yet */
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

static bool bytes_valid_from(const struct xgw_framer *f, uint64_t from)
{
    size_t i = from > f->acc_start ? (size_t)(from - f->acc_start) : 0;
    const unsigned char *s = (const unsigned char *)f->acc.data;
    while (i < f->acc.len) {
        size_t n = xml_char_len(s + i, f->acc.len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static enum xgw_stream_cond map_expat_error(const struct xgw_framer *f)
{
    switch (XML_GetErrorCode(f->parser)) {
    case XML_ERROR_INVALID_TOKEN:
    case XML_ERROR_PARTIAL_CHAR: {
        uint64_t at = (uint64_t)XML_GetCurrentByteIndex(f->parser);
        return bytes_valid_from(f, at) ? XGW_SC_NOT_WELL_FORMED : XGW_SC_INVALID_XML;
    }
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
    f->cond = XGW_SC_NONE;
}

struct xgw_framer *xgw_framer_new(const struct xgw_framer_ops *ops, void *user,
                                  size_t max_element_bytes, unsigned max_depth)
{
    static const XML_Char sep[] = {NS_SEP, '\0'};
    struct xgw_framer *f = xgw_calloc(1, sizeof(*f));
    f->parser = XML_ParserCreate_MM("UTF-8", &framer_mem, sep);
    if (f->parser == NULL) {
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
    XML_ParserFree(framer->parser);
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
    XML_ParserReset(f->parser, "UTF-8");
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
        f->cond = cond;
    }
    *out = f->cond;
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
        return stop_failed(f, f->cond != XGW_SC_NONE ? f->cond : map_expat_error(f), cond);
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
        st = XML_ResumeParser(f->parser);
    }
    while (st == XML_STATUS_OK && !f->reset_req && f->fed_end < f->acc_start + f->acc.len) {
        size_t off = (size_t)(f->fed_end - f->acc_start);
        size_t n = f->acc.len - off;
        if (n > INT_MAX / 2)
            n = INT_MAX / 2;
        f->fed_end += n;
        st = XML_Parse(f->parser, f->acc.data + off, (int)n, XML_FALSE);
    }
    return finish(f, st, cond);
}

enum xgw_err xgw_framer_feed(struct xgw_framer *framer, const char *data, size_t len,
                             enum xgw_stream_cond *cond)
{
    *cond = XGW_SC_NONE;
    if (framer->failed)
        return stop_failed(framer, framer->cond, cond);
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
        return stop_failed(framer, framer->cond, cond);
    if (framer->in_callback)
        return XGW_EINVAL;
    framer->paused = false;
    return run(framer, cond);
}
