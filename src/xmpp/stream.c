/* SPDX-License-Identifier: MIT */
/* Upstream stream header and stream error builders (RFC 6120 §4.7, §4.9; TD-1). */
#include "xgw/stream.h"

#include <string.h>

#include "xgw/ns.h"
#include "xgw/xml_write.h"

enum xgw_err xgw_stream_header_build(struct xgw_buf *out, const char *to, const char *lang,
                                     const char *from)
{
    enum xgw_err err = xgw_buf_append_str(out, "<?xml version='1.0'?><stream:stream");
    if (err == XGW_OK)
        err = xgw_xml_write_attr(out, "to", to);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, " version='1.0'");
    if (err == XGW_OK && lang)
        err = xgw_xml_write_attr(out, "xml:lang", lang);
    if (err == XGW_OK && from)
        err = xgw_xml_write_attr(out, "from", from);
    if (err == XGW_OK)
        err =
            xgw_buf_append_str(out, " xmlns='" XGW_NS_CLIENT "' xmlns:stream='" XGW_NS_STREAM "'>");
    return err;
}

enum xgw_err xgw_stream_error_build(struct xgw_buf *out, enum xgw_stream_cond cond,
                                    const char *text)
{
    if (cond == XGW_SC_NONE)
        cond = XGW_SC_UNDEFINED_CONDITION;
    enum xgw_err err = xgw_buf_printf(
        out, "<stream:error xmlns:stream='" XGW_NS_STREAM "'><%s xmlns='" XGW_NS_STREAMS "'/>",
        xgw_stream_cond_name(cond));
    if (err == XGW_OK && text) {
        err = xgw_buf_append_str(out, "<text xmlns='" XGW_NS_STREAMS "' xml:lang='en'>");
        if (err == XGW_OK)
            err = xgw_xml_escape_text(out, text, strlen(text));
        if (err == XGW_OK)
            err = xgw_buf_append_str(out, "</text>");
    }
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "</stream:error>");
    return err;
}
