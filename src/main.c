/* SPDX-License-Identifier: MIT */
/* xmppgw: command line, configuration, then the event loop. Exit 0 clean, 2 usage/config. */
#include <stdio.h>

#include "xgw/config.h"
#include "xgw/log.h"
#include "xgw/server.h"

int main(int argc, char **argv)
{
    struct xgw_config cfg;
    xgw_config_init_defaults(&cfg);
    enum xgw_cli_action action = XGW_CLI_RUN;
    char err[1024] = "";
    if (xgw_config_from_argv(&cfg, argc, argv, &action, err, sizeof(err)) != XGW_OK) {
        fprintf(stderr, "xmppgw: %s\n", err);
        fprintf(stderr, "Try 'xmppgw --help'.\n");
        xgw_config_cleanup(&cfg);
        return 2;
    }
    if ((action == XGW_CLI_RUN || action == XGW_CLI_CHECK_CONFIG) &&
        xgw_server_check(&cfg, err, sizeof(err)) != XGW_OK) {
        fprintf(stderr, "xmppgw: %s\n", err);
        xgw_config_cleanup(&cfg);
        return 2;
    }
    int rc = 0;
    switch (action) {
    case XGW_CLI_HELP:
        fputs(xgw_config_usage(), stdout);
        break;
    case XGW_CLI_VERSION:
        printf("xmppgw %s\n", XGW_VERSION);
        break;
    case XGW_CLI_CHECK_CONFIG:
        printf("%s: configuration OK\n", cfg.source_path ? cfg.source_path : "(defaults)");
        break;
    case XGW_CLI_RUN:
        xgw_log_level_current = cfg.log_level;
        rc = xgw_server_run(&cfg);
        break;
    }
    xgw_config_cleanup(&cfg);
    return rc;
}
