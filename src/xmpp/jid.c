/* SPDX-License-Identifier: MIT */
/* JID and domainpart checks (RFC 7622 §3, simplified: byte-length limits, forbidden characters
 * and UTF-8 validity instead of the full PRECIS / IDNA2008 mappings). */
#include "xgw/jid.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define PART_MAX_BYTES  1023 /* RFC 7622 §3.2-3.4: every part is at most 1023 octets */
#define LABEL_MAX_ASCII 63   /* RFC 1035 §2.3.4; only checked for all-ASCII labels */
#define IPV6_TEXT_MAX   45   /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 §4: no overlongs, no surrogates,
 * nothing above U+10FFFF), 0 if it is malformed. cp receives the code point. */
static size_t utf8_sequence(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t need;
    uint32_t min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 2, min = 0x80, *cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3, min = 0x800, *cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 4, min = 0x10000, *cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return need;
}

/* C0 and C1 controls, DEL and the ASCII space: never allowed in a localpart or domainpart. */
static bool is_control_or_space(uint32_t cp)
{
    return cp <= 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* "[v6]" with a valid IPv6 address inside (RFC 7622 §3.2 IP-literal; no zone identifiers). */
static bool ipv6_literal_valid(const char *s, size_t len)
{
    char text[IPV6_TEXT_MAX + 1];
    unsigned char addr[16];
    if (len < 4 || s[len - 1] != ']' || len - 2 > IPV6_TEXT_MAX)
        return false;
    memcpy(text, s + 1, len - 2);
    text[len - 2] = '\0';
    return inet_pton(AF_INET6, text, addr) == 1;
}

/* A name made only of digits and dots reads as an IPv4 address, so it must be one: "1.2.3"
 * or "1.2.3.999" are rejected rather than routed as host names. */
static bool numeric_name_valid(const char *s, size_t len)
{
    char text[16];
    unsigned char addr[4];
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '.' && (s[i] < '0' || s[i] > '9'))
            return true;
    }
    if (len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    return inet_pton(AF_INET, text, addr) == 1;
}

/* Labels of LDH/underscore ASCII or well-formed non-ASCII UTF-8 (IDN U-labels), separated by
 * single dots; no dot at either end (the caller removed one trailing dot). */
static bool domain_labels_valid(const unsigned char *s, size_t len)
{
    size_t label_len = 0;
    bool label_ascii = true;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_sequence(s + i, len - i, &cp);
        if (n == 0 || is_control_or_space(cp))
            return false;
        if (cp == '.') {
            if (label_len == 0)
                return false;
            label_len = 0, label_ascii = true;
        } else {
            if (cp < 0x80 && !is_ldh(s[i]))
                return false;
            label_ascii = label_ascii && cp < 0x80;
            label_len += n;
            if (label_ascii && label_len > LABEL_MAX_ASCII)
                return false;
        }
        i += n;
    }
    return label_len > 0;
}

bool xgw_jid_domain_valid(const char *s, size_t len)
{
    if (len > 0 && s[0] == '[')
        return ipv6_literal_valid(s, len);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > PART_MAX_BYTES)
        return false;
    return domain_labels_valid((const unsigned char *)s, len) && numeric_name_valid(s, len);
}

/* RFC 7622 §3.3.1: the localpart must not contain " & ' / : < > @ (nor space, nor controls). */
static bool localpart_valid(const unsigned char *s, size_t len)
{
    if (len == 0 || len > PART_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_sequence(s + i, len - i, &cp);
        if (n == 0 || is_control_or_space(cp) || (cp < 0x80 && strchr("\"&'/:<>@", (int)cp)))
            return false;
        i += n;
    }
    return true;
}

/* RFC 7622 §3.4: the resourcepart is opaque; it may hold '@', '/' and spaces, but not
 * controls, and it must be well-formed UTF-8. */
static bool resourcepart_valid(const unsigned char *s, size_t len)
{
    if (len == 0 || len > PART_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_sequence(s + i, len - i, &cp);
        if (n == 0 || (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))
            return false;
        i += n;
    }
    return true;
}

bool xgw_jid_valid(const char *s, size_t len)
{
    /* RFC 7622 §3.1: the first '/' starts the resourcepart, then the first '@' before it ends
     * the localpart; everything in between is the domainpart. */
    const char *slash = memchr(s, '/', len);
    size_t bare_len = slash ? (size_t)(slash - s) : len;
    const char *at = memchr(s, '@', bare_len);
    const char *domain = at ? at + 1 : s;
    size_t domain_len = bare_len - (size_t)(domain - s);

    if (at && !localpart_valid((const unsigned char *)s, (size_t)(at - s)))
        return false;
    if (slash && !resourcepart_valid((const unsigned char *)slash + 1, len - bare_len - 1))
        return false;
    return xgw_jid_domain_valid(domain, domain_len);
}

size_t xgw_jid_domain_normalize(const char *s, size_t len, char *out, size_t out_len)
{
    if (out_len < len + 1) {
        if (out_len > 0)
            out[0] = '\0';
        return 0;
    }
    if (len > 0 && s[len - 1] == '.')
        len--;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[len] = '\0';
    return len;
}
