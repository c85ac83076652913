/* SPDX-License-Identifier: MIT */
/* Runs the daemon until SIGTERM/SIGINT: listeners, sessions, clean shutdown. */
#ifndef XGW_SERVER_H
#define XGW_SERVER_H

#include "xgw/config.h"

/* Returns the process exit status: 0 after a clean shutdown, 2 if start-up failed (the reason
 * was logged). */
int xgw_server_run(const struct xgw_config *cfg);

#endif
