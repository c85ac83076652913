/* SPDX-License-Identifier: MIT */
/* Address ranges ("10.0.0.0/8", "::1/128", a bare address = one host) for trusted_proxies.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges. Pure. */
#ifndef XGW_CIDR_H
#define XGW_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct xgw_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address, host bits cleared */
    unsigned prefix;        /* 0..32 or 0..128 */
};

/* Parses "ADDR/PREFIX" or "ADDR" (numeric only). False on anything else, including host bits
 * set beyond the prefix ("10.0.0.1/8" is refused: write 10.0.0.0/8). */
bool xgw_cidr_parse(const char *text, struct xgw_cidr *out);
/* True when the numeric address text is inside one of the ranges. */
bool xgw_cidr_list_contains(const struct xgw_cidr *list, size_t count, const char *addr);

#endif
