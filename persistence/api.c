/*
 * api.c — the metrics REST API (DESIGN §7): /metrics/summary, /metrics/latency,
 * /metrics/distribution, /metrics/segments (segments.c), /metrics/events,
 * /export/events (export.c), /metrics/performance, /metrics/features (catalogue.c),
 * /metrics/reasons (reasons.c); the routing, and start/stop. /healthz, /metrics, POST
 * /outcomes, POST /baselines, /metrics/stability and /experiments are in api_ops.c.
 * Outcome-based statistics are computed in C from the rows (perf.c,
 * lib/csg_outcome_stats.c), identically on both backends (docs/analytics.md).
 *
 * Runs on the HTTP server's thread (httpd.c: libevent evhttp, fine off the hot path, its
 * limits and JSON replies) with its own database connection. Every number is computed by the database
 * (percentiles with percentile_cont on both backends); this file only builds
 * parameterised SQL — user input never becomes SQL text — and shapes JSON.
 * Numbers that cannot be computed are null, with a "note" in the same object.
 */
#include "api.h"
#include "api_private.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arms_store.h"
#include "baseline_jobs.h"
#include "catalogue.h"
#include "db.h"
#include "export.h"
#include "httpd.h"
#include "jsonout.h"
#include "outcomes.h"
#include "perf.h"
#include "query.h"
#include "reasons.h"
#include "rollq.h"
#include "rollup.h"
#include "sketch.h"
#include "segments.h"
#include "sqlb.h"
#include "srm.h"
#include "stability.h"

const char *const csgp_dlq_kind_names[CSGP_DLQ_KINDS] = {
    "too_large", "invalid_json", "not_object", "missing_field", "invalid_field", "other"};

int csgp_dlq_kind_index(const char *kind)
{
    for (int i = 0; i < CSGP_DLQ_KINDS - 1; i++)
        if (kind && !strcmp(kind, csgp_dlq_kind_names[i]))
            return i;
    return CSGP_DLQ_KINDS - 1;
}

void csgp_api_pseudonymize(const csgp_api *api, char *id)
{
    if (api->pseudonym && *id)
        csg_pseudonym_hex(api->pseudonym, id, strlen(id), id);
}

#define MAX_LATENCY_ROWS 50000

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */



/* Parse the query string for this endpoint into r->q; false after answering 400. */
bool csgp_api_parse_query(request *r, csgp_query_kind kind)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    csgp_query_error qerr;
    csg_error err;
    int rc = csgp_query_parse(kind, uri ? evhttp_uri_get_query(uri) : NULL, &r->q, &qerr);
    if (rc == 0 && (rc = csgp_features_check(r->api->db, &r->q, &qerr, &err)) == 0 &&
        (kind == CSGP_Q_EVENTS || kind == CSGP_Q_EXPORT ||
         (rc = csgp_arms_multi(r->api->db, &r->q.pairs, &err)) == 0)) {
        csgp_api_pseudonymize(r->api, r->q.applicant_id);
        return true;
    }
    if (rc == -CSG_EINVAL)
        csgp_api_send_error(r, 400, "invalid_parameter", qerr.param, qerr.message);
    else
        csgp_api_send_db_error(r, &err);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

void csgp_api_send_json(request *r, int code, json_t *body)
{
    csgp_httpd_send_json(r->req, code, body);
}

void csgp_api_send_error(request *r, int code, const char *ecode, const char *param_name,
                       const char *message)
{
    csgp_httpd_send_error(r->req, code, ecode, param_name, message);
}

void csgp_api_send_db_error(request *r, const csg_error *err)
{
    csgp_log("warn", "api: database query failed: %s", err->message);
    csgp_api_send_error(r, 503, "db_unavailable", NULL, "the database did not answer; try again");
}

/* ------------------------------------------------------------------------ */
/* Rollups or rows                                                          */

/* The rollup resolution that answers this request (rollup.h), 0 for the rows; -1 after
 * answering 400 when source=rollup was asked for a query that needs the rows. shape_ok:
 * the endpoint's own parameters allow a rollup (bins, bands). */
