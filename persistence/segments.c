/* segments.c — GET /metrics/segments by a column or any feature (see segments.h). */
#include "segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "fbins.h"
#include "jsonout.h"
#include "perf.h"
#include "rollq.h"
#include "sqlb.h"

#define MAX_VALUES 100                                     /* category segments */
#define MAX_SEGS (MAX_VALUES + 2)                          /* + (other) + (missing) */
_Static_assert(CSGP_QUERY_MAX_BANDS + 1 <= MAX_SEGS, "numeric bands + (missing)");

/* The bands of one request: numeric edges or category values, and where the rows
 * without a value (missing) and with a value beyond the list (other) go (-1: nowhere). */
typedef struct bands {
    const csgp_query *q;
    const csgp_query_feature *f; /* NULL: by is a column */
    double edges[CSGP_QUERY_MAX_BANDS];
    char *values[MAX_VALUES]; /* malloc'd */
    int nedges, nvalues, missing, other, nsegs;
} bands;

/* The row's value of by, as an SQL expression. */
static void by_expr(csgp_qb *b, const bands *bd)
{
    if (bd->f)
        csgp_features_expr(b, bd->f);
    else
        csgp_qb_add(b, "%s", bd->q->by); /* one of query.c's column constants */
}

/* The segment index of each row, "… AS band" (NULL: in no segment). */
static void band_expr(csgp_qb *b, const bands *bd)
{
    if (bd->f && bd->f->type != CSGP_FT_NUMBER) {
        /* CASE x WHEN v0 THEN 0 … ELSE (missing or other) END: x evaluated once. */
        if (bd->nvalues) {
            csgp_qb_add(b, "CASE (");
            by_expr(b, bd);
            csgp_qb_add(b, ")");
        }
        for (int k = 0; k < bd->nvalues; k++) {
            csgp_qb_add(b, " WHEN ");
            csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = bd->values[k]}, NULL);
            csgp_qb_add(b, " THEN %d", k);
        }
        csgp_qb_add(b, "%sCASE WHEN (", bd->nvalues ? " ELSE " : "");
        by_expr(b, bd);
        csgp_qb_add(b, ") IS NULL THEN %d ELSE %d END%s AS band", bd->missing, bd->other,
                    bd->nvalues ? " END" : "");
        return;
    }
    csgp_qb_add(b, "CASE");
    if (bd->missing >= 0) {
        csgp_qb_add(b, " WHEN (");
        by_expr(b, bd);
        csgp_qb_add(b, ") IS NULL THEN %d", bd->missing);
    }
    for (int k = bd->nedges - 1; k >= 0; k--) {
        csgp_qb_add(b, " WHEN (");
        by_expr(b, bd);
        if (isinf(bd->edges[k])) { /* a baseline's first bin: open below */
            csgp_qb_add(b, ") IS NOT NULL THEN %d", k);
            continue;
        }
        csgp_qb_add(b, ") >= ");
        csgp_qb_real(b, bd->edges[k]);
        csgp_qb_add(b, " THEN %d", k);
    }
    csgp_qb_add(b, " END AS band");
}

/* After a select list over x: " FROM (SELECT <by> AS x FROM table WHERE filters) s WHERE
 * x IS NOT NULL". */
static void qb_values_of_by(csgp_qb *b, const bands *bd)
{
    csgp_qb_add(b, " FROM (SELECT ");
    by_expr(b, bd);
    csgp_qb_add(b, " AS x FROM %s", csgp_qb_table(bd->q, false));
    csgp_qb_where(b, bd->q);
    csgp_qb_add(b, ") s WHERE x IS NOT NULL");
}

/* Deciles of a number feature over the filtered rows: the minimum, then each distinct
 * decile above it. No rows: no edges. */
