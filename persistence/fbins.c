/* fbins.c — feature-bin rollups and the features' fixed bands (see fbins.h). */
#include "fbins.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_outcome_stats.h"
#include "event_scan.h"

/* A feature's bands, or a model's score bins ("score:<model>": its baseline's edges but
 * the last, so a score's bin is the last edge <= it). */
#define SCORE_PREFIX CSGP_FBINS_SCORE_PREFIX
#define MAX_EDGES (CSGP_BASELINE_MAX_BINS + 1)
typedef struct fband {
    char name[CSG_EVENT_NAME_MAX + sizeof SCORE_PREFIX];
    double edges[MAX_EDGES];
    int n;
} fband;

struct csgp_fbins {
    fband *b; /* sorted by name (byte order) */
    size_t n;
};

/* A batch's count and a baseline's store, serialised on PostgreSQL: a batch that read the
 * bands while a rebuild was uncommitted counted its events (in no rebuild's scan: not yet
 * committed) in the old bins for good. Batches share the lock, a baseline's store holds
 * it alone; both to the end of their transaction. SQLite serialises its writers already
 * (BEGIN IMMEDIATE). Key: migrate.c's advisory lock is 4242001. */
static int lock_bands(csgp_db *db, bool alone, csg_error *err)
{
    if (csgp_db_kind_of(db) != CSGP_DB_PG)
        return 0;
    return csgp_db_exec(db, alone ? "SELECT pg_advisory_xact_lock(4242002)"
                                  : "SELECT pg_advisory_xact_lock_shared(4242002)",
                        NULL, 0, NULL, err);
}

static void fbins_free(csgp_fbins *fb)
{
    if (fb)
        free(fb->b);
    free(fb);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const fband *)x)->name, ((const fband *)y)->name);
}

static const fband *band_of(const csgp_fbins *fb, const char *name)
{
    if (!fb->n)
        return NULL; /* bsearch's base may not be NULL, even for no elements */
    fband k;
    snprintf(k.name, sizeof k.name, "%s", name);
    return bsearch(&k, fb->b, fb->n, sizeof *fb->b, by_name);
}

/* A stored row's edges (JSON array text) into *b; false when malformed. */
static bool parse_edges(const char *text, bool open_below, fband *b)
{
    json_t *a = json_loads(text, 0, NULL);
    size_t n = json_array_size(a);
    bool ok = json_is_array(a) && n + open_below >= 1 && n + open_below <= MAX_EDGES;
    b->n = 0;
    if (ok && open_below)
        b->edges[b->n++] = -INFINITY;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *v = json_array_get(a, i);
        ok = json_is_number(v) && (b->n == 0 || json_number_value(v) > b->edges[b->n - 1]);
        if (ok)
            b->edges[b->n++] = json_number_value(v);
    }
    json_decref(a);
    return ok;
}

/* Every stored band, or only the one named name (NULL: all). */
static int load(csgp_db *db, const char *name, csgp_fbins **out, csg_error *err)
{
    *out = NULL;
    csgp_fbins *fb = calloc(1, sizeof *fb);
    if (!fb)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char sql[128], ph[16];
    snprintf(sql, sizeof sql, "SELECT name, edges, open_below FROM feature_bands%s%s",
             name ? " WHERE name = " : "", name ? csgp_db_ph(db, 1, "text", ph, sizeof ph) : "");
    csgp_param p = {.type = CSGP_P_TEXT, .text = name};
    csgp_rows *rows;
    int rc = csgp_db_query(db, sql, &p, name ? 1 : 0, &rows, err);
    if (rc) {
        fbins_free(fb);
        return rc;
    }
    size_t cap = 0;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        if (fb->n == cap) {
            cap = cap ? 2 * cap : 32;
            fband *nb = realloc(fb->b, cap * sizeof *nb);
            if (!nb) {
                s = -2;
                break;
            }
            fb->b = nb;
        }
        fband *b = &fb->b[fb->n];
        snprintf(b->name, sizeof b->name, "%s", csgp_rows_text(rows, 0));
        if (!parse_edges(csgp_rows_text(rows, 1), csgp_rows_int(rows, 2) != 0, b)) {
            s = -1;
            break;
        }
        fb->n++;
    }
    csgp_rows_free(rows);
    if (s < 0) {
        fbins_free(fb);
        return s == -2 ? csg_fail(err, CSG_ENOMEM, "out of memory")
                       : csg_fail(err, CSGP_EDB, "reading feature_bands failed");
    }
    if (fb->n)
        qsort(fb->b, fb->n, sizeof *fb->b, by_name);
    *out = fb;
    return 0;
}