static int choose_res(request *r, int64_t bucket_s, bool shape_ok, bool per_challenger)
{
    if (r->q.source == CSGP_SOURCE_ROWS)
        return 0;
    int res = shape_ok ? csgp_rollup_res(&r->q, bucket_s, per_challenger) : 0;
    if (!res && r->q.source == CSGP_SOURCE_ROLLUP) {
        csgp_api_send_error(r, 400, "invalid_parameter", "source",
                   "this query needs the rows: a row-level filter (applicant_id, min_income, "
                   "max_income, f.*), from/to not on an hour boundary (nor on a minute "
                   "boundary with from inside the minute window), bucket=10s (1m and 5m: "
                   "outside that window), bins not dividing 100, or custom bands for segments");
        return -1;
    }
    return res;
}

/* "source" and, where there are percentiles, their accuracy (0: exact, from rows). */
static void set_source(json_t *out, int res, bool percentiles)
{
    json_object_set_new(out, "source", json_string(res ? "rollup" : "rows"));
    if (res)
        json_object_set_new(out, "rollup_seconds", json_integer(res));
    if (percentiles)
        json_object_set_new(out, "percentile_relative_accuracy",
                            json_real(res ? CSGP_SKETCH_ALPHA : 0.0));
}

/* ------------------------------------------------------------------------ */
/* Endpoints                                                                */

static void h_summary(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_SUMMARY))
        return;
    csgp_db *db = r->api->db;
    csg_error err;
    csgp_rows *rows = NULL;
    csgp_qb b;
    int res = choose_res(r, 0, true, true);
    if (res < 0)
        return;
    if (res) {
        json_t *rolled = NULL;
        if (csgp_rollq_summary(db, &r->q, res, &rolled, &err) ||
            csgp_srm_annotate(db, r->q.experiment_id, rolled, &err) ||
            csgp_rollq_span(db, &r->q, res, rolled, &err)) {
            json_decref(rolled);
            return csgp_api_send_db_error(r, &err);
        }
        set_source(rolled, res, true);
        return csgp_api_send_json(r, 200, rolled);
    }
    json_t *out = json_object();
    set_source(out, 0, true);

    /* With several challengers per request (or an arm), the pairs: one row per request
     * and challenger; requests are then counted once. */
    const char *pairs_src = csgp_qb_table(&r->q, true);
    bool on_pairs = strcmp(pairs_src, CSGP_TABLE) != 0;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, on_pairs ? "SELECT count(DISTINCT event_id), count(DISTINCT event_id), "
                             : "SELECT count(*), count(challenger_model), ");
    csgp_qb_add(&b, "avg(decision_diff), count(decision_diff), "
               "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision <> challenger_decision THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN champion_decision = 'approve' AND challenger_decision = 'approve' THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN champion_decision = 'decline' AND challenger_decision = 'decline' THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision = 'approve' AND challenger_decision <> 'approve' THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision <> 'approve' AND challenger_decision = 'approve' THEN 1 ELSE 0 END), 0) "
               "FROM %s", pairs_src);
    csgp_qb_where(&b, &r->q);
    if (csgp_qb_run(&b, &rows, &err) || csgp_rows_next(rows) != 1)
        goto dbfail;
    json_t *models = csgp_summary_totals(out, rows, false);
    csgp_rows_free(rows);
    rows = NULL;
    if (on_pairs && !r->q.arm[0]) {
        /* Requests without any challenger are not in the pairs: total from the events. */
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT count(*) FROM " CSGP_TABLE);
        csgp_qb_where(&b, &r->q);
        if (csgp_qb_run(&b, &rows, &err) || csgp_rows_next(rows) != 1)
            goto dbfail;
        csgp_summary_set_total(out, csgp_rows_int(rows, 0));
        csgp_rows_free(rows);
        rows = NULL;
    }

    /* Per model: champions on the champion columns, challengers on theirs. */
    static const struct {
        const char *role, *model, *latency, *decision;
    } roles[] = {{"champion", "champion_model", "latency_champion_ms", "champion_decision"},
                 {"challenger", "challenger_model", "latency_challenger_ms", "challenger_decision"}};
    for (int k = 0; k < 2; k++) {
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT %s, count(*), ", roles[k].model);
        csgp_qb_latency_stats(&b, roles[k].latency);
        csgp_qb_add(&b, ", coalesce(sum(CASE WHEN %s = 'approve' THEN 1 ELSE 0 END), 0), count(%s), count(%s) FROM %s",
               roles[k].decision, roles[k].decision, roles[k].latency, csgp_qb_table(&r->q, k == 1));
        csgp_qb_where(&b, &r->q);
        csgp_qb_add(&b, " AND %s IS NOT NULL GROUP BY %s ORDER BY %s", roles[k].model, roles[k].model,
               roles[k].model);
        if (csgp_qb_run(&b, &rows, &err))
            goto dbfail;
        int s;
        while ((s = csgp_rows_next(rows)) == 1) {
            json_t *lat = json_object();
            json_object_set_new(lat, "avg", csgp_jcol(rows, 2));
            json_object_set_new(lat, "p50", csgp_jcol(rows, 3));
            json_object_set_new(lat, "p95", csgp_jcol(rows, 4));
            json_object_set_new(lat, "p99", csgp_jcol(rows, 5));
            json_array_append_new(models, csgp_summary_model(
                                              csgp_rows_text(rows, 0), roles[k].role,
                                              csgp_rows_int(rows, 1), lat, csgp_rows_int(rows, 6),
                                              csgp_rows_int(rows, 7), csgp_rows_int(rows, 8)));
        }
        csgp_rows_free(rows);
        rows = NULL;
        if (s < 0)
            goto dbfail_rows;
    }

    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT status, count(*) FROM %s", csgp_qb_table(&r->q, false));
    csgp_qb_where(&b, &r->q);
    csgp_qb_add(&b, " GROUP BY status ORDER BY status");
    if (csgp_qb_run(&b, &rows, &err))
        goto dbfail;
    json_t *status = json_object();
    while (csgp_rows_next(rows) == 1)
        json_object_set_new(status, csgp_rows_text(rows, 0), json_integer(csgp_rows_int(rows, 1)));
    json_object_set_new(out, "status", status);
    csgp_rows_free(rows);
    rows = NULL;
    if (csgp_srm_annotate(db, r->q.experiment_id, out, &err) ||
        csgp_rollq_span(db, &r->q, 0, out, &err))
        goto dbfail;
    csgp_api_send_json(r, 200, out);
    return;
