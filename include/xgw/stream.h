/* SPDX-License-Identifier: MIT */
/* Builders for the upstream (RFC 6120) side of the stream: initial header and stream errors. */
#ifndef XGW_STREAM_H
#define XGW_STREAM_H

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/stream_cond.h"

/* Appends the initial stream header G sends upstream (TD-1, XMPP-02): an XML declaration, then
 * <stream:stream to version='1.0' [xml:lang] [from] xmlns='jabber:client' xmlns:stream=...>.
 * Never an id. lang and from may be NULL (from is only passed once TLS protects the stream). */
XGW_MUST_CHECK enum xgw_err xgw_stream_header_build(struct xgw_buf *out, const char *to,
                                                    const char *lang, const char *from);
/* Appends <stream:error xmlns:stream=...><COND xmlns='...xmpp-streams'/>[<text>..]</stream:error>.
 * text may be NULL. The element is standalone (declares its own prefix). */
XGW_MUST_CHECK enum xgw_err xgw_stream_error_build(struct xgw_buf *out, enum xgw_stream_cond cond,
                                                   const char *text);

#endif