static int decile_edges(csgp_db *db, bands *bd, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT min(x)");
    static const char *const p[] = {"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        csgp_qb_add(&b, ", ");
        csgp_qb_pct(&b, "x", p[i]);
    }
    qb_values_of_by(&b, bd);
    csgp_rows *rows;
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    if (csgp_rows_next(rows) == 1)
        for (int c = 0; c < 10; c++)
            if (!csgp_rows_null(rows, c)) {
                double v = csgp_rows_real(rows, c);
                if (bd->nedges == 0 || v > bd->edges[bd->nedges - 1])
                    bd->edges[bd->nedges++] = v;
            }
    csgp_rows_free(rows);
    return 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The values of a category or boolean feature in the filtered rows, smallest first. */
static int category_values(csgp_db *db, bands *bd, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT x");
    qb_values_of_by(&b, bd);
    csgp_qb_add(&b, csgp_qb_pg(&b) ? " GROUP BY x ORDER BY x COLLATE \"C\" LIMIT %d"
                                   : " GROUP BY x ORDER BY x LIMIT %d",
                MAX_VALUES + 1);
    csgp_rows *rows;
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        if (bd->nvalues == MAX_VALUES) {
            bd->other = 0; /* numbered below */
            break;
        }
        if (!(bd->values[bd->nvalues] = strdup(csgp_rows_text(rows, 0)))) {
            s = -1;
            break;
        }
        bd->nvalues++;
    }
    csgp_rows_free(rows);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading feature values failed");
    qsort(bd->values, (size_t)bd->nvalues, sizeof *bd->values, by_text);
    return 0;
}

/* rollup_features.kind of the feature's type. */
static int fb_kind(const bands *bd)
{
    return bd->f->type == CSGP_FT_NUMBER     ? CSGP_FB_NUMBER
           : bd->f->type == CSGP_FT_CATEGORY ? CSGP_FB_CATEGORY
                                             : CSGP_FB_BOOLEAN;
}

/* " FROM <rollup_features or its per-challenger table> WHERE … AND feature IN ('', name)
 * AND kind IN (0, its kind)": the feature's bins and the keys' totals, for a side of the
 * query (csgp_rollq_from). */
static void fb_where(csgp_qb *b, const bands *bd, int res, bool challenger_side)
{
    csgp_rollq_from(b, bd->q, res, CSGP_R_FEATURES, challenger_side);
    csgp_qb_add(b, " AND feature IN ('', ");
    csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = bd->f->name}, "text");
    csgp_qb_add(b, ") AND kind IN (%d, %d)", CSGP_FB_TOTAL, fb_kind(bd));
}

/* The values of a category or boolean feature in the rollups, as category_values. */
static int rollup_values(csgp_db *db, bands *bd, int res, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT bin");
    fb_where(&b, bd, res, false);
    csgp_qb_add(&b, " AND kind <> %d GROUP BY bin", CSGP_FB_TOTAL);
    csgp_rows *rows;
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    char **all = NULL;
    size_t n = 0, cap = 0;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **na = realloc(all, cap * sizeof *na); // NOLINT(bugprone-sizeof-expression)
            if (!na) {
                s = -1;
                break;
            }
            all = na;
        }
        if (!(all[n] = strdup(csgp_rows_text(rows, 0)))) {
            s = -1;
            break;
        }
        n++;
    }
    csgp_rows_free(rows);
    if (s == 0 && n) {
        qsort(all, n, sizeof *all, by_text); // NOLINT(bugprone-sizeof-expression)
        for (size_t i = 0; i < n; i++) {
            if (i < MAX_VALUES) {
                bd->values[bd->nvalues++] = all[i];
                continue;
            }
            bd->other = 0; /* numbered by make_bands */
            free(all[i]);
        }
    } else if (s) {
        for (size_t i = 0; i < n; i++)
            free(all[i]);
    }
    free(all);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading the feature-bin rollups failed") : 0;
}

/* Edges or values, the special segments, and one JSON object per segment. res: the
 * category values come from the rollups (else the rows). */
