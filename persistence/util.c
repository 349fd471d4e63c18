/* util.c — see util.h. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_log_level = 1;

void csgp_log_set_level(int level) { g_log_level = level; }

static void json_escape_to(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
}

void csgp_log(const char *level, const char *fmt, ...)
{
    int lv = level[0] == 'd' ? 0 : level[0] == 'i' ? 1 : level[0] == 'w' ? 2 : 3;
    if (lv < g_log_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ts[CSGP_TS_SIZE];
    csgp_format_ms(csg_wall_ms(), ts);
    /* One fprintf per line under flockfile so lines from two threads never interleave. */
    flockfile(stderr);
    fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"csg-persist\",\"msg\":\"", ts,
            level);
    json_escape_to(stderr, msg);
    fputs("\"}\n", stderr);
    funlockfile(stderr);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int csgp_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    int Y, M, D, h, mi, se;
    if (len < 20 || len > 40)
        return -CSG_EINVAL;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return -CSG_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1000 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || se > 59)
        return -CSG_EINVAL;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return -CSG_EINVAL;
    size_t i = 19;
    int frac_ms = 0;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        int scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start >= 9)
                return -CSG_EINVAL;
            frac_ms += (s[i] - '0') * scale; /* digits beyond the third are truncated */
            scale /= 10;
            i++;
        }
        if (i == start)
            return -CSG_EINVAL;
    }
    int offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -CSG_EINVAL;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -CSG_EINVAL;
    }
    if (i != len)
        return -CSG_EINVAL;
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - (int64_t)offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

int csgp_parse_time_param(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len >= 20 && s[4] == '-')
        return csgp_parse_rfc3339(s, len, ms);
    double v;
    if (!csgp_parse_double(s, &v) || v < 0 || v > 253402300799.0) /* 9999-12-31T23:59:59Z */
        return -CSG_EINVAL;
    *ms = (int64_t)floor(v * 1000.0 + 1e-6);
    /* Filters compare against stored text, which starts at year 1000; epoch 0 is fine. */
    return 0;
}

void csgp_format_ms(int64_t ms, char *out)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int msec = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int sod = (int)(secs - days * 86400);
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Years outside 1000–9999 never reach here (parsers reject them); clamp for the compiler. */
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    snprintf(out, CSGP_TS_SIZE, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m % 13, d % 32,
             (unsigned)(sod / 3600) % 24, (unsigned)(sod / 60) % 60, (unsigned)sod % 60,
             (unsigned)msec % 1000);
}

void csgp_format_double(double v, char *out, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

bool csgp_parse_double(const char *s, double *out)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    char *end;
    /* No errno check: strtod's ERANGE also flags an underflow, whose result (a denormal
     * such as 5e-324, or 0) is the nearest double, as JSON parsers read it; an overflow
     * gives HUGE_VAL, refused by isfinite. */
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || s[0] == ' ' || s[0] == '\t')
        return false;
    /* strtod also takes hex floats, "inf" and "nan": allow only plain decimal text. */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return false;
    *out = v;
    return true;
}

bool csgp_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 19)
        return false;
    for (const char *p = s[0] == '-' ? s + 1 : s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    if ((s[0] == '-' && !s[1]))
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno)
        return false;
    *out = v;
    return true;
}

bool csgp_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n + 1;
    }
    return true;
}

size_t csgp_utf8_trim(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    /* Walk back over at most 3 continuation bytes to the lead byte of the last sequence. */
    size_t i = len;
    int back = 0;
    while (i > 0 && back < 4 && (s[i - 1] & 0xc0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned lead = s[i - 1];
    size_t need = lead < 0x80 ? 0 : (lead & 0xe0) == 0xc0 ? 1 : (lead & 0xf0) == 0xe0 ? 2 : 3;
    if (lead >= 0x80 && (size_t)back < need)
        return i - 1; /* drop the incomplete last sequence */
    return len;
}

char *csgp_base64(const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t outlen = 4 * ((len + 2) / 3);
    char *out = malloc(outlen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}
