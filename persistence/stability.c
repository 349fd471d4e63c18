/* stability.c — GET /metrics/stability: PSI and CSI per time bucket (see stability.h). */
#include "stability.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_outcome_stats.h"
#include "baseline.h"
#include "jsonout.h"
#include "sqlb.h"
#include "stability_private.h"

#define MAX_POINTS 50000  /* points in one answer, as /metrics/latency */
#define REF_SCORE_BINS 10 /* a reference window's score bins: its deciles */

const char *csgp_stability_band(double value)
{
    return value < CSGP_STABILITY_WATCH ? "stable"
           : value <= CSGP_STABILITY_SHIFTED ? "watch"
                                             : "shifted";
}

/* Columns of the row query, in order. */
enum { C_BUCKET, C_CHAMPION, C_CHAMPION_SCORE, C_CHALLENGER, C_CHALLENGER_SCORE, C_FEATURES };

/* SELECT bucket, models, scores, features of the rows q selects, with from/to replaced by
 * [from_ms, to_ms) when window. */
static int select_rows(csgp_db *db, const csgp_query *q, bool window, int64_t secs,
                       csgp_rows **rows, csg_error *err)
{
    csgp_query wq = *q;
    if (window) {
        wq.has_from = wq.has_to = true;
        wq.from_ms = q->ref_from_ms;
        wq.to_ms = q->ref_to_ms;
        memcpy(wq.from, q->ref_from, sizeof wq.from);
        memcpy(wq.to, q->ref_to, sizeof wq.to);
    }
    csgp_qb b;
    csgp_qb_init(&b, db);
    bool pg = csgp_qb_pg(&b);
    csgp_qb_add(&b, "SELECT ");
    csgp_qb_bucket(&b, secs);
    if (!q->pairs) {
        csgp_qb_add(&b, " AS bucket, champion_model, champion_score, challenger_model, "
                        "challenger_score, features%s FROM " CSGP_TABLE,
                    pg ? "::text" : "");
        csgp_qb_where(&b, &wq);
    } else {
        /* Several challengers per request (assignment: all): the champion and the features
         * once per request, every challenger's score from the pairs view. */
        csgp_qb_add(&b, " AS bucket, champion_model, champion_score, NULL%s, NULL%s, "
                        "features%s FROM " CSGP_TABLE,
                    pg ? "::text" : "", pg ? "::float8" : "", pg ? "::text" : "");
        csgp_qb_where(&b, &wq);
        csgp_qb_add(&b, " UNION ALL SELECT ");
        csgp_qb_bucket(&b, secs);
        csgp_qb_add(&b, " AS bucket, NULL%s, NULL%s, challenger_model, challenger_score, "
                        "NULL%s FROM " CSGP_PAIRS,
                    pg ? "::text" : "", pg ? "::float8" : "", pg ? "::text" : "");
        csgp_qb_where(&b, &wq);
    }
    csgp_qb_add(&b, " ORDER BY bucket");
    return csgp_qb_run(&b, rows, err);
}

/* The latest selected row's champion model into name ("" when there is none). */
static int latest_champion(csgp_db *db, const csgp_query *q, char *name, size_t size,
                           csg_error *err)
{
    csgp_qb b;
    csgp_rows *rows;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT champion_model FROM " CSGP_TABLE);
    csgp_qb_where(&b, q);
    csgp_qb_add(&b, " ORDER BY id DESC LIMIT 1");
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    name[0] = '\0';
    if ((rc = csgp_rows_next(rows)) == 1 && !csgp_rows_null(rows, 0))
        snprintf(name, size, "%s", csgp_rows_text(rows, 0));
    csgp_rows_free(rows);
    return rc < 0 ? csg_fail(err, CSGP_EDB, "reading the latest event failed") : 0;
}

