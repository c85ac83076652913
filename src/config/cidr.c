/* SPDX-License-Identifier: MIT */
/* Numeric address ranges: parsing and matching with inet_pton, IPv4-mapped IPv6 folded to
 * IPv4 so a dual-stack socket's "::ffff:127.0.0.1" matches 127.0.0.0/8. */
#include "xgw/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define CIDR_TEXT_MAX 64

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses a numeric address into (family, 16 bytes), folding ::ffff:a.b.c.d to IPv4. */
static bool parse_addr(const char *text, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, addr) != 1)
        return false;
    *family = AF_INET6;
    if (memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
    }
    return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool xgw_cidr_parse(const char *text, struct xgw_cidr *out)
{
    char copy[CIDR_TEXT_MAX];
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof(copy))
        return false;
    memcpy(copy, text, len + 1);
    char *slash = strchr(copy, '/');
    if (slash)
        *slash = '\0';
    /* Mapped IPv4 ranges are written as IPv4: refuse "::ffff:..." to keep prefixes obvious. */
    if (strchr(copy, ':') && strstr(copy, "."))
        return false;
    struct xgw_cidr c;
    if (!parse_addr(copy, &c.family, c.addr))
        return false;
    unsigned max = c.family == AF_INET ? 32 : 128;
    c.prefix = max;
    if (slash) {
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3)
            return false;
        unsigned value = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return false;
            value = value * 10 + (unsigned)(*p - '0');
        }
        if (value > max)
            return false;
        c.prefix = value;
    }
    /* Host bits set beyond the prefix are a typo more often than not. */
    unsigned char network[16];
    memset(network, 0, sizeof(network));
    memcpy(network, c.addr, c.prefix / 8);
    if (c.prefix % 8)
        network[c.prefix / 8] =
            (unsigned char)(c.addr[c.prefix / 8] & (0xff << (8 - c.prefix % 8)));
    if (memcmp(network, c.addr, sizeof(network)) != 0)
        return false;
    *out = c;
    return true;
}

bool xgw_cidr_list_contains(const struct xgw_cidr *list, size_t count, const char *addr)
{
    int family;
    unsigned char bytes[16];
    if (addr == NULL || strlen(addr) >= CIDR_TEXT_MAX || !parse_addr(addr, &family, bytes))
        return false;
    for (size_t i = 0; i < count; i++) {
        if (list[i].family == family && prefix_equal(list[i].addr, bytes, list[i].prefix))
            return true;
    }
    return false;
}