int csgp_fbins_bands(csgp_db *db, const char *name, double *edges, int *n, csg_error *err)
{
    csgp_fbins *fb = NULL;
    int rc = load(db, name, &fb, err);
    if (rc || !fb)
        return rc ? rc : -CSG_ENOMEM;
    *n = fb->n && fb->b[0].n <= CSGP_FBINS_MAX_EDGES ? fb->b[0].n : 0;
    if (*n)
        memcpy(edges, fb->b[0].edges, (size_t)*n * sizeof *edges);
    fbins_free(fb);
    return 0;
}

/* Store name's bands (edges[0] = -INFINITY: open below); replace: overwrite a stored row,
 * else keep it (the first writer wins). */
static int store(csgp_db *db, const char *name, const double *edges, int n, const char *source,
                 bool replace, csg_error *err)
{
    bool open_below = n && isinf(edges[0]);
    json_t *a = json_array();
    for (int i = open_below; i < n; i++)
        json_array_append_new(a, json_real(edges[i]));
    char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(a);
    if (!text)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char sql[320], p[4][16];
    snprintf(sql, sizeof sql,
             "INSERT INTO feature_bands (name, edges, open_below, source) VALUES (%s, %s, %s, %s) "
             "ON CONFLICT (name) DO %s",
             csgp_db_ph(db, 1, "text", p[0], sizeof p[0]), csgp_db_ph(db, 2, "text", p[1], sizeof p[1]),
             csgp_db_ph(db, 3, "int", p[2], sizeof p[2]), csgp_db_ph(db, 4, "text", p[3], sizeof p[3]),
             replace ? "UPDATE SET edges = excluded.edges, open_below = excluded.open_below, "
                       "source = excluded.source"
                     : "NOTHING");
    csgp_param prm[4] = {{.type = CSGP_P_TEXT, .text = name},
                         {.type = CSGP_P_TEXT, .text = text},
                         {.type = CSGP_P_INT, .i = open_below},
                         {.type = CSGP_P_TEXT, .text = source}};
    int rc = csgp_db_exec(db, sql, prm, 4, NULL, err);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Counting                                                                  */

/* The score bins of each side (kind CSGP_FB_CHAMPION_SCORE / _CHALLENGER_SCORE): the bin
 * of the model's baseline, "" when it has none (the count alone). */
static int count_scores(const csgp_fbins *fb, csgp_rollup *r, const csgp_event *e,
                        const int64_t *v)
{
    for (int side = 0; side < 2; side++) {
        const char *model = side ? e->challenger_model : e->champion_model;
        bool has = side ? e->has_challenger_model && e->has_challenger_score
                        : e->has_champion_score;
        if (!has)
            continue;
        char key[sizeof ((fband *)0)->name], bin[16] = "";
        snprintf(key, sizeof key, SCORE_PREFIX "%s", model);
        const fband *b = band_of(fb, key);
        if (b)
            snprintf(bin, sizeof bin, "%d",
                     csgp_rollup_band(b->edges, b->n, side ? e->challenger_score : e->champion_score));
        if (csgp_rollup_count_feature(r, e, "", bin,
                                      side ? CSGP_FB_CHALLENGER_SCORE : CSGP_FB_CHAMPION_SCORE, v,
                                      NULL))
            return -CSG_ENOMEM;
    }
    return 0;
}

/* Count one event's bins, the key's totals included (fs: its features text, NULL
 * without). fbins_rebuild.c counts the same in SQL for a baseline's rebuild. */
static int count_event(const csgp_fbins *fb, csgp_rollup *r, const csgp_event *e, const char *fs)
{
    int64_t v[CSGP_ROLLUP_SEGMENT_VALUES];
    csgp_rollup_segment_values(e, v);
    /* the segments' bins per challenger result too (rollup_pair_features): not the score
     * bins nor the featured count, which only /metrics/stability reads */
    csgp_rollup_pairvals pv;
    csgp_rollup_pair_values(e, &pv);
    if (csgp_rollup_count_feature(r, e, "", "", CSGP_FB_TOTAL, v, &pv))
        return -CSG_ENOMEM;
    if (count_scores(fb, r, e, v))
        return -CSG_ENOMEM;
    csgp_features_it it;
    if (!csgp_features_open(&it, fs))
        return 0;
    int rc = csgp_rollup_count_feature(r, e, "", "", CSGP_FB_FEATURED, v, NULL);
    csgp_feature f;
    while (!rc && csgp_features_next(&it, &f)) {
        char num[16];
        const char *bin;
        int kind;
        const char *name = f.name;
        if (f.t == CSGP_JV_INT || f.t == CSGP_JV_REAL) {
            const fband *b = band_of(fb, name);
            if (!b)
                continue;
            /* Below the first edge (frozen deciles start at the first batch's minimum):
             * bin -1, in no band but not missing either, as the rows' CASE (segments.c). */
            snprintf(num, sizeof num, "%d",
                     csgp_rollup_band(b->edges, b->n, f.d));
            bin = num;
            kind = CSGP_FB_NUMBER;
        } else if (f.t == CSGP_JV_STRING) {
            bin = f.s;
            kind = CSGP_FB_CATEGORY;
        } else if (f.t == CSGP_JV_TRUE || f.t == CSGP_JV_FALSE) {
            bin = f.t == CSGP_JV_TRUE ? "true" : "false";
            kind = CSGP_FB_BOOLEAN;
        } else {
            continue;
        }
        rc = csgp_rollup_count_feature(r, e, name, bin, kind, v, &pv);
    }
    csgp_features_close(&it);
    return rc ? -CSG_ENOMEM : 0;
}

/* The values of one number feature without bands, seen in this batch. */
typedef struct pending {
    char name[CSG_EVENT_FEATURE_NAME_MAX + 1];
    double *v;
    size_t n, cap;
} pending;

static int pending_cmp(const void *x, const void *y)
{
    return strcmp(((const pending *)x)->name, ((const pending *)y)->name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Freeze the deciles of the number features of fs[0..n) that have no bands yet (in name
 * order, so two consumers lock feature_bands rows in one order); *frozen: any stored. */
static int freeze(csgp_db *db, const csgp_fbins *fb, const char *const *fs, size_t n,
                  bool *frozen, csg_error *err)
{
    pending *p = NULL;
    size_t np = 0;
    int rc = 0;
    *frozen = false;
    for (size_t i = 0; i < n && !rc; i++) {
        csgp_features_it it;
        csgp_feature f;
        if (!csgp_features_open(&it, fs[i]))
            continue;
        while (!rc && csgp_features_next(&it, &f)) {
            const char *name = f.name;
            if ((f.t != CSGP_JV_INT && f.t != CSGP_JV_REAL) || band_of(fb, name))
                continue;
            size_t k = 0;
            while (k < np && strcmp(p[k].name, name))
                k++;
            if (k == np) {
                pending *q = realloc(p, (np + 1) * sizeof *q);
                if (!q) {
                    rc = -CSG_ENOMEM;
                    break;
                }
                p = q;
                p[np++] = (pending){0};
                snprintf(p[k].name, sizeof p[k].name, "%s", name);
            }
            if (p[k].n == p[k].cap) {
                size_t cap = p[k].cap ? 2 * p[k].cap : 64;
                double *nv = realloc(p[k].v, cap * sizeof *nv);
                if (!nv) {
                    rc = -CSG_ENOMEM;
                    break;
                }
                p[k].v = nv;
                p[k].cap = cap;
            }
            p[k].v[p[k].n++] = f.d;
        }
        csgp_features_close(&it);
    }
    if (rc)
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    if (np)
        qsort(p, np, sizeof *p, pending_cmp);
    for (size_t k = 0; k < np && !rc; k++) {
        /* segments.c's deciles: the minimum, then each distinct percentile_cont decile */
        double edges[10];
        int ne = 0;
        qsort(p[k].v, p[k].n, sizeof *p[k].v, cmp_double);
        for (int d = 0; d < 10; d++) {
            double x = d ? csg_sorted_percentile(p[k].v, p[k].n, (double)d / 10) : p[k].v[0];
            if (!ne || x > edges[ne - 1])
                edges[ne++] = x;
        }
        rc = store(db, p[k].name, edges, ne, "deciles", false, err);
        *frozen = true;
    }
    for (size_t k = 0; k < np; k++)
        free(p[k].v);
    free(p);
    return rc;
}

/* Count ev[i] (fresh[i], or all when fresh is NULL), bands of new number features frozen
 * first. */
static int add_batch(csgp_db *db, csgp_rollup *r, const csgp_event *ev, const unsigned char *fresh,
                     size_t n, csg_error *err)
{
    const char **fs = calloc(n ? n : 1, sizeof *fs); // NOLINT(bugprone-sizeof-expression): pointers
    csgp_fbins *fb = NULL;
    if (!fs)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if ((!fresh || fresh[i]) && ev[i].features)
            fs[i] = ev[i].features;
    bool frozen = false;
    int rc = lock_bands(db, false, err);
    if (!rc)
        rc = load(db, NULL, &fb, err);
    if (!rc)
        rc = freeze(db, fb, fs, n, &frozen, err);
    if (!rc && frozen) {
        fbins_free(fb);
        fb = NULL;
        rc = load(db, NULL, &fb, err);
    }
    for (size_t i = 0; i < n && !rc; i++)
        if ((!fresh || fresh[i]) && count_event(fb, r, &ev[i], fs[i]))
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    free(fs);
    fbins_free(fb);
    return rc;
}

int csgp_fbins_add(csgp_db *db, csgp_rollup *r, const csgp_event *ev, const unsigned char *fresh,
                   size_t n, csg_error *err)
{
    return add_batch(db, r, ev, fresh, n, err);
}

/* ------------------------------------------------------------------------ */
/* Rebuilds                                                                  */

static int rebuild_chunk(csgp_db *db, const csgp_event *ev, size_t n, void *arg, csg_error *err)
{
    (void)arg;
    csgp_rollup *r = csgp_rollup_new();
    if (!r)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    int rc = add_batch(db, r, ev, NULL, n, err);
    if (!rc)
        rc = csgp_rollup_flush(r, db, err);
    csgp_rollup_free(r);
    return rc;
}

int csgp_fbins_rebuild(csgp_db *db, const char *const *only, int64_t *rows, csg_error *err)
{
    if (only) { /* a baseline's changes: set-based, in SQL (fbins_rebuild.c) */
        if (rows)
            *rows = -1;
        return csgp_fbins_rebuild_listed(db, only, err);
    }
    /* migration 045, before the per-challenger bins of 075 exist */
    int rc = csgp_db_exec(db, "DELETE FROM rollup_features", NULL, 0, NULL, err);
    return rc ? rc : csgp_rollup_scan(db, false, rebuild_chunk, NULL, rows, err);
}

/* Store name's bands (replacing them); *same: they were already these. */
static int store_if_changed(csgp_db *db, const char *name, const double *edges, int n,
                            const char *source, bool *same, csg_error *err)
{
    csgp_fbins *fb = NULL;
    int rc = load(db, name, &fb, err);
    if (rc || !fb)
        return rc ? rc : -CSG_ENOMEM;
    *same = fb->n && fb->b[0].n == n && !memcmp(fb->b[0].edges, edges, (size_t)n * sizeof *edges);
    fbins_free(fb);
    return store(db, name, edges, n, source, true, err);
}

/* The text of the first column of sql's first row (param: its $1, NULL: none) into out
 * ("" when there is no row). */
static int first_text(csgp_db *db, const char *sql, const char *param, char *out, size_t size,
                      csg_error *err)
{
    csgp_param p = {.type = CSGP_P_TEXT, .text = param};
    csgp_rows *rows;
    int rc = csgp_db_query(db, sql, &p, param ? 1 : 0, &rows, err);
    if (rc)
        return rc;
    out[0] = 0;
    int s = csgp_rows_next(rows);
    if (s == 1 && !csgp_rows_null(rows, 0))
        snprintf(out, size, "%s", csgp_rows_text(rows, 0));
    csgp_rows_free(rows);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading %s failed", sql) : 0;
}

int csgp_fbins_apply_baseline(csgp_db *db, const csgp_baseline *b, int *rebuilt, csg_error *err)
{
    char champion[CSG_EVENT_NAME_MAX + 1], mine[CSG_EVENT_NAME_MAX + 16];
    char score[sizeof ((fband *)0)->name];
    const char *changed[CSG_EVENT_MAX_FEATURES + 2];
    int nchanged = 0;
    /* the champion of the latest stored event */
    int rc = lock_bands(db, true, err);
    if (!rc)
        rc = first_text(db, "SELECT champion_model FROM credit_score_metrics ORDER BY id DESC "
                            "LIMIT 1", NULL, champion, sizeof champion, err);
    char src_sql[96], ph[16];
    snprintf(src_sql, sizeof src_sql, "SELECT source FROM feature_bands WHERE name = %s",
             csgp_db_ph(db, 1, "text", ph, sizeof ph));
    snprintf(mine, sizeof mine, "baseline:%s", b->model);
    /* the model's score bins: its edges but the last */
    snprintf(score, sizeof score, SCORE_PREFIX "%s", b->model);
    bool same_score = false;
    if (!rc)
        rc = store_if_changed(db, score, b->edges, b->nscore_bins, mine, &same_score, err);
    if (!rc && !same_score)
        changed[nchanged++] = score;
    for (int i = 0; i < b->nfeatures && !rc; i++) {
        const csgp_baseline_feature *f = &b->features[i];
        if (f->category || f->nvalue_bins > CSGP_FBINS_MAX_EDGES)
            continue; /* categories are their own bins; more bins than segments allow */
        char src[CSG_EVENT_NAME_MAX + 16];
        if ((rc = first_text(db, src_sql, f->name, src, sizeof src, err)))
            break;
        bool other_baseline = !strncmp(src, "baseline:", 9) && strcmp(src, mine);
        if (other_baseline && strcmp(champion, b->model))
            continue; /* another model's baseline set them, and b is not the champion's */
        double edges[MAX_EDGES];
        int ne = 0;
        edges[ne++] = -INFINITY;
        for (int k = 0; k + 1 < f->nvalue_bins; k++)
            edges[ne++] = f->cuts[k];
        bool same;
        if ((rc = store_if_changed(db, f->name, edges, ne, mine, &same, err)))
            break;
        if (!same)
            changed[nchanged++] = f->name;
    }
    changed[nchanged] = NULL;
    if (!rc && nchanged)
        rc = csgp_fbins_rebuild(db, changed, NULL, err);
    if (rebuilt)
        *rebuilt = nchanged;
    return rc;
}
