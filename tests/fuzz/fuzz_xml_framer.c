/* SPDX-License-Identifier: MIT */
/* Fuzz target for the server -> client framer: the input after a 4-byte header is fed in chunks
 * whose sizes come from the header, with pauses and restarts, and every element it cuts must
 * parse standalone (RFC 7395 §3.3.3: each message is a complete, namespace-well-formed element).
 *
 * Header: byte 0 = flags (FLAG_*), bytes 1..3 = a cycle of chunk sizes (0 = all the rest). */
#include <string.h>

#include "fuzz.h"
#include "xgw/buf.h"
#include "xgw/features.h"
#include "xgw/ns.h"
#include "xgw/xml_framer.h"
#include "xgw/xml_tree.h"

enum {
    FLAG_PAUSE_IN_CALLBACK = 1 << 0, /* pause from every on_element (back-pressure) */
    FLAG_RESET_ON_RESTART = 1 << 1,  /* reset from <proceed/> and <success/> like the session */
    FLAG_SMALL_CAPS = 1 << 2,        /* tiny element and depth caps, to hit policy-violation */
    FLAG_PAUSE_BETWEEN = 1 << 3,     /* pause between feeds, so feeds only buffer until resume */
    FLAG_RESET_AFTER_ERROR = 1 << 4, /* after a stream error, reset and feed the rest */
};

#define HEADER_BYTES 4

struct run {
    struct xgw_framer *framer;
    unsigned flags;
    unsigned max_depth;
    bool failed;   /* the framer reported XGW_EPROTO and was not reset since */
    bool has_lang; /* the stream header carries xml:lang */
    size_t elements;
};

static void on_open(void *user, const struct xgw_stream_header *header)
{
    struct run *r = user;
    FUZZ_CHECK(!r->failed);
    FUZZ_CHECK(header != NULL);
    r->has_lang = header->lang != NULL;
}

/* WS-27: a stanza inherits the header's xml:lang, so the framer must write it on the element. */
static bool needs_lang(const struct xgw_xml_node *root)
{
    return xgw_xml_is(root, XGW_NS_CLIENT, "message") ||
           xgw_xml_is(root, XGW_NS_CLIENT, "presence") || xgw_xml_is(root, XGW_NS_CLIENT, "iq");
}

/* What the session does with <stream:features/>: the filtered form the web client gets must
 * parse standalone and keep no <starttls/> (XMPP-04). */
static void check_features(const char *bytes, size_t len, unsigned max_depth)
{
    (void)xgw_features_tls(bytes, len);
    struct xgw_buf out;
    xgw_buf_init(&out, SIZE_MAX / 2);
    enum xgw_err err = xgw_features_filter(bytes, len, &out);
    FUZZ_CHECK(err == XGW_OK || err == XGW_EAGAIN || err == XGW_EPROTO);
    if (err == XGW_OK) {
        struct xgw_xml_node *root = fuzz_must_parse(out.data, out.len, max_depth, "features");
        FUZZ_CHECK(xgw_xml_is(root, XGW_NS_STREAM, "features"));
        FUZZ_CHECK(xgw_xml_child(root, XGW_NS_TLS, "starttls") == NULL);
        xgw_xml_node_free(root);
    }
    xgw_buf_cleanup(&out);
}

/* The element's bytes must stand alone: parse them with the same depth cap and compare names. */
static void on_element(void *user, const char *bytes, size_t len, const char *ns, const char *local)
{
    struct run *r = user;
    FUZZ_CHECK(!r->failed);
    FUZZ_CHECK(len > 0 && bytes[0] == '<');
    struct xgw_xml_node *root = fuzz_must_parse(bytes, len, r->max_depth, "framed element");
    FUZZ_CHECK(strcmp(root->ns ? root->ns : "", ns) == 0);
    FUZZ_CHECK(strcmp(root->local, local) == 0);
    if (r->has_lang && needs_lang(root))
        FUZZ_CHECK(xgw_xml_attr_get(root, XGW_NS_XML, "lang") != NULL);
    if (xgw_xml_is(root, XGW_NS_STREAM, "features"))
        check_features(bytes, len, r->max_depth);
    if (strcmp(local, "enabled") == 0)
        (void)xgw_features_sm_resume(bytes, len);
    xgw_xml_node_free(root);
    r->elements++;
    if (r->flags & FLAG_PAUSE_IN_CALLBACK)
        xgw_framer_pause(r->framer);
    if ((r->flags & FLAG_RESET_ON_RESTART) &&
        (strcmp(local, "proceed") == 0 || strcmp(local, "success") == 0))
        xgw_framer_reset(r->framer);
}

static void on_close(void *user)
{
    struct run *r = user;
    FUZZ_CHECK(!r->failed);
}

static const struct xgw_framer_ops ops = {on_open, on_element, on_close};

/* Checks one feed/resume result; resumes while paused. */
static void settle(struct run *r, enum xgw_err err, enum xgw_stream_cond cond)
{
    while (err == XGW_EAGAIN) {
        FUZZ_CHECK(xgw_framer_is_paused(r->framer));
        err = xgw_framer_resume(r->framer, &cond);
    }
    if (err == XGW_EPROTO) {
        FUZZ_CHECK(cond != XGW_SC_NONE);
        /* Sticky: the framer keeps refusing with the same condition. */
        enum xgw_stream_cond again = XGW_SC_NONE;
        FUZZ_CHECK(xgw_framer_feed(r->framer, "<a/>", 4, &again) == XGW_EPROTO);
        FUZZ_CHECK(again == cond);
        r->failed = true;
        return;
    }
    FUZZ_CHECK(err == XGW_OK);
    FUZZ_CHECK(cond == XGW_SC_NONE);
}

static void feed_chunk(struct run *r, const char *chunk, size_t len, size_t index)
{
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err;
    if ((r->flags & FLAG_PAUSE_BETWEEN) && index % 2 == 1) {
        xgw_framer_pause(r->framer);
        FUZZ_CHECK(xgw_framer_is_paused(r->framer));
        err = xgw_framer_feed(r->framer, chunk, len, &cond);
        FUZZ_CHECK(err == XGW_EAGAIN);
    } else {
        err = xgw_framer_feed(r->framer, chunk, len, &cond);
    }
    settle(r, err, cond);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_BYTES)
        return 0;
    struct run r = {.flags = data[0], .max_depth = 64};
    size_t max_element_bytes = 256 * 1024;
    if (r.flags & FLAG_SMALL_CAPS) {
        max_element_bytes = 256;
        r.max_depth = 3;
    }
    r.framer = xgw_framer_new(&ops, &r, max_element_bytes, r.max_depth);
    FUZZ_CHECK(r.framer != NULL);
    const char *text = (const char *)data + HEADER_BYTES;
    size_t len = size - HEADER_BYTES, off = 0;
    for (size_t i = 0; off < len; i++) {
        size_t chunk = data[1 + i % 3];
        if (chunk == 0 || chunk > len - off)
            chunk = len - off;
        if (r.failed) {
            if (!(r.flags & FLAG_RESET_AFTER_ERROR))
                break;
            xgw_framer_reset(r.framer);
            r.failed = false;
        }
        feed_chunk(&r, text + off, chunk, i);
        off += chunk;
    }
    xgw_framer_free(r.framer);
    return 0;
}