/* ------------------------------------------------------------------------ */
/* A reference window as baselines                                         */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 256;
        double *p = realloc(d->v, nc * sizeof *p);
        if (!p)
            return -CSG_ENOMEM;
        d->v = p;
        d->cap = nc;
    }
    d->v[d->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The inner decile edges of v (sorted in place), strictly increasing, kept inside (lo, hi)
 * when bounded; returns how many. */
static int deciles(dvec *d, bool bounded, double lo, double hi, double *edges)
{
    if (!d->n)
        return 0;
    qsort(d->v, d->n, sizeof *d->v, cmp_double);
    int n = 0;
    for (int k = 1; k < REF_SCORE_BINS; k++) {
        double e = csg_sorted_percentile(d->v, d->n, (double)k / REF_SCORE_BINS);
        if ((!bounded || (e > lo && e < hi)) && (n == 0 || e > edges[n - 1]))
            edges[n++] = e;
    }
    return n;
}

/* The JSON shares of counts[0..n) out of total. */
static json_t *shares_json(const int64_t *counts, int n, int64_t total)
{
    json_t *a = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(a, json_real(total ? (double)counts[k] / (double)total : 0));
    return a;
}

/* One model's scores in the window → a baseline document's "score". */
static json_t *ref_score(dvec *scores)
{
    double inner[REF_SCORE_BINS];
    int ninner = deciles(scores, true, 0, 1, inner);
    json_t *edges = json_array();
    json_array_append_new(edges, json_real(0));
    for (int k = 0; k < ninner; k++)
        json_array_append_new(edges, json_real(inner[k]));
    json_array_append_new(edges, json_real(1));
    int64_t counts[REF_SCORE_BINS] = {0};
    for (size_t i = 0; i < scores->n; i++) {
        int k = 0;
        while (k < ninner && scores->v[i] >= inner[k])
            k++;
        counts[k]++;
    }
    json_t *s = json_object();
    json_object_set_new(s, "edges", edges);
    json_object_set_new(s, "shares", shares_json(counts, ninner + 1, (int64_t)scores->n));
    return s;
}

/* A feature the window's rows carry, with bins of its own: numbers at their deciles,
 * categories (strings, booleans) by level, the first 64 levels seen. NULL when it never
 * has a value. */
static json_t *feature_of_values(const char *name, json_t *vals, int64_t total)
{
    size_t i;
    json_t *v;
    bool numeric = true, any = false;
    json_array_foreach(vals, i, v) {
        if (json_is_null(v))
            continue;
        any = true;
        numeric = numeric && json_is_number(v);
    }
    if (!any)
        return NULL;
    int64_t counts[CSGP_BASELINE_MAX_BINS + 1] = {0};
    json_t *o = json_object(), *bins = json_array();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "type", json_string(numeric ? "number" : "category"));
    int nbins = 0;
    int64_t valued = 0;
    if (numeric) {
        dvec d = {0};
        json_array_foreach(vals, i, v)
            if (json_is_number(v) && dvec_push(&d, json_number_value(v)) == 0)
                valued++;
        double cuts[REF_SCORE_BINS];
        int ncuts = deciles(&d, false, 0, 0, cuts);
        for (size_t j = 0; j < d.n; j++) {
            int k = 0;
            while (k < ncuts && d.v[j] >= cuts[k])
                k++;
            counts[k]++;
        }
        free(d.v);
        for (int k = 0; k < ncuts; k++)
            json_array_append_new(bins, json_real(cuts[k]));
        nbins = ncuts + 1;
    } else {
        json_array_foreach(vals, i, v) {
            const char *s = json_is_string(v) ? json_string_value(v)
                            : json_is_boolean(v) ? (json_is_true(v) ? "true" : "false")
                                                 : NULL;
            size_t k = 0;
            for (; s && k < json_array_size(bins); k++)
                if (!strcmp(s, json_string_value(json_array_get(bins, k))))
                    break;
            if (s && k == json_array_size(bins) && k < CSGP_BASELINE_MAX_BINS)
                json_array_append_new(bins, json_string(s));
            if (s && k < json_array_size(bins)) {
                counts[k]++;
                valued++;
            }
        }
        nbins = (int)json_array_size(bins);
    }
    counts[nbins] = total - valued; /* missing */
    json_object_set_new(o, numeric ? "cuts" : "levels", bins);
    json_object_set_new(o, "shares", shares_json(counts, nbins + 1, total));
    return o;
}

