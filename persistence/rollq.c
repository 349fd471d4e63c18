/* rollq.c — the aggregate endpoints answered from the rollups (see rollq.h, rollup.h). */
#include "rollq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "rollup.h"
#include "sketch.h"
#include "sqlb.h"

/* " WHERE res = … AND t >= … AND t < … AND experiment_id = … AND challenger_model = …":
 * the filters a rollup can answer (csgp_rollup_res has checked there are no others). */
void csgp_rollq_where(csgp_qb *b, const csgp_query *q, int res)
{
    csgp_qb_add(b, " WHERE res = ");
    csgp_qb_int(b, res);
    if (q->has_from) {
        csgp_qb_add(b, " AND t >= ");
        csgp_qb_int(b, q->from_ms / 1000);
    }
    if (q->has_to) {
        csgp_qb_add(b, " AND t < ");
        csgp_qb_int(b, q->to_ms / 1000);
    }
    if (q->experiment_id[0]) {
        csgp_qb_add(b, " AND experiment_id = ");
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = q->experiment_id}, NULL);
    }
    if (q->challenger_model[0]) {
        csgp_qb_add(b, " AND challenger_model = ");
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = q->challenger_model}, NULL);
    }
}

#define where csgp_rollq_where

/* Which rollups answer a part of q, as csgp_qb_table picks the rows' source: the
 * per-challenger ones (rollup_pairs.c) for an arm, and for the challenger's side once some
 * request has several challengers. */
static const char *const tables[CSGP_R_TABLES][2] = {
    [CSGP_R_COUNTS] = {"rollup_counts", "rollup_pair_counts"},
    [CSGP_R_LATENCY] = {"rollup_latency", "rollup_pair_latency"},
    [CSGP_R_SCORES] = {"rollup_scores", "rollup_pair_scores"},
    [CSGP_R_SEGMENTS] = {"rollup_segments", "rollup_pair_segments"},
    [CSGP_R_REASONS] = {"rollup_reason_codes", "rollup_pair_reason_codes"},
    [CSGP_R_FEATURES] = {"rollup_features", "rollup_pair_features"},
};

bool csgp_rollq_on_pairs(const csgp_query *q, bool challenger_side)
{
    return q->arm[0] || (challenger_side && q->pairs);
}

void csgp_rollq_from(csgp_qb *b, const csgp_query *q, int res, csgp_rollq_table table,
                     bool challenger_side)
{
    bool pairs = csgp_rollq_on_pairs(q, challenger_side);
    csgp_qb_add(b, " FROM %s", tables[table][pairs]);
    where(b, q, res);
    if (pairs && q->arm[0]) {
        csgp_qb_add(b, " AND arm = ");
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = q->arm}, NULL);
    }
}

const char *csgp_rollq_requests(const csgp_query *q)
{
    return !csgp_rollq_on_pairs(q, true) || q->challenger_model[0] ? "n"
           : q->arm[0]                                 ? "arm_first"
                                                       : "ev_first";
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? d - 1 : d;
}

/* Latency of one model: the merged sketch, the sum and the count. */
typedef struct model_lat {
    char model[256];
    csgp_sketch sk;
    double sum;
    int64_t n;
} model_lat;

static void lat_json(json_t *lat, model_lat *m)
{
    json_object_set_new(lat, "avg", m && m->n ? csgp_jreal(m->sum / (double)m->n) : json_null());
    json_object_set_new(lat, "p50", m ? csgp_jreal(csgp_sketch_percentile(&m->sk, 0.5)) : json_null());
    json_object_set_new(lat, "p95", m ? csgp_jreal(csgp_sketch_percentile(&m->sk, 0.95)) : json_null());
    json_object_set_new(lat, "p99", m ? csgp_jreal(csgp_sketch_percentile(&m->sk, 0.99)) : json_null());
}

#define MAX_MODELS 256