dbfail_rows:
    snprintf(err.message, sizeof err.message, "reading rows failed");
dbfail:
    csgp_rows_free(rows);
    json_decref(out);
    csgp_api_send_db_error(r, &err);
}

static void h_latency(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_LATENCY))
        return;
    const char *bname = r->q.bucket;
    int64_t secs = r->q.bucket_seconds;
    csgp_db *db = r->api->db;
    csg_error err;
    csgp_rows *rows = NULL;
    csgp_qb b;
    json_t *out = json_object();
    json_object_set_new(out, "bucket", json_string(bname));
    json_t *series = json_array();
    json_object_set_new(out, "series", series);
    static const struct {
        const char *role, *model, *latency;
    } roles[] = {{"champion", "champion_model", "latency_champion_ms"},
                 {"challenger", "challenger_model", "latency_challenger_ms"}};
    size_t total_points = 0;
    bool truncated = false;
    int res = choose_res(r, secs, true, true);
    if (res < 0) {
        json_decref(out);
        return;
    }
    set_source(out, res, true);
    if (res && csgp_rollq_latency(db, &r->q, res, series, MAX_LATENCY_ROWS, &truncated, &err)) {
        json_decref(out);
        return csgp_api_send_db_error(r, &err);
    }
    for (int k = 0; k < 2 && !res; k++) {
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "SELECT %s, ", roles[k].model);
        csgp_qb_bucket(&b, secs);
        csgp_qb_add(&b, " AS bucket, ");
        csgp_qb_add(&b, "count(*), ");
        csgp_qb_latency_stats(&b, roles[k].latency);
        csgp_qb_add(&b, " FROM %s", csgp_qb_table(&r->q, k == 1));
        csgp_qb_where(&b, &r->q);
        csgp_qb_add(&b, " AND %s IS NOT NULL AND %s IS NOT NULL GROUP BY %s, bucket ORDER BY %s, bucket LIMIT ",
               roles[k].model, roles[k].latency, roles[k].model, roles[k].model);
        csgp_qb_int(&b, MAX_LATENCY_ROWS + 1);
        if (csgp_qb_run(&b, &rows, &err))
            goto dbfail;
        json_t *cur = NULL, *points = NULL;
        char cur_model[256] = "";
        while (csgp_rows_next(rows) == 1) {
            if (++total_points > MAX_LATENCY_ROWS) {
                truncated = true;
                break;
            }
            const char *model = csgp_rows_text(rows, 0);
            if (!cur || strcmp(model, cur_model)) {
                cur = json_object();
                snprintf(cur_model, sizeof cur_model, "%s", model);
                json_object_set_new(cur, "model", json_string(model));
                json_object_set_new(cur, "role", json_string(roles[k].role));
                points = json_array();
                json_object_set_new(cur, "points", points);
                json_array_append_new(series, cur);
            }
            char t[CSGP_TS_SIZE];
            csgp_format_ms(csgp_rows_int(rows, 1) * secs * 1000, t);
            json_t *pt = json_object();
            json_object_set_new(pt, "t", json_string(t));
            json_object_set_new(pt, "count", json_integer(csgp_rows_int(rows, 2)));
            json_object_set_new(pt, "avg", csgp_jcol(rows, 3));
            json_object_set_new(pt, "p50", csgp_jcol(rows, 4));
            json_object_set_new(pt, "p95", csgp_jcol(rows, 5));
            json_object_set_new(pt, "p99", csgp_jcol(rows, 6));
            json_array_append_new(points, pt);
        }
        csgp_rows_free(rows);
        rows = NULL;
    }
    if (truncated)
        csgp_add_note(out, "more than 50000 points: series truncated; narrow from/to or use a "
                      "larger bucket");
    csgp_api_send_json(r, 200, out);
    return;
