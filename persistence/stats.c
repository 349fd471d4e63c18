/* stats.c — see stats.h. */
#include "stats.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sketch.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double csgp_percentile_cont(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    /* Same arithmetic as PostgreSQL's percentile_cont_final_common. */
    double pos = p * (double)(n - 1);
    double lo_row = floor(pos), hi_row = ceil(pos);
    double first = v[(size_t)lo_row];
    if (lo_row == hi_row)
        return first;
    double second = v[(size_t)hi_row];
    double proportion = pos - lo_row;
    return first + (second - first) * proportion;
}

/* Aggregate state: the values seen so far (grown by doubling, bounded by memory). */
typedef struct pct_state {
    double *v;
    size_t n, cap;
    double p;
    int bad_p;
} pct_state;

#define PCT_MAX_VALUES (1u << 27) /* 1 GiB of doubles; beyond that the query fails */

static void pct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    pct_state *st = sqlite3_aggregate_context(ctx, sizeof *st);
    if (!st)
        return sqlite3_result_error_nomem(ctx);
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL)
        st->bad_p = 1;
    else
        st->p = sqlite3_value_double(argv[1]);
    if (st->p < 0 || st->p > 1 || isnan(st->p))
        st->bad_p = 1;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        if (cap > PCT_MAX_VALUES)
            return sqlite3_result_error(ctx, "percentile_cont: too many values", -1);
        double *nv = sqlite3_realloc64(st->v, cap * sizeof *nv);
        if (!nv)
            return sqlite3_result_error_nomem(ctx);
        st->v = nv;
        st->cap = cap;
    }
    st->v[st->n++] = sqlite3_value_double(argv[0]);
}

static void pct_final(sqlite3_context *ctx)
{
    pct_state *st = sqlite3_aggregate_context(ctx, 0);
    if (!st || st->n == 0) {
        sqlite3_result_null(ctx);
    } else if (st->bad_p) {
        sqlite3_result_error(ctx, "percentile_cont: p must be between 0 and 1", -1);
    } else {
        sqlite3_result_double(ctx, csgp_percentile_cont(st->v, st->n, st->p));
    }
    if (st)
        sqlite3_free(st->v);
}

/* csg_sketch_merge(a, b): two stored sketches merged (the rollup upsert, rollup.c). */
static void sketch_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const unsigned char *a = sqlite3_value_text(argv[0]), *b = sqlite3_value_text(argv[1]);
    char *m = csgp_sketch_merge_text(a ? (const char *)a : "", b ? (const char *)b : "");
    if (m)
        sqlite3_result_text(ctx, m, -1, free);
    else
        sqlite3_result_error(ctx, "csg_sketch_merge: malformed sketch or out of memory", -1);
}

int csgp_stats_register_sqlite(sqlite3 *db)
{
    int rc = sqlite3_create_function_v2(db, "percentile_cont", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, pct_step,
                                        pct_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "csg_sketch_merge", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sketch_merge,
                                        NULL, NULL, NULL);
    return rc;
}
