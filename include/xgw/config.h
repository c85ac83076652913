/* SPDX-License-Identifier: MIT */
/* Daemon configuration: a strict JSON file (jansson; unknown or duplicate keys, wrong types and
 * out-of-range values are errors reported as "file:line:column: message"), then command-line
 * overrides. Defaults live in limits.h. */
#ifndef XGW_CONFIG_H
#define XGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/cidr.h"
#include "xgw/compiler.h"
#include "xgw/err.h"
#include "xgw/log.h"

enum xgw_tls_mode {
    XGW_TLS_STARTTLS, /* "starttls": negotiate STARTTLS when offered (default) */
    XGW_TLS_DIRECT,   /* "direct": TLS from the first byte (XEP-0368 style port) */
};

struct xgw_listen {
    char *host;    /* owned; numeric IPv4 or IPv6 address without brackets, e.g. "::1" */
    uint16_t port; /* 1..65535 */
};

#define XGW_MAX_DNS_SERVERS 3 /* glibc's MAXNS */

struct xgw_route {
    char *domain;          /* owned; XMPP domain (lower-cased), the 'to' of the web session */
    char *host;            /* owned; hostname or numeric address of the XMPP server; NULL: look
                              up DNS SRV _xmpp-client._tcp (_xmpps-client for direct TLS) of
                              the domain, falling back to the domain itself on `port` */
    uint16_t port;         /* default 5222 */
    enum xgw_tls_mode tls; /* default XGW_TLS_STARTTLS */
    bool tls_verify;       /* default true: verify the certificate against `domain` */
    int allow_plaintext;   /* -1 = default (only when the connected address is loopback),
                              0 = never, 1 = always */
};

struct xgw_config {
    char *source_path; /* owned; the file loaded, NULL if none (used in messages) */

    struct xgw_listen *listens; /* owned array */
    size_t listen_count;        /* default: one, 127.0.0.1:5280 */

    struct xgw_listen *tls_listens; /* owned array; HTTPS + WSS listeners (tls.listen), may be
                                       empty (default): TLS is then left to a reverse proxy */
    size_t tls_listen_count;
    char *tls_cert_file; /* owned; PEM certificate chain of the TLS listeners */
    char *tls_key_file;  /* owned; PEM private key of that certificate */

    struct xgw_listen *status_listens; /* owned array; /metrics, /status, /healthz only (status.
                                          listen), default empty: no monitoring listener */
    size_t status_listen_count;

    struct xgw_route *routes; /* owned array; may be empty (every session gets host-unknown) */
    size_t route_count;

    char *www_root; /* owned; directory served at "/", NULL = no static files */
    char *www_csp;  /* owned; Content-Security-Policy of those files: NULL = the built-in strict
                       policy, "" = none */

    bool discovery_enabled;   /* default true: /.well-known/host-meta(.json), XEP-0156 */
    char *discovery_ws_url;   /* owned; public WebSocket URL, NULL = from each request's Host */
    char *discovery_bosh_url; /* owned; public BOSH URL, NULL = from each request's Host */
    int discovery_insecure;   /* ws:// and http:// links: -1 = only to loopback hosts (default),
                                 0 = never, 1 = always */

    char *ws_path;               /* owned; default "/xmpp-websocket" */
    unsigned ws_ping_interval_s; /* default 30; 0 disables server pings */
    unsigned ws_pong_timeout_s;  /* default 30: close with 1006-equivalent (TCP drop) after it */
    unsigned ws_open_timeout_s;  /* default 30: no <open/> by then -> connection-timeout */
    char **ws_allowed_origins;   /* owned array of owned strings; empty = any origin */
    size_t ws_allowed_origin_count;

    char *bosh_path;             /* owned; default "/http-bind" */
    unsigned bosh_max_wait_s;    /* default 50: clamp for the client's wait, below 60 s proxies */
    unsigned bosh_max_hold;      /* default 1 */
    unsigned bosh_inactivity_s;  /* default 60 */
    unsigned bosh_polling_s;     /* default 2 */
    unsigned bosh_maxpause_s;    /* default 120 */
    size_t bosh_max_body_bytes;  /* default 131072 */
    char **bosh_allowed_origins; /* owned; CORS origins for BOSH; empty = any ("*") */
    size_t bosh_allowed_origin_count;

