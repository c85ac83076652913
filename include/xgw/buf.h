/* SPDX-License-Identifier: MIT */
/* Growable byte buffer with a hard maximum fixed at init (curl dynbuf idea). The data is always
 * NUL-terminated (the terminator is not counted in len) so it can be logged or parsed as text. */
#ifndef XGW_BUF_H
#define XGW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "xgw/compiler.h"
#include "xgw/err.h"

struct xgw_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* appends that would make len exceed max fail with XGW_ELIMIT */
};

void xgw_buf_init(struct xgw_buf *b, size_t max);
void xgw_buf_cleanup(struct xgw_buf *b);
/* Empties the buffer, keeping its allocation. */
void xgw_buf_reset(struct xgw_buf *b);
/* Appends len bytes. XGW_ELIMIT (buffer unchanged) if the result would exceed b->max. */
XGW_MUST_CHECK enum xgw_err xgw_buf_append(struct xgw_buf *b, const void *data, size_t len);
XGW_MUST_CHECK enum xgw_err xgw_buf_append_str(struct xgw_buf *b, const char *s);
XGW_MUST_CHECK enum xgw_err xgw_buf_printf(struct xgw_buf *b, const char *fmt, ...)
    XGW_PRINTF(2, 3);
/* Inserts len bytes at offset pos (pos <= b->len). */
XGW_MUST_CHECK enum xgw_err xgw_buf_insert(struct xgw_buf *b, size_t pos, const void *data,
                                           size_t len);
/* Drops the first n bytes (n <= b->len). */
void xgw_buf_consume(struct xgw_buf *b, size_t n);
/* Makes room for at least extra more bytes past len without changing len; returns the write
 * position, or NULL (XGW_ELIMIT) if that would pass max. Commit with xgw_buf_commit. */
char *xgw_buf_reserve(struct xgw_buf *b, size_t extra);
void xgw_buf_commit(struct xgw_buf *b, size_t n);

#endif
