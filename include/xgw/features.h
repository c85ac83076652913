/* SPDX-License-Identifier: MIT */
/* Inspection and filtering of the server's <stream:features/> and a few negotiation elements
 * (XMPP-04, TD-12): STARTTLS detection, and removal of <starttls/>, XEP-0138 compression and
 * SASL mechanisms ending in -PLUS before the features reach the web client. */
#ifndef XGW_FEATURES_H
#define XGW_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/buf.h"
#include "xgw/compiler.h"
#include "xgw/err.h"

enum xgw_features_tls {
    XGW_FEATURES_NO_STARTTLS,
    XGW_FEATURES_STARTTLS,          /* offered */
    XGW_FEATURES_STARTTLS_REQUIRED, /* offered with <required/> */
};

/* Whether standalone <stream:features/> bytes offer STARTTLS. Unparsable -> NO_STARTTLS. */
enum xgw_features_tls xgw_features_tls(const char *bytes, size_t len);

/* Appends the client-visible form of the features to out. Returns XGW_EAGAIN (out untouched)
 * when nothing needs stripping so the caller can pass the original bytes, XGW_OK when out holds
 * the filtered element, XGW_EPROTO if the bytes do not parse, XGW_ELIMIT if out is full. */
XGW_MUST_CHECK enum xgw_err xgw_features_filter(const char *bytes, size_t len, struct xgw_buf *out);

/* True for an XEP-0198 <enabled/> element with resume='true' or resume='1'. */
bool xgw_features_sm_resume(const char *bytes, size_t len);

#endif
