/*
 * db_insert.c — the ingest path's batch insert (csgp_db_insert_events, see db.h): on
 * PostgreSQL through COPY into a staging table, on SQLite a prepared INSERT OR IGNORE; the
 * rollups of the rows actually inserted go in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arms_store.h"
#include "catalogue.h"
#include "db_private.h"
#include "pgcopy.h"
#include "rollup.h"
#include "srm.h"

/* The batch insert's column list (pgcopy.h's row), also used on SQLite. */
#define EVENT_COLUMNS CSGP_COPY_COLUMNS

/* Batch positions in event_id order (the first of a repeated id first); arg: the batch. */
static int by_event_id(const void *a, const void *b, void *arg)
{
    const csgp_event *ev = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(ev[x].event_id, ev[y].event_id);
    return c ? c : (x > y) - (x < y);
}

/* The position in uniq[0..n) (event_id order) of the event with id s; n when none. */
static size_t find_id(const csgp_event *ev, const size_t *uniq, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ev[uniq[mid]].event_id, s);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

static int pg_insert(csgp_db *db, const csgp_event *ev, size_t n, size_t *inserted,
                     csg_error *err)
{
    int rc = csgp_pg_connect(db, err);
    if (rc)
        return rc;
    csgp_copy_buf keys = {0}, rows = {0};
    unsigned char *fresh = calloc(n, 1); /* fresh[i]: ev[i] is inserted (the catalogue counts it) */
    size_t *uniq = malloc(n * sizeof *uniq), nu = 0;
    PGresult *res = NULL;
    bool abandoned;
    int oom = !fresh || !uniq || csgp_copy_begin(&keys);
    /* The first of each event_id in batch order is the only one that may be stored (a
     * repeat inside the batch never is), staged in event_id order: the claim below then
     * needs no sort and no join back to the batch, and concurrent consumers take the
     * dedup keys' locks in one order (issue 20: the claim was a fifth of the database's
     * time per batch). */
    for (size_t i = 0; i < n && !oom; i++)
        uniq[i] = i;
    if (!oom) {
        qsort_r(uniq, n, sizeof *uniq, by_event_id, (void *)ev);
        for (size_t i = 0; i < n; i++)
            if (!nu || strcmp(ev[uniq[nu - 1]].event_id, ev[uniq[i]].event_id))
                uniq[nu++] = uniq[i];
    }
    for (size_t i = 0; i < nu && !oom; i++)
        oom = csgp_copy_key(&keys, uniq[i], &ev[uniq[i]]);
    if (oom || csgp_copy_end(&keys)) {
        free(keys.p);
        free(fresh);
        free(uniq);
        return csg_fail(err, CSG_ENOMEM, "out of memory building COPY data");
    }
    /* The staging table holds the batch's keys for this transaction only (DESIGN §7). */
    if ((rc = csgp_pg_exec_simple(db,
                                  "BEGIN; CREATE TEMP TABLE csg_stage (" CSGP_COPY_KEY_COLUMNS_DDL
                                  ") ON COMMIT DROP",
                                  "staging table", err)) ||
        (rc = csgp_db_copy_in(db, "COPY csg_stage FROM STDIN (FORMAT binary)", keys.p, keys.len,
                              err)))
        goto fail;
    /* Exactly-once through csg_event_ids (the events table is partitioned by day, so it
     * cannot hold a unique key on event_id alone): each new event_id is claimed; the rows
     * to insert are those whose id came back. */
    res = csgp_pg_exec(db,
                       "INSERT INTO csg_event_ids (event_id, \"timestamp\") SELECT event_id, "
                       "\"timestamp\" FROM csg_stage ON CONFLICT (event_id) DO NOTHING "
                       "RETURNING event_id",
                       false, 0, NULL, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = csgp_pg_error(db, res, "INSERT", err);
        goto fail;
    }
    size_t ins = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        size_t u = find_id(ev, uniq, nu, PQgetvalue(res, i, 0));
        if (u < nu && !fresh[uniq[u]]) {
            fresh[uniq[u]] = 1;
            ins++;
        }
    }
    PQclear(res);
    res = NULL;
    /* Those rows straight into the partitioned table, in batch order (so their ids follow
     * it): COPY routes each to its day's partition and writes them in bulk. */
    oom = csgp_copy_begin(&rows);
    for (size_t i = 0; i < n && !oom; i++)
        oom = fresh[i] ? csgp_copy_event(&rows, &ev[i]) : 0;
    if (oom || csgp_copy_end(&rows)) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory building COPY data");
        goto fail;
    }
    if ((ins && (rc = csgp_db_copy_in(db,
                                      "COPY " CSGP_TABLE " (" EVENT_COLUMNS
                                      ") FROM STDIN (FORMAT binary)",
                                      rows.p, rows.len, err))) ||
        (rc = csgp_catalogue_add(db, ev, fresh, n, err)) ||
        (rc = csgp_rollup_add(db, ev, fresh, n, err)) ||
        (rc = csgp_arms_add(db, ev, fresh, n, err)) || (rc = csgp_srm_add(db, ev, fresh, n, err)))
        goto fail;
    /* A connection lost and silently replaced inside the catalogue update would COMMIT
     * nothing with a mere warning: commit only the transaction this call opened. */
    if (PQtransactionStatus(db->pg) != PQTRANS_INTRANS) {
        rc = csg_fail(err, CSGP_EDB, "PostgreSQL transaction lost before COMMIT");
        goto fail;
    }
    /* Abandoned during COMMIT, the rows may be stored or not: either way the offsets stay
     * uncommitted and a re-read skips what is there (event_id is unique). */
    res = csgp_pg_exec(db, "COMMIT", false, 0, NULL, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = csgp_pg_error(db, res, "COMMIT", err);
        goto fail;
    }
    PQclear(res);
    free(keys.p);
    free(rows.p);
    free(fresh);
    free(uniq);
    *inserted = ins;
    return 0;