/* The feature bins of the window: the stored champion baseline's bins when there is one,
 * else the window's own (numbers: deciles; categories: the levels seen, first 64). */
static json_t *ref_features(csgp_db *db, const csgp_query *q, const csgp_baseline *stored,
                            csg_error *err, int *rc)
{
    csgp_rows *rows;
    if ((*rc = select_rows(db, q, true, 86400, &rows, err)))
        return NULL;
    json_t *seen = json_object(); /* name -> array of values (window's own bins) */
    int64_t counts[CSG_EVENT_MAX_FEATURES][CSGP_BASELINE_MAX_BINS + 2] = {{0}};
    int64_t total = 0;
    while ((*rc = csgp_rows_next(rows)) == 1) {
        if (csgp_rows_null(rows, C_FEATURES))
            continue;
        json_t *fs = json_loads(csgp_rows_text(rows, C_FEATURES), 0, NULL);
        if (!json_is_object(fs)) {
            json_decref(fs);
            continue;
        }
        total++;
        for (int i = 0; stored && i < stored->nfeatures; i++) {
            const csgp_baseline_feature *f = &stored->features[i];
            counts[i][csgp_baseline_feature_bin(f, json_object_get(fs, f->name))]++;
        }
        const char *name;
        json_t *v;
        json_object_foreach(fs, name, v) {
            if (stored)
                break;
            json_t *vals = json_object_get(seen, name);
            if (!vals && json_object_size(seen) < CSG_EVENT_MAX_FEATURES)
                json_object_set_new(seen, name, vals = json_array());
            if (vals)
                json_array_append(vals, v);
        }
        json_decref(fs);
    }
    csgp_rows_free(rows);
    json_t *out = json_array();
    for (int i = 0; stored && i < stored->nfeatures; i++) {
        const csgp_baseline_feature *f = &stored->features[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "type", json_string(f->category ? "category" : "number"));
        json_t *bins = json_array();
        for (int k = 0; k < (f->category ? f->nvalue_bins : f->nvalue_bins - 1); k++)
            json_array_append_new(bins, f->category ? json_string(f->levels[k])
                                                    : json_real(f->cuts[k]));
        json_object_set_new(o, f->category ? "levels" : "cuts", bins);
        /* categories: levels, missing, then other (levels outside the stored list) */
        json_object_set_new(o, "shares", shares_json(counts[i], f->nbins, total));
        json_array_append_new(out, o);
    }
    const char *name;
    json_t *vals;
    json_object_foreach(seen, name, vals) {
        json_t *o = feature_of_values(name, vals, total);
        if (o)
            json_array_append_new(out, o);
    }
    json_decref(seen);
    if (*rc < 0)
        *rc = csg_fail(err, CSGP_EDB, "reading the reference window failed");
    else
        *rc = 0;
    return out;
}

/* Baselines of the reference window: one per model seen there (scores at its deciles),
 * the champion's with the feature bins. */
