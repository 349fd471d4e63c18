/*
 * jsonw.h — a tiny append-only JSON text writer over a caller's buffer with
 * snprintf semantics (pos counts what would have been written), used for the
 * per-request reply and MetricEvent instead of building jansson trees.
 */
#ifndef CSG_JSONW_H
#define CSG_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct csg_jsonw {
    char *buf;
    size_t cap;
    size_t pos;
} csg_jsonw;

/* Inline: most calls append a string literal, whose strlen the compiler
 * then folds to a constant. */
static inline void csg_jsonw_raw(csg_jsonw *w, const char *s, size_t len)
{
    if (w->pos < w->cap) {
        size_t room = w->cap - w->pos;
        memcpy(w->buf + w->pos, s, len < room ? len : room);
    }
    w->pos += len;
}

static inline void csg_jsonw_lit(csg_jsonw *w, const char *s) /* NUL-terminated raw text */
{
    csg_jsonw_raw(w, s, strlen(s));
}

void csg_jsonw_str(csg_jsonw *w, const char *s); /* quoted + escaped; NULL → null */
void csg_jsonw_double(csg_jsonw *w, double d);   /* shortest round-trip; non-finite → null */
void csg_jsonw_int(csg_jsonw *w, int64_t v);
/* printf-formatted raw text (no quoting), same snprintf semantics. */
void csg_jsonw_printf(csg_jsonw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Finite d as the text csg_format_double gives (shortest of %.15g/%.16g/
 * %.17g that reads back exactly), printf-free for the common short values.
 * NUL-terminated; returns the length. */
int csg_jsonw_format_double(double d, char out[40]);
/* NUL-terminate (truncating if needed) and return the full length needed. */
size_t csg_jsonw_finish(csg_jsonw *w);

#endif /* CSG_JSONW_H */
