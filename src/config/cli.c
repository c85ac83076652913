/* SPDX-License-Identifier: MIT */
/* Command line: hand-parsed long options ("--opt VALUE" and "--opt=VALUE"), no global state, so
 * it can run any number of times; the file is loaded first and the overrides applied after. */
#include "xgw/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xgw/alloc.h"
#include "config_internal.h"

enum cli_option_id {
    OPT_CONFIG,
    OPT_CHECK_CONFIG,
    OPT_VERSION,
    OPT_HELP,
    OPT_LISTEN,
    OPT_ROUTE,
    OPT_WWW,
    OPT_LOG_LEVEL,
};

struct cli_option {
    const char *name;
    enum cli_option_id id;
    bool has_value;
};

static const struct cli_option cli_options[] = {
    {"config", OPT_CONFIG, true},    {"check-config", OPT_CHECK_CONFIG, false},
    {"version", OPT_VERSION, false}, {"help", OPT_HELP, false},
    {"listen", OPT_LISTEN, true},    {"route", OPT_ROUTE, true},
    {"www", OPT_WWW, true},          {"log-level", OPT_LOG_LEVEL, true},
};

/* What argv asked for, before any of it touches the configuration. */
struct cli_request {
    const char *config_path; /* borrowed from argv */
    bool check_config, version, help;
    struct xgw_listen *listens; /* owned */
    size_t listen_count;
    struct xgw_route *routes; /* owned */
    size_t route_count;
    const char *www_root; /* borrowed from argv; NULL = not given */
    bool has_log_level;
    enum xgw_log_level log_level;
};

static const char usage_text[] =
    "Usage: xmppgw [OPTION]...\n"
    "Gateway from browser XMPP (WebSocket, RFC 7395) to XMPP servers' client port.\n"
    "\n"
    "  --config FILE              load the JSON configuration FILE (keys: conf/README.md)\n"
    "  --check-config             validate the configuration, print \"config OK\" and exit\n"
    "  --listen ADDR:PORT         listen on a numeric address (\"[::1]:5280\" for IPv6);\n"
    "                             repeatable; replaces the file's \"listen\" list\n"
    "  --route DOMAIN=HOST[:PORT] send sessions for DOMAIN to HOST (port 5222 by default);\n"
    "                             repeatable; replaces the file's route for DOMAIN\n"
    "  --www DIR                  serve static files from DIR at \"/\"\n"
    "  --log-level LEVEL          error, warn, notice, info (default) or debug\n"
    "  --version                  print the version and exit\n"
    "  --help                     print this help and exit\n"
    "\n"
    "Options also accept the form --option=VALUE. The file is loaded first and the\n"
    "other options override it, whatever their order.\n"
    "\n"
    "Exit status: 0 on success, 2 on a usage or configuration error.\n";

const char *xgw_config_usage(void)
{
    return usage_text;
}

static enum xgw_err XGW_PRINTF(3, 4) cli_fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return XGW_EINVAL;
}

static void request_cleanup(struct cli_request *req)
{
    for (size_t i = 0; i < req->listen_count; i++)
        xgw_free(req->listens[i].host);
    for (size_t i = 0; i < req->route_count; i++)
        xgw_route_cleanup(&req->routes[i]);
    xgw_free(req->listens);
    xgw_free(req->routes);
}

static enum xgw_err take_listen(struct cli_request *req, const char *value, char *err,
                                size_t err_len)
{
    struct xgw_listen listen;
    const char *reason;
    if (xgw_config_parse_listen(value, &listen, &reason) != XGW_OK)
        return cli_fail(err, err_len, "--listen: invalid value \"%s\": %s", value, reason);
    req->listens = xgw_realloc(req->listens, (req->listen_count + 1) * sizeof(*req->listens));
    req->listens[req->listen_count++] = listen;
    return XGW_OK;
}

static enum xgw_err take_route(struct cli_request *req, const char *value, char *err,
                               size_t err_len)
{
    struct xgw_route route;
    const char *reason;
    if (xgw_config_parse_route(value, &route, &reason) != XGW_OK)
        return cli_fail(err, err_len, "--route: invalid value \"%s\": %s", value, reason);
    req->routes = xgw_realloc(req->routes, (req->route_count + 1) * sizeof(*req->routes));
    req->routes[req->route_count++] = route;
    return XGW_OK;
}