dbfail:
    csgp_rows_free(rows);
    json_decref(out);
    csgp_api_send_db_error(r, &err);
}

static void h_distribution(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_DISTRIBUTION))
        return;
    int64_t bins = r->q.bins;
    csgp_db *db = r->api->db;
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csg_error err;
    csgp_rows *rows = NULL;
    json_t *out = json_object();
    json_t *edges = json_array();
    for (int64_t i = 0; i <= bins; i++)
        json_array_append_new(edges, json_real((double)i / (double)bins));
    json_object_set_new(out, "edges", edges);
    json_t *models = json_array();
    json_object_set_new(out, "models", models);
    /* bins dividing the rollup's 100: a bin is a run of the 100 fine bins, on both paths
     * (min(trunc(score·100), 99) / (100 / bins): the same integer arithmetic as rollup.c),
     * so rollups and rows agree exactly. */
    bool fine = bins > 0 && CSGP_ROLLUP_SCORE_BINS % bins == 0;
    int res = choose_res(r, 0, fine, true);
    if (res < 0) {
        json_decref(out);
        return;
    }
    set_source(out, res, false);
    if (res && csgp_rollq_distribution(db, &r->q, res, models, &err))
        goto dbfail;
    static const struct {
        const char *role, *model, *score;
    } roles[] = {{"champion", "champion_model", "champion_score"},
                 {"challenger", "challenger_model", "challenger_score"}};
    for (int k = 0; k < 2 && !res; k++) {
        csgp_qb b;
        csgp_qb_init(&b, db);
        /* bin i holds [i/bins, (i+1)/bins); a score of exactly 1 falls in the last bin. */
        csgp_qb_add(&b, "SELECT %s, ", roles[k].model);
        if (fine && pg) {
            csgp_qb_add(&b, "LEAST(floor(%s * %d)::int, %d) / ", roles[k].score,
                        CSGP_ROLLUP_SCORE_BINS, CSGP_ROLLUP_SCORE_BINS - 1);
            csgp_qb_param(&b, (csgp_param){.type = CSGP_P_INT, .i = CSGP_ROLLUP_SCORE_BINS / bins}, "int");
            csgp_qb_add(&b, " AS bin");
        } else if (fine) {
            csgp_qb_add(&b, "min(CAST(%s * %d AS INTEGER), %d) / ", roles[k].score,
                        CSGP_ROLLUP_SCORE_BINS, CSGP_ROLLUP_SCORE_BINS - 1);
            csgp_qb_param(&b, (csgp_param){.type = CSGP_P_INT, .i = CSGP_ROLLUP_SCORE_BINS / bins}, NULL);
            csgp_qb_add(&b, " AS bin");
        } else if (pg) {
            csgp_qb_add(&b, "LEAST(floor(%s * ", roles[k].score);
            int idx = csgp_qb_param(&b, (csgp_param){.type = CSGP_P_INT, .i = bins}, "int");
            csgp_qb_add(&b, ")::int, ");
            csgp_qb_ph(&b, idx, "int");
            csgp_qb_add(&b, " - 1) AS bin");
        } else {
            csgp_qb_add(&b, "min(CAST(%s * ", roles[k].score);
            int idx = csgp_qb_param(&b, (csgp_param){.type = CSGP_P_INT, .i = bins}, NULL);
            csgp_qb_add(&b, " AS INTEGER), ");
            csgp_qb_ph(&b, idx, NULL);
            csgp_qb_add(&b, " - 1) AS bin");
        }
        csgp_qb_add(&b, ", count(*) FROM %s", csgp_qb_table(&r->q, k == 1));
        csgp_qb_where(&b, &r->q);
        csgp_qb_add(&b, " AND %s IS NOT NULL AND %s IS NOT NULL GROUP BY %s, bin ORDER BY %s, bin",
               roles[k].model, roles[k].score, roles[k].model, roles[k].model);
        if (csgp_qb_run(&b, &rows, &err))
            goto dbfail;
        json_t *counts = NULL;
        char cur_model[256] = "";
        while (csgp_rows_next(rows) == 1) {
            const char *model = csgp_rows_text(rows, 0);
            if (!counts || strcmp(model, cur_model)) {
                snprintf(cur_model, sizeof cur_model, "%s", model);
                json_t *m = json_object();
                json_object_set_new(m, "model", json_string(model));
                json_object_set_new(m, "role", json_string(roles[k].role));
                counts = json_array();
                for (int64_t i = 0; i < bins; i++)
                    json_array_append_new(counts, json_integer(0));
                json_object_set_new(m, "counts", counts);
                json_array_append_new(models, m);
            }
            int64_t bin = csgp_rows_int(rows, 1);
            if (bin >= 0 && bin < bins)
                json_array_set_new(counts, (size_t)bin, json_integer(csgp_rows_int(rows, 2)));
        }
        csgp_rows_free(rows);
        rows = NULL;
    }
    if (json_array_size(models) == 0)
        csgp_add_note(out, "no scores match the filters");
    csgp_api_send_json(r, 200, out);
    return;