int csgp_rollq_summary(csgp_db *db, const csgp_query *q, int res, json_t **out_json,
                       csg_error *err)
{
    csgp_rows *rows = NULL;
    csgp_qb b;
    int rc = 0;
    json_t *out = json_object();
    model_lat *lat = calloc(MAX_MODELS, sizeof *lat);
    size_t nlat = 0;
    if (!lat) {
        json_decref(out);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }

    /* Over challenger results, requests are counted once (as the rows' count(DISTINCT
     * event_id)): one result per model and request, else each request's first result (in
     * the arm). */
    bool pairs = csgp_rollq_on_pairs(q, true);
    const char *requests = csgp_rollq_requests(q);
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT coalesce(sum(%s), 0), coalesce(sum(%s), 0), "
                    "coalesce(sum(sum_diff), 0), coalesce(sum(n_diff), 0), "
                    "coalesce(sum(both_decided), 0), coalesce(sum(diverge), 0), "
                    "coalesce(sum(both_approve), 0), coalesce(sum(both_decline), 0), "
                    "coalesce(sum(champion_only_approve), 0), "
                    "coalesce(sum(challenger_only_approve), 0)",
                requests, pairs ? requests : "with_challenger");
    csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, true);
    if ((rc = csgp_qb_run(&b, &rows, err)))
        goto done;
    if (csgp_rows_next(rows) != 1) {
        rc = csg_fail(err, CSGP_EDB, "reading rollup_counts failed");
        goto done;
    }
    json_t *models = csgp_summary_totals(out, rows, true);
    csgp_rows_free(rows);
    rows = NULL;
    if (pairs && !q->arm[0]) {
        /* Requests without any challenger have no result: total from every request. */
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT coalesce(sum(n), 0)");
        csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, false);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        if (csgp_rows_next(rows) != 1) {
            rc = csg_fail(err, CSGP_EDB, "reading rollup_counts failed");
            goto done;
        }
        csgp_summary_set_total(out, csgp_rows_int(rows, 0));
        csgp_rows_free(rows);
        rows = NULL;
    }

    static const struct {
        const char *role, *model, *decided, *approved, *count, *lat_n, *cond;
    } roles[] = {{"champion", "champion_model", "champion_decided", "champion_approved", "n",
                  "n", ""},
                 {"challenger", "challenger_model", "challenger_decided", "challenger_approved",
                  "n", "challenger_answered", " AND challenger_model <> ''"}};
    for (int k = 0; k < 2; k++) {
        /* The role's sketches per model. */
        nlat = 0;
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT model, sketch, count, total");
        csgp_rollq_from(&b, q, res, CSGP_R_LATENCY, k == 1);
        csgp_qb_add(&b, " AND role = %d ORDER BY model", k);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        int s;
        while ((s = csgp_rows_next(rows)) == 1) {
            const char *model = csgp_rows_text(rows, 0);
            if (!nlat || strcmp(lat[nlat - 1].model, model)) {
                if (nlat == MAX_MODELS)
                    break;
                snprintf(lat[nlat++].model, sizeof lat->model, "%s", model);
            }
            model_lat *m = &lat[nlat - 1];
            if (csgp_sketch_parse(&m->sk, csgp_rows_text(rows, 1))) {
                rc = csg_fail(err, CSGP_EDB, "a malformed latency sketch in rollup_latency");
                goto done;
            }
            m->n += csgp_rows_int(rows, 2);
            m->sum += csgp_rows_real(rows, 3);
        }
        csgp_rows_free(rows);
        rows = NULL;
        if (s < 0) {
            rc = csg_fail(err, CSGP_EDB, "reading rollup_latency failed");
            goto done;
        }

        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT %s, sum(%s), sum(%s), sum(%s), sum(%s)", roles[k].model,
                    roles[k].count, roles[k].approved, roles[k].decided, roles[k].lat_n);
        csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, k == 1);
        csgp_qb_add(&b, "%s GROUP BY %s ORDER BY %s", roles[k].cond, roles[k].model,
                    roles[k].model);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            goto done;
        while ((s = csgp_rows_next(rows)) == 1) {
            const char *model = csgp_rows_text(rows, 0);
            model_lat *ml = NULL;
            for (size_t i = 0; i < nlat && !ml; i++)
                if (!strcmp(lat[i].model, model))
                    ml = &lat[i];
            json_t *l = json_object();
            lat_json(l, ml);
            json_array_append_new(models, csgp_summary_model(model, roles[k].role,
                                                             csgp_rows_int(rows, 1), l,
                                                             csgp_rows_int(rows, 2),
                                                             csgp_rows_int(rows, 3),
                                                             csgp_rows_int(rows, 4)));
        }
        csgp_rows_free(rows);
        rows = NULL;
        for (size_t i = 0; i < nlat; i++)
            csgp_sketch_free(&lat[i].sk);
        memset(lat, 0, nlat * sizeof *lat);
        nlat = 0;
        if (s < 0) {
            rc = csg_fail(err, CSGP_EDB, "reading rollup_counts failed");
            goto done;
        }
    }

    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT status, sum(n)");
    csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, false);
    csgp_qb_add(&b, " GROUP BY status ORDER BY status");
    if ((rc = csgp_qb_run(&b, &rows, err)))
        goto done;
    json_t *status = json_object();
    while (csgp_rows_next(rows) == 1)
        json_object_set_new(status, csgp_rows_text(rows, 0), json_integer(csgp_rows_int(rows, 1)));
    json_object_set_new(out, "status", status);