static int make_bands(csgp_db *db, const csgp_query *q, int res, bands *bd, json_t **seg,
                      csg_error *err)
{
    bd->q = q;
    bd->f = q->by_is_feature ? &q->by_feature : NULL;
    bd->missing = bd->other = -1;
    int rc = 0;
    memcpy(bd->edges, q->bands, (size_t)q->nbands * sizeof *q->bands);
    bd->nedges = q->nbands;
    if (bd->f && bd->f->type == CSGP_FT_NUMBER && !q->nbands) {
        /* the feature's fixed bands (fbins.h); deciles of the rows before any is frozen */
        if (!(rc = csgp_fbins_bands(db, bd->f->name, bd->edges, &bd->nedges, err)) &&
            !bd->nedges)
            rc = decile_edges(db, bd, err);
    } else if (bd->f && bd->f->type != CSGP_FT_NUMBER) {
        rc = res ? rollup_values(db, bd, res, err) : category_values(db, bd, err);
    }
    if (rc)
        return rc;
    int n = bd->nvalues ? bd->nvalues : bd->nedges;
    for (int k = 0; k < n; k++) {
        char lo[40], hi[40], label[100];
        if (!bd->nvalues) {
            csgp_format_double(bd->edges[k], lo, sizeof lo);
            if (k + 1 < n)
                csgp_format_double(bd->edges[k + 1], hi, sizeof hi);
            else
                snprintf(hi, sizeof hi, "inf");
            snprintf(label, sizeof label, "[%s,%s)", lo, hi);
        }
        seg[k] = json_pack("{s:s, s:i, s:n, s:[]}", "band", bd->nvalues ? bd->values[k] : label,
                           "count", 0, "divergence_rate", "models");
    }
    if (bd->other >= 0) {
        bd->other = n;
        seg[n++] = json_pack("{s:s, s:i, s:n, s:[]}", "band", "(other)", "count", 0,
                             "divergence_rate", "models");
    }
    if (bd->f) {
        bd->missing = n;
        seg[n++] = json_pack("{s:s, s:i, s:n, s:[]}", "band", "(missing)", "count", 0,
                             "divergence_rate", "models");
    }
    bd->nsegs = n;
    return 0;
}

/* The segment of a rollup_features bin: -1 for the key's totals and for a number below
 * the first edge (in no segment, but not missing either). */
static int seg_of_bin(const bands *bd, int kind, const char *bin)
{
    if (kind == CSGP_FB_TOTAL)
        return -1;
    if (kind == CSGP_FB_NUMBER) {
        int k = atoi(bin);
        return k >= 0 && k < bd->nedges ? k : -1;
    }
    char *const *v = bsearch(&bin, bd->values, (size_t)bd->nvalues, sizeof *bd->values, by_text);
    return v ? (int)(v - bd->values) : bd->other;
}

/* Counts summed over one group of rollup rows (a model, or all): per segment and in all,
 * and the rows holding the feature (the rest is "(missing)"). */
typedef struct fsum {
    int64_t seg[MAX_SEGS][3], total[3], present[3];
} fsum;

static void fsum_add(fsum *a, const bands *bd, csgp_rows *rows, int c)
{
    int kind = (int)csgp_rows_int(rows, c);
    int k = seg_of_bin(bd, kind, csgp_rows_text(rows, c + 1));
    for (int i = 0; i < 3; i++) {
        int64_t v = csgp_rows_int(rows, c + 2 + i);
        if (kind == CSGP_FB_TOTAL) {
            a->total[i] += v;
            continue;
        }
        a->present[i] += v;
        if (k >= 0)
            a->seg[k][i] += v;
    }
}

/* "(missing)": the totals less the rows holding the feature (a value of its type). */
static void fsum_missing(fsum *a, const bands *bd)
{
    for (int i = 0; i < 3 && bd->missing >= 0; i++)
        a->seg[bd->missing][i] = a->total[i] - a->present[i];
}

