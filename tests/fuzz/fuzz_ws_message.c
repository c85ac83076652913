/* SPDX-License-Identifier: MIT */
/* Fuzz target for one RFC 7395 text message, as the WebSocket adapter handles it: parse it,
 * classify it, and build what the gateway answers (<open/> from its attributes, <close/>, the
 * stanza re-serialised for upstream); everything built must parse and classify back. */
#include <string.h>

#include "fuzz.h"
#include "xgw/buf.h"
#include "xgw/limits.h"
#include "xgw/ns.h"
#include "xgw/ws_xmpp.h"
#include "xgw/xml_tree.h"
#include "xgw/xml_write.h"

static bool opt_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Our <open/> reply, built from the client's open as if the server echoed it (WS-33). */
static void check_open(const struct xgw_xml_node *root)
{
    struct xgw_stream_header h = {
        .id = xgw_xml_attr_get(root, NULL, "id"),
        .from = xgw_xml_attr_get(root, NULL, "to"),
        .to = xgw_xml_attr_get(root, NULL, "from"),
        .version = xgw_xml_attr_get(root, NULL, "version"),
        .lang = xgw_xml_attr_get(root, XGW_NS_XML, "lang"),
    };
    struct xgw_buf out;
    xgw_buf_init(&out, SIZE_MAX / 2);
    FUZZ_CHECK(xgw_ws_open_build(&out, &h) == XGW_OK);
    struct xgw_xml_node *reply =
        fuzz_must_parse(out.data, out.len, XGW_MAX_XML_DEPTH, "built message");
    enum xgw_stream_cond cond;
    FUZZ_CHECK(xgw_ws_classify(reply, &cond) == XGW_WS_MSG_OPEN);
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, NULL, "from"), h.from));
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, NULL, "id"), h.id));
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, NULL, "to"), h.to));
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, NULL, "version"), h.version ? h.version : "1.0"));
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, XGW_NS_XML, "lang"), h.lang ? h.lang : "en"));
    xgw_xml_node_free(reply);
    xgw_buf_cleanup(&out);
}

static void check_close(const struct xgw_xml_node *root)
{
    const char *uri = xgw_xml_attr_get(root, NULL, "see-other-uri");
    struct xgw_buf out;
    xgw_buf_init(&out, SIZE_MAX / 2);
    FUZZ_CHECK(xgw_ws_close_build(&out, uri) == XGW_OK);
    struct xgw_xml_node *reply =
        fuzz_must_parse(out.data, out.len, XGW_MAX_XML_DEPTH, "built message");
    enum xgw_stream_cond cond;
    FUZZ_CHECK(xgw_ws_classify(reply, &cond) == XGW_WS_MSG_CLOSE);
    FUZZ_CHECK(opt_eq(xgw_xml_attr_get(reply, NULL, "see-other-uri"), uri));
    xgw_xml_node_free(reply);
    xgw_buf_cleanup(&out);
}

/* What the session sends upstream for a stanza must be one element that parses again. */
static void check_stanza(const struct xgw_xml_node *root)
{
    struct xgw_buf out;
    xgw_buf_init(&out, SIZE_MAX / 2);
    FUZZ_CHECK(xgw_xml_write_element(&out, root, 0) == XGW_OK);
    struct xgw_xml_node *again = fuzz_parse_in_stream(out.data, out.len);
    FUZZ_CHECK(strcmp(again->local, root->local) == 0);
    xgw_xml_node_free(again);
    xgw_buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xgw_xml_limits limits = {.max_bytes = XGW_DEFAULT_MAX_STANZA_BYTES,
                                    .max_depth = XGW_MAX_XML_DEPTH};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    if (xgw_xml_parse_document((const char *)data, size, &limits, &root, &cond) != XGW_OK) {
        FUZZ_CHECK(cond != XGW_SC_NONE);
        return 0;
    }
    switch (xgw_ws_classify(root, &cond)) {
    case XGW_WS_MSG_OPEN:
        FUZZ_CHECK(cond == XGW_SC_NONE);
        check_open(root);
        break;
    case XGW_WS_MSG_CLOSE:
        FUZZ_CHECK(cond == XGW_SC_NONE);
        check_close(root);
        break;
    case XGW_WS_MSG_STANZA:
        FUZZ_CHECK(cond == XGW_SC_NONE);
        check_stanza(root);
        break;
    case XGW_WS_MSG_BAD:
        FUZZ_CHECK(cond != XGW_SC_NONE);
        break;
    }
    xgw_xml_node_free(root);
    return 0;
}
