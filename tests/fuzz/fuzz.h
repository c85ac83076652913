/* SPDX-License-Identifier: MIT */
/* The libFuzzer entry point every target defines, and the checks the targets share. */
#ifndef XGW_FUZZ_H
#define XGW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "xgw/xml_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses a document that must be well-formed (depth cap max_depth, no size cap) and returns its
 * root (free with xgw_xml_node_free); otherwise prints `what` with the bytes and aborts. */
struct xgw_xml_node *fuzz_must_parse(const char *bytes, size_t len, unsigned max_depth,
                                     const char *what);

/* Parses bytes written by xgw_xml_write_element inside the c2s stream they are written for
 * (default namespace jabber:client, prefix stream bound) and returns that one element, detached
 * (free with xgw_xml_node_free). Aborts if it does not parse or is not exactly one element. */
struct xgw_xml_node *fuzz_parse_in_stream(const char *bytes, size_t len);

/* A broken invariant is a bug: report it and abort, so libFuzzer saves the input as a crash and
 * the corpus replay fails. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