static int reference_baselines(csgp_db *db, const csgp_query *q, const char *champion,
                               const csgp_baseline *stored_champion, csgp_baseline *out,
                               int *n, csg_error *err)
{
    csgp_rows *rows;
    int rc = select_rows(db, q, true, 86400, &rows, err);
    if (rc)
        return rc;
    char names[MAX_MODELS][CSG_EVENT_NAME_MAX + 1];
    dvec scores[MAX_MODELS] = {{0}};
    int nm = 0;
    while ((rc = csgp_rows_next(rows)) == 1) {
        for (int side = 0; side < 2; side++) {
            int cm = side ? C_CHALLENGER : C_CHAMPION, cs = cm + 1;
            if (csgp_rows_null(rows, cm) || csgp_rows_null(rows, cs))
                continue;
            const char *m = csgp_rows_text(rows, cm);
            int k = 0;
            while (k < nm && strcmp(names[k], m))
                k++;
            if (k == nm && nm < MAX_MODELS)
                snprintf(names[nm++], sizeof names[0], "%s", m);
            if (k < nm && dvec_push(&scores[k], csgp_rows_real(rows, cs))) {
                rc = -CSG_ENOMEM;
                break;
            }
        }
        if (rc < 0)
            break;
    }
    csgp_rows_free(rows);
    json_t *features = NULL;
    if (rc == 0)
        features = ref_features(db, q, stored_champion, err, &rc);
    *n = 0;
    for (int k = 0; k < nm; k++) {
        if (rc == 0) {
            json_t *doc = json_object();
            json_object_set_new(doc, "format", json_string(CSGP_BASELINE_FORMAT));
            json_object_set_new(doc, "model", json_string(names[k]));
            json_object_set_new(doc, "source", json_string("window"));
            json_object_set_new(doc, "score", ref_score(&scores[k]));
            if (!strcmp(names[k], champion))
                json_object_set(doc, "features", features);
            if (csgp_baseline_from_json(doc, &out[*n], err) == 0)
                (*n)++;
            else
                csgp_log("warn", "stability: reference of %s left out: %s", names[k],
                         err->message);
            json_decref(doc);
        }
        free(scores[k].v);
    }
    json_decref(features);
    if (rc == -CSG_ENOMEM)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    return rc < 0 ? csg_fail(err, CSGP_EDB, "reading the reference window failed") : rc;
}

/* ------------------------------------------------------------------------ */
/* Buckets                                                                  */


model_acc *csgp_stab_model(acc *a, const char *name)
{
    for (int k = 0; k < a->nmodels; k++)
        if (!strcmp(a->models[k].name, name))
            return &a->models[k];
    if (a->nmodels == MAX_MODELS) {
        a->models_left_out = true;
        return NULL;
    }
    model_acc *m = &a->models[a->nmodels++];
    snprintf(m->name, sizeof m->name, "%s", name);
    for (int i = 0; a->bases && i < a->nbases && !m->base; i++)
        if (!strcmp(a->bases[i].model, name))
            m->base = &a->bases[i];
    m->points = json_array();
    return m;
}

/* One point: the index (key "psi" or "csi") of counts[0..n) against expected shares. */
static void add_point(acc *a, json_t *points, const char *key, const char *t,
                      const double *expected, const int64_t *counts, int nbins, int64_t total)
{
    if (++a->points > MAX_POINTS) {
        a->truncated = true;
        return;
    }
    json_t *pt = json_object();
    json_object_set_new(pt, "t", json_string(t));
    if (expected) {
        double v = 0;
        for (int k = 0; k < nbins; k++)
            v += csg_psi_term(expected[k], (double)counts[k] / (double)total);
        json_object_set_new(pt, key, json_real(v));
        json_object_set_new(pt, "band", json_string(csgp_stability_band(v)));
    } else {
        json_object_set_new(pt, key, json_null());
        json_object_set_new(pt, "band", json_null());
    }
    json_object_set_new(pt, "count", json_integer(total));
    json_array_append_new(points, pt);
}

/* The bucket that just ended: its points, then empty counts. */
void csgp_stab_flush(acc *a, int64_t bucket, int64_t secs)
{
    char t[CSGP_TS_SIZE];
    csgp_format_ms(bucket * secs * 1000, t);
    for (int k = 0; k < a->nmodels; k++) {
        model_acc *m = &a->models[k];
        if (m->n)
            add_point(a, m->points, "psi", t, m->base ? m->base->score_share : NULL, m->counts,
                      m->base ? m->base->nscore_bins : 0, m->n);
        memset(m->counts, 0, sizeof m->counts);
        m->n = 0;
    }
    for (int i = 0; a->champion && a->fn && i < a->champion->nfeatures; i++) {
        const csgp_baseline_feature *f = &a->champion->features[i];
        add_point(a, a->fpoints[i], "csi", t, f->share, a->fcounts[i], f->nbins, a->fn);
    }
    if (a->fn) {
        memcpy(a->last_counts, a->fcounts, sizeof a->last_counts);
        a->last_n = a->fn;
        memcpy(a->last_t, t, sizeof a->last_t);
    }
    memset(a->fcounts, 0, sizeof a->fcounts);
    a->fn = 0;
}

