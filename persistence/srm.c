/*
 * srm.c — see srm.h.
 */
#include "srm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "util.h"

/* Requests that do not show the applicant's assignment (DESIGN §7: excluded from the SRM
 * count): the guardrail held the challenger off, or called it inside its trial share. */
static bool counted(const csgp_event *e)
{
    return e->config_version[0] && e->status_id != CSG_EVENT_CHALLENGER_SUSPENDED &&
           !(e->n_chal > 0 && e->chal[0].trial);
}

int csgp_srm_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                 csg_error *err)
{
    if (csgp_db_kind_of(db) == CSGP_DB_PG) {
        /* One statement over the staging table: the fresh rows' ords as an array. */
        size_t cap = n * 12 + 3, len = 0;
        char *ords = malloc(cap);
        if (!ords)
            return csg_fail(err, CSG_ENOMEM, "out of memory");
        ords[len++] = '{';
        for (size_t i = 0; i < n; i++)
            if (fresh[i] && counted(&ev[i]))
                len += (size_t)snprintf(ords + len, cap - len, "%s%zu", len > 1 ? "," : "", i);
        if (len == 1) {
            free(ords);
            return 0;
        }
        ords[len++] = '}';
        ords[len] = '\0';
        csgp_param p = {.type = CSGP_P_TEXT, .text = ords};
        /* The applicants seen for the first time, then their per-minute counts (rows in
         * key order: concurrent consumers lock counts in the same order). */
        int rc = csgp_db_exec(
            db,
            "WITH ins AS (INSERT INTO srm_first_seen (config_version, applicant_id, arm, "
            "first_seen) SELECT DISTINCT ON (config_version, applicant_id) config_version, "
            "applicant_id, coalesce(challenger_model, ''), \"timestamp\" FROM csg_stage WHERE "
            "ord = ANY($1::int[]) ORDER BY config_version, applicant_id, ord ON CONFLICT DO "
            "NOTHING RETURNING config_version, arm, first_seen) INSERT INTO srm_counts "
            "(config_version, arm, minute, applicants) SELECT config_version, arm, "
            "date_trunc('minute', first_seen), count(*) FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
            "ON CONFLICT (config_version, arm, minute) DO UPDATE SET applicants = "
            "srm_counts.applicants + excluded.applicants",
            &p, 1, NULL, err);
        free(ords);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const csgp_event *e = &ev[i];
        if (!fresh[i] || !counted(e))
            continue;
        /* The minute as the canonical text starts: YYYY-MM-DDTHH:MM + ":00.000Z". */
        char minute[CSGP_TS_SIZE];
        snprintf(minute, sizeof minute, "%.16s:00.000Z", e->timestamp);
        csgp_param p[4] = {{.type = CSGP_P_TEXT, .text = e->config_version},
                           {.type = CSGP_P_TEXT, .text = e->applicant_id},
                           {.type = CSGP_P_TEXT, .text = e->challenger_model},
                           {.type = CSGP_P_TEXT, .text = e->timestamp}};
        int64_t fresh_one = 0;
        int rc = csgp_db_exec(db,
                              "INSERT OR IGNORE INTO srm_first_seen (config_version, "
                              "applicant_id, arm, first_seen) VALUES (?1, ?2, ?3, ?4)",
                              p, 4, &fresh_one, err);
        p[1].text = minute;
        if (!rc && fresh_one > 0)
            rc = csgp_db_exec(db,
                              "INSERT INTO srm_counts (config_version, arm, minute, applicants) "
                              "VALUES (?1, ?3, ?2, 1) ON CONFLICT (config_version, arm, minute) "
                              "DO UPDATE SET applicants = applicants + 1",
                              p, 3, NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Chi-square goodness of fit of k of n in the arm against share p (1 degree of
 * freedom): p-value = erfc(sqrt(chi2 / 2)). A share of 0 or 1 allows no other count. */
static double p_value(int64_t k, int64_t n, double p)
{
    if (p <= 0 || p >= 1)
        return fabs((double)k - p * (double)n) < 0.5 ? 1.0 : 0.0;
    double e = p * (double)n, d = (double)k - e;
    double chi2 = d * d / (e * (1 - p));
    return erfc(sqrt(chi2 / 2));
}

const char *csgp_sql_epoch_ms(const csgp_db *db, const char *col, char *buf, size_t cap)
{
    if (csgp_db_kind_of(db) == CSGP_DB_PG)
        snprintf(buf, cap, "(extract(epoch FROM %s) * 1000)::bigint", col);
    else
        snprintf(buf, cap, "CAST(round((julianday(%s) - 2440587.5) * 86400000) AS INTEGER)", col);
    return buf;
}

/* Fill v's audit part from the current row of r (columns: config_version,
 * experiment_id, assignment, challengers text, start ms, end ms). */
static void from_audit(csgp_rows *r, csgp_srm_version *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->config_version, sizeof v->config_version, "%s", csgp_rows_text(r, 0));
    snprintf(v->experiment_id, sizeof v->experiment_id, "%s", csgp_rows_text(r, 1));
    snprintf(v->assignment, sizeof v->assignment, "%s", csgp_rows_text(r, 2));
    v->schedule_start_ms = csgp_rows_null(r, 4) ? 0 : csgp_rows_int(r, 4);
    v->schedule_end_ms = csgp_rows_null(r, 5) ? 0 : csgp_rows_int(r, 5);
    v->ended = v->schedule_end_ms && csg_wall_ms() >= v->schedule_end_ms;
    json_t *arr = json_loads(csgp_rows_text(r, 3), 0, NULL);
    bool all = !strcmp(v->assignment, "all");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c) {
        if (v->n_arms >= CSGP_SRM_MAX_ARMS)
            break;
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        csgp_srm_arm *a = &v->arms[v->n_arms++];
        snprintf(a->name, sizeof a->name, "%s", name);
        a->expected = all ? 1.0 : json_number_value(json_object_get(c, "weight"));
    }
    json_decref(arr);
}

#define AUDIT_COLS "config_version, experiment_id, assignment, CAST(challengers AS text), "

/* Count v's applicants per arm (first seen inside its schedule, to the minute: the
 * counts are per minute; a schedule on minute boundaries is exact) and compute each
 * arm's test. */
static int count(csgp_db *db, csgp_srm_version *v, csg_error *err)
{
    char sql[512], ph[3][24], t0[CSGP_TS_SIZE], t1[CSGP_TS_SIZE];
    csgp_param p[3] = {{.type = CSGP_P_TEXT, .text = v->config_version}};
    int np = 1;
    size_t len = (size_t)snprintf(sql, sizeof sql,
                                  "SELECT arm, sum(applicants) FROM srm_counts WHERE config_version = %s",
                                  csgp_db_ph(db, 1, NULL, ph[0], sizeof ph[0]));
    if (v->schedule_start_ms) {
        csgp_format_ms(v->schedule_start_ms, t0);
        p[np] = (csgp_param){.type = CSGP_P_TEXT, .text = t0};
        np++;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND minute >= %s",
                                csgp_db_ph(db, np, "timestamptz", ph[1], sizeof ph[1]));
    }
    if (v->schedule_end_ms) {
        csgp_format_ms(v->schedule_end_ms, t1);
        p[np] = (csgp_param){.type = CSGP_P_TEXT, .text = t1};
        np++;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND minute < %s",
                                csgp_db_ph(db, np, "timestamptz", ph[2], sizeof ph[2]));
    }
    snprintf(sql + len, sizeof sql - len, " GROUP BY arm");
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, p, np, &r, err);
    if (rc)
        return rc;
    int s;
    while ((s = csgp_rows_next(r)) == 1) {
        int64_t k = csgp_rows_int(r, 1);
        v->applicants += k;
        for (int i = 0; i < v->n_arms; i++)
            if (!strcmp(v->arms[i].name, csgp_rows_text(r, 0)))
                v->arms[i].applicants = k;
    }
    csgp_rows_free(r);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading srm_first_seen failed");
    /* Under assignment: all every applicant is in every arm (expected share 1.0), but the
     * first-seen table keeps one arm per applicant (the event's first challenger), so the
     * other arms would look empty: no test there, rather than a false alarm. */
    bool all = !strcmp(v->assignment, "all");
    for (int i = 0; i < v->n_arms; i++) {
        csgp_srm_arm *a = &v->arms[i];
        a->observed = v->applicants && !all ? (double)a->applicants / (double)v->applicants : NAN;
        a->p_value = v->applicants && !all ? p_value(a->applicants, v->applicants, a->expected)
                                           : NAN;
        a->srm = v->applicants && !all && a->p_value < CSGP_SRM_ALPHA;
    }
    return 0;
}