dbfail:
    csgp_rows_free(rows);
    json_decref(out);
    csgp_api_send_db_error(r, &err);
}

static void h_segments(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_SEGMENTS))
        return;
    csg_error err;
    json_t *out = NULL;
    /* column defaults, a feature's fixed bands or values (fbins.h); bands= reads rows */
    int res = choose_res(r, 0, r->q.by_is_feature ? !r->q.nbands : r->q.bands_default, true);
    if (res < 0)
        return;
    if (csgp_segments_json(r->api->db, &r->q, res, &out, &err))
        return csgp_api_send_db_error(r, &err);
    set_source(out, res, false);
    csgp_api_send_json(r, 200, out);
}

/* GET /metrics/reasons: reason codes of each model's declines (reasons.c). */
static void h_reasons(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_REASONS))
        return;
    csg_error err;
    json_t *out = NULL;
    int res = choose_res(r, 0, true, true);
    if (res < 0)
        return;
    if (csgp_reasons_json(r->api->db, &r->q, res, &out, &err))
        return csgp_api_send_db_error(r, &err);
    set_source(out, res, false);
    csgp_api_send_json(r, 200, out);
}

/* GET /metrics/features: the catalogue learned at ingest (catalogue.c). */
static void h_features(request *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (query && *query)
        return csgp_api_send_error(r, 400, "invalid_parameter", "query", "takes no parameters");
    csg_error err;
    json_t *out = NULL;
    if (csgp_features_json(r->api->db, &out, &err))
        return csgp_api_send_db_error(r, &err);
    csgp_api_send_json(r, 200, out);
}

