/* segments.c — GET /metrics/segments by a column or any feature (see segments.h). */
#include "segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
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

/* Edges or values, the special segments, and one JSON object per segment. */
static int make_bands(csgp_db *db, const csgp_query *q, bands *bd, json_t **seg, csg_error *err)
{
    bd->q = q;
    bd->f = q->by_is_feature ? &q->by_feature : NULL;
    bd->missing = bd->other = -1;
    int rc = 0;
    memcpy(bd->edges, q->bands, (size_t)q->nbands * sizeof *q->bands);
    bd->nedges = q->nbands;
    if (bd->f && bd->f->type == CSGP_FT_NUMBER && !q->nbands)
        rc = decile_edges(db, bd, err);
    else if (bd->f && bd->f->type != CSGP_FT_NUMBER)
        rc = category_values(db, bd, err);
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

int csgp_segments_json(csgp_db *db, const csgp_query *q, int res, json_t **out_json,
                       csg_error *err)
{
    bands bd = {0};
    json_t *seg_obj[MAX_SEGS] = {0};
    csgp_rows *rows = NULL;
    csgp_qb b;
    int rc = make_bands(db, q, &bd, seg_obj, err);
    if (rc)
        goto done;
    int nb = bd.nsegs;

    static const struct {
        const char *role, *model, *decision;
    } roles[] = {{"champion", "champion_model", "champion_decision"},
                 {"challenger", "challenger_model", "challenger_decision"}};
    if (res) {
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
        csgp_add_note(out, bd.nedges ? "bands are the deciles of the feature over the filtered "
                                       "events (bands= sets them)"
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