done:
    csgp_rows_free(rows);
    for (size_t i = 0; i < nlat; i++)
        csgp_sketch_free(&lat[i].sk);
    free(lat);
    if (rc)
        json_decref(out);
    else
        *out_json = out;
    return rc;
}

int csgp_rollq_latency(csgp_db *db, const csgp_query *q, int res, json_t *series,
                       size_t max_points, bool *truncated, csg_error *err)
{
    static const char *const role_names[2] = {"champion", "challenger"};
    int64_t secs = q->bucket_seconds;
    size_t total_points = 0;
    csgp_sketch sk = {0};
    int rc = 0;
    for (int k = 0; k < 2 && !*truncated; k++) {
        csgp_qb b;
        csgp_rows *rows = NULL;
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT model, t, sketch, count, total");
        csgp_rollq_from(&b, q, res, CSGP_R_LATENCY, k == 1);
        csgp_qb_add(&b, " AND role = %d ORDER BY model, t", k);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            break;
        json_t *points = NULL;
        char cur_model[256] = "";
        int64_t cur_pt = 0, n = 0;
        double sum = 0.0;
        bool open = false;
        int s;
        /* Emit the point being merged. */
#define EMIT()                                                                                  \
    do {                                                                                        \
        if (open) {                                                                             \
            char ts[CSGP_TS_SIZE];                                                              \
            csgp_format_ms(cur_pt * secs * 1000, ts);                                           \
            json_t *po = json_object();                                                         \
            json_object_set_new(po, "t", json_string(ts));                                      \
            json_object_set_new(po, "count", json_integer(n));                                  \
            json_object_set_new(po, "avg", csgp_jreal(sum / (double)n));                        \
            json_object_set_new(po, "p50", csgp_jreal(csgp_sketch_percentile(&sk, 0.5)));       \
            json_object_set_new(po, "p95", csgp_jreal(csgp_sketch_percentile(&sk, 0.95)));      \
            json_object_set_new(po, "p99", csgp_jreal(csgp_sketch_percentile(&sk, 0.99)));      \
            json_array_append_new(points, po);                                                  \
            open = false;                                                                       \
        }                                                                                       \
    } while (0)
        while ((s = csgp_rows_next(rows)) == 1) {
            const char *model = csgp_rows_text(rows, 0);
            int64_t pt = floor_div(csgp_rows_int(rows, 1), secs);
            bool new_model = !points || strcmp(model, cur_model);
            if (new_model || pt != cur_pt)
                EMIT(); /* closes the open point, if any */
            if (!open) {
                if (++total_points > max_points) {
                    *truncated = true;
                    break;
                }
                if (new_model) {
                    json_t *cur = json_object();
                    snprintf(cur_model, sizeof cur_model, "%s", model);
                    json_object_set_new(cur, "model", json_string(model));
                    json_object_set_new(cur, "role", json_string(role_names[k]));
                    points = json_array();
                    json_object_set_new(cur, "points", points);
                    json_array_append_new(series, cur);
                }
                cur_pt = pt;
                n = 0;
                sum = 0.0;
                csgp_sketch_reset(&sk);
                open = true;
            }
            if (csgp_sketch_parse(&sk, csgp_rows_text(rows, 2))) {
                s = -2;
                break;
            }
            n += csgp_rows_int(rows, 3);
            sum += csgp_rows_real(rows, 4);
        }
        if (s >= 0 && !*truncated)
            EMIT();
#undef EMIT
        csgp_rows_free(rows);
        if (s == -2) {
            rc = csg_fail(err, CSGP_EDB, "a malformed latency sketch in rollup_latency (or "
                                          "out of memory)");
            break;
        }
        if (s < 0) {
            rc = csg_fail(err, CSGP_EDB, "reading rollup_latency failed");
            break;
        }
    }
    csgp_sketch_free(&sk);
    return rc;
}

