/* retention.c — day partitions and purge (see retention.h). */
#include "retention.h"

#include <stdio.h>
#include <time.h>

#include "rollup.h"

static int in_tx(csgp_db *db, int rc, csg_error *err)
{
    if (rc) {
        csgp_db_rollback(db);
        return rc;
    }
    return csgp_db_commit(db, err);
}

int csgp_rollup_expire_minutes(csgp_db *db, int64_t before_s, int64_t *deleted, csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    char ph1[16], ph2[16], sql[160];
    int64_t total = 0;
    int rc = 0;
    for (int i = 0; !rc; i++) {
        const char *tbl = csgp_rollup_table(i);
        if (!tbl)
            break;
        int64_t n = 0;
        csgp_param p[2] = {{.type = CSGP_P_TEXT, .text = tbl}, {.type = CSGP_P_INT, .i = before_s}};
        if (pg) { /* csg_app may not DELETE here: the owner's narrow function does it */
            snprintf(sql, sizeof sql, "SELECT csg_expire_minute_rollups(%s, %s)",
                     csgp_db_ph(db, 1, "text", ph1, sizeof ph1),
                     csgp_db_ph(db, 2, "bigint", ph2, sizeof ph2));
            csgp_rows *rows = NULL;
            if (!(rc = csgp_db_query(db, sql, p, 2, &rows, err)))
                n = csgp_rows_next(rows) == 1 ? csgp_rows_int(rows, 0) : 0;
            csgp_rows_free(rows);
        } else {
            snprintf(sql, sizeof sql, "DELETE FROM %s WHERE res = %d AND t < %s", tbl,
                     CSGP_ROLLUP_MINUTE, csgp_db_ph(db, 1, NULL, ph1, sizeof ph1));
            rc = csgp_db_exec(db, sql, &p[1], 1, &n, err);
        }
        total += n;
    }
    if (deleted)
        *deleted = total;
    return rc;
}

int csgp_partitions_upkeep(csgp_db *db, int days_ahead, int *created, int64_t *minutes,
                           csg_error *err)
{
    if (created)
        *created = 0;
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    int rc = csgp_db_exec_script(db, pg ? "BEGIN" : "BEGIN IMMEDIATE", "BEGIN", err);
    if (rc)
        return rc;
    rc = csgp_rollup_expire_minutes(db, csgp_rollup_minute_from(time(NULL)), minutes, err);
    if (rc || !pg)
        return in_tx(db, rc, err);
    char ph[16], sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE csg_ensure_day_partition(d)) FROM ("
             "SELECT (now() AT TIME ZONE 'UTC')::date + k AS d FROM generate_series(-1, %s) k UNION "
             "SELECT DISTINCT (\"timestamp\" AT TIME ZONE 'UTC')::date FROM "
             "credit_score_metrics_default ORDER BY 1) days",
             csgp_db_ph(db, 1, "int", ph, sizeof ph));
    csgp_param p = {.type = CSGP_P_INT, .i = days_ahead};
    csgp_rows *rows = NULL;
    if (!(rc = csgp_db_query(db, sql, &p, 1, &rows, err)) && csgp_rows_next(rows) == 1 && created)
        *created = (int)csgp_rows_int(rows, 0);
    csgp_rows_free(rows);
    return in_tx(db, rc, err);
}

/* The feature catalogue's counts lose the rows about to be purged (the same rule as at
 * ingest, catalogue.c: a value counts when its JSON type is the feature's type), so
 * `count` stays the number of stored events holding the feature. Types and value lists
 * stay (docs/persistence.md "Purge"). */
static int uncount_features(csgp_db *db, bool pg, const csgp_param *cut, csg_error *err)
{
    char ph[16], sql[768];
    if (pg)
        snprintf(sql, sizeof sql,
                 "UPDATE feature_catalogue c SET count = c.count - g.n FROM (SELECT f.key, "
                 "jsonb_typeof(f.value) AS jt, count(*) AS n FROM credit_score_metrics m, "
                 "jsonb_each(m.features) f WHERE m.\"timestamp\" < %s AND m.features IS NOT "
                 "NULL GROUP BY 1, 2) g WHERE c.name = g.key AND g.jt = CASE c.type WHEN "
                 "'number' THEN 'number' WHEN 'category' THEN 'string' ELSE 'boolean' END",
                 csgp_db_ph(db, 1, "timestamptz", ph, sizeof ph));
    else
        snprintf(sql, sizeof sql,
                 "UPDATE feature_catalogue SET count = count - g.n FROM (SELECT j.key, CASE "
                 "WHEN j.type IN ('integer', 'real') THEN 'number' WHEN j.type = 'text' THEN "
                 "'category' ELSE 'boolean' END AS ft, count(*) AS n FROM credit_score_metrics "
                 "m, json_each(m.features) j WHERE m.\"timestamp\" < %s AND m.features IS NOT "
                 "NULL AND j.type <> 'null' GROUP BY 1, 2) g WHERE feature_catalogue.name = "
                 "g.key AND feature_catalogue.type = g.ft",
                 csgp_db_ph(db, 1, NULL, ph, sizeof ph));
    return csgp_db_exec(db, sql, cut, 1, NULL, err);
}

int csgp_purge(csgp_db *db, int64_t before_ms, int64_t *partitions, int64_t *nrows,
               csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    char ts[CSGP_TS_SIZE], ph[16], sql[256];
    csgp_format_ms(before_ms, ts);
    int rc = csgp_db_exec_script(db, pg ? "BEGIN" : "BEGIN IMMEDIATE", "BEGIN", err);
    if (rc)
        return rc;
    csgp_param p = {.type = CSGP_P_TEXT, .text = ts};
    int64_t parts = 0, gone = 0;
    if ((rc = uncount_features(db, pg, &p, err)))
        return in_tx(db, rc, err);
    if (pg) {
        snprintf(sql, sizeof sql, "SELECT partitions, rows_deleted FROM csg_purge_before(%s)",
                 csgp_db_ph(db, 1, "timestamptz", ph, sizeof ph));
        csgp_rows *rows = NULL;
        if (!(rc = csgp_db_query(db, sql, &p, 1, &rows, err))) {
            if (csgp_rows_next(rows) == 1) {
                parts = csgp_rows_int(rows, 0);
                gone = csgp_rows_int(rows, 1);
            } else {
                rc = csg_fail(err, CSGP_EDB, "csg_purge_before returned nothing");
            }
        }
        csgp_rows_free(rows);
    } else {
        snprintf(sql, sizeof sql, "DELETE FROM credit_score_metrics WHERE \"timestamp\" < %s",
                 csgp_db_ph(db, 1, NULL, ph, sizeof ph));
        rc = csgp_db_exec(db, sql, &p, 1, &gone, err);
    }
    if (!rc) { /* the challenger results of the purged requests (issue 21) */
        snprintf(sql, sizeof sql, "DELETE FROM challenger_results WHERE \"timestamp\" < %s",
                 csgp_db_ph(db, 1, pg ? "timestamptz" : NULL, ph, sizeof ph));
        rc = csgp_db_exec(db, sql, &p, 1, NULL, err);
    }
    if ((rc = in_tx(db, rc, err)))
        return rc;
    if (partitions)
        *partitions = parts;
    if (nrows)
        *nrows = gone;
    return 0;
}
