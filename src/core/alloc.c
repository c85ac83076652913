/* SPDX-License-Identifier: MIT */
/* Allocation wrappers that abort on out-of-memory. */
#include "xgw/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *ptr, size_t size)
{
    if (ptr == NULL && size != 0) {
        fprintf(stderr, "xmppgw: out of memory allocating %zu bytes\n", size);
        abort();
    }
    return ptr;
}

void *xgw_malloc(size_t size)
{
    return checked(malloc(size ? size : 1), size ? size : 1);
}

void *xgw_calloc(size_t count, size_t size)
{
    return checked(calloc(count ? count : 1, size ? size : 1), 1);
}

void *xgw_realloc(void *ptr, size_t size)
{
    return checked(realloc(ptr, size ? size : 1), size ? size : 1);
}

char *xgw_strndup(const char *s, size_t len)
{
    char *copy = xgw_malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *xgw_strdup(const char *s)
{
    return s ? xgw_strndup(s, strlen(s)) : NULL;
}

void xgw_free(void *ptr)
{
    free(ptr);
}
