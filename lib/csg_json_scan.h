/*
 * csg_json_scan.h — the tokens of a small JSON scanner that decides the common case of
 * a hot-path document without building a jansson tree (rest.so's model replies,
 * csg-persist's MetricEvents). Each reader returns the position after its token, or NULL
 * when the input is not one it handles: the caller then takes its jansson path, so a
 * scanner only ever answers where jansson would answer the same.
 *
 * Header-only: include ${CSG_LIB_INCLUDE}.
 */
#ifndef CSG_JSON_SCAN_H
#define CSG_JSON_SCAN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Past JSON whitespace. */
static inline const char *csg_jscan_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* After an object member or array element: past the ',' and the whitespace after it
 * (*more = true), or past the closer ('}' or ']'; *more = false); NULL for anything else. */
static inline const char *csg_jscan_next(const char *p, const char *end, char closer,
                                         bool *more)
{
    p = csg_jscan_ws(p, end);
    if (p < end && *p == ',') {
        *more = true;
        return csg_jscan_ws(p + 1, end);
    }
    *more = false;
    return p < end && *p == closer ? p + 1 : NULL;
}

/* A string of plain printable ASCII (no escapes, no control characters, no bytes of
 * 0x7f and above): its contents go to s and n (not NUL-terminated). */
static inline const char *csg_jscan_str(const char *p, const char *end, const char **s,
                                        size_t *n)
{
    if (p >= end || *p != '"')
        return NULL;
    const char *b = ++p;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e || c == '\\')
            return NULL;
        p++;
    }
    if (p >= end)
        return NULL;
    *s = b;
    *n = (size_t)(p - b);
    return p + 1;
}

/* An object member's key (csg_jscan_str) and its ':': returns the start of its value
 * (whitespace skipped). */
static inline const char *csg_jscan_key(const char *p, const char *end, const char **k,
                                        size_t *n)
{
    p = csg_jscan_str(p, end, k, n);
    if (!p)
        return NULL;
    p = csg_jscan_ws(p, end);
    return p < end && *p == ':' ? csg_jscan_ws(p + 1, end) : NULL;
}

/* A JSON number token (RFC 8259 grammar); *is_int: no fraction and no exponent. */
static inline const char *csg_jscan_num(const char *p, const char *end, bool *is_int)
{
    const char *q = p;
    *is_int = true;
    if (q < end && *q == '-')
        q++;
    if (q >= end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0')
        q++;
    else
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    if (q < end && *q == '.') {
        *is_int = false;
        q++;
        if (q >= end || *q < '0' || *q > '9')
            return NULL;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *is_int = false;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || *q < '0' || *q > '9')
            return NULL;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    return q;
}

/* The value jansson gives the number token p[0..n) (from csg_jscan_num): an integer token
 * is read as a long long (so "-0" is 0) into *i and *d, a real one by strtod into *d.
 * false where jansson's range rules might differ (out of range, underflow, long tokens). */
static inline bool csg_jscan_num_value(const char *p, size_t n, bool is_int, long long *i,
                                       double *d)
{
    char tmp[64];
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    errno = 0;
    if (is_int) {
        long long v = strtoll(tmp, NULL, 10);
        *i = v;
        *d = (double)v;
    } else {
        *i = 0;
        *d = strtod(tmp, NULL);
    }
    return errno != ERANGE;
}

#endif /* CSG_JSON_SCAN_H */
