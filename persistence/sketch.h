/*
 * sketch.h — the latency sketch of the rollups (DESIGN §7 "Scale"): DDSketch-style
 * logarithmic buckets with relative accuracy CSGP_SKETCH_ALPHA (1%).
 *
 * A positive value x falls in bucket i = ceil(ln x / ln γ), γ = (1 + α) / (1 − α), so the
 * bucket holds (γ^(i−1), γ^i]; its representative 2·γ^i / (γ + 1) is within α of every
 * value in it (relative). Zero and negative values share CSGP_SKETCH_ZERO, represented by
 * 0. A sketch is a set of (bucket, count) pairs: merging sketches adds counts bucket by
 * bucket, so rollups of any time range merge exactly (the same buckets whatever the order).
 *
 * Pure: the index is computed here, in C, for ingest and for rebuilding rollups from rows,
 * so PostgreSQL and SQLite store the same buckets.
 *
 * Percentiles follow percentile_cont (linear interpolation between the order statistics at
 * ranks floor(p·(n−1)) and ceil(p·(n−1))), each order statistic replaced by its bucket's
 * representative: each is within α of the true order statistic, so their interpolation is
 * within α of the true percentile_cont too.
 */
#ifndef CSGP_SKETCH_H
#define CSGP_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define CSGP_SKETCH_ALPHA 0.01
#define CSGP_SKETCH_ZERO INT32_MIN /* bucket of values <= 0 (and NaN, never stored) */

/* Bucket of x. */
int32_t csgp_sketch_bucket(double x);
/* Representative value of bucket i (0 for CSGP_SKETCH_ZERO). */
double csgp_sketch_value(int32_t i);

/* One bucket of a merged sketch. */
typedef struct csgp_sketch_bin {
    int32_t bucket;
    int64_t count;
} csgp_sketch_bin;

/* A growing sketch: add (bucket, count) pairs in any order, then ask for percentiles.
 * Start zeroed; csgp_sketch_free when done. */
typedef struct csgp_sketch {
    csgp_sketch_bin *bins;
    size_t n, cap;
    int64_t total;
    int sorted;
} csgp_sketch;

/* 0, or -1 when out of memory. */
int csgp_sketch_add(csgp_sketch *s, int32_t bucket, int64_t count);
/* percentile_cont(p) estimate, p in [0, 1]; NAN when empty. Sorts and merges s. */
double csgp_sketch_percentile(csgp_sketch *s, double p);
void csgp_sketch_reset(csgp_sketch *s); /* empty, keeps its memory */

/* The stored form of a sketch (or of any sparse integer histogram, e.g. the score bins):
 * "bucket:count" pairs, comma-separated, buckets ascending and distinct. One text column
 * holds a whole sketch, so a rollup writes and reads one row per key and period instead of
 * one per bucket (issue 20: the drain upserted ~0.3 sketch rows per event). */
/* Adds the pairs of text to s. 0, or -1 when text is malformed or memory runs out. */
int csgp_sketch_parse(csgp_sketch *s, const char *text);
/* s's stored form (normalised first), malloc'd; NULL when out of memory. */
char *csgp_sketch_format(csgp_sketch *s);
/* The stored form of a and b merged, malloc'd; NULL when either is malformed or memory runs
 * out (SQLite's csg_sketch_merge; PostgreSQL merges in SQL, rollup.c). */
char *csgp_sketch_merge_text(const char *a, const char *b);
void csgp_sketch_free(csgp_sketch *s);

#endif /* CSGP_SKETCH_H */