/* Segments by a feature from rollup_features (the rows' answer: see docs/persistence.md). */
static int feature_rollups(csgp_db *db, const bands *bd, int res, json_t **seg, csg_error *err)
{
    static const struct {
        const char *role, *model, *decided, *approved, *cond;
    } roles[] = {{"champion", "champion_model", "champion_decided", "champion_approved", ""},
                 {"challenger", "challenger_model", "challenger_decided", "challenger_approved",
                  " AND challenger_model <> ''"}};
    fsum *a = calloc(1, sizeof *a);
    if (!a)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    csgp_qb b;
    csgp_rows *rows;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT kind, bin, sum(%s), sum(both_decided), sum(diverge)",
                csgp_rollq_requests(bd->q));
    fb_where(&b, bd, res, true);
    csgp_qb_add(&b, " GROUP BY kind, bin");
    int rc = csgp_qb_run(&b, &rows, err), s = 0;
    if (rc)
        goto done;
    while ((s = csgp_rows_next(rows)) == 1)
        fsum_add(a, bd, rows, 0);
    csgp_rows_free(rows);
    if (s < 0)
        goto fail;
    fsum_missing(a, bd);
    for (int k = 0; k < bd->nsegs; k++)
        if (a->seg[k][0]) {
            json_object_set_new(seg[k], "count", json_integer(a->seg[k][0]));
            json_object_set_new(seg[k], "divergence_rate", csgp_jratio(a->seg[k][2], a->seg[k][1]));
        }
    for (int r = 0; r < 2; r++) {
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT %s, kind, bin, sum(n), sum(%s), sum(%s)", roles[r].model,
                    roles[r].approved, roles[r].decided);
        fb_where(&b, bd, res, r == 1);
        csgp_qb_add(&b, "%s GROUP BY %s, kind, bin ORDER BY %s", roles[r].cond, roles[r].model,
                    roles[r].model);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        char model[CSG_EVENT_NAME_MAX + 1] = "";
        bool any = false;
        for (;;) {
            s = csgp_rows_next(rows);
            if (s == 1 && any && !strcmp(model, csgp_rows_text(rows, 0))) {
                fsum_add(a, bd, rows, 1);
                continue;
            }
            if (any)
                fsum_missing(a, bd);
            for (int k = 0; any && k < bd->nsegs; k++) /* the model before: its segments */
                if (a->seg[k][0])
                    json_array_append_new(json_object_get(seg[k], "models"),
                                          csgp_band_model(model, roles[r].role, a->seg[k][0],
                                                          a->seg[k][1], a->seg[k][2]));
            if (s != 1)
                break;
            memset(a, 0, sizeof *a);
            snprintf(model, sizeof model, "%s", csgp_rows_text(rows, 0));
            any = true;
            fsum_add(a, bd, rows, 1);
        }
        csgp_rows_free(rows);
        if (s < 0)
            goto fail;
    }
    goto done;
fail:
    rc = csg_fail(err, CSGP_EDB, "reading the feature-bin rollups failed");
done:
    free(a);
    return rc;
}

