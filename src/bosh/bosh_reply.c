/* SPDX-License-Identifier: MIT */
/* Serialises BOSH response bodies. XEP-0124 §7.2 (creation response), §8, §9.1 (ack), §17.2-§17.3
 * (terminal and recoverable errors); XEP-0206 §2 (xmlns:stream on <body/>), §4 (restart logic). */
#include "xgw/bosh_reply.h"

#include <inttypes.h>

#include "xgw/ns.h"
#include "xgw/xml_write.h"

/* Writes one numeric attribute; the names are our literals, so no escaping is needed. */
static enum xgw_err put_number(struct xgw_buf *out, const char *name, uint64_t value)
{
    return xgw_buf_printf(out, " %s='%" PRIu64 "'", name, value);
}

static enum xgw_err put_opt_attr(struct xgw_buf *out, const char *name, const char *value)
{
    return value ? xgw_xml_write_attr(out, name, value) : XGW_OK;
}

/* XEP-0124 §7.2: every attribute once, including when wait='0' (E-12: ejabberd wrote 'polling'
 * twice there); maxpause only when pause is supported (BOSH-29). */
static enum xgw_err put_creation(struct xgw_buf *out, const struct xgw_bosh_creation *c)
{
    enum xgw_err err = xgw_xml_write_attr(out, "sid", c->sid);
    if (err == XGW_OK)
        err = put_number(out, "wait", c->wait_s);
    if (err == XGW_OK)
        err = put_number(out, "requests", c->requests);
    if (err == XGW_OK)
        err = put_number(out, "hold", c->hold);
    if (err == XGW_OK)
        err = put_number(out, "inactivity", c->inactivity_s);
    if (err == XGW_OK)
        err = put_number(out, "polling", c->polling_s);
    if (err == XGW_OK && c->maxpause_s > 0)
        err = put_number(out, "maxpause", c->maxpause_s);
    if (err == XGW_OK)
        err = xgw_buf_printf(out, " ver='%u.%u'", c->ver_major, c->ver_minor);
    return err;
}

static enum xgw_err put_type(struct xgw_buf *out, const struct xgw_bosh_reply *r)
{
    if (r->type == XGW_BOSH_REPLY_ERROR)
        return xgw_buf_append_str(out, " type='error'");
    if (r->type != XGW_BOSH_REPLY_TERMINATE)
        return XGW_OK;
    enum xgw_err err = xgw_buf_append_str(out, " type='terminate'");
    if (err == XGW_OK && r->cond != XGW_BOSH_COND_NONE)
        err = xgw_xml_write_attr(out, "condition", xgw_bosh_cond_name(r->cond));
    return err;
}

static enum xgw_err put_attrs(struct xgw_buf *out, const struct xgw_bosh_reply *r)
{
    enum xgw_err err = put_type(out, r);
    if (err == XGW_OK && r->creation)
        err = put_creation(out, r->creation);
    if (err == XGW_OK)
        err = put_opt_attr(out, "from", r->from);
    if (err == XGW_OK)
        err = put_opt_attr(out, "authid", r->authid);
    if (err == XGW_OK)
        err = put_opt_attr(out, "xmpp:version", r->xmpp_version);
    /* XEP206-04: restarts are supported, said on the creation response. */
    if (err == XGW_OK && r->creation)
        err = xgw_buf_append_str(out, " xmpp:restartlogic='true'");
    if (err == XGW_OK && r->has_ack)
        err = put_number(out, "ack", r->ack);
    return err;
}

enum xgw_err xgw_bosh_reply_build(struct xgw_buf *out, const struct xgw_bosh_reply *r)
{
    bool has_children = r->payload_len > 0;
    enum xgw_err err = xgw_buf_append_str(out, "<body");
    if (err == XGW_OK)
        err = put_attrs(out, r);
    if (err == XGW_OK)
        err = xgw_xml_write_ns_decl(out, NULL, XGW_NS_HTTPBIND);
    if (err == XGW_OK && (r->creation || r->xmpp_version))
        err = xgw_xml_write_ns_decl(out, "xmpp", XGW_NS_XBOSH);
    /* XEP206-06 / BOSH-75: children may be <stream:features/> or <stream:error/>, and some
     * clients need the prefix bound on <body/> itself (E-21). */
    if (err == XGW_OK && has_children)
        err = xgw_xml_write_ns_decl(out, "stream", XGW_NS_STREAM);
    if (err != XGW_OK)
        return err;
    if (!has_children)
        return xgw_buf_append_str(out, "/>");
    err = xgw_buf_append_str(out, ">");
    if (err == XGW_OK)
        err = xgw_buf_append(out, r->payload, r->payload_len);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "</body>");
    return err;
}

enum xgw_err xgw_bosh_reply_empty(struct xgw_buf *out)
{
    struct xgw_bosh_reply r = {.type = XGW_BOSH_REPLY_NORMAL};
    return xgw_bosh_reply_build(out, &r);
}

enum xgw_err xgw_bosh_reply_terminate(struct xgw_buf *out, enum xgw_bosh_cond cond,
                                      const char *payload, size_t payload_len)
{
    struct xgw_bosh_reply r = {.type = XGW_BOSH_REPLY_TERMINATE,
                               .cond = cond,
                               .payload = payload,
                               .payload_len = payload_len};
    return xgw_bosh_reply_build(out, &r);
}

enum xgw_err xgw_bosh_reply_error(struct xgw_buf *out)
{
    struct xgw_bosh_reply r = {.type = XGW_BOSH_REPLY_ERROR};
    return xgw_bosh_reply_build(out, &r);
}
