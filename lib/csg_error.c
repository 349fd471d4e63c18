/* csg_error.c — the one error setter (csg_error.h). */
#include "csg_error.h"

#include <stdio.h>

/* csg_error crosses the plugin boundary: its layout is fixed for ABI 2.x. */
_Static_assert(sizeof(csg_error) == 512, "csg_error layout");

void csg_errbuf_vset(char *buf, size_t cap, const char *fmt, va_list ap)
{
    if (!buf || cap == 0)
        return;
    vsnprintf(buf, cap, fmt, ap); /* cut at cap: long paths and values stay bounded */
}

void csg_errbuf_set(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csg_errbuf_vset(buf, cap, fmt, ap);
    va_end(ap);
}

int csg_fail(csg_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        csg_errbuf_vset(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -code;
}

int csg_fail_at(csg_error *err, int code, const char *prefix, const char *fmt, ...)
{
    if (err) {
        size_t n = 0;
        if (prefix) {
            int k = snprintf(err->message, sizeof err->message, "%s: ", prefix);
            n = k < 0 || (size_t)k >= sizeof err->message ? 0 : (size_t)k;
        }
        va_list ap;
        va_start(ap, fmt);
        csg_errbuf_vset(err->message + n, sizeof err->message - n, fmt, ap);
        va_end(ap);
    }
    return -code;
}