static void h_events(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_EVENTS))
        return;
    int64_t limit = r->q.limit, offset = r->q.offset;
    csgp_db *db = r->api->db;
    csg_error err;
    csgp_rows *rows = NULL;
    json_t *out = json_object();
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT count(*) FROM " CSGP_TABLE);
    csgp_qb_where(&b, &r->q);
    if (csgp_qb_run(&b, &rows, &err) || csgp_rows_next(rows) != 1)
        goto dbfail;
    json_object_set_new(out, "total", json_integer(csgp_rows_int(rows, 0)));
    set_source(out, 0, false);
    csgp_rows_free(rows);
    rows = NULL;

    csgp_qb_init(&b, db);
    csgp_event_select(&b);
    csgp_qb_where(&b, &r->q);
    csgp_qb_add(&b, " ORDER BY id DESC LIMIT ");
    csgp_qb_int(&b, limit);
    csgp_qb_add(&b, " OFFSET ");
    csgp_qb_int(&b, offset);
    if (csgp_qb_run(&b, &rows, &err))
        goto dbfail;
    json_t *events = json_array();
    json_object_set_new(out, "events", events);
    int s;
    while ((s = csgp_rows_next(rows)) == 1)
        json_array_append_new(events, csgp_event_row_json(rows));
    csgp_rows_free(rows);
    rows = NULL;
    if (s < 0) {
        snprintf(err.message, sizeof err.message, "reading rows failed");
        goto dbfail;
    }
    csgp_api_send_json(r, 200, out);
    return;
dbfail:
    csgp_rows_free(rows);
    json_decref(out);
    csgp_api_send_db_error(r, &err);
}

/* GET /export/events: one NDJSON page of stored events (export.c); the client pages on by
 * passing the last line's id as after_id, until a page has fewer lines than limit. */
static void h_export(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_EXPORT))
        return;
    csg_error err;
    int64_t n = 0;
    struct evbuffer *out = evbuffer_new();
    if (!out)
        return csgp_api_send_error(r, 503, "out_of_memory", NULL, "out of memory");
    if (csgp_export_page(r->api->db, &r->q, out, &n, &err)) {
        evbuffer_free(out);
        return csgp_api_send_db_error(r, &err);
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", "application/x-ndjson");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(r->req, 200, NULL, out);
    evbuffer_free(out);
}

/* GET /metrics/performance: champion vs each challenger on the paired population. */
static void h_performance(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_PERFORMANCE))
        return;
    csg_error err;
    csgp_rows *rows = NULL;
    csgp_qb b;
    csgp_qb_init(&b, r->api->db);
    csgp_qb_add(&b, "SELECT e.champion_model, e.challenger_model, e.applicant_id, e.champion_score, "
               "e.challenger_score, e.champion_decision, e.challenger_decision, o.defaulted FROM "
               "(SELECT id, \"timestamp\", applicant_id, champion_model, challenger_model, "
               "champion_score, challenger_score, champion_decision, challenger_decision FROM %s",
               csgp_qb_table(&r->q, true));
    csgp_qb_where(&b, &r->q);
    /* Both answered (no status test: under assignment all another challenger may have
     * failed the same request). */
    csgp_qb_add(&b, " AND challenger_model IS NOT NULL AND champion_score IS NOT "
               "NULL AND challenger_score IS NOT NULL) e JOIN loan_outcomes o ON o.applicant_id = "
               "e.applicant_id ORDER BY e.champion_model, e.challenger_model, e.applicant_id, "
               "e.\"timestamp\" DESC, e.id DESC");
    if (csgp_qb_run(&b, &rows, &err))
        return csgp_api_send_db_error(r, &err);
    json_t *out = NULL;
    int rc = csgp_perf_from_rows(rows, &out, &err);
    csgp_rows_free(rows);
    if (rc)
        return csgp_api_send_db_error(r, &err);
    set_source(out, 0, false);
    csgp_api_send_json(r, 200, out);
}