/* A bin's label: "< 67", "[67, 83)", ">= 159" for numbers, the level for categories,
 * "(missing)" and "(other)". */
static void bin_label(const csgp_baseline_feature *f, int k, char *out, size_t size)
{
    if (k == f->nvalue_bins)
        snprintf(out, size, "(missing)");
    else if (k > f->nvalue_bins)
        snprintf(out, size, "(other)");
    else if (f->category)
        snprintf(out, size, "%s", f->levels[k]);
    else if (f->nvalue_bins == 1)
        snprintf(out, size, "(any)");
    else if (k == 0)
        snprintf(out, size, "< %.15g", f->cuts[0]);
    else if (k == f->nvalue_bins - 1)
        snprintf(out, size, ">= %.15g", f->cuts[k - 1]);
    else
        snprintf(out, size, "[%.15g, %.15g)", f->cuts[k - 1], f->cuts[k]);
}

/* The latest bucket of feature i: {"t","bins":[{"bin","expected","actual"}]}. */
static json_t *latest_bins(const acc *a, int i)
{
    const csgp_baseline_feature *f = &a->champion->features[i];
    json_t *bins = json_array();
    for (int k = 0; k < f->nbins; k++) {
        char label[CSG_EVENT_CATEGORY_MAX + 8];
        bin_label(f, k, label, sizeof label);
        json_t *b = json_object();
        json_object_set_new(b, "bin", json_string(label));
        json_object_set_new(b, "expected", json_real(f->share[k]));
        json_object_set_new(b, "actual",
                            json_real((double)a->last_counts[i][k] / (double)a->last_n));
        json_array_append_new(bins, b);
    }
    json_t *o = json_object();
    json_object_set_new(o, "t", json_string(a->last_t));
    json_object_set_new(o, "bins", bins);
    return o;
}

static void count_row(acc *a, csgp_rows *rows)
{
    for (int side = 0; side < 2; side++) {
        int cm = side ? C_CHALLENGER : C_CHAMPION, cs = cm + 1;
        if (csgp_rows_null(rows, cm) || csgp_rows_null(rows, cs))
            continue;
        model_acc *m = csgp_stab_model(a, csgp_rows_text(rows, cm));
        if (!m)
            continue;
        m->n++;
        if (m->base)
            m->counts[csgp_baseline_score_bin(m->base, csgp_rows_real(rows, cs))]++;
    }
    if (!a->champion || csgp_rows_null(rows, C_FEATURES))
        return;
    json_t *fs = json_loads(csgp_rows_text(rows, C_FEATURES), 0, NULL);
    if (json_is_object(fs)) {
        a->fn++;
        for (int i = 0; i < a->champion->nfeatures; i++) {
            const csgp_baseline_feature *f = &a->champion->features[i];
            a->fcounts[i][csgp_baseline_feature_bin(f, json_object_get(fs, f->name))]++;
        }
    }
    json_decref(fs);
}

/* {key: name, "points": points} (takes points). */
static json_t *series(const char *key, const char *name, json_t *points)
{
    json_t *o = json_object();
    json_object_set_new(o, key, json_string(name));
    json_object_set_new(o, "points", points);
    return o;
}

static int cmp_model(const void *x, const void *y)
{
    return strcmp(((const model_acc *)x)->name, ((const model_acc *)y)->name);
}

