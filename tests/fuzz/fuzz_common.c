/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets. */
#include "fuzz.h"

#include <string.h>

#include "xgw/alloc.h"
#include "xgw/limits.h"

/* The upstream c2s stream context xgw_xml_write_element writes for (xml_write.h). */
#define STREAM_OPEN                                                                                \
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
#define STREAM_CLOSE "</stream:stream>"

struct xgw_xml_node *fuzz_must_parse(const char *bytes, size_t len, unsigned max_depth,
                                     const char *what)
{
    struct xgw_xml_limits limits = {.max_bytes = len, .max_depth = max_depth};
    struct xgw_xml_node *root = NULL;
    enum xgw_stream_cond cond = XGW_SC_NONE;
    enum xgw_err err = xgw_xml_parse_document(bytes, len, &limits, &root, &cond);
    if (err != XGW_OK)
        fprintf(stderr, "%s does not parse (%s): %.*s\n", what, xgw_stream_cond_name(cond),
                (int)len, bytes);
    FUZZ_CHECK(err == XGW_OK && root != NULL);
    return root;
}

struct xgw_xml_node *fuzz_parse_in_stream(const char *bytes, size_t len)
{
    size_t open_len = strlen(STREAM_OPEN), close_len = strlen(STREAM_CLOSE);
    size_t total = open_len + len + close_len;
    char *doc = xgw_malloc(total);
    memcpy(doc, STREAM_OPEN, open_len);
    memcpy(doc + open_len, bytes, len);
    memcpy(doc + open_len + len, STREAM_CLOSE, close_len);
    /* One more level than a stanza may have: the stream element itself. */
    struct xgw_xml_node *stream =
        fuzz_must_parse(doc, total, XGW_MAX_XML_DEPTH + 1, "written element in its stream");
    xgw_free(doc);
    /* Exactly one element, nothing else, inside the stream. */
    struct xgw_xml_node *element = stream->first_child;
    FUZZ_CHECK(element != NULL && element->kind == XGW_XML_ELEMENT && element->next == NULL);
    element->parent = NULL;
    stream->first_child = stream->last_child = NULL;
    xgw_xml_node_free(stream);
    return element;
}