enum { GET = 1, POST = 2 }; /* GET also takes HEAD */

static const struct route {
    const char *path;
    void (*fn)(request *r);
    unsigned methods;
} routes[] = {
    {"/metrics/summary", h_summary, GET},
    {"/metrics/latency", h_latency, GET},
    {"/metrics/distribution", h_distribution, GET},
    {"/metrics/segments", h_segments, GET},
    {"/metrics/events", h_events, GET},
    {"/export/events", h_export, GET},
    {"/metrics/performance", h_performance, GET},
    {"/metrics/features", h_features, GET},
    {"/metrics/reasons", h_reasons, GET},
    {"/metrics/stability", csgp_api_h_stability, GET},
    {"/baselines", csgp_api_h_baselines, GET | POST},
    {"/outcomes", csgp_api_h_outcomes, POST},
    {"/experiments", csgp_api_h_experiments, GET},
    {"/healthz", csgp_api_h_healthz, GET},
    {"/metrics", csgp_api_h_prometheus, GET},
};

static void on_request(struct evhttp_request *req, void *arg)
{
    csgp_api *api = arg;
    request r = {.req = req, .api = api};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    const struct route *rt = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (!strcmp(path, routes[i].path))
            rt = &routes[i];
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    unsigned method = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD ? GET
                      : cmd == EVHTTP_REQ_POST                       ? POST
                                                                     : 0;
    if (!rt) {
        csgp_api_send_error(&r, 404, "not_found", NULL, "no such endpoint");
    } else if (!(rt->methods & method)) {
        static const char *const allow[] = {"", "GET, HEAD", "POST", "GET, HEAD, POST"};
        static const char *const use[] = {"", "use GET", "use POST", "use GET or POST"};
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow[rt->methods]);
        csgp_api_send_error(&r, 405, "method_not_allowed", NULL, use[rt->methods]);
    } else {
        rt->fn(&r);
    }
}

int csgp_api_start(const char *listen, const char *db_url, csgp_metrics *metrics,
                   const csgp_security *sec, csgp_api **out, csg_error *err)
{
    csgp_api *api = calloc(1, sizeof *api);
    if (!api)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    api->m = metrics;
    api->pseudonym = sec ? sec->pseudonym : NULL;
    int rc;
    /* The connection first: the server calls on_request as soon as it listens. POST
     * /outcomes has the only body: its limit is the server's. */
    if ((rc = csgp_db_open(db_url, "api", &api->db, err)) ||
        (rc = csgp_baseline_jobs_start(db_url, csgp_api_baseline_stored, api, &api->jobs,
                                       err)) ||
        (rc = csgp_httpd_start(listen, CSGP_OUTCOMES_MAX_BYTES, sec, on_request, api,
                               &metrics->http_requests, &api->http, err))) {
        csgp_api_stop(api);
        return rc;
    }
    *out = api;
    return 0;
}

void csgp_api_stop(csgp_api *api)
{
    if (!api)
        return;
    csgp_httpd_halt(api->http); /* the jobs' events and waiting requests are its loop's */
    csgp_baseline_jobs_stop(api->jobs);
    csgp_httpd_stop(api->http);
    csgp_stability_gauges_reset(&api->gauges);
    csgp_db_close(api->db);
    free(api);
}
