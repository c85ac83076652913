/* SPDX-License-Identifier: MIT */
/* Bounded growable byte buffer. */
#include "xgw/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xgw/alloc.h"

void xgw_buf_init(struct xgw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void xgw_buf_cleanup(struct xgw_buf *b)
{
    xgw_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void xgw_buf_reset(struct xgw_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *xgw_buf_reserve(struct xgw_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return NULL;
    size_t need = b->len + extra + 1; /* + NUL */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        b->data = xgw_realloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void xgw_buf_commit(struct xgw_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

enum xgw_err xgw_buf_append(struct xgw_buf *b, const void *data, size_t len)
{
    char *dst = xgw_buf_reserve(b, len);
    if (dst == NULL)
        return XGW_ELIMIT;
    if (len)
        memcpy(dst, data, len);
    xgw_buf_commit(b, len);
    return XGW_OK;
}

enum xgw_err xgw_buf_append_str(struct xgw_buf *b, const char *s)
{
    return xgw_buf_append(b, s, strlen(s));
}

enum xgw_err xgw_buf_printf(struct xgw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return XGW_EINVAL;
    char *dst = xgw_buf_reserve(b, (size_t)n);
    if (dst == NULL)
        return XGW_ELIMIT;
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    xgw_buf_commit(b, (size_t)n);
    return XGW_OK;
}

enum xgw_err xgw_buf_insert(struct xgw_buf *b, size_t pos, const void *data, size_t len)
{
    if (pos > b->len)
        return XGW_EINVAL;
    if (xgw_buf_reserve(b, len) == NULL)
        return XGW_ELIMIT;
    memmove(b->data + pos + len, b->data + pos, b->len - pos);
    memcpy(b->data + pos, data, len);
    xgw_buf_commit(b, len);
    return XGW_OK;
}

void xgw_buf_consume(struct xgw_buf *b, size_t n)
{
    if (n >= b->len) {
        xgw_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
