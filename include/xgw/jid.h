/* SPDX-License-Identifier: MIT */
/* JID and domain checks for stream 'to'/'from' values and route keys (RFC 7622, simplified:
 * ASCII/UTF-8 length and character rules; no full PRECIS mapping). */
#ifndef XGW_JID_H
#define XGW_JID_H

#include <stdbool.h>
#include <stddef.h>

/* True if s is a plausible XMPP domainpart: 1..1023 bytes, no '@', '/', whitespace, control
 * characters or '[' unless it is a bracketed IPv6 literal; labels separated by single dots; no
 * leading/trailing dot except one trailing dot (which callers strip). UTF-8 must be valid.
 * ASCII bytes are limited to letters, digits, '-', '_' and '.', all-ASCII labels to 63 bytes,
 * and a name made only of digits and dots must be a valid IPv4 address. */
bool xgw_jid_domain_valid(const char *s, size_t len);
/* True if s is a valid bare or full JID ([local@]domain[/resource]) with parts of at most 1023
 * bytes each, localpart free of the RFC 7622 forbidden characters ("&'/:<>@ and space). */
bool xgw_jid_valid(const char *s, size_t len);
/* Writes the lower-cased ASCII form of a domain into out (out_len >= len + 1), stripping one
 * trailing dot. Non-ASCII bytes are copied unchanged. Returns the output length. */
size_t xgw_jid_domain_normalize(const char *s, size_t len, char *out, size_t out_len);

#endif
