/* SPDX-License-Identifier: MIT */
/* Locates a key path in JSON text (RFC 8259 token rules) by skipping tokens; the values
 * themselves are parsed by jansson, this only measures where they are. */
#include "json_locate.h"

#include <string.h>

#include <jansson.h>

struct scan {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
};

static bool at(const struct scan *sc, char c)
{
    return sc->p < sc->end && *sc->p == c;
}

static void skip_ws(struct scan *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* At an opening quote: moves past the closing one. A backslash always escapes exactly the next
 * byte ("\\u" is followed by plain hex digits), which is all skipping needs. */
static bool skip_string(struct scan *sc)
{
    sc->p++;
    while (sc->p < sc->end) {
        char c = *sc->p++;
        if (c == '\\' && sc->p < sc->end)
            sc->p++;
        else if (c == '"')
            return true;
    }
    return false;
}

static bool is_delimiter(char c)
{
    return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips one value of any type, containers included, by counting brackets outside strings. */
static bool skip_value(struct scan *sc)
{
    size_t depth = 0;
    skip_ws(sc);
    do {
        if (sc->p >= sc->end)
            return false;
        char c = *sc->p;
        if (c == '"') {
            if (!skip_string(sc))
                return false;
        } else if (c == '{' || c == '[') {
            depth++;
            sc->p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return false;
            depth--;
            sc->p++;
        } else if (depth == 0) {
            while (sc->p < sc->end && !is_delimiter(*sc->p))
                sc->p++;
        } else {
            sc->p++;
        }
    } while (depth > 0);
    return true;
}

/* Compares a string token (quotes included) with a key. Tokens with escapes are decoded by
 * jansson so that "\u0061" matches "a". */
static bool token_equals(const char *token, size_t len, const char *key)
{
    size_t key_len = strlen(key);
    if (memchr(token, '\\', len) == NULL)
        return len == key_len + 2 && memcmp(token + 1, key, key_len) == 0;
    json_t *decoded = json_loadb(token, len, JSON_DECODE_ANY, NULL);
    bool equal = json_is_string(decoded) && json_string_length(decoded) == key_len &&
                 memcmp(json_string_value(decoded), key, key_len) == 0;
    json_decref(decoded);
    return equal;
}

/* At an object: leaves sc at the value of key and returns the key's position in *key_pos. */
static bool find_member(struct scan *sc, const char *key, const char **key_pos)
{
    skip_ws(sc);
    if (!at(sc, '{'))
        return false;
    sc->p++;
    for (;;) {
        skip_ws(sc);
        if (!at(sc, '"'))
            return false;
        const char *start = sc->p;
        if (!skip_string(sc))
            return false;
        bool match = token_equals(start, (size_t)(sc->p - start), key);
        skip_ws(sc);
        if (!at(sc, ':'))
            return false;
        sc->p++;
        skip_ws(sc);
        if (match) {
            *key_pos = start;
            return true;
        }
        if (!skip_value(sc))
            return false;
        skip_ws(sc);
        if (!at(sc, ','))
            return false;
        sc->p++;
    }
}

/* At an array: leaves sc at element index. */
static bool find_element(struct scan *sc, size_t index)
{
    skip_ws(sc);
    if (!at(sc, '['))
        return false;
    sc->p++;
    for (size_t i = 0; i < index; i++) {
        if (!skip_value(sc))
            return false;
        skip_ws(sc);
        if (!at(sc, ','))
            return false;
        sc->p++;
    }
    skip_ws(sc);
    return sc->p < sc->end && *sc->p != ']';
}

static void position_of(const char *text, const char *pos, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (const char *p = text; p < pos; p++) {
        if (*p == '\n') {
            (*line)++;
            *column = 1;
        } else if ((*p & 0xc0) != 0x80) {
            (*column)++; /* count UTF-8 lead bytes only, one per character */
        }
    }
}

bool xgw_json_locate(const char *text, size_t len, const struct xgw_json_locate_seg *path,
                     size_t depth, bool at_key, int *line, int *column)
{
    struct scan sc = {text, text + len};
    const char *key_pos = NULL;
    for (size_t i = 0; i < depth; i++) {
        bool found = path[i].key ? find_member(&sc, path[i].key, &key_pos)
                                 : find_element(&sc, path[i].index);
        if (!found)
            return false;
    }
    skip_ws(&sc);
    if (sc.p >= sc.end)
        return false;
    bool use_key = at_key && depth > 0 && path[depth - 1].key != NULL;
    position_of(text, use_key ? key_pos : sc.p, line, column);
    return true;
}
