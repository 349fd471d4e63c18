/* stabq.c — /metrics/stability from the feature-bin rollups (see stability_private.h):
 * each model's scores at its baseline's score bins (rollup_features kinds 5, 6), the
 * champion baseline's characteristics at their bins (numbers: the feature's bands, which a
 * stored baseline sets to its cuts; categories: their values), so the PSI/CSI equal the
 * rows' (stability.c) exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbins.h"
#include "rollq.h"
#include "rollup.h"
#include "sqlb.h"
#include "stability_private.h"

int csgp_stabq_res(csgp_db *db, const csgp_query *q, const acc *a, int *res, csg_error *err)
{
    *res = 0;
    if (q->source == CSGP_SOURCE_ROWS || q->has_ref_from)
        return 0;
    int r = csgp_rollup_res(q, q->bucket_seconds, false);
    if (!r || r != q->bucket_seconds)
        return 0; /* a bucket is one rollup period: 1m reads rows */
    for (int i = 0; a->champion && i < a->champion->nfeatures; i++) {
        const csgp_baseline_feature *f = &a->champion->features[i];
        if (f->category)
            continue;
        double edges[CSGP_FBINS_MAX_EDGES];
        int n = 0;
        int rc = csgp_fbins_bands(db, f->name, edges, &n, err);
        if (rc)
            return rc;
        bool same = n == f->nvalue_bins && isinf(edges[0]);
        for (int k = 1; same && k < n; k++)
            same = edges[k] == f->cuts[k - 1];
        if (!same)
            return 0; /* bands from elsewhere (another model's baseline, deciles) */
    }
    *res = r;
    return 0;
}

/* The champion baseline's feature named name, or -1. */
static int feature_index(const acc *a, const char *name)
{
    for (int i = 0; a->champion && i < a->champion->nfeatures; i++)
        if (!strcmp(a->champion->features[i].name, name))
            return i;
    return -1;
}

/* One rollup row of a bucket: (kind, name, bin, n); present[i]: feature i's rows with a
 * value of its type (the rest of fn is its missing bin). */
static void count(acc *a, int kind, const char *name, const char *bin, int64_t n, int64_t *present)
{
    if (kind == CSGP_FB_CHAMPION_SCORE || kind == CSGP_FB_CHALLENGER_SCORE) {
        model_acc *m = csgp_stab_model(a, name);
        if (!m)
            return;
        m->n += n;
        int k = bin[0] ? atoi(bin) : -1;
        if (m->base && k >= 0 && k < m->base->nscore_bins)
            m->counts[k] += n;
        return;
    }
    if (!a->champion)
        return;
    if (kind == CSGP_FB_FEATURED) {
        a->fn += n;
        return;
    }
    int i = feature_index(a, name);
    if (i < 0)
        return;
    const csgp_baseline_feature *f = &a->champion->features[i];
    int k = -1;
    if (!f->category && kind == CSGP_FB_NUMBER) {
        k = atoi(bin);
    } else if (f->category && (kind == CSGP_FB_CATEGORY || kind == CSGP_FB_BOOLEAN)) {
        k = f->nvalue_bins + 1; /* (other) unless listed */
        for (int j = 0; j < f->nvalue_bins; j++)
            if (!strcmp(bin, f->levels[j]))
                k = j;
    }
    if (k < 0 || k >= f->nbins)
        return; /* a value of another type: missing */
    a->fcounts[i][k] += n;
    present[i] += n;
}

/* The missing bins of the bucket just counted, then its points. */
static void end_bucket(acc *a, int64_t t, int res, int64_t *present)
{
    for (int i = 0; a->champion && i < a->champion->nfeatures; i++) {
        const csgp_baseline_feature *f = &a->champion->features[i];
        a->fcounts[i][f->nvalue_bins] = a->fn - present[i];
        present[i] = 0;
    }
    csgp_stab_flush(a, t / res, res);
}

int csgp_stabq_read(csgp_db *db, const csgp_query *q, int res, acc *a, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT t, kind, CASE kind WHEN %d THEN champion_model WHEN %d THEN "
                    "challenger_model ELSE feature END, bin, sum(n) FROM rollup_features",
                CSGP_FB_CHAMPION_SCORE, CSGP_FB_CHALLENGER_SCORE);
    csgp_rollq_where(&b, q, res);
    csgp_qb_add(&b, " AND kind <> %d GROUP BY 1, 2, 3, 4 ORDER BY 1", CSGP_FB_TOTAL);
    csgp_rows *rows;
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    int64_t present[CSG_EVENT_MAX_FEATURES] = {0}, t = 0;
    bool any = false;
    while ((rc = csgp_rows_next(rows)) == 1) {
        int64_t rt = csgp_rows_int(rows, 0);
        if (any && rt != t)
            end_bucket(a, t, res, present);
        t = rt;
        any = true;
        count(a, (int)csgp_rows_int(rows, 1), csgp_rows_text(rows, 2), csgp_rows_text(rows, 3),
              csgp_rows_int(rows, 4), present);
    }
    if (any && rc == 0)
        end_bucket(a, t, res, present);
    csgp_rows_free(rows);
    return rc < 0 ? csg_fail(err, CSGP_EDB, "reading rollup_features failed") : 0;
}
