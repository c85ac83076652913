/* SPDX-License-Identifier: MIT */
/* XMPP stream error conditions (RFC 6120 §4.9.3). Parsers report one of these as the outcome
 * to send to the peer; XGW_SC_NONE means "no error". */
#ifndef XGW_STREAM_COND_H
#define XGW_STREAM_COND_H

enum xgw_stream_cond {
    XGW_SC_NONE = 0,
    XGW_SC_BAD_FORMAT,
    XGW_SC_BAD_NAMESPACE_PREFIX,
    XGW_SC_CONFLICT,
    XGW_SC_CONNECTION_TIMEOUT,
    XGW_SC_HOST_GONE,
    XGW_SC_HOST_UNKNOWN,
    XGW_SC_IMPROPER_ADDRESSING,
    XGW_SC_INTERNAL_SERVER_ERROR,
    XGW_SC_INVALID_FROM,
    XGW_SC_INVALID_NAMESPACE,
    XGW_SC_INVALID_XML,
    XGW_SC_NOT_AUTHORIZED,
    XGW_SC_NOT_WELL_FORMED,
    XGW_SC_POLICY_VIOLATION,
    XGW_SC_REMOTE_CONNECTION_FAILED,
    XGW_SC_RESET,
    XGW_SC_RESOURCE_CONSTRAINT,
    XGW_SC_RESTRICTED_XML,
    XGW_SC_SEE_OTHER_HOST,
    XGW_SC_SYSTEM_SHUTDOWN,
    XGW_SC_UNDEFINED_CONDITION,
    XGW_SC_UNSUPPORTED_ENCODING,
    XGW_SC_UNSUPPORTED_FEATURE,
    XGW_SC_UNSUPPORTED_STANZA_TYPE,
    XGW_SC_UNSUPPORTED_VERSION,
};

/* The element name of the condition ("not-well-formed"), or "" for XGW_SC_NONE. */
const char *xgw_stream_cond_name(enum xgw_stream_cond cond);

#endif