int csgp_stability_json(csgp_db *db, const csgp_query *q, json_t **out, csg_error *err)
{
    *out = NULL;
    char champion[CSG_EVENT_NAME_MAX + 1];
    int rc = latest_champion(db, q, champion, sizeof champion, err);
    if (rc)
        return rc;
    csgp_baseline *stored = NULL, *ref = NULL; /* ~100 KiB each: on the heap */
    int nstored = 0, nref = 0;
    if ((rc = csgp_baseline_load_all(db, &stored, &nstored, err)))
        return rc;
    const csgp_baseline *stored_champion = NULL;
    for (int i = 0; i < nstored; i++)
        if (!strcmp(stored[i].model, champion))
            stored_champion = &stored[i];
    if (q->has_ref_from && !(ref = calloc(MAX_MODELS, sizeof *ref)))
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    if (rc || (q->has_ref_from &&
               (rc = reference_baselines(db, q, champion, stored_champion, ref, &nref, err))))
        goto done;
    acc *a = calloc(1, sizeof *a);
    if (!a) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto done;
    }
    a->bases = q->has_ref_from ? ref : stored;
    a->nbases = q->has_ref_from ? nref : nstored;
    for (int i = 0; a->bases && i < a->nbases; i++)
        if (!strcmp(a->bases[i].model, champion))
            a->champion = &a->bases[i];
    for (int i = 0; a->champion && i < a->champion->nfeatures; i++)
        a->fpoints[i] = json_array();
    csgp_rows *rows;
    int res = 0; /* the rollups (stabq.c) when they can answer */
    if ((rc = csgp_stabq_res(db, q, a, &res, err)) == 0 && res)
        rc = csgp_stabq_read(db, q, res, a, err);
    else if (rc == 0 && (rc = select_rows(db, q, false, q->bucket_seconds, &rows, err)) == 0) {
        int64_t bucket = 0;
        bool any = false;
        while ((rc = csgp_rows_next(rows)) == 1) {
            int64_t b = csgp_rows_int(rows, C_BUCKET);
            if (any && b != bucket)
                csgp_stab_flush(a, bucket, q->bucket_seconds);
            bucket = b;
            any = true;
            count_row(a, rows);
        }
        if (any)
            csgp_stab_flush(a, bucket, q->bucket_seconds);
        csgp_rows_free(rows);
        rc = rc < 0 ? csg_fail(err, CSGP_EDB, "reading the events failed") : 0;
    }
    if (rc == 0) {
        json_t *o = json_object(), *models = json_array(), *features = json_array();
        json_object_set_new(o, "bucket", json_string(q->bucket));
        json_object_set_new(o, "source", json_string(res ? "rollup" : "rows"));
        if (res)
            json_object_set_new(o, "rollup_seconds", json_integer(res));
        if (a->champion || a->nbases) {
            json_t *b = json_object();
            json_object_set_new(b, "source", json_string(q->has_ref_from ? "window" : "file"));
            json_object_set_new(b, "model", champion[0] ? json_string(champion) : json_null());
            if (q->has_ref_from) {
                json_object_set_new(b, "from", json_string(q->ref_from));
                json_object_set_new(b, "to", json_string(q->ref_to));
            }
            json_object_set_new(o, "baseline", b);
        } else {
            json_object_set_new(o, "baseline", json_null());
            csgp_add_note(o, "no baseline loaded: POST /baselines (models/*.baseline.json) or "
                             "give reference_from and reference_to");
        }
        if (champion[0] && !a->champion && (a->nbases || q->has_ref_from))
            csgp_add_note(o, "the champion has no baseline: no feature CSI");
        qsort(a->models, (size_t)a->nmodels, sizeof *a->models, cmp_model);
        for (int k = 0; k < a->nmodels; k++) {
            json_array_append_new(models,
                                  series("model", a->models[k].name, a->models[k].points));
            a->models[k].points = NULL;
        }
        for (int i = 0; a->champion && i < a->champion->nfeatures; i++) {
            json_t *f = series("name", a->champion->features[i].name, a->fpoints[i]);
            a->fpoints[i] = NULL;
            json_object_set_new(f, "latest", a->last_n ? latest_bins(a, i) : json_null());
            json_array_append_new(features, f);
        }
        json_object_set_new(o, "models", models);
        json_object_set_new(o, "features", features);
        if (a->models_left_out)
            csgp_add_note(o, "more than 16 models: the rest are left out");
        if (a->truncated)
            csgp_add_note(o, "more than 50000 points: truncated; narrow from/to or use a "
                             "larger bucket");
        *out = o;
    }
    for (int k = 0; k < a->nmodels; k++)
        json_decref(a->models[k].points);
    for (int i = 0; i < CSG_EVENT_MAX_FEATURES; i++)
        json_decref(a->fpoints[i]);
    free(a);
