/* SPDX-License-Identifier: MIT */
/* Every cap and default in one list: name, default, unit and the config key that changes it. */
#ifndef XGW_LIMITS_H
#define XGW_LIMITS_H

#define XGW_DEFAULT_LISTEN_HOST          "127.0.0.1"
#define XGW_DEFAULT_LISTEN_PORT          5280
#define XGW_DEFAULT_UPSTREAM_PORT        5222
#define XGW_DEFAULT_WS_PATH              "/xmpp-websocket"
#define XGW_DEFAULT_WS_PING_INTERVAL_S   30 /* websocket.ping_interval_s */
#define XGW_DEFAULT_WS_PONG_TIMEOUT_S    30 /* websocket.pong_timeout_s */
#define XGW_DEFAULT_WS_OPEN_TIMEOUT_S    30 /* websocket.open_timeout_s */
#define XGW_DEFAULT_BOSH_PATH            "/http-bind"
#define XGW_DEFAULT_BOSH_MAX_WAIT_S      50      /* bosh.max_wait_s */
#define XGW_DEFAULT_BOSH_MAX_HOLD        1       /* bosh.max_hold */
#define XGW_DEFAULT_BOSH_INACTIVITY_S    60      /* bosh.inactivity_s */
#define XGW_DEFAULT_BOSH_POLLING_S       2       /* bosh.polling_s */
#define XGW_DEFAULT_BOSH_MAXPAUSE_S      120     /* bosh.maxpause_s */
#define XGW_DEFAULT_BOSH_MAX_BODY        131072  /* bosh.max_body_bytes */
#define XGW_DEFAULT_CONNECT_TIMEOUT_S    10      /* upstream.connect_timeout_s */
#define XGW_DEFAULT_CLOSE_TIMEOUT_S      5       /* upstream.close_timeout_s */
#define XGW_DEFAULT_MAX_STANZA_BYTES     262144  /* limits.max_stanza_bytes */
#define XGW_DEFAULT_MAX_QUEUE_BYTES      1048576 /* limits.max_queue_bytes */
#define XGW_DEFAULT_MAX_SESSIONS         10000   /* limits.max_sessions */
#define XGW_DEFAULT_MAX_SESSIONS_PER_IP  100     /* limits.max_sessions_per_ip; 0 = no limit */
#define XGW_DEFAULT_UPSTREAM_KEEPALIVE_S 300     /* upstream.keepalive_s (RFC 6120 4.6.4) */

#define XGW_MIN_STANZA_BYTES 4096
#define XGW_MAX_STANZA_BYTES (16u * 1024 * 1024)
#define XGW_MAX_XML_DEPTH    64    /* element nesting inside one stanza (fixed) */
#define XGW_MAX_HTTP_HEADER  16384 /* lws max_http_header_data: browsers with cookies need it */
/* Idle HTTP keep-alive connections are closed after this (lws' default is 5 s, which makes a
 * BOSH client that sends less often reconnect for most requests). As nginx's default. */
#define XGW_HTTP_KEEPALIVE_S 75
#define XGW_SID_BYTES        18 /* 144 random bits; base64url -> 24 characters */

#endif
