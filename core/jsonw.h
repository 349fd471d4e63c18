/*
 * jsonw.h — a tiny append-only JSON text writer over a caller's buffer with
 * snprintf semantics (pos counts what would have been written), used for the
 * per-request reply and MetricEvent instead of building jansson trees.
 */
#ifndef CSG_JSONW_H
#define CSG_JSONW_H

#include <stddef.h>
#include <stdint.h>

typedef struct csg_jsonw {
    char *buf;
    size_t cap;
    size_t pos;
} csg_jsonw;

void csg_jsonw_raw(csg_jsonw *w, const char *s, size_t len);
void csg_jsonw_lit(csg_jsonw *w, const char *s); /* NUL-terminated raw text */
void csg_jsonw_str(csg_jsonw *w, const char *s); /* quoted + escaped; NULL → null */
void csg_jsonw_double(csg_jsonw *w, double d);   /* shortest round-trip; non-finite → null */
void csg_jsonw_int(csg_jsonw *w, int64_t v);
/* NUL-terminate (truncating if needed) and return the full length needed. */
size_t csg_jsonw_finish(csg_jsonw *w);

#endif /* CSG_JSONW_H */
