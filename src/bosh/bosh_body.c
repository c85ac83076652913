/* SPDX-License-Identifier: MIT */
/* Parses and validates one BOSH request <body/> into struct xgw_bosh_req.
 * XEP-0124 §6 (the wrapper), §7.1 (creation attributes), §9-§15 (ack, pause, rid, keys);
 * XEP-0206 §3-§5 (xmpp:version, xmpp:restart in urn:xmpp:xbosh). Pure: no I/O, no logging. */
#include "xgw/bosh_body.h"

#include <string.h>

#include "xgw/limits.h"
#include "xgw/ns.h"

static const char *const cond_names[] = {
    [XGW_BOSH_COND_NONE] = "",
    [XGW_BOSH_COND_BAD_REQUEST] = "bad-request",
    [XGW_BOSH_COND_HOST_GONE] = "host-gone",
    [XGW_BOSH_COND_HOST_UNKNOWN] = "host-unknown",
    [XGW_BOSH_COND_IMPROPER_ADDRESSING] = "improper-addressing",
    [XGW_BOSH_COND_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [XGW_BOSH_COND_ITEM_NOT_FOUND] = "item-not-found",
    [XGW_BOSH_COND_OTHER_REQUEST] = "other-request",
    [XGW_BOSH_COND_POLICY_VIOLATION] = "policy-violation",
    [XGW_BOSH_COND_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
    [XGW_BOSH_COND_REMOTE_STREAM_ERROR] = "remote-stream-error",
    [XGW_BOSH_COND_SEE_OTHER_URI] = "see-other-uri",
    [XGW_BOSH_COND_SYSTEM_SHUTDOWN] = "system-shutdown",
    [XGW_BOSH_COND_UNDEFINED_CONDITION] = "undefined-condition",
};

const char *xgw_bosh_cond_name(enum xgw_bosh_cond cond)
{
    if ((unsigned)cond >= XGW_ARRAY_SIZE(cond_names))
        return "undefined-condition";
    return cond_names[cond];
}

/* Digits only (no sign, no blanks, at least one digit), value <= max. Numbers are compared as
 * integers, never as strings or doubles (BOSH-18, E-08). */
static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;
    if (text == NULL || *text == '\0')
        return false;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned digit = (unsigned)(*p - '0');
        if (value > (max - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* An optional unsigned attribute: absent is fine, present must be a valid number. */
static bool opt_unsigned(const char *text, bool *has, unsigned *out)
{
    uint64_t value = 0;
    *has = false;
    if (text == NULL)
        return true;
    if (!parse_u64(text, 0xffffffffu, &value))
        return false;
    *has = true;
    *out = (unsigned)value;
    return true;
}

/* 'ver' is "MAJOR.MINOR", each an integer (XEP-0124 §7.1: "1.10" is newer than "1.9"). */
static bool parse_ver(const char *text, struct xgw_bosh_req *req)
{
    uint64_t major = 0, minor = 0;
    if (text == NULL)
        return true;
    const char *dot = strchr(text, '.');
    if (dot == NULL || dot == text || dot - text > 9 || strlen(dot + 1) > 9)
        return false;
    char major_text[10];
    memcpy(major_text, text, (size_t)(dot - text));
    major_text[dot - text] = '\0';
    if (!parse_u64(major_text, 0xffffffffu, &major) || !parse_u64(dot + 1, 0xffffffffu, &minor))
        return false;
    req->has_ver = true;
    req->ver_major = (unsigned)major;
    req->ver_minor = (unsigned)minor;
    return true;
}

/* xs:boolean: 'true'/'1' and 'false'/'0' (XEP206-11 requires both true forms). */
static bool parse_bool(const char *text, bool *out)
{
    *out = false;
    if (text == NULL)
        return true;
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return true;
    }
    return strcmp(text, "false") == 0 || strcmp(text, "0") == 0;
}

/* XEP-0124 §6: <body/> holds only elements; whitespace between them is tolerated (BOSH-17). */
static bool only_blank_text(const struct xgw_xml_node *root)
{
    for (const struct xgw_xml_node *c = root->first_child; c; c = c->next) {
        if (c->kind != XGW_XML_TEXT)
            continue;
        for (size_t i = 0; i < c->text_len; i++) {
            char ch = c->text[i];
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
                return false;
        }
    }
    return true;
}

static bool read_numbers(struct xgw_bosh_req *req)
{
    const struct xgw_xml_node *root = req->root;
    uint64_t rid = 0;
    if (!parse_u64(xgw_xml_attr_get(root, NULL, "rid"), XGW_BOSH_MAX_RID, &rid) || rid == 0)
        return false;
    req->rid = rid;
    const char *ack = xgw_xml_attr_get(root, NULL, "ack");
    if (ack) {
        if (!parse_u64(ack, XGW_BOSH_MAX_RID, &req->ack))
            return false;
        req->has_ack = true;
    }
    return parse_ver(xgw_xml_attr_get(root, NULL, "ver"), req) &&
           opt_unsigned(xgw_xml_attr_get(root, NULL, "wait"), &req->has_wait, &req->wait_s) &&
           opt_unsigned(xgw_xml_attr_get(root, NULL, "hold"), &req->has_hold, &req->hold) &&
           opt_unsigned(xgw_xml_attr_get(root, NULL, "pause"), &req->has_pause, &req->pause_s);
}

/* Fills req from its root; false if an attribute or the content is invalid. */
static bool read_body(struct xgw_bosh_req *req)
{
    const struct xgw_xml_node *root = req->root;
    if (!xgw_xml_is(root, XGW_NS_HTTPBIND, "body") || !only_blank_text(root) || !read_numbers(req))
        return false;
    req->sid = xgw_xml_attr_get(root, NULL, "sid");
    req->to = xgw_xml_attr_get(root, NULL, "to");
    req->route = xgw_xml_attr_get(root, NULL, "route");
    req->from = xgw_xml_attr_get(root, NULL, "from");
    req->content = xgw_xml_attr_get(root, NULL, "content");
    req->key = xgw_xml_attr_get(root, NULL, "key");
    req->newkey = xgw_xml_attr_get(root, NULL, "newkey");
    /* Attributes are matched by namespace, whatever prefix the client bound (XEP206-17). */
    req->lang = xgw_xml_attr_get(root, XGW_NS_XML, "lang");
    req->xmpp_version = xgw_xml_attr_get(root, XGW_NS_XBOSH, "version");
    if (!parse_bool(xgw_xml_attr_get(root, XGW_NS_XBOSH, "restart"), &req->restart))
        return false;
    const char *type = xgw_xml_attr_get(root, NULL, "type");
    req->terminate = type != NULL && strcmp(type, "terminate") == 0;
    req->payload_count = xgw_xml_child_count(root);
    return true;
}

enum xgw_err xgw_bosh_req_parse(const char *data, size_t len, size_t max_bytes,
                                struct xgw_bosh_req *req, enum xgw_bosh_cond *cond)
{
    memset(req, 0, sizeof(*req));
    *cond = XGW_BOSH_COND_NONE;
    if (len > max_bytes) {
        *cond = XGW_BOSH_COND_POLICY_VIOLATION; /* TERM-08: body over bosh.max_body_bytes */
        return XGW_ELIMIT;
    }
    /* One more level than a stanza may use: <body/> wraps the payloads. */
    struct xgw_xml_limits limits = {.max_bytes = max_bytes, .max_depth = XGW_MAX_XML_DEPTH + 1};
    enum xgw_stream_cond xml_cond = XGW_SC_NONE;
    enum xgw_err err = xgw_xml_parse_document(data, len, &limits, &req->root, &xml_cond);
    if (err != XGW_OK) {
        /* Nesting deeper than the cap is a policy limit (CM-09); everything else the XML layer
         * refuses (syntax, restricted XML, bad UTF-8, other encodings) is bad-request
         * (BOSH-15, TERM-01). */
        bool limit = xml_cond == XGW_SC_POLICY_VIOLATION;
        *cond = limit ? XGW_BOSH_COND_POLICY_VIOLATION : XGW_BOSH_COND_BAD_REQUEST;
        return limit ? XGW_ELIMIT : XGW_EPROTO;
    }
    if (!read_body(req)) {
        xgw_bosh_req_cleanup(req);
        *cond = XGW_BOSH_COND_BAD_REQUEST;
        return XGW_EPROTO;
    }
    return XGW_OK;
}

void xgw_bosh_req_cleanup(struct xgw_bosh_req *req)
{
    xgw_xml_node_free(req->root);
    memset(req, 0, sizeof(*req));
}

bool xgw_bosh_req_peek_sid(const char *data, size_t len, size_t max_bytes, char *out,
                           size_t out_len)
{
    struct xgw_xml_limits limits = {.max_bytes = max_bytes, .max_depth = XGW_MAX_XML_DEPTH + 1};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond xml_cond = XGW_SC_NONE;
    bool found = false;
    if (len > max_bytes || out_len == 0 ||
        xgw_xml_parse_document(data, len, &limits, &root, &xml_cond) != XGW_OK)
        return false;
    const char *sid =
        xgw_xml_is(root, XGW_NS_HTTPBIND, "body") ? xgw_xml_attr_get(root, NULL, "sid") : NULL;
    if (sid && strlen(sid) < out_len) {
        memcpy(out, sid, strlen(sid) + 1);
        found = true;
    }
    xgw_xml_node_free(root);
    return found;
}
