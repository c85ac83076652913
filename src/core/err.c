/* SPDX-License-Identifier: MIT */
#include "xgw/err.h"

const char *xgw_err_str(enum xgw_err err)
{
    switch (err) {
    case XGW_OK:
        return "ok";
    case XGW_EAGAIN:
        return "try again";
    case XGW_ELIMIT:
        return "limit exceeded";
    case XGW_EPROTO:
        return "protocol error";
    case XGW_EIO:
        return "I/O error";
    case XGW_ENOMEM:
        return "out of memory";
    case XGW_EINVAL:
        return "invalid argument";
    }
    return "unknown error";
}
