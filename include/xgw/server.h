/* SPDX-License-Identifier: MIT */
/* Runs the daemon until SIGTERM/SIGINT: listeners, sessions, clean shutdown. */
#ifndef XGW_SERVER_H
#define XGW_SERVER_H

#include <stddef.h>

#include "xgw/config.h"
#include "xgw/err.h"

/* Checks what the configuration names outside itself (the TLS listeners' certificate and key:
 * readable, PEM, matching). On failure writes a one-line reason into err. */
XGW_MUST_CHECK enum xgw_err xgw_server_check(const struct xgw_config *cfg, char *err,
                                             size_t err_len);

/* Returns the process exit status: 0 after a clean shutdown, 2 if start-up failed (the reason
 * was logged). */
int xgw_server_run(const struct xgw_config *cfg);

#endif
