/* SPDX-License-Identifier: MIT */
/* RFC 7395 §3.3-§3.6: classification of client messages and the framing elements we send. */
#include "xgw/ws_xmpp.h"

#include <string.h>

#include "xgw/ns.h"
#include "xgw/xml_write.h"

enum xgw_ws_msg_kind xgw_ws_classify(const struct xgw_xml_node *root, enum xgw_stream_cond *cond)
{
    *cond = XGW_SC_NONE;
    bool framing = root->ns && strcmp(root->ns, XGW_NS_FRAMING) == 0;
    if (strcmp(root->local, "open") == 0 || strcmp(root->local, "close") == 0) {
        if (!framing) {
            /* WS-31: <open/>/<close/> outside the framing namespace. */
            *cond = XGW_SC_INVALID_NAMESPACE;
            return XGW_WS_MSG_BAD;
        }
        return root->local[0] == 'o' ? XGW_WS_MSG_OPEN : XGW_WS_MSG_CLOSE;
    }
    if (framing ||
        (root->ns && strcmp(root->ns, XGW_NS_STREAM) == 0 && strcmp(root->local, "stream") == 0)) {
        /* Unknown framing element, or an old-draft <stream:stream/> as a whole message. */
        *cond = XGW_SC_INVALID_NAMESPACE;
        return XGW_WS_MSG_BAD;
    }
    return XGW_WS_MSG_STANZA;
}

enum xgw_err xgw_ws_open_build(struct xgw_buf *out, const struct xgw_stream_header *header)
{
    enum xgw_err err = xgw_buf_append_str(out, "<open xmlns='" XGW_NS_FRAMING "'");
    if (err == XGW_OK && header->from)
        err = xgw_xml_write_attr(out, "from", header->from);
    if (err == XGW_OK && header->id)
        err = xgw_xml_write_attr(out, "id", header->id);
    if (err == XGW_OK && header->to)
        err = xgw_xml_write_attr(out, "to", header->to);
    if (err == XGW_OK)
        err = xgw_xml_write_attr(out, "version", header->version ? header->version : "1.0");
    if (err == XGW_OK)
        err = xgw_xml_write_attr(out, "xml:lang", header->lang ? header->lang : "en");
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "/>");
    return err;
}

enum xgw_err xgw_ws_close_build(struct xgw_buf *out, const char *see_other_uri)
{
    enum xgw_err err = xgw_buf_append_str(out, "<close xmlns='" XGW_NS_FRAMING "'");
    if (err == XGW_OK && see_other_uri)
        err = xgw_xml_write_attr(out, "see-other-uri", see_other_uri);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "/>");
    return err;
}