static int load(csgp_db *db, const char *where, const char *arg, csgp_srm_version *out,
                size_t cap, size_t *n, csg_error *err)
{
    char sql[1024], e0[160], e1[160];
    snprintf(sql, sizeof sql,
             "SELECT " AUDIT_COLS "%s, %s FROM experiment_versions e WHERE %s ORDER BY id DESC",
             csgp_sql_epoch_ms(db, "schedule_start", e0, sizeof e0),
             csgp_sql_epoch_ms(db, "schedule_end", e1, sizeof e1), where);
    csgp_param p = {.type = CSGP_P_TEXT, .text = arg};
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, &p, arg ? 1 : 0, &r, err);
    if (rc)
        return rc;
    int s = 1;
    *n = 0;
    while (*n < cap && (s = csgp_rows_next(r)) == 1)
        from_audit(r, &out[(*n)++]);
    csgp_rows_free(r);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading experiment_versions failed");
    for (size_t i = 0; i < *n && !rc; i++)
        rc = count(db, &out[i], err);
    return rc;
}

int csgp_srm_of(csgp_db *db, const char *cv, csgp_srm_version *v, csg_error *err)
{
    char where[128], ph[16];
    snprintf(where, sizeof where,
             "id = (SELECT max(id) FROM experiment_versions WHERE config_version = %s)",
             csgp_db_ph(db, 1, NULL, ph, sizeof ph));
    size_t n = 0;
    int rc = load(db, where, cv, v, 1, &n, err);
    return rc ? rc : n ? 0 : 1;
}