int csgp_rollq_distribution(csgp_db *db, const csgp_query *q, int res, json_t *models,
                            csg_error *err)
{
    static const char *const role_names[2] = {"champion", "challenger"};
    int64_t per = CSGP_ROLLUP_SCORE_BINS / q->bins;
    csgp_sketch bins = {0};
    for (int k = 0; k < 2; k++) {
        csgp_qb b;
        csgp_rows *rows = NULL;
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT model, sketch");
        csgp_rollq_from(&b, q, res, CSGP_R_SCORES, k == 1);
        csgp_qb_add(&b, " AND role = %d ORDER BY model", k);
        int rc = csgp_qb_run(&b, &rows, err);
        if (rc) {
            csgp_sketch_free(&bins);
            return rc;
        }
        json_t *counts = NULL;
        char cur_model[256] = "";
        int s;
        while ((s = csgp_rows_next(rows)) == 1) {
            const char *model = csgp_rows_text(rows, 0);
            if (!counts || strcmp(model, cur_model)) {
                snprintf(cur_model, sizeof cur_model, "%s", model);
                json_t *m = json_object();
                json_object_set_new(m, "model", json_string(model));
                json_object_set_new(m, "role", json_string(role_names[k]));
                counts = json_array();
                for (int64_t i = 0; i < q->bins; i++)
                    json_array_append_new(counts, json_integer(0));
                json_object_set_new(m, "counts", counts);
                json_array_append_new(models, m);
            }
            /* The row's score bins (sketch.h's form: bin:count pairs). */
            csgp_sketch_reset(&bins);
            if (csgp_sketch_parse(&bins, csgp_rows_text(rows, 1))) {
                s = -2;
                break;
            }
            for (size_t i = 0; i < bins.n; i++) {
                int64_t bin = bins.bins[i].bucket / per;
                if (bin >= 0 && bin < q->bins) {
                    json_t *c = json_array_get(counts, (size_t)bin);
                    json_integer_set(c, json_integer_value(c) + bins.bins[i].count);
                }
            }
        }
        csgp_rows_free(rows);
        if (s < 0) {
            csgp_sketch_free(&bins);
            return csg_fail(err, CSGP_EDB, s == -2 ? "a malformed score histogram in "
                                                      "rollup_scores (or out of memory)"
                                                    : "reading rollup_scores failed");
        }
    }
    csgp_sketch_free(&bins);
    return 0;
}

int csgp_rollq_segments(csgp_db *db, const csgp_query *q, int res, json_t **seg, int nb,
                        csg_error *err)
{
    csgp_qb b;
    csgp_rows *rows = NULL;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT band, sum(%s), sum(both_decided), sum(diverge)",
                csgp_rollq_requests(q));
    csgp_rollq_from(&b, q, res, CSGP_R_SEGMENTS, true);
    csgp_qb_add(&b, " AND by_col = %d GROUP BY band", q->by_column);
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    while (csgp_rows_next(rows) == 1) {
        int64_t k = csgp_rows_int(rows, 0);
        if (k < 0 || k >= nb)
            continue;
        json_object_set_new(seg[k], "count", json_integer(csgp_rows_int(rows, 1)));
        json_object_set_new(seg[k], "divergence_rate",
                            csgp_jratio(csgp_rows_int(rows, 3), csgp_rows_int(rows, 2)));
    }
    csgp_rows_free(rows);
    static const struct {
        const char *role, *model, *decided, *approved, *cond;
    } roles[] = {{"champion", "champion_model", "champion_decided", "champion_approved", ""},
                 {"challenger", "challenger_model", "challenger_decided", "challenger_approved",
                  " AND challenger_model <> ''"}};
    for (int k = 0; k < 2; k++) {
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT band, %s, sum(n), sum(%s), sum(%s)", roles[k].model,
                    roles[k].approved, roles[k].decided);
        csgp_rollq_from(&b, q, res, CSGP_R_SEGMENTS, k == 1);
        csgp_qb_add(&b, " AND by_col = %d%s GROUP BY band, %s ORDER BY band, %s", q->by_column,
                    roles[k].cond, roles[k].model, roles[k].model);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            return rc;
        int s = csgp_band_models(rows, roles[k].role, seg, nb);
        csgp_rows_free(rows);
        if (s)
            return csg_fail(err, CSGP_EDB, "reading rollup_segments failed");
    }
    return 0;
}