fail:
    PQclear(res);
    csgp_pg_rollback(db);
    free(keys.p);
    free(rows.p);
    free(fresh);
    free(uniq);
    return rc ? rc : -CSGP_EDB;
abandon:
    free(keys.p);
    free(rows.p);
    free(fresh);
    free(uniq);
    return csg_fail(err, CSGP_EDB, "PostgreSQL insert abandoned: shutting down");
}

static int lite_insert(csgp_db *db, const csgp_event *ev, size_t n, size_t *inserted,
                       csg_error *err)
{
    if (!db->lite_insert &&
        sqlite3_prepare_v2(db->lite,
                           "INSERT OR IGNORE INTO credit_score_metrics (" EVENT_COLUMNS
                           ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
                           "?17,?18,?19,?20,?21,?22,?23)",
                           -1, &db->lite_insert, NULL) != SQLITE_OK)
        return csgp_lite_error(db, "prepare INSERT", err);
    unsigned char *fresh = calloc(n, 1); /* fresh[i]: ev[i] was inserted */
    if (!fresh)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    int rc = csgp_lite_exec(db, "BEGIN IMMEDIATE", "BEGIN", err);
    if (rc) {
        free(fresh);
        return rc;
    }
    size_t ins = 0;
    sqlite3_stmt *st = db->lite_insert;
    for (size_t i = 0; i < n; i++) {
        const csgp_event *e = &ev[i];
        const char *cd = csg_decision_name(e->champion_decision);
        const char *xd = csg_decision_name(e->challenger_decision);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_text(st, 1, e->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->experiment_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->applicant_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->transport, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, e->champion_model, -1, SQLITE_STATIC);
        if (e->has_challenger_model)
            sqlite3_bind_text(st, 6, e->challenger_model, -1, SQLITE_STATIC);
        if (e->has_champion_score)
            sqlite3_bind_double(st, 7, e->champion_score);
        if (e->has_challenger_score)
            sqlite3_bind_double(st, 8, e->challenger_score);
        if (cd)
            sqlite3_bind_text(st, 9, cd, -1, SQLITE_STATIC);
        if (xd)
            sqlite3_bind_text(st, 10, xd, -1, SQLITE_STATIC);
        if (e->decision_match >= 0)
            sqlite3_bind_int(st, 11, e->decision_match);
        sqlite3_bind_double(st, 12, e->latency_champion_ms);
        if (e->has_latency_challenger)
            sqlite3_bind_double(st, 13, e->latency_challenger_ms);
        if (e->has_decision_diff)
            sqlite3_bind_double(st, 14, e->decision_diff);
        if (e->has_income)
            sqlite3_bind_double(st, 15, e->income);
        if (e->has_loan_amount)
            sqlite3_bind_double(st, 16, e->loan_amount);
        if (e->has_credit_history)
            sqlite3_bind_int64(st, 17, e->credit_history);
        sqlite3_bind_text(st, 18, e->timestamp, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 19, e->status, -1, SQLITE_STATIC);
        if (e->features)
            sqlite3_bind_text(st, 20, e->features, -1, SQLITE_STATIC);
        if (e->config_version[0])
            sqlite3_bind_text(st, 21, e->config_version, -1, SQLITE_STATIC);
        char cr[CSGP_REASONS_TEXT_SIZE], xr[CSGP_REASONS_TEXT_SIZE];
        if (e->champion_reasons.present)
            sqlite3_bind_text(st, 22, csgp_reasons_text(&e->champion_reasons, '[', ']', cr), -1,
                              SQLITE_TRANSIENT);
        if (e->challenger_reasons.present)
            sqlite3_bind_text(st, 23, csgp_reasons_text(&e->challenger_reasons, '[', ']', xr),
                              -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = csgp_lite_error(db, "INSERT", err);
            sqlite3_reset(st);
            goto fail;
        }
        fresh[i] = sqlite3_changes(db->lite) > 0;
        ins += fresh[i];
    }
    sqlite3_reset(st);
    if ((rc = csgp_catalogue_add(db, ev, fresh, n, err)) ||
        (rc = csgp_rollup_add(db, ev, fresh, n, err)) ||
        (rc = csgp_arms_add(db, ev, fresh, n, err)) || (rc = csgp_srm_add(db, ev, fresh, n, err)) ||
        (rc = csgp_lite_exec(db, "COMMIT", "COMMIT", err)))
        goto fail;
    free(fresh);
    *inserted = ins;
    return 0;
fail:
    csgp_lite_exec(db, "ROLLBACK", "ROLLBACK", NULL);
    free(fresh);
    return rc;
}

int csgp_db_insert_events(csgp_db *db, const csgp_event *ev, size_t n, size_t *inserted,
                          csg_error *err)
{
    *inserted = 0;
    if (n == 0)
        return 0;
    return db->kind == CSGP_DB_PG ? pg_insert(db, ev, n, inserted, err)
                                  : lite_insert(db, ev, n, inserted, err);
}