done:
    for (int i = 0; i < nref; i++)
        csgp_baseline_free(&ref[i]);
    free(ref);
    for (int i = 0; i < nstored; i++)
        csgp_baseline_free(&stored[i]);
    free(stored);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Prometheus gauges                                                        */

#define HOUR_MS 3600000

void csgp_stability_gauges_reset(csgp_stability_gauges *cache)
{
    free(cache->text);
    cache->text = NULL;
    cache->hour_ms = 0;
}

/* "name{label="value"} v" with the label value escaped as the text format wants. */
static void gauge_line(char **buf, size_t *len, size_t *cap, const char *metric,
                       const char *label, const char *value, double v)
{
    char esc[2 * 256 + 1];
    size_t n = 0;
    for (const char *p = value; *p && n < sizeof esc - 2; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n')
            esc[n++] = '\\';
        esc[n++] = *p == '\n' ? 'n' : *p;
    }
    esc[n] = '\0';
    char line[700];
    int w = snprintf(line, sizeof line, "%s{%s=\"%s\"} %.17g\n", metric, label, esc, v);
    if (w < 0 || (size_t)w >= sizeof line)
        return;
    if (*len + (size_t)w + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 1024) + (size_t)w;
        char *p = realloc(*buf, nc);
        if (!p)
            return;
        *buf = p;
        *cap = nc;
    }
    memcpy(*buf + *len, line, (size_t)w + 1);
    *len += (size_t)w;
}

/* The gauge lines of one series kind ("models"/"psi" or "features"/"csi"). */
static void gauges_of(json_t *body, const char *list, const char *key, const char *value_key,
                      const char *metric, const char *label, const char *help, char **buf,
                      size_t *len, size_t *cap)
{
    char head[300];
    snprintf(head, sizeof head, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
    size_t n = strlen(head);
    if (*len + n + 1 > *cap) {
        char *p = realloc(*buf, *cap + n + 1024);
        if (!p)
            return;
        *buf = p;
        *cap += n + 1024;
    }
    memcpy(*buf + *len, head, n + 1);
    *len += n;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(body, list), i, s) {
        json_t *points = json_object_get(s, "points");
        json_t *last = json_array_get(points, json_array_size(points) - 1);
        json_t *v = json_object_get(last, value_key);
        if (json_is_number(v))
            gauge_line(buf, len, cap, metric, label, json_string_value(json_object_get(s, key)),
                       json_number_value(v));
    }
}

int csgp_stability_gauges_text(csgp_db *db, int64_t now_ms, csgp_stability_gauges *cache,
                               const char **text, csg_error *err)
{
    int64_t hour = now_ms / HOUR_MS * HOUR_MS;
    if (cache->text && cache->hour_ms == hour) {
        *text = cache->text;
        return 0;
    }
    csgp_query q;
    csgp_query_error qerr;
    if (csgp_query_parse(CSGP_Q_STABILITY, "bucket=1h", &q, &qerr))
        return csg_fail(err, CSG_EINVAL, "%s", qerr.message);
    q.has_from = q.has_to = true;
    q.from_ms = hour - HOUR_MS;
    q.to_ms = hour;
    csgp_format_ms(q.from_ms, q.from);
    csgp_format_ms(q.to_ms, q.to);
    json_t *body;
    int rc = csgp_stability_json(db, &q, &body, err);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    gauges_of(body, "models", "model", "psi", "csgp_psi", "model",
              "Score PSI against the model's baseline over the latest complete hour.", &buf,
              &len, &cap);
    gauges_of(body, "features", "name", "csi", "csgp_csi", "feature",
              "Feature CSI against the champion's baseline over the latest complete hour.", &buf,
              &len, &cap);
    json_decref(body);
    if (!buf)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    free(cache->text);
    cache->text = buf;
    cache->hour_ms = hour;
    *text = buf;
    return 0;
}