int csgp_segments_json(csgp_db *db, const csgp_query *q, int res, json_t **out_json,
                       csg_error *err)
{
    bands bd = {0};
    json_t *seg_obj[MAX_SEGS] = {0};
    csgp_rows *rows = NULL;
    csgp_qb b;
    int rc = make_bands(db, q, res, &bd, seg_obj, err);
    if (rc)
        goto done;
    int nb = bd.nsegs;

    static const struct {
        const char *role, *model, *decision;
    } roles[] = {{"champion", "champion_model", "champion_decision"},
                 {"challenger", "challenger_model", "challenger_decision"}};
    if (res && bd.f) {
        if ((rc = feature_rollups(db, &bd, res, seg_obj, err)))
            goto done;
    } else if (res) {
        if ((rc = csgp_rollq_segments(db, q, res, seg_obj, nb, err)))
            goto done;
    } else {
        /* Divergence over request–challenger pairs; each request counted once. */
        const char *src = csgp_qb_table(q, true);
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT band, count(DISTINCT id), coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " THEN 1 ELSE 0 END), 0), "
                        "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision <> challenger_decision "
                        "THEN 1 ELSE 0 END), 0) FROM (SELECT ");
        band_expr(&b, &bd);
        csgp_qb_add(&b, ", id, champion_decision, challenger_decision FROM %s", src);
        csgp_qb_where(&b, q);
        csgp_qb_add(&b, ") s WHERE band IS NOT NULL GROUP BY band");
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        while (csgp_rows_next(rows) == 1) {
            int64_t k = csgp_rows_int(rows, 0);
            if (k < 0 || k >= nb)
                continue;
            int64_t both = csgp_rows_int(rows, 2);
            json_object_set_new(seg_obj[k], "count", json_integer(csgp_rows_int(rows, 1)));
            json_object_set_new(seg_obj[k], "divergence_rate", csgp_jratio(csgp_rows_int(rows, 3), both));
        }
        csgp_rows_free(rows);
        rows = NULL;
        for (int k = 0; k < 2; k++) {
            csgp_qb_init(&b, db);
            csgp_qb_add(&b, "SELECT band, m, count(*), coalesce(sum(CASE WHEN d = 'approve' THEN 1 "
                            "ELSE 0 END), 0), count(d) FROM (SELECT ");
            band_expr(&b, &bd);
            csgp_qb_add(&b, ", %s AS m, %s AS d FROM %s", roles[k].model, roles[k].decision,
                        csgp_qb_table(q, k == 1));
            csgp_qb_where(&b, q);
            csgp_qb_add(&b, " AND %s IS NOT NULL) s WHERE band IS NOT NULL GROUP BY band, m ORDER BY "
                            "band, m", roles[k].model);
            if ((rc = csgp_qb_run(&b, &rows, err)))
                goto done;
            int s = csgp_band_models(rows, roles[k].role, seg_obj, nb);
            csgp_rows_free(rows);
            rows = NULL;
            if (s) {
                rc = csg_fail(err, CSGP_EDB, "reading rows failed");
                goto done;
            }
        }
    }
    for (int k = 0; k < nb; k++) {
        if (json_is_null(json_object_get(seg_obj[k], "divergence_rate")))
            csgp_add_note(seg_obj[k], json_integer_value(json_object_get(seg_obj[k], "count"))
                                          ? "no event in this band where the challenger answered"
                                          : "no events in this band");
    }

    /* Outcome columns: each model's labelled applicants, once each by the latest event
     * that model scored (its band from that event); see docs/analytics.md. */
    bool labelled = false;
    bool any_outcome = true;
    if (res) { /* from rollups: the rows are read only when there are outcomes to join */
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT 1 FROM loan_outcomes LIMIT 1");
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        any_outcome = csgp_rows_next(rows) == 1;
        csgp_rows_free(rows);
        rows = NULL;
    }
    for (int k = 0; k < 2 && any_outcome; k++) {
        const char *score_col = k ? "challenger_score" : "champion_score";
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT s.m, s.applicant_id, s.band, s.score, o.defaulted FROM (SELECT ");
        band_expr(&b, &bd);
        csgp_qb_add(&b, ", %s AS m, %s AS score, applicant_id, \"timestamp\" AS ts, id FROM %s",
                    roles[k].model, score_col, csgp_qb_table(q, k == 1));
        csgp_qb_where(&b, q);
        csgp_qb_add(&b, " AND %s IS NOT NULL AND %s IS NOT NULL) s JOIN loan_outcomes o ON "
                        "o.applicant_id = s.applicant_id ORDER BY s.m, s.applicant_id, s.ts DESC, "
                        "s.id DESC",
                    roles[k].model, score_col);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        rc = csgp_segment_outcomes_from_rows(rows, roles[k].role, seg_obj, nb, &labelled, err);
        csgp_rows_free(rows);
        rows = NULL;
        if (rc)
            goto done;
    }
    if (labelled)
        csgp_segment_outcomes_fill(seg_obj, nb);

    json_t *out = json_object(), *segs = json_array();
    json_object_set_new(out, "by", json_string(q->by));
    if (bd.f)
        json_object_set_new(out, "type", json_string(csgp_feature_type_name(bd.f->type)));
    json_object_set_new(out, "segments", segs);
    for (int k = 0; k < nb; k++) {
        bool special = k == bd.missing || k == bd.other;
        if (special && !json_integer_value(json_object_get(seg_obj[k], "count")))
            continue; /* "(missing)" / "(other)" only when they hold rows */
        json_array_append(segs, seg_obj[k]);
    }
    if (bd.f && bd.f->type == CSGP_FT_NUMBER && !q->nbands)
        csgp_add_note(out, bd.nedges ? "bands are the feature's fixed bands: its baseline's "
                                       "bins, else the deciles of the first events that held "
                                       "it (bands= sets them)"
                                     : "no event holds this feature: no deciles");
    *out_json = out;
done:
    csgp_rows_free(rows);
    for (int k = 0; k < MAX_SEGS; k++)
        json_decref(seg_obj[k]);
    for (int k = 0; k < bd.nvalues; k++)
        free(bd.values[k]);
    return rc;
}
