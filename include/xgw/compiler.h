/* SPDX-License-Identifier: MIT */
/* Small compiler helpers shared by every module. */
#ifndef XGW_COMPILER_H
#define XGW_COMPILER_H

#include <stddef.h>

#define XGW_ARRAY_SIZE(a)              (sizeof(a) / sizeof((a)[0]))
#define XGW_CONTAINER_OF(ptr, type, m) ((type *)(void *)((char *)(ptr)-offsetof(type, m)))
#define XGW_MUST_CHECK                 __attribute__((warn_unused_result))
#define XGW_PRINTF(f, a)               __attribute__((format(printf, f, a)))
#define XGW_UNUSED(x)                  ((void)(x))

#endif
