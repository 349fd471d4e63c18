/*
 * experiments.c — GET /experiments (audit.h): every stored config version, newest
 * first, with the metrics of the events it served (matched on config_version) and its
 * sample-ratio check (srm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "jsonout.h"
#include "sqlb.h"
#include "srm.h"
#include "util.h"

#define MAX_VERSIONS 200

static json_t *ms_text(csgp_rows *r, int col)
{
    if (csgp_rows_null(r, col))
        return json_null();
    char ts[CSGP_TS_SIZE];
    csgp_format_ms(csgp_rows_int(r, col), ts);
    return json_string(ts);
}

/* version → its metrics object, from one GROUP BY over the events. */
static int add_metrics(csgp_db *db, const char *experiment_id, json_t *by_version,
                       csg_error *err)
{
    char sql[1400], ph[16], t0[160], t1[160];
    bool one = experiment_id && *experiment_id;
    snprintf(sql, sizeof sql,
             "SELECT config_version, count(*), count(challenger_model), "
             "coalesce(sum(CASE WHEN champion_decision = 'approve' THEN 1 ELSE 0 END), 0), "
             "count(champion_decision), "
             "coalesce(sum(CASE WHEN challenger_decision = 'approve' THEN 1 ELSE 0 END), 0), "
             "count(challenger_decision), "
             "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED " THEN 1 ELSE 0 END), 0), "
             "coalesce(sum(CASE WHEN " CSGP_BOTH_DECIDED
             " AND champion_decision <> challenger_decision THEN 1 ELSE 0 END), 0), "
             "coalesce(sum(CASE WHEN status = 'CHALLENGER_SUSPENDED' THEN 1 ELSE 0 END), 0), "
             "min(%s), max(%s) FROM " CSGP_TABLE " WHERE config_version IS NOT NULL%s%s "
             "GROUP BY config_version",
             csgp_sql_epoch_ms(db, "\"timestamp\"", t0, sizeof t0),
             csgp_sql_epoch_ms(db, "\"timestamp\"", t1, sizeof t1),
             one ? " AND experiment_id = " : "", one ? csgp_db_ph(db, 1, NULL, ph, sizeof ph) : "");
    csgp_param p = {.type = CSGP_P_TEXT, .text = experiment_id};
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, &p, one ? 1 : 0, &r, err);
    if (rc)
        return rc;
    int s;
    while ((s = csgp_rows_next(r)) == 1) {
        json_t *m = json_object();
        json_object_set_new(m, "events", json_integer(csgp_rows_int(r, 1)));
        json_object_set_new(m, "with_challenger", json_integer(csgp_rows_int(r, 2)));
        json_object_set_new(m, "champion_approval_rate",
                            csgp_jratio(csgp_rows_int(r, 3), csgp_rows_int(r, 4)));
        json_object_set_new(m, "challenger_approval_rate",
                            csgp_jratio(csgp_rows_int(r, 5), csgp_rows_int(r, 6)));
        json_object_set_new(m, "divergence_rate",
                            csgp_jratio(csgp_rows_int(r, 8), csgp_rows_int(r, 7)));
        json_object_set_new(m, "challenger_suspended", json_integer(csgp_rows_int(r, 9)));
        json_object_set_new(m, "first_event", ms_text(r, 10));
        json_object_set_new(m, "last_event", ms_text(r, 11));
        json_object_set_new(by_version, csgp_rows_text(r, 0), m);
    }
    csgp_rows_free(r);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading the events per config_version failed") : 0;
}

int csgp_experiments_json(csgp_db *db, const char *experiment_id, json_t **out, csg_error *err)
{
    char sql[1024], ph[16], a[160], s0[160], s1[160];
    bool one = experiment_id && *experiment_id;
    snprintf(sql, sizeof sql,
             "SELECT config_version, %s, applied_by, action, experiment_id, assignment, champion, "
             "CAST(challengers AS text), %s, %s, summary FROM experiment_versions%s%s "
             "ORDER BY id DESC LIMIT %d",
             csgp_sql_epoch_ms(db, "applied_at", a, sizeof a),
             csgp_sql_epoch_ms(db, "schedule_start", s0, sizeof s0),
             csgp_sql_epoch_ms(db, "schedule_end", s1, sizeof s1),
             one ? " WHERE experiment_id = " : "", one ? csgp_db_ph(db, 1, NULL, ph, sizeof ph) : "",
             MAX_VERSIONS);
    csgp_param p = {.type = CSGP_P_TEXT, .text = experiment_id};
    csgp_rows *r;
    json_t *metrics = json_object(), *versions = json_array();
    int rc = csgp_db_query(db, sql, &p, one ? 1 : 0, &r, err);
    if (rc)
        goto fail;
    int s;
    while ((s = csgp_rows_next(r)) == 1) {
        json_t *v = json_object();
        json_object_set_new(v, "config_version", json_string(csgp_rows_text(r, 0)));
        json_object_set_new(v, "applied_at", ms_text(r, 1));
        json_object_set_new(v, "applied_by", json_string(csgp_rows_text(r, 2)));
        json_object_set_new(v, "action", json_string(csgp_rows_text(r, 3)));
        json_object_set_new(v, "experiment_id", json_string(csgp_rows_text(r, 4)));
        json_object_set_new(v, "assignment", json_string(csgp_rows_text(r, 5)));
        json_object_set_new(v, "champion", json_string(csgp_rows_text(r, 6)));
        json_t *ch = json_loads(csgp_rows_text(r, 7), 0, NULL);
        json_object_set_new(v, "challengers", ch ? ch : json_array());
        if (csgp_rows_null(r, 8) && csgp_rows_null(r, 9)) {
            json_object_set_new(v, "schedule", json_null());
        } else {
            json_t *sc = json_object();
            json_object_set_new(sc, "start", ms_text(r, 8));
            json_object_set_new(sc, "end", ms_text(r, 9));
            json_object_set_new(v, "schedule", sc);
        }
        json_object_set_new(v, "summary", json_string(csgp_rows_text(r, 10)));
        json_array_append_new(versions, v);
    }
    csgp_rows_free(r);
    if (s < 0) {
        rc = csg_fail(err, CSGP_EDB, "reading experiment_versions failed");
        goto fail;
    }
    if ((rc = add_metrics(db, experiment_id, metrics, err)))
        goto fail;
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        const char *cv = json_string_value(json_object_get(v, "config_version"));
        json_t *m = json_object_get(metrics, cv);
        json_object_set(v, "metrics", m ? m : json_null());
        csgp_srm_version sv;
        int src = csgp_srm_of(db, cv, &sv, err);
        if (src < 0) {
            rc = src;
            goto fail;
        }
        json_object_set_new(v, "srm", src == 0 ? csgp_srm_json(&sv) : json_null());
        if (src == 0 && sv.ended)
            json_object_set_new(v, "status", json_string("ended"));
    }
    json_decref(metrics);
    *out = json_object();
    json_object_set_new(*out, "versions", versions);
    return 0;
fail:
    json_decref(metrics);
    json_decref(versions);
    return rc;
}
