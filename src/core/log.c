/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr; journald adds its own timestamps, a terminal gets ours. */
#include "xgw/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum xgw_log_level xgw_log_level_current = XGW_LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};

int xgw_log_level_parse(const char *name, enum xgw_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum xgw_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *xgw_log_level_name(enum xgw_log_level level)
{
    return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level]
                                                                          : "?";
}

void xgw_log_write(enum xgw_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000, xgw_log_level_name(level));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