    unsigned connect_timeout_s;    /* default 10: DNS + TCP + TLS + first stream header */
    unsigned close_timeout_s;      /* default 5: wait for the peer's closing handshake */
    unsigned upstream_keepalive_s; /* default 300, 0 = off: whitespace after this much silence */
    char *ca_file;                 /* owned; NULL = system default */
    char *ca_dir;                  /* owned; NULL = system default */
    struct xgw_listen dns_servers[XGW_MAX_DNS_SERVERS]; /* hosts owned; SRV resolvers, IPv4 */
    size_t dns_server_count;                            /* 0: resolv.conf's */

    size_t max_stanza_bytes;      /* default 262144: one element either direction */
    size_t max_queue_bytes;       /* default 1048576: per session, per direction */
    unsigned max_sessions;        /* default 10000 */
    unsigned max_sessions_per_ip; /* default 100, 0 = none; trusted proxies are exempt */

    struct xgw_cidr *trusted_proxies; /* owned array; peers whose X-Forwarded-For names the
                                         client; default 127.0.0.0/8 and ::1/128 */
    size_t trusted_proxy_count;

    enum xgw_log_level log_level; /* default info */
};

/* Fills cfg with every default (no file). */
void xgw_config_init_defaults(struct xgw_config *cfg);
void xgw_config_cleanup(struct xgw_config *cfg);

/* Loads a JSON file over the defaults already in cfg. On failure writes one line
 * "file:line:column: message" (no trailing newline) into err (size err_len) and returns
 * XGW_EINVAL. Unknown keys, duplicate keys, wrong types, out-of-range numbers, bad addresses,
 * bad routes and unknown log levels are all errors. Keys starting with '#' are comments.
 * A file that cannot be read gives "file: cannot open: <strerror>" (no position). On failure
 * cfg is left unchanged. */
XGW_MUST_CHECK enum xgw_err xgw_config_load_file(struct xgw_config *cfg, const char *path,
                                                 char *err, size_t err_len);
/* Same, from a string; `name` stands in for the file name in messages. */
XGW_MUST_CHECK enum xgw_err xgw_config_load_string(struct xgw_config *cfg, const char *json,
                                                   const char *name, char *err, size_t err_len);

/* What main() should do after parsing argv. */
enum xgw_cli_action {
    XGW_CLI_RUN,
    XGW_CLI_CHECK_CONFIG, /* --check-config: validate, print "config OK", exit 0 (2 on error) */
    XGW_CLI_VERSION,      /* --version */
    XGW_CLI_HELP,         /* --help */
};

/* Parses argv: --config FILE, --check-config, --version, --help, and the overrides
 * --listen ADDR:PORT (repeatable; "[::1]:5280" for IPv6; replaces the file's list when given),
 * --route DOMAIN=HOST:PORT (repeatable; added to / replacing same-domain routes of the file),
 * --www DIR, --log-level LEVEL. Both "--opt VALUE" and "--opt=VALUE" forms are accepted.
 * Loads the file (if any) first, then applies overrides. cfg must already hold defaults
 * (xgw_config_init_defaults); it is changed only on success, and not for --help / --version
 * (which skip loading the file). On error writes a one-line reason into err and returns
 * XGW_EINVAL (main exits 2). */
XGW_MUST_CHECK enum xgw_err xgw_config_from_argv(struct xgw_config *cfg, int argc,
                                                 char *const argv[], enum xgw_cli_action *action,
                                                 char *err, size_t err_len);
/* The --help text. */
const char *xgw_config_usage(void);

/* Parses "HOST:PORT" / "[V6]:PORT" into a listen entry (numeric addresses only). */
XGW_MUST_CHECK enum xgw_err xgw_listen_parse(const char *text, struct xgw_listen *out);
/* Parses "DOMAIN=HOST[:PORT]" into a route with default options. */
XGW_MUST_CHECK enum xgw_err xgw_route_parse(const char *text, struct xgw_route *out);
void xgw_route_cleanup(struct xgw_route *route);

/* The route for an XMPP domain (case-insensitive), or NULL. */
const struct xgw_route *xgw_config_find_route(const struct xgw_config *cfg, const char *domain);

#endif
