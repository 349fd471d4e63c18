/*
 * jsonw.c — see jsonw.h.
 */
#include "jsonw.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "util.h"

/* In util.h for its users; here so the application library (csg-model,
 * fuzzers) has it without util.c. */
int csg_format_double(double d, char *buf, size_t cap)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return n;
}

/* Does s[0..n) hold a byte JSON must escape (< 0x20, '"', '\\') or one
 * that needs the UTF-8 check (>= 0x80)? Eight bytes at a time: the "has a
 * zero byte" / "has a byte below k" bit tricks are exact about whether such
 * a byte exists (only its position could be blurred by a borrow, and we do
 * not need it). */
static bool needs_escape(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        /* v itself: a byte >= 0x80 goes through the UTF-8 check */
        uint64_t hit = ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b) | v;
        if (hit & highs)
            return true;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
            return true;
    }
    return false;
}

void csg_jsonw_str(csg_jsonw *w, const char *s)
{
    if (!s) {
        csg_jsonw_raw(w, "null", 4);
        return;
    }
    /* Ids, names and decisions almost never need escaping: one scan, one
     * copy. Anything else goes byte by byte through csg_json_escape. */
    size_t n = strlen(s);
    if (needs_escape(s, n)) {
        csg_json_escape(s, n, w->buf, w->cap, &w->pos);
        return;
    }
    if (w->pos + n + 2 <= w->cap) {
        char *o = w->buf + w->pos;
        o[0] = '"';
        memcpy(o + 1, s, n);
        o[n + 1] = '"';
        w->pos += n + 2;
        return;
    }
    csg_json_escape(s, n, w->buf, w->cap, &w->pos);
}

/* Digits of v, right-aligned to end; returns the first digit. */
static char *utoa_back(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Powers of ten, every one exact as a double. */
static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20};

int csg_jsonw_format_double(double d, char out[40])
{
    /* Fast path, no printf: d is exactly the double nearest m / 10^k for
     * some integer |m| < 10^15 (scores such as 0.68, latencies rounded to
     * microseconds, whole amounts). m and 10^k are exact doubles and IEEE
     * division rounds correctly, so `m / 10^k == d` proves that the text
     * "m·10^-k" reads back as d. With at most 15 significant digits that
     * text is also exactly what "%.15g" prints (the nearest 15-digit decimal
     * to d is m·10^-k: d is within half an ulp of it, far less than half the
     * 15-digit spacing), and the smallest such k has no trailing zeros; the
     * range 1e-4 <= |d| < 1e15 is where %g uses plain notation. So the output
     * is byte-for-byte the one csg_format_double gives, without its two or
     * three snprintf + strtod rounds. */
    double a = fabs(d);
    if (a == 0) /* %.15g: "0" or "-0" */
        return signbit(d) ? (memcpy(out, "-0", 3), 2) : (memcpy(out, "0", 2), 1);
    if (a >= 1e-4 && a < 1e15) {
        for (unsigned k = 0; k < sizeof pow10_tab / sizeof pow10_tab[0]; k++) {
            double scaled = a * pow10_tab[k];
            if (scaled >= 1e15)
                break;
            double m = nearbyint(scaled);
            if (m >= 1e15)
                break;
            if (m / pow10_tab[k] != a)
                continue;
            char tmp[40];
            char *end = tmp + sizeof tmp;
            char *p = utoa_back((uint64_t)m, end);
            size_t nd = (size_t)(end - p);
            char *o = out;
            if (signbit(d))
                *o++ = '-';
            if (k == 0) {
                memcpy(o, p, nd);
                o += nd;
            } else if (nd > k) {
                memcpy(o, p, nd - k);
                o += nd - k;
                *o++ = '.';
                memcpy(o, p + nd - k, k);
                o += k;
            } else {
                *o++ = '0';
                *o++ = '.';
                memset(o, '0', k - nd);
                o += k - nd;
                memcpy(o, p, nd);
                o += nd;
            }
            *o = '\0';
            return (int)(o - out);
        }
    }
    return csg_format_double(d, out, 40);
}

void csg_jsonw_double(csg_jsonw *w, double d)
{
    if (!isfinite(d)) {
        csg_jsonw_raw(w, "null", 4);
        return;
    }
    char tmp[40];
    int n = csg_jsonw_format_double(d, tmp);
    csg_jsonw_raw(w, tmp, (size_t)n);
}

void csg_jsonw_int(csg_jsonw *w, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    /* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
    char *p = utoa_back(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
    if (v < 0)
        *--p = '-';
    csg_jsonw_raw(w, p, (size_t)(end - p));
}

size_t csg_jsonw_finish(csg_jsonw *w)
{
    if (w->cap)
        w->buf[w->pos < w->cap ? w->pos : w->cap - 1] = '\0';
    return w->pos;
}

void csg_jsonw_printf(csg_jsonw *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool room = w->pos < w->cap;
    int n = vsnprintf(room ? w->buf + w->pos : NULL, room ? w->cap - w->pos : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->pos += (size_t)n;
}
