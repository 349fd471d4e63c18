/*
 * stats.h — statistics shared by both backends.
 *
 * percentile_cont follows PostgreSQL's definition exactly (linear interpolation between
 * the closest ranks): with the n non-null values sorted, pos = p·(n−1),
 * lo = floor(pos), hi = ceil(pos), result = v[lo] + (v[hi] − v[lo])·(pos − lo).
 * On SQLite it is registered as the aggregate percentile_cont(value, p), so SQL on both
 * backends computes the same numbers in the database.
 */
#ifndef CSGP_STATS_H
#define CSGP_STATS_H

#include <stddef.h>

struct sqlite3;

/* Percentile of v[0..n) (sorted in place), p in [0, 1]; n must be > 0. */
double csgp_percentile_cont(double *v, size_t n, double p);

/* Register percentile_cont(x, p) and csg_sketch_merge(a, b) (sketch.h) on a SQLite
 * connection. 0 or an SQLite error code. */
int csgp_stats_register_sqlite(struct sqlite3 *db);

#endif /* CSGP_STATS_H */
