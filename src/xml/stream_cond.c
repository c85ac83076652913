/* SPDX-License-Identifier: MIT */
/* RFC 6120 §4.9.3 stream error condition names. */
#include "xgw/stream_cond.h"

#include <stddef.h>

static const char *const cond_names[] = {
    [XGW_SC_NONE] = "",
    [XGW_SC_BAD_FORMAT] = "bad-format",
    [XGW_SC_BAD_NAMESPACE_PREFIX] = "bad-namespace-prefix",
    [XGW_SC_CONFLICT] = "conflict",
    [XGW_SC_CONNECTION_TIMEOUT] = "connection-timeout",
    [XGW_SC_HOST_GONE] = "host-gone",
    [XGW_SC_HOST_UNKNOWN] = "host-unknown",
    [XGW_SC_IMPROPER_ADDRESSING] = "improper-addressing",
    [XGW_SC_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [XGW_SC_INVALID_FROM] = "invalid-from",
    [XGW_SC_INVALID_NAMESPACE] = "invalid-namespace",
    [XGW_SC_INVALID_XML] = "invalid-xml",
    [XGW_SC_NOT_AUTHORIZED] = "not-authorized",
    [XGW_SC_NOT_WELL_FORMED] = "not-well-formed",
    [XGW_SC_POLICY_VIOLATION] = "policy-violation",
    [XGW_SC_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
    [XGW_SC_RESET] = "reset",
    [XGW_SC_RESOURCE_CONSTRAINT] = "resource-constraint",
    [XGW_SC_RESTRICTED_XML] = "restricted-xml",
    [XGW_SC_SEE_OTHER_HOST] = "see-other-host",
    [XGW_SC_SYSTEM_SHUTDOWN] = "system-shutdown",
    [XGW_SC_UNDEFINED_CONDITION] = "undefined-condition",
    [XGW_SC_UNSUPPORTED_ENCODING] = "unsupported-encoding",
    [XGW_SC_UNSUPPORTED_FEATURE] = "unsupported-feature",
    [XGW_SC_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
    [XGW_SC_UNSUPPORTED_VERSION] = "unsupported-version",
};

const char *xgw_stream_cond_name(enum xgw_stream_cond cond)
{
    if ((unsigned)cond >= sizeof(cond_names) / sizeof(cond_names[0]) || !cond_names[cond])
        return "undefined-condition";
    return cond_names[cond];
}
