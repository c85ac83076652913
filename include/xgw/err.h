/* SPDX-License-Identifier: MIT */
/* Error codes returned by every fallible function. Protocol outcomes (which condition to send
 * to a peer) are data in out-parameters, never encoded here. */
#ifndef XGW_ERR_H
#define XGW_ERR_H

enum xgw_err {
    XGW_OK = 0,
    XGW_EAGAIN, /* need more input, or paused by back-pressure */
    XGW_ELIMIT, /* a configured cap was hit */
    XGW_EPROTO, /* the peer broke the protocol; see the condition out-parameter */
    XGW_EIO,    /* a system call or TLS operation failed */
    XGW_ENOMEM, /* a library reported allocation failure */
    XGW_EINVAL, /* bad argument or configuration value */
};

/* Static, human-readable name of an error code. */
const char *xgw_err_str(enum xgw_err err);

#endif
