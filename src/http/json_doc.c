/* SPDX-License-Identifier: MIT */
/* Serialises the JSON documents of the HTTP side (host-meta.json, /status). */
#include "xgw/json_doc.h"

#include <stdlib.h>

enum xgw_err xgw_json_doc_append(struct xgw_buf *out, json_t *doc)
{
    if (doc == NULL)
        return XGW_ENOMEM;
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (text == NULL)
        return XGW_ENOMEM;
    enum xgw_err err = xgw_buf_append_str(out, text);
    if (err == XGW_OK)
        err = xgw_buf_append_str(out, "\n");
    free(text);
    return err;
}
