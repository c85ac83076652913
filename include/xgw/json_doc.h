/* SPDX-License-Identifier: MIT */
/* Writes a JSON document the way every document we serve looks: two-space indent, keys in
 * insertion order, a final newline. */
#ifndef XGW_JSON_DOC_H
#define XGW_JSON_DOC_H

#include <jansson.h>

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/err.h"

/* Appends doc to out and releases doc (a NULL doc, as from a failed json_pack, gives
 * XGW_ENOMEM). */
XGW_MUST_CHECK enum xgw_err xgw_json_doc_append(struct xgw_buf *out, json_t *doc);

#endif
