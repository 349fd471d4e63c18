/*
 * csg_buf.h — a growable byte buffer and a small JSON writer on top of it,
 * shared by the HTTP transport and the REST adapter.
 *
 * The struct is public on purpose: buffers are embedded in per-connection
 * structs on the hot path, and an opaque handle would cost one allocation
 * per connection for nothing. Treat the fields as read-only outside
 * csg_buf.c except through the functions below.
 *
 * Live bytes are data[off .. len). Every buffer has a hard cap (max) so a
 * peer can never make it grow without bound; appends beyond it fail.
 */
#ifndef CSG_BUF_H
#define CSG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct csg_buf {
    char *data;
    size_t off; /* first live byte */
    size_t len; /* one past the last live byte */
    size_t cap; /* allocated bytes */
    size_t max; /* hard limit on cap; 0 = 16 MiB */
} csg_buf;

/* An empty buffer that never holds more than max bytes (0 = 16 MiB). */
void csg_buf_init(csg_buf *b, size_t max);
void csg_buf_free(csg_buf *b);

static inline size_t csg_buf_size(const csg_buf *b) { return b->len - b->off; }
static inline const char *csg_buf_ptr(const csg_buf *b) { return b->data + b->off; }
static inline void csg_buf_clear(csg_buf *b) { b->off = b->len = 0; }

/* Make room for n more bytes after len; returns the write position or NULL
 * (allocation failed or the cap would be exceeded). Commit with
 * csg_buf_commit(b, written). */
char *csg_buf_reserve(csg_buf *b, size_t n);
static inline void csg_buf_commit(csg_buf *b, size_t n) { b->len += n; }

/* 0 or -1 (no memory / over the cap). */
int csg_buf_append(csg_buf *b, const void *p, size_t n);
int csg_buf_puts(csg_buf *b, const char *s);
int csg_buf_printf(csg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drop n bytes from the front. */
void csg_buf_consume(csg_buf *b, size_t n);

/* JSON writer helpers: a string literal with quotes and escapes; a double
 * with full precision (%.17g, finite values only: NaN/inf are written as
 * null); an integer. 0 or -1. */
int csg_buf_json_str(csg_buf *b, const char *s, size_t n);
int csg_buf_json_double(csg_buf *b, double d);
int csg_buf_json_int(csg_buf *b, int64_t v);

#endif /* CSG_BUF_H */