/* min or max ("timestamp") of the rows of q as canonical text into out ("" when none). */
static int row_edge(csgp_db *db, const csgp_query *q, const char *fn, char *out, csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csgp_qb b;
    csgp_rows *rows = NULL;
    csgp_qb_init(&b, db);
    if (pg)
        csgp_qb_add(&b, "SELECT to_char(%s(\"timestamp\") AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM %s", fn,
                    csgp_qb_table(q, false));
    else /* SQLite stores the canonical text, which sorts by time */
        csgp_qb_add(&b, "SELECT %s(\"timestamp\") FROM %s", fn, csgp_qb_table(q, false));
    csgp_qb_where(&b, q);
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    out[0] = '\0';
    int s = csgp_rows_next(rows);
    if (s == 1 && !csgp_rows_null(rows, 0))
        snprintf(out, CSGP_TS_SIZE, "%s", csgp_rows_text(rows, 0));
    csgp_rows_free(rows);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading the time span failed") : 0;
}

/* q narrowed to the period of secs seconds starting at t, which lies inside q's range. */
static csgp_query in_period(const csgp_query *q, int64_t t, int secs)
{
    csgp_query h = *q;
    h.has_from = h.has_to = true;
    h.from_ms = t * 1000;
    h.to_ms = (t + secs) * 1000;
    csgp_format_ms(h.from_ms, h.from);
    csgp_format_ms(h.to_ms, h.to);
    return h;
}

int csgp_rollq_span(csgp_db *db, const csgp_query *q, int res, json_t *out, csg_error *err)
{
    char first[CSGP_TS_SIZE] = "", last[CSGP_TS_SIZE] = "";
    int rc = 0;
    if (!res) {
        rc = row_edge(db, q, "min", first, err);
        if (!rc)
            rc = row_edge(db, q, "max", last, err);
    } else {
        /* The first and last hours (minutes, for a query the minute rollups answer) with
         * events; then only the rows of those two periods (or none, once purged: the
         * period's start stands in). */
        int secs = res < 3600 ? res : 3600;
        csgp_qb b;
        csgp_rows *rows = NULL;
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT min(t), max(t)");
        csgp_rollq_from(&b, q, secs, CSGP_R_COUNTS, false);
        if ((rc = csgp_qb_run(&b, &rows, err)))
            return rc;
        int s = csgp_rows_next(rows);
        bool any = s == 1 && !csgp_rows_null(rows, 0);
        int64_t lo = any ? csgp_rows_int(rows, 0) : 0, hi = any ? csgp_rows_int(rows, 1) : 0;
        csgp_rows_free(rows);
        if (s < 0)
            return csg_fail(err, CSGP_EDB, "reading rollup_counts failed");
        if (any) {
            csgp_query h = in_period(q, lo, secs);
            if (!(rc = row_edge(db, &h, "min", first, err)) && !first[0])
                csgp_format_ms(lo * 1000, first);
            h = in_period(q, hi, secs);
            if (!rc && !(rc = row_edge(db, &h, "max", last, err)) && !last[0])
                csgp_format_ms((hi + secs) * 1000 - 1, last);
        }
    }
    if (rc)
        return rc;
    json_object_set_new(out, "first", first[0] ? json_string(first) : json_null());
    json_object_set_new(out, "last", last[0] ? json_string(last) : json_null());
    return 0;
}
