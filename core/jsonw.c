/*
 * jsonw.c — see jsonw.h.
 */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "application.h"
#include "util.h"

void csg_jsonw_raw(csg_jsonw *w, const char *s, size_t len)
{
    if (w->pos < w->cap) {
        size_t room = w->cap - w->pos;
        memcpy(w->buf + w->pos, s, len < room ? len : room);
    }
    w->pos += len;
}

void csg_jsonw_lit(csg_jsonw *w, const char *s)
{
    csg_jsonw_raw(w, s, strlen(s));
}

void csg_jsonw_str(csg_jsonw *w, const char *s)
{
    if (!s) {
        csg_jsonw_raw(w, "null", 4);
        return;
    }
    csg_json_escape(s, strlen(s), w->buf, w->cap, &w->pos);
}

void csg_jsonw_double(csg_jsonw *w, double d)
{
    if (!isfinite(d)) {
        csg_jsonw_raw(w, "null", 4);
        return;
    }
    char tmp[40];
    int n = csg_format_double(d, tmp, sizeof tmp);
    csg_jsonw_raw(w, tmp, (size_t)n);
}

void csg_jsonw_int(csg_jsonw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    csg_jsonw_raw(w, tmp, (size_t)n);
}

size_t csg_jsonw_finish(csg_jsonw *w)
{
    if (w->cap)
        w->buf[w->pos < w->cap ? w->pos : w->cap - 1] = '\0';
    return w->pos;
}
