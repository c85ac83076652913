/* SPDX-License-Identifier: MIT */
/* Expat parser setup, restricted-XML guards (RFC 6120 §11.1) and error mapping for src/xml. */
#include "xml_expat.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#ifndef XGW_HAVE_EXPAT_REPARSE_DEFERRAL
#include <dlfcn.h>
#endif

#include "xgw/alloc.h"
#include "xgw/compiler.h"

static const XML_Memory_Handling_Suite expat_mem = {xgw_malloc, xgw_realloc, xgw_free};

void xgw_expat_fail(struct xgw_expat_guard *guard, enum xgw_stream_cond cond)
{
    if (guard->cond == XGW_SC_NONE)
        guard->cond = cond;
    XML_StopParser(guard->parser, XML_FALSE);
}

/* ---- handlers: restricted XML ---- */

static void XMLCALL on_xml_decl(void *user, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    struct xgw_expat_guard *guard = user;
    XGW_UNUSED(version);
    XGW_UNUSED(standalone);
    if (guard->on_xml_decl)
        guard->on_xml_decl(guard);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        xgw_expat_fail(guard, XGW_SC_UNSUPPORTED_ENCODING);
}

static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    XGW_UNUSED(name);
    XGW_UNUSED(sysid);
    XGW_UNUSED(pubid);
    XGW_UNUSED(has_internal_subset);
    xgw_expat_fail(user, XGW_SC_RESTRICTED_XML);
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
    xgw_expat_fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_comment(void *user, const XML_Char *data)
{
    XGW_UNUSED(data);
    xgw_expat_fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_pi(void *user, const XML_Char *target, const XML_Char *data)
{
    XGW_UNUSED(target);
    XGW_UNUSED(data);
    xgw_expat_fail(user, XGW_SC_RESTRICTED_XML);
}

static void XMLCALL on_skipped_entity(void *user, const XML_Char *name, int is_param)
{
    XGW_UNUSED(name);
    XGW_UNUSED(is_param);
    xgw_expat_fail(user, XGW_SC_RESTRICTED_XML);
}

/* ---- setup ---- */

/* Reparse deferral (expat >= 2.6, Debian 12 since 2.5.0-1+deb12u2) holds back a complete
 * element fed in small pieces until more bytes arrive: a stanza would wait for the next one.
 * Built against headers without the setter, look it up in the library we run with. */
static void disable_reparse_deferral(XML_Parser p)
{
#ifdef XGW_HAVE_EXPAT_REPARSE_DEFERRAL
    disable_reparse_deferral(p);
#else
    typedef XML_Bool (*setter_fn)(XML_Parser, XML_Bool);
    static setter_fn setter;
    static int looked_up;
    if (!looked_up) {
        void *sym = dlsym(RTLD_DEFAULT, "XML_SetReparseDeferralEnabled");
        memcpy(&setter, &sym, sizeof setter);
        looked_up = 1;
    }
    if (setter)
        (void)setter(p, XML_FALSE);
#endif
}

XML_Parser xgw_expat_parser_new(void)
{
    static const XML_Char sep[] = {XGW_EXPAT_NS_SEP, '\0'};
    return XML_ParserCreate_MM("UTF-8", &expat_mem, sep);
}

void xgw_expat_install_guards(struct xgw_expat_guard *guard)
{
    XML_Parser p = guard->parser;
    XML_SetReturnNSTriplet(p, XML_TRUE);
    disable_reparse_deferral(p);
    (void)XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
    (void)XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1024 * 1024);
    XML_SetUserData(p, guard);
    XML_SetXmlDeclHandler(p, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetCommentHandler(p, on_comment);
    XML_SetProcessingInstructionHandler(p, on_pi);
    XML_SetSkippedEntityHandler(p, on_skipped_entity);
}

/* ---- character validity and error mapping ---- */

enum char_class { CHAR_OK, CHAR_PARTIAL, CHAR_NOT_UTF8, CHAR_NOT_XML };

/* Classifies the UTF-8 sequence at s (at most n bytes available); *len gets its length when it
 * is CHAR_OK. CHAR_PARTIAL: a valid but cut prefix. CHAR_NOT_XML: well-formed UTF-8 for a
 * character XML 1.0 forbids (controls, U+FFFE, U+FFFF). */
static enum char_class classify_char(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    uint32_t cp;
    if (c < 0x80) {
        *len = 1;
        return (c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD) ? CHAR_OK : CHAR_NOT_XML;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        *len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        *len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        *len = 4;
        cp = c & 0x07;
    } else {
        return CHAR_NOT_UTF8;
    }
    for (size_t i = 1; i < *len; i++) {
        if (i >= n)
            return CHAR_PARTIAL;
        if ((s[i] & 0xC0) != 0x80)
            return CHAR_NOT_UTF8;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[*len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return CHAR_NOT_UTF8; /* overlong, out of range or a surrogate: not UTF-8 at all */
    return (cp == 0xFFFE || cp == 0xFFFF) ? CHAR_NOT_XML : CHAR_OK;
}

/* The first problem in data: CHAR_OK when every character is valid (a cut sequence at the end
 * counts as valid when more_may_follow). */
static enum char_class scan(const char *data, size_t len, bool more_may_follow)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        size_t n = 0;
        enum char_class cls = classify_char(s + i, len - i, &n);
        if (cls == CHAR_PARTIAL)
            return more_may_follow ? CHAR_OK : CHAR_NOT_UTF8;
        if (cls != CHAR_OK)
            return cls;
        i += n;
    }
    return CHAR_OK;
}

enum xgw_stream_cond xgw_expat_error_cond(XML_Parser parser, const char *data, size_t len,
                                          bool more_may_follow)
{
    switch (XML_GetErrorCode(parser)) {
    case XML_ERROR_INVALID_TOKEN:
    case XML_ERROR_PARTIAL_CHAR:
        /* RFC 6120 §11.6: bytes that are not UTF-8 are unsupported-encoding; UTF-8 for a
         * character XML forbids is invalid-xml; anything else is a syntax error. */
        switch (scan(data, len, more_may_follow)) {
        case CHAR_NOT_UTF8:
            return XGW_SC_UNSUPPORTED_ENCODING;
        case CHAR_NOT_XML:
            return XGW_SC_INVALID_XML;
        default:
            return XGW_SC_NOT_WELL_FORMED;
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
