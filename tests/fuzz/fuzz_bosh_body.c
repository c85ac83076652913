/* SPDX-License-Identifier: MIT */
/* Fuzz target for one BOSH request body, as xgw_bosh_handle() sees it: parse it; a refused body
 * always names its condition; an accepted one has a rid in range, a payload count that matches
 * its element children, and payloads that re-serialise into the upstream stream and parse back;
 * xgw_bosh_req_peek_sid agrees with the parser about the sid. */
#include <string.h>

#include "fuzz.h"
#include "xgw/bosh_body.h"
#include "xgw/buf.h"
#include "xgw/limits.h"
#include "xgw/xml_write.h"

#define MAX_BODY 131072

static void check_payloads(const struct xgw_bosh_req *req)
{
    size_t count = 0;
    for (const struct xgw_xml_node *c = req->root->first_child; c; c = c->next) {
        if (c->kind != XGW_XML_ELEMENT)
            continue;
        count++;
        struct xgw_buf out;
        xgw_buf_init(&out, SIZE_MAX / 2);
        FUZZ_CHECK(xgw_xml_write_element(&out, c, XGW_XML_WRITE_HTTPBIND_AS_CLIENT) == XGW_OK);
        struct xgw_xml_node *again = fuzz_parse_in_stream(out.data, out.len);
        FUZZ_CHECK(strcmp(again->local, c->local) == 0);
        xgw_xml_node_free(again);
        xgw_buf_cleanup(&out);
    }
    FUZZ_CHECK(count == req->payload_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct xgw_bosh_req req;
    enum xgw_bosh_cond cond = XGW_BOSH_COND_NONE;
    char sid[128];
    bool peeked = xgw_bosh_req_peek_sid(text, size, MAX_BODY, sid, sizeof(sid));
    enum xgw_err err = xgw_bosh_req_parse(text, size, MAX_BODY, &req, &cond);
    if (err != XGW_OK) {
        FUZZ_CHECK(err == XGW_EPROTO || err == XGW_ELIMIT);
        FUZZ_CHECK(cond == XGW_BOSH_COND_BAD_REQUEST || cond == XGW_BOSH_COND_POLICY_VIOLATION);
        FUZZ_CHECK((err == XGW_ELIMIT) == (cond == XGW_BOSH_COND_POLICY_VIOLATION));
        return 0;
    }
    FUZZ_CHECK(cond == XGW_BOSH_COND_NONE);
    FUZZ_CHECK(req.root != NULL);
    FUZZ_CHECK(req.rid >= 1 && req.rid <= XGW_BOSH_MAX_RID);
    if (req.sid && strlen(req.sid) < sizeof(sid))
        FUZZ_CHECK(peeked && strcmp(sid, req.sid) == 0);
    if (!req.sid)
        FUZZ_CHECK(!peeked);
    check_payloads(&req);
    xgw_bosh_req_cleanup(&req);
    return 0;
}
