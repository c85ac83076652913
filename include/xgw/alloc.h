/* SPDX-License-Identifier: MIT */
/* Allocation wrappers: they abort on out-of-memory, so callers have no NULL paths to test.
 * What bounds memory is the caps in limits.h, checked before allocating. */
#ifndef XGW_ALLOC_H
#define XGW_ALLOC_H

#include <stddef.h>

void *xgw_malloc(size_t size);
void *xgw_calloc(size_t count, size_t size);
void *xgw_realloc(void *ptr, size_t size);
char *xgw_strdup(const char *s);
char *xgw_strndup(const char *s, size_t len);
void xgw_free(void *ptr);

#endif
