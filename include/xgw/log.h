/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr, one line per event. The macros test the level before evaluating
 * their arguments. Session lines carry "sid=... peer=... transport=..." from the caller.
 * Never log SASL payloads or passwords (CM-11). */
#ifndef XGW_LOG_H
#define XGW_LOG_H

#include "xgw/compiler.h"

enum xgw_log_level {
    XGW_LOG_LEVEL_ERROR = 0,
    XGW_LOG_LEVEL_WARN,
    XGW_LOG_LEVEL_NOTICE,
    XGW_LOG_LEVEL_INFO,
    XGW_LOG_LEVEL_DEBUG,
};

extern enum xgw_log_level xgw_log_level_current;

/* Parses "error", "warn", "notice", "info" or "debug". Returns 0 on success, -1 otherwise. */
int xgw_log_level_parse(const char *name, enum xgw_log_level *out);
const char *xgw_log_level_name(enum xgw_log_level level);
void xgw_log_write(enum xgw_log_level level, const char *fmt, ...) XGW_PRINTF(2, 3);

#define XGW_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= xgw_log_level_current)                                                      \
            xgw_log_write((level), __VA_ARGS__);                                                   \
    } while (0)
#define XGW_LOG_ERROR(...)  XGW_LOG(XGW_LOG_LEVEL_ERROR, __VA_ARGS__)
#define XGW_LOG_WARN(...)   XGW_LOG(XGW_LOG_LEVEL_WARN, __VA_ARGS__)
#define XGW_LOG_NOTICE(...) XGW_LOG(XGW_LOG_LEVEL_NOTICE, __VA_ARGS__)
#define XGW_LOG_INFO(...)   XGW_LOG(XGW_LOG_LEVEL_INFO, __VA_ARGS__)
#define XGW_LOG_DEBUG(...)  XGW_LOG(XGW_LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
