/*
 * csg_buf.c — growable, capped byte buffer and JSON writer helpers.
 */
#include "csg_buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSG_BUF_DEFAULT_MAX ((size_t)16 << 20)

void csg_buf_init(csg_buf *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max ? max : CSG_BUF_DEFAULT_MAX;
}

void csg_buf_free(csg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

char *csg_buf_reserve(csg_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    size_t live = b->len - b->off;
    /* Slide live bytes to the front first: consumed space is free space. */
    if (b->off > 0 && b->cap - live >= n) {
        memmove(b->data, b->data + b->off, live);
        b->off = 0;
        b->len = live;
        return b->data + b->len;
    }
    if (live + n > b->max || live + n < live)
        return NULL;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < live + n)
        ncap *= 2;
    if (ncap > b->max)
        ncap = b->max;
    char *p;
    if (b->off == 0) {
        p = realloc(b->data, ncap);
        if (!p)
            return NULL;
    } else {
        p = malloc(ncap);
        if (!p)
            return NULL;
        memcpy(p, b->data + b->off, live);
        free(b->data);
    }
    b->data = p;
    b->cap = ncap;
    b->off = 0;
    b->len = live;
    return b->data + b->len;
}

int csg_buf_append(csg_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    char *w = csg_buf_reserve(b, n);
    if (!w)
        return -1;
    memcpy(w, p, n);
    b->len += n;
    return 0;
}

int csg_buf_puts(csg_buf *b, const char *s) { return csg_buf_append(b, s, strlen(s)); }

int csg_buf_printf(csg_buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < room) {
        b->len += (size_t)n;
        return 0;
    }
    char *w = csg_buf_reserve(b, (size_t)n + 1);
    if (!w)
        return -1;
    va_start(ap, fmt);
    vsnprintf(w, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void csg_buf_consume(csg_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

int csg_buf_json_str(csg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    char *w = csg_buf_reserve(b, n * 6 + 2);
    if (!w)
        return -1;
    char *p = w;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    b->len += (size_t)(p - w);
    return 0;
}

int csg_buf_json_int(csg_buf *b, int64_t v)
{
    /* Digits by hand: this runs for every model call, and printf's
     * machinery costs more than the rest of the request body. */
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN-safe */
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return csg_buf_append(b, p, (size_t)(end - p));
}

int csg_buf_json_double(csg_buf *b, double d)
{
    if (!isfinite(d))
        return csg_buf_append(b, "null", 4);
    /* Whole amounts (the usual income / loan_amount) below 2^53 are exact
     * integers, and %.17g prints them as plain digits: same text, no printf. */
    if (d != 0 && fabs(d) < 9007199254740992.0 && d == trunc(d))
        return csg_buf_json_int(b, (int64_t)d);
    return csg_buf_printf(b, "%.17g", d);
}