static enum xgw_err take_option(struct cli_request *req, enum cli_option_id id, const char *value,
                                char *err, size_t err_len)
{
    switch (id) {
    case OPT_CONFIG:
        if (req->config_path != NULL)
            return cli_fail(err, err_len, "--config: given more than once");
        if (value[0] == '\0')
            return cli_fail(err, err_len, "--config: the file name must not be empty");
        req->config_path = value;
        break;
    case OPT_CHECK_CONFIG:
        req->check_config = true;
        break;
    case OPT_VERSION:
        req->version = true;
        break;
    case OPT_HELP:
        req->help = true;
        break;
    case OPT_LISTEN:
        return take_listen(req, value, err, err_len);
    case OPT_ROUTE:
        return take_route(req, value, err, err_len);
    case OPT_WWW:
        if (value[0] == '\0')
            return cli_fail(err, err_len, "--www: the directory must not be empty");
        req->www_root = value;
        break;
    case OPT_LOG_LEVEL:
        if (xgw_log_level_parse(value, &req->log_level) != 0)
            return cli_fail(err, err_len,
                            "--log-level: invalid value \"%s\": expected error, warn, notice, "
                            "info or debug",
                            value);
        req->has_log_level = true;
        break;
    }
    return XGW_OK;
}

static const struct cli_option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < XGW_ARRAY_SIZE(cli_options); i++) {
        if (strlen(cli_options[i].name) == len && memcmp(cli_options[i].name, name, len) == 0)
            return &cli_options[i];
    }
    return NULL;
}

/* Fills req from argv without touching any configuration. */
static enum xgw_err parse_args(struct cli_request *req, int argc, char *const argv[], char *err,
                               size_t err_len)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return cli_fail(err, err_len, "unexpected argument \"%s\" (see --help)", arg);
        const char *equals = strchr(arg, '=');
        size_t name_len = equals ? (size_t)(equals - arg - 2) : strlen(arg + 2);
        const struct cli_option *opt = find_option(arg + 2, name_len);
        if (opt == NULL)
            return cli_fail(err, err_len, "unknown option \"%.*s\" (see --help)",
                            (int)(name_len + 2), arg);
        const char *value = NULL;
        if (opt->has_value && equals) {
            value = equals + 1;
        } else if (opt->has_value) {
            /* "--listen --route x" is a forgotten value, not a listen address "--route". */
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return cli_fail(err, err_len, "--%s: missing value", opt->name);
            value = argv[++i];
        } else if (equals) {
            return cli_fail(err, err_len, "--%s: takes no value", opt->name);
        }
        if (take_option(req, opt->id, value, err, err_len) != XGW_OK)
            return XGW_EINVAL;
    }
    return XGW_OK;
}

/* Moves the overrides of req into cfg; req keeps nothing owned afterwards. */
static void apply_overrides(struct xgw_config *cfg, struct cli_request *req)
{
    if (req->listen_count > 0) {
        for (size_t i = 0; i < cfg->listen_count; i++)
            xgw_free(cfg->listens[i].host);
        xgw_free(cfg->listens);
        cfg->listens = req->listens;
        cfg->listen_count = req->listen_count;
        req->listens = NULL;
        req->listen_count = 0;
    }
    for (size_t i = 0; i < req->route_count; i++) {
        struct xgw_route *same =
            (struct xgw_route *)xgw_config_find_route(cfg, req->routes[i].domain);
        if (same == NULL) {
            cfg->routes = xgw_realloc(cfg->routes, (cfg->route_count + 1) * sizeof(*cfg->routes));
            same = &cfg->routes[cfg->route_count++];
        } else {
            xgw_route_cleanup(same);
        }
        *same = req->routes[i];
    }
    req->route_count = 0;
    if (req->www_root != NULL)
        xgw_config_set_string(&cfg->www_root, req->www_root);
    if (req->has_log_level)
        cfg->log_level = req->log_level;
}

enum xgw_err xgw_config_from_argv(struct xgw_config *cfg, int argc, char *const argv[],
                                  enum xgw_cli_action *action, char *err, size_t err_len)
{
    struct cli_request req;
    memset(&req, 0, sizeof(req));
    enum xgw_err result = parse_args(&req, argc, argv, err, err_len);
    if (result != XGW_OK)
        goto out;
    if (req.help || req.version) {
        /* Help and version must work even when the configuration is broken. */
        *action = req.help ? XGW_CLI_HELP : XGW_CLI_VERSION;
        goto out;
    }
    if (req.config_path != NULL) {
        result = xgw_config_load_file(cfg, req.config_path, err, err_len);
        if (result != XGW_OK)
            goto out;
    }
    apply_overrides(cfg, &req);
    *action = req.check_config ? XGW_CLI_CHECK_CONFIG : XGW_CLI_RUN;
out:
    request_cleanup(&req);
    return result;
}