int csgp_srm_latest(csgp_db *db, const char *experiment_id, csgp_srm_version *out, size_t cap,
                    size_t *n, csg_error *err)
{
    char where[256], ph[16];
    bool one = experiment_id && *experiment_id;
    snprintf(where, sizeof where,
             "id = (SELECT max(id) FROM experiment_versions x WHERE x.experiment_id = "
             "e.experiment_id)%s%s",
             one ? " AND experiment_id = " : "", one ? csgp_db_ph(db, 1, NULL, ph, sizeof ph) : "");
    return load(db, where, one ? experiment_id : NULL, out, cap, n, err);
}

json_t *csgp_srm_json(const csgp_srm_version *v)
{
    json_t *o = json_object(), *arms = json_array();
    json_object_set_new(o, "config_version", json_string(v->config_version));
    json_object_set_new(o, "experiment_id", json_string(v->experiment_id));
    json_object_set_new(o, "assignment", json_string(v->assignment));
    json_object_set_new(o, "applicants", json_integer(v->applicants));
    json_object_set_new(o, "ended", json_boolean(v->ended));
    for (int i = 0; i < v->n_arms; i++) {
        const csgp_srm_arm *a = &v->arms[i];
        json_t *j = json_object();
        json_object_set_new(j, "challenger", json_string(a->name));
        json_object_set_new(j, "expected_share", csgp_jreal(a->expected));
        json_object_set_new(j, "observed_share", csgp_jreal(a->observed));
        json_object_set_new(j, "applicants", json_integer(a->applicants));
        json_object_set_new(j, "srm_p_value", csgp_jreal(a->p_value));
        json_object_set_new(j, "srm", json_boolean(a->srm));
        if (!v->applicants)
            csgp_add_note(j, "no applicants counted under this config_version yet");
        else if (!strcmp(v->assignment, "all"))
            csgp_add_note(j, "assignment: all: every challenger scores every applicant; no "
                             "sample-ratio test");
        json_array_append_new(arms, j);
    }
    json_object_set_new(o, "challengers", arms);
    return o;
}

int csgp_srm_annotate(csgp_db *db, const char *experiment_id, json_t *summary, csg_error *err)
{
    csgp_srm_version v[8];
    size_t n = 0;
    int rc = csgp_srm_latest(db, experiment_id, v, 8, &n, err);
    if (rc)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, csgp_srm_json(&v[i]));
    json_object_set_new(summary, "srm", list);
    bool ended = n > 0;
    for (size_t i = 0; i < n; i++)
        ended = ended && v[i].ended;
    json_object_set_new(summary, "experiment_status",
                        n ? json_string(ended ? "ended" : "running") : json_null());
    /* Per challenger in "models": the newest version that configures it. */
    size_t k;
    json_t *m;
    json_array_foreach(json_object_get(summary, "models"), k, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *name = json_string_value(json_object_get(m, "model"));
        const csgp_srm_arm *a = NULL;
        for (size_t i = 0; i < n && !a && role && name && !strcmp(role, "challenger"); i++)
            for (int j = 0; j < v[i].n_arms && !a; j++)
                if (!strcmp(v[i].arms[j].name, name))
                    a = &v[i].arms[j];
        if (!a)
            continue;
        json_object_set_new(m, "expected_share", csgp_jreal(a->expected));
        json_object_set_new(m, "observed_share", csgp_jreal(a->observed));
        json_object_set_new(m, "srm_p_value", csgp_jreal(a->p_value));
        json_object_set_new(m, "srm", json_boolean(a->srm));
    }
    return 0;
}

int csgp_srm_gauges(csgp_db *db, char **out, csg_error *err)
{
    csgp_srm_version v[32];
    size_t n = 0;
    *out = NULL;
    int rc = csgp_srm_latest(db, NULL, v, 32, &n, err);
    if (rc)
        return rc;
    size_t cap = 256 + n * CSGP_SRM_MAX_ARMS * 128, len = 0;
    char *t = malloc(cap);
    if (!t)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    len += (size_t)snprintf(t + len, cap - len,
                            "# HELP csgp_srm 1 when the challenger's arm shows a sample-ratio "
                            "mismatch under its experiment's latest config_version.\n"
                            "# TYPE csgp_srm gauge\n");
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < v[i].n_arms; j++)
            len += (size_t)snprintf(t + len, cap - len, "csgp_srm{challenger=\"%s\"} %d\n",
                                    v[i].arms[j].name, v[i].arms[j].srm ? 1 : 0);
    *out = t;
    return 0;
}
