/* SPDX-License-Identifier: MIT */
/* Finds where a value sits in JSON text that jansson already accepted, so semantic config
 * errors can carry "line:column" (jansson keeps no positions for parsed values). */
#ifndef XGW_JSON_LOCATE_H
#define XGW_JSON_LOCATE_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path from the root value: an object key, or an array index when key is NULL. */
struct xgw_json_locate_seg {
    const char *key; /* borrowed */
    size_t index;
};

/* Finds the value at path (depth steps) in text. With at_key and a last step that is a key, the
 * position is that of the key's opening quote instead. Lines and columns are 1-based; columns
 * count characters (UTF-8 sequences), as jansson's own error positions do. Returns false if
 * the path is not in the text. */
bool xgw_json_locate(const char *text, size_t len, const struct xgw_json_locate_seg *path,
                     size_t depth, bool at_key, int *line, int *column);

#endif
