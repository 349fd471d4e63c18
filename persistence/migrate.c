/*
 * migrate.c — the numbered SQL migrations (sql/<backend>/NNN_name.sql, embedded by
 * embed_sql.cmake) and the schema check (see db.h). Each migration runs in its own
 * transaction with its schema_migrations row; a migration may have a step in C run in the
 * same transaction after its SQL (045 builds the rollups of the rows already stored, with
 * the same code as ingest: rollup.c, fbins.c; 050 and 075 the per-challenger rollups of
 * the challenger results already stored: rollup_pairs.c).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "migrations.h"
#include "fbins.h"
#include "rollup.h"

static const csgp_migration *migrations(const csgp_db *db, size_t *n)
{
    if (csgp_db_kind_of(db) == CSGP_DB_PG) {
        *n = csgp_pg_migrations_count;
        return csgp_pg_migrations;
    }
    *n = csgp_sqlite_migrations_count;
    return csgp_sqlite_migrations;
}

/* The C step of a migration, after its SQL, in its transaction. Rollups of the rows
 * already stored are built once every rollup table has the shape rollup.c writes (045,
 * the last to add one): all of them when there are none yet (a database from before 004),
 * else only the feature-bin rollups 045 adds — rollups outlive purged rows, so existing
 * ones are converted by SQL (007), not rebuilt. */
static int after_sql(csgp_db *db, int version, csg_error *err)
{
    if (version == 65) { /* the minute rollups of the recent rows (csg-persist --minute-window) */
        int64_t rows = 0;
        int rc = csgp_rollup_rebuild_minutes(db, &rows, err);
        if (!rc)
            csgp_log("info", "migration 065: minute rollups built from %lld recent rows",
                     (long long)rows);
        return rc;
    }
    if (version == 50 || version == 75) { /* per-challenger rollups of the stored results */
        int64_t results = 0;
        int rc = csgp_rollup_rebuild(db, version == 50 ? CSGP_REBUILD_PAIRS
                                                       : CSGP_REBUILD_PAIR_SEGMENTS,
                                     &results, err);
        if (!rc)
            csgp_log("info", "migration %03d: per-challenger %s built from %lld stored "
                     "challenger results", version,
                     version == 50 ? "rollups" : "segment, reason and feature-bin rollups",
                     (long long)results);
        return rc;
    }
    if (version != 45)
        return 0;
    csgp_rows *r;
    int rc = csgp_db_query(db, "SELECT 1 FROM rollup_counts LIMIT 1", NULL, 0, &r, err);
    if (rc)
        return rc;
    int s = csgp_rows_next(r);
    csgp_rows_free(r);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading rollup_counts failed");
    int64_t rows = 0;
    rc = s == 1 ? csgp_fbins_rebuild(db, NULL, &rows, err) : csgp_rollup_rebuild(db, CSGP_REBUILD_EVENTS, &rows, err);
    if (!rc)
        csgp_log("info", "migration 045: %s built from %lld stored rows",
                 s == 1 ? "feature-bin rollups" : "rollups", (long long)rows);
    return rc;
}

int csgp_db_latest_version(const csgp_db *db)
{
    size_t n;
    const csgp_migration *m = migrations(db, &n);
    return n ? m[n - 1].version : 0;
}

static int applied_version(csgp_db *db, int version, bool *applied, csg_error *err)
{
    char sql[128], ph[16];
    snprintf(sql, sizeof sql, "SELECT 1 FROM schema_migrations WHERE version = %s",
             csgp_db_ph(db, 1, "int", ph, sizeof ph));
    csgp_param p = {.type = CSGP_P_INT, .i = version};
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, &p, 1, &r, err);
    if (rc)
        return rc;
    rc = csgp_rows_next(r);
    csgp_rows_free(r);
    if (rc < 0)
        return csg_fail(err, CSGP_EDB, "reading schema_migrations failed");
    *applied = rc == 1;
    return 0;
}

int csgp_db_migrate(csgp_db *db, int *applied_out, csg_error *err)
{
    int applied = 0, rc;
    size_t n;
    const csgp_migration *m = migrations(db, &n);
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    if (pg) {
        /* One migrator at a time, even with several `make up`s racing. */
        rc = csgp_db_exec_script(db,
                                 "SELECT pg_advisory_lock(4242001); "
                                 "CREATE TABLE IF NOT EXISTS schema_migrations (version integer "
                                 "PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL "
                                 "DEFAULT now())",
                                 "schema_migrations", err);
    } else {
        rc = csgp_db_exec_script(db,
                                 "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                                 "PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
                                 "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                                 "schema_migrations", err);
    }
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        bool done = false;
        if ((rc = csgp_db_exec_script(db, pg ? "BEGIN" : "BEGIN IMMEDIATE", "BEGIN", err)))
            goto out;
        if ((rc = applied_version(db, m[i].version, &done, err)))
            goto rollback;
        if (!done) {
            char ph1[16], ph2[16], sql[160];
            if ((rc = csgp_db_exec_script(db, m[i].sql, m[i].name, err)) ||
                (rc = after_sql(db, m[i].version, err)))
                goto rollback;
            snprintf(sql, sizeof sql, "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                     csgp_db_ph(db, 1, "int", ph1, sizeof ph1),
                     csgp_db_ph(db, 2, NULL, ph2, sizeof ph2));
            csgp_param p[2] = {{.type = CSGP_P_INT, .i = m[i].version},
                               {.type = CSGP_P_TEXT, .text = m[i].name}};
            if ((rc = csgp_db_exec(db, sql, p, 2, NULL, err)))
                goto rollback;
            applied++;
        }
        if ((rc = csgp_db_commit(db, err)))
            goto rollback;
        continue;
    rollback:
        csgp_db_rollback(db);
        goto out;
    }
out:
    if (pg && csgp_db_connected(db))
        csgp_db_exec_script(db, "SELECT pg_advisory_unlock(4242001)", "unlock", NULL);
    if (applied_out)
        *applied_out = applied;
    return rc;
}

/* Every migration this binary ships must be recorded, not just the highest number: a
 * migration numbered below one already applied (002 after 010) is still missing. */
int csgp_db_check_schema(csgp_db *db, csg_error *err)
{
    csgp_rows *r;
    csg_error qerr;
    size_t nm;
    const csgp_migration *m = migrations(db, &nm);
    char sql[4096] = "SELECT min(v) FROM (SELECT 0 AS v"; /* ~20 bytes a migration */
    for (size_t i = 0; i < nm; i++) {
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, " UNION ALL SELECT %d", m[i].version);
    }
    size_t len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, ") k WHERE v > 0 AND v NOT IN (SELECT version FROM "
             "schema_migrations)");
    int rc = csgp_db_query(db, sql, NULL, 0, &r, &qerr);
    if (rc == -CSGP_EDB && csgp_db_kind_of(db) == CSGP_DB_PG && !csgp_db_connected(db))
        return csg_fail(err, CSGP_EDB, "%s", qerr.message);
    int want = csgp_db_latest_version(db);
    if (rc)
        return csg_fail(err, CSG_EINVAL,
                         "database schema not ready (%s): run `csg-persist migrate --db URL` as "
                         "the schema owner",
                         qerr.message);
    int missing = 0;
    if (csgp_rows_next(r) == 1 && !csgp_rows_null(r, 0))
        missing = (int)csgp_rows_int(r, 0);
    csgp_rows_free(r);
    if (missing)
        return csg_fail(err, CSG_EINVAL,
                         "database schema lacks migration %03d (this csg-persist needs all up "
                         "to %d): run `csg-persist migrate --db URL` as the schema owner",
                         missing, want);
    return 0;
}
