/*
 * db.c — PostgreSQL and SQLite behind one interface (see db.h): connections,
 * the batch insert of the ingest path, and parameterised queries.
 */
#include "db.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "pgcopy.h"
#include "rollup.h"
#include "stats.h"

struct csgp_db {
    csgp_db_kind kind;
    char role[16];
    PGconn *pg;
    char *pg_url;
    sqlite3 *lite;
    sqlite3_stmt *lite_insert;
    bool (*interrupt)(void *arg); /* csgp_db_set_interrupt */
    void *interrupt_arg;
};

/* csgp_db_interrupt_all: every PostgreSQL wait of every handle gives up (shutdown). */
static atomic_bool g_interrupt_all;

/* libpq's connect_timeout does not apply to PQconnectPoll: ours, same value as before. */
#define PG_CONNECT_TIMEOUT_MS 5000
/* How often a PostgreSQL wait looks at the interrupt hooks. */
#define PG_WAIT_SLICE_MS 100

struct csgp_rows {
    csgp_db *db;
    PGresult *res;
    int row, nrows;
    sqlite3_stmt *st;
    char pgbuf[32];
};

csgp_db_kind csgp_db_kind_of(const csgp_db *db) { return db->kind; }

void csgp_db_redact_url(const char *url, char *out, size_t size)
{
    /* postgresql://user:secret@host → postgresql://user:***@host; also password=… */
    snprintf(out, size, "%s", url);
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *at = strchr(scheme + 3, '@');
        char *colon = strchr(scheme + 3, ':');
        if (at && colon && colon < at) {
            size_t tail = strlen(at);
            if ((size_t)(colon + 1 - out) + 3 + tail < size) {
                memmove(colon + 4, at, tail + 1);
                memcpy(colon + 1, "***", 3);
            }
        }
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        pw += 9;
        char *end = pw + strcspn(pw, "& ");
        size_t tail = strlen(end);
        if ((size_t)(pw - out) + 3 + tail < size) {
            memmove(pw + 3, end, tail + 1);
            memcpy(pw, "***", 3);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* PostgreSQL                                                               */

/* NOTICEs ("relation … already exists, skipping") are not worth a log line. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void csgp_db_set_interrupt(csgp_db *db, bool (*fn)(void *arg), void *arg)
{
    db->interrupt = fn;
    db->interrupt_arg = arg;
}

void csgp_db_interrupt_all(void) { atomic_store(&g_interrupt_all, true); }

static bool pg_interrupted(csgp_db *db)
{
    return atomic_load(&g_interrupt_all) || (db->interrupt && db->interrupt(db->interrupt_arg));
}

/* Give up the connection in the middle of a call: closing the socket makes the server
 * roll back whatever transaction was open; the next call reconnects. */
static int pg_abandon(csgp_db *db, csg_error *err)
{
    PQfinish(db->pg);
    db->pg = NULL;
    return csgp_fail(err, CSGP_EDB, "PostgreSQL call abandoned: shutting down");
}

/* Wait (at most one slice) until the socket can be read or written. >0 = ready. */
static int pg_poll(PGconn *c, bool for_write)
{
    struct pollfd p = {.fd = PQsocket(c), .events = for_write ? POLLOUT : POLLIN};
    if (p.fd < 0)
        return 1; /* no socket: let libpq report the failure */
    return poll(&p, 1, PG_WAIT_SLICE_MS);
}

/* Connect without blocking in libpq: a server that accepts TCP but never answers (hung,
 * stopped with SIGSTOP, a black-holed port) must not hold up a shutdown for the whole
 * connect timeout, so the wait runs in slices that check the interrupt hooks. */
static int pg_connect(csgp_db *db, csg_error *err)
{
    if (db->pg && PQstatus(db->pg) == CONNECTION_OK)
        return 0;
    if (db->pg) {
        PQfinish(db->pg);
        db->pg = NULL;
    }
    if (pg_interrupted(db))
        return csgp_fail(err, CSGP_EDB, "PostgreSQL call abandoned: shutting down");
    /* Defaults first: keys expanded from the URL (dbname) override them. */
    /* Keepalives notice a server that vanished without closing the socket; statement
     * timeouts bound a hung lock wait (the ingest loop then retries the batch). */
    const char *keys[] = {"application_name", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "options", "dbname", NULL};
    const char *vals[] = {"csg-persist", "10", "5", "3",
                          !strcmp(db->role, "api") ? "-c statement_timeout=30000"
                                                   : "-c statement_timeout=120000",
                          db->pg_url, NULL};
    db->pg = PQconnectStartParams(keys, vals, 1);
    if (!db->pg)
        return csgp_fail(err, CSG_ENOMEM, "out of memory connecting to PostgreSQL");
    PQsetNoticeProcessor(db->pg, pg_notice, NULL);
    int64_t deadline = csgp_now_mono_ms() + PG_CONNECT_TIMEOUT_MS;
    /* libpq's protocol: start as if PQconnectPoll had asked for "writable". */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(db->pg) != CONNECTION_BAD) {
        if (pg_poll(db->pg, st == PGRES_POLLING_WRITING) > 0) {
            st = PQconnectPoll(db->pg);
            if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED)
                break;
            continue;
        }
        if (pg_interrupted(db))
            return pg_abandon(db, err);
        if (csgp_now_mono_ms() >= deadline) {
            PQfinish(db->pg);
            db->pg = NULL;
            return csgp_fail(err, CSGP_EDB, "PostgreSQL connection failed: timeout expired "
                                            "after %d ms", PG_CONNECT_TIMEOUT_MS);
        }
    }
    if (PQstatus(db->pg) != CONNECTION_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->pg));
        msg[strcspn(msg, "\n")] = 0;
        return csgp_fail(err, CSGP_EDB, "PostgreSQL connection failed: %s", msg);
    }
    return 0;
}

/* The results of the command just sent, waited for in slices (see pg_connect). Returns
 * the first failed result or else the last one; a COPY IN result is returned at once.
 * NULL after an interrupt (the connection is then closed, *abandoned set). */
static PGresult *pg_results(csgp_db *db, bool *abandoned)
{
    PGresult *keep = NULL;
    *abandoned = false;
    for (;;) {
        while (PQisBusy(db->pg)) {
            if (pg_interrupted(db)) {
                PQclear(keep);
                pg_abandon(db, NULL);
                *abandoned = true;
                return NULL;
            }
            if (pg_poll(db->pg, false) > 0 && !PQconsumeInput(db->pg))
                break; /* connection lost: PQgetResult reports it without waiting */
        }
        PGresult *r = PQgetResult(db->pg);
        if (!r)
            return keep;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN) {
            PQclear(keep);
            return r;
        }
        ExecStatusType kst = keep ? PQresultStatus(keep) : PGRES_COMMAND_OK;
        if (keep && (kst == PGRES_FATAL_ERROR || kst == PGRES_BAD_RESPONSE)) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
}

/* PQexec / PQexecParams that an interrupt can abandon. NULL + *abandoned after one;
 * NULL without it only when sending failed (PQerrorMessage says why). */
static PGresult *pg_exec(csgp_db *db, const char *sql, bool extended, int nparams,
                         const char *const *values, bool *abandoned)
{
    *abandoned = false;
    /* extended: one statement only (the protocol refuses more), as PQexecParams. */
    int sent = extended ? PQsendQueryParams(db->pg, sql, nparams, NULL, values, NULL, NULL, 0)
                        : PQsendQuery(db->pg, sql);
    if (!sent)
        return NULL;
    return pg_results(db, abandoned);
}

/* Classify a failed result: data errors (SQLSTATE class 22/23) will fail again;
 * everything else (connection, shutdown, locks, permissions) is worth retrying. */
static int pg_error(csgp_db *db, PGresult *res, const char *what, csg_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[400];
    snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg));
    msg[strcspn(msg, "\n")] = 0;
    int code = CSGP_EDB;
    if (state && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2)) &&
        PQstatus(db->pg) == CONNECTION_OK)
        code = CSGP_EDBDATA;
    return csgp_fail(err, code, "PostgreSQL %s failed: %s%s%s", what, msg, state ? " SQLSTATE " : "",
                     state ? state : "");
}

static void pg_rollback(csgp_db *db)
{
    bool abandoned;
    if (PQstatus(db->pg) == CONNECTION_OK && PQtransactionStatus(db->pg) != PQTRANS_IDLE)
        PQclear(pg_exec(db, "ROLLBACK", false, 0, NULL, &abandoned));
}

static int pg_exec_simple(csgp_db *db, const char *sql, const char *what, csg_error *err)
{
    bool abandoned;
    PGresult *res = pg_exec(db, sql, false, 0, NULL, &abandoned);
    if (abandoned)
        return csgp_fail(err, CSGP_EDB, "PostgreSQL %s abandoned: shutting down", what);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = pg_error(db, res, what, err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return 0;
}

/* The batch insert's column list: the staging table's (pgcopy.h), also used on SQLite. */
#define EVENT_COLUMNS CSGP_COPY_COLUMNS

static int pg_insert(csgp_db *db, const csgp_event *ev, size_t n, size_t *inserted,
                     csg_error *err)
{
    int rc = pg_connect(db, err);
    if (rc)
        return rc;
    csgp_copy_buf b = {0};
    unsigned char *fresh = NULL; /* fresh[i]: ev[i] was inserted (the catalogue counts it) */
    for (size_t i = 0; i < n; i++)
        if (csgp_copy_event(&b, i, &ev[i])) {
            free(b.p);
            return csgp_fail(err, CSG_ENOMEM, "out of memory building COPY data");
        }
    PGresult *res = NULL;
    /* The staging table lives for this transaction only (DESIGN §7). */
    rc = pg_exec_simple(db,
                        "BEGIN; CREATE TEMP TABLE csg_stage (ord int, event_id text, "
                        "experiment_id text, applicant_id text, transport text, champion_model "
                        "text, challenger_model text, champion_score float8, challenger_score "
                        "float8, champion_decision text, challenger_decision text, "
                        "decision_match boolean, latency_champion_ms float8, "
                        "latency_challenger_ms float8, decision_diff float8, income float8, "
                        "loan_amount float8, credit_history bigint, \"timestamp\" timestamptz, "
                        "status text, features jsonb, config_version text, champion_reasons text[], "
                        "challenger_reasons text[]) ON COMMIT DROP",
                        "staging table", err);
    if (rc)
        goto fail;
    bool abandoned;
    res = pg_exec(db, "COPY csg_stage FROM STDIN", false, 0, NULL, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_error(db, res, "COPY", err);
        goto fail;
    }
    PQclear(res);
    res = NULL;
    if (PQputCopyData(db->pg, b.p ? b.p : "", (int)b.len) != 1 || PQputCopyEnd(db->pg, NULL) != 1) {
        rc = pg_error(db, NULL, "COPY data", err);
        goto fail;
    }
    res = pg_results(db, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_error(db, res, "COPY", err);
        goto fail;
    }
    PQclear(res);
    /* The ords of the rows actually inserted (the first of each event_id), so that the
     * feature catalogue counts each stored event once. */
    /* Exactly-once through csg_event_ids (the events table is partitioned by day, so it
     * cannot hold a unique key on event_id alone): the first of each new event_id, in batch
     * order, claims it; only those rows are inserted. */
    res = pg_exec(db,
                  "WITH fresh AS (INSERT INTO csg_event_ids (event_id, \"timestamp\") SELECT "
                  "event_id, \"timestamp\" FROM csg_stage ORDER BY ord ON CONFLICT (event_id) "
                  "DO NOTHING RETURNING event_id), firsts AS (SELECT min(s.ord) AS ord FROM fresh "
                  "JOIN csg_stage s USING (event_id) GROUP BY s.event_id), ins AS (INSERT INTO "
                  "credit_score_metrics (" EVENT_COLUMNS ") SELECT " EVENT_COLUMNS " FROM "
                  "csg_stage WHERE ord IN (SELECT ord FROM firsts) ORDER BY ord) SELECT ord FROM "
                  "firsts",
                  false, 0, NULL, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_error(db, res, "INSERT", err);
        goto fail;
    }
    size_t ins = (size_t)PQntuples(res);
    if (!(fresh = calloc(n, 1))) {
        rc = csgp_fail(err, CSG_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        size_t ord = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
        if (ord < n)
            fresh[ord] = 1;
    }
    PQclear(res);
    res = NULL;
    if ((rc = csgp_catalogue_add(db, ev, fresh, n, err)) ||
        (rc = csgp_rollup_add(db, ev, fresh, n, err)))
        goto fail;
    /* A connection lost and silently replaced inside the catalogue update would COMMIT
     * nothing with a mere warning: commit only the transaction this call opened. */
    if (PQtransactionStatus(db->pg) != PQTRANS_INTRANS) {
        rc = csgp_fail(err, CSGP_EDB, "PostgreSQL transaction lost before COMMIT");
        goto fail;
    }
    /* Abandoned during COMMIT, the rows may be stored or not: either way the offsets stay
     * uncommitted and a re-read skips what is there (event_id is unique). */
    res = pg_exec(db, "COMMIT", false, 0, NULL, &abandoned);
    if (abandoned)
        goto abandon;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_error(db, res, "COMMIT", err);
        goto fail;
    }
    PQclear(res);
    free(b.p);
    free(fresh);
    *inserted = ins;
    return 0;
fail:
    PQclear(res);
    pg_rollback(db);
    free(b.p);
    free(fresh);
    return rc ? rc : -CSGP_EDB;
abandon:
    free(b.p);
    free(fresh);
    return csgp_fail(err, CSGP_EDB, "PostgreSQL insert abandoned: shutting down");
}

/* ------------------------------------------------------------------------ */
/* SQLite                                                                   */

static int lite_error(csgp_db *db, const char *what, csg_error *err)
{
    int code = sqlite3_errcode(db->lite);
    int prim = code & 0xff;
    int cls = (prim == SQLITE_CONSTRAINT || prim == SQLITE_MISMATCH || prim == SQLITE_TOOBIG)
                  ? CSGP_EDBDATA
                  : CSGP_EDB;
    return csgp_fail(err, cls, "SQLite %s failed: %s", what, sqlite3_errmsg(db->lite));
}

static int lite_open(csgp_db *db, const char *path, csg_error *err)
{
    if (sqlite3_open_v2(path, &db->lite,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = csgp_fail(err, CSGP_EDB, "cannot open SQLite database %s: %s", path,
                           db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
        return rc;
    }
    sqlite3_busy_timeout(db->lite, 10000);
    /* WAL: readers (the REST thread) never block the writer. synchronous=FULL so that a
     * committed batch survives a power cut before its Kafka offsets are committed. */
    char *msg = NULL;
    if (sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        int rc = csgp_fail(err, CSGP_EDB, "SQLite %s: %s", path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        return rc;
    }
    if (csgp_stats_register_sqlite(db->lite) != SQLITE_OK)
        return lite_error(db, "registering percentile_cont", err);
    return 0;
}

static int lite_exec(csgp_db *db, const char *sql, const char *what, csg_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = lite_error(db, what, err);
        if (msg && err)
            snprintf(err->message, sizeof err->message, "SQLite %s failed: %s", what, msg);
        sqlite3_free(msg);
        return rc;
    }
    return 0;
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
        return lite_error(db, "prepare INSERT", err);
    unsigned char *fresh = calloc(n, 1); /* fresh[i]: ev[i] was inserted */
    if (!fresh)
        return csgp_fail(err, CSG_ENOMEM, "out of memory");
    int rc = lite_exec(db, "BEGIN IMMEDIATE", "BEGIN", err);
    if (rc) {
        free(fresh);
        return rc;
    }
    size_t ins = 0;
    sqlite3_stmt *st = db->lite_insert;
    for (size_t i = 0; i < n; i++) {
        const csgp_event *e = &ev[i];
        const char *cd = csgp_decision_str(e->champion_decision);
        const char *xd = csgp_decision_str(e->challenger_decision);
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
            rc = lite_error(db, "INSERT", err);
            sqlite3_reset(st);
            goto fail;
        }
        fresh[i] = sqlite3_changes(db->lite) > 0;
        ins += fresh[i];
    }
    sqlite3_reset(st);
    if ((rc = csgp_catalogue_add(db, ev, fresh, n, err)) ||
        (rc = csgp_rollup_add(db, ev, fresh, n, err)) ||
        (rc = lite_exec(db, "COMMIT", "COMMIT", err)))
        goto fail;
    free(fresh);
    *inserted = ins;
    return 0;
fail:
    lite_exec(db, "ROLLBACK", "ROLLBACK", NULL);
    free(fresh);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Common                                                                   */

int csgp_db_open(const char *url, const char *role_hint, csgp_db **out, csg_error *err)
{
    csgp_db *db = calloc(1, sizeof *db);
    if (!db)
        return csgp_fail(err, CSG_ENOMEM, "out of memory");
    snprintf(db->role, sizeof db->role, "%s", role_hint ? role_hint : "");
    int rc;
    if (!strncmp(url, "sqlite:", 7)) {
        db->kind = CSGP_DB_SQLITE;
        const char *path = url + 7;
        if (!strncmp(path, "//", 2)) /* sqlite:///abs/path */
            path += 2;
        if (!*path) {
            rc = csgp_fail(err, CSG_EINVAL, "sqlite: URL needs a path (sqlite:var/csg.sqlite)");
            goto fail;
        }
        rc = lite_open(db, path, err);
        if (rc)
            goto fail;
    } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        db->kind = CSGP_DB_PG;
        db->pg_url = strdup(url);
        if (!db->pg_url) {
            rc = csgp_fail(err, CSG_ENOMEM, "out of memory");
            goto fail;
        }
        /* No connection yet: the first call connects (as every call reconnects after a
         * failure), so a server that is down or hangs is met where an interrupt hook or
         * a retry loop can handle it. */
    } else {
        rc = csgp_fail(err, CSG_EINVAL, "--db must be postgresql://… or sqlite:PATH");
        goto fail;
    }
    *out = db;
    return 0;
fail:
    csgp_db_close(db);
    return rc;
}

void csgp_db_close(csgp_db *db)
{
    if (!db)
        return;
    if (db->pg)
        PQfinish(db->pg);
    free(db->pg_url);
    if (db->lite_insert)
        sqlite3_finalize(db->lite_insert);
    if (db->lite)
        sqlite3_close(db->lite);
    free(db);
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

const char *csgp_db_ph(const csgp_db *db, int n, const char *pg_cast, char *b, size_t size)
{
    if (db->kind == CSGP_DB_PG)
        snprintf(b, size, "$%d%s%s", n, pg_cast ? "::" : "", pg_cast ? pg_cast : "");
    else
        snprintf(b, size, "?%d", n);
    return b;
}

int csgp_db_query(csgp_db *db, const char *sql, const csgp_param *params, int nparams,
                  csgp_rows **out, csg_error *err)
{
    csgp_rows *r = calloc(1, sizeof *r);
    if (!r) { /* a literal non-zero: callers read *out whenever 0 comes back */
        (void)csgp_fail(err, CSG_ENOMEM, "out of memory");
        return -CSG_ENOMEM;
    }
    r->db = db;
    r->row = -1;
    int rc;
    if (db->kind == CSGP_DB_PG) {
        rc = pg_connect(db, err);
        if (rc)
            goto fail;
        char(*vals)[40] = calloc((size_t)nparams + 1, sizeof *vals);
        const char **pv = calloc((size_t)nparams + 1, sizeof *pv);
        if (!vals || !pv) {
            free(vals);
            free(pv);
            rc = csgp_fail(err, CSG_ENOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < nparams; i++) {
            if (params[i].type == CSGP_P_NULL) {
                pv[i] = NULL;
            } else if (params[i].type == CSGP_P_TEXT) {
                pv[i] = params[i].text;
            } else if (params[i].type == CSGP_P_REAL) {
                csgp_format_double(params[i].real, vals[i], sizeof vals[i]);
                pv[i] = vals[i];
            } else {
                snprintf(vals[i], sizeof vals[i], "%lld", (long long)params[i].i);
                pv[i] = vals[i];
            }
        }
        bool abandoned;
        r->res = pg_exec(db, sql, true, nparams, pv, &abandoned);
        if (!abandoned && PQresultStatus(r->res) != PGRES_TUPLES_OK &&
            PQstatus(db->pg) == CONNECTION_BAD && !strncmp(sql, "SELECT", 6) &&
            pg_connect(db, NULL) == 0) {
            /* The server restarted since our last call: a read is retried once on the new
             * connection (writes are not: they may be inside a transaction). */
            PQclear(r->res);
            r->res = pg_exec(db, sql, true, nparams, pv, &abandoned);
        }
        free(vals);
        free(pv);
        if (abandoned) {
            rc = csgp_fail(err, CSGP_EDB, "PostgreSQL query abandoned: shutting down");
            goto fail;
        }
        ExecStatusType st = PQresultStatus(r->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            rc = pg_error(db, r->res, "query", err);
            goto fail;
        }
        r->nrows = PQntuples(r->res);
    } else {
        if (sqlite3_prepare_v2(db->lite, sql, -1, &r->st, NULL) != SQLITE_OK) {
            rc = lite_error(db, "prepare", err);
            goto fail;
        }
        for (int i = 0; i < nparams; i++) {
            if (params[i].type == CSGP_P_NULL)
                sqlite3_bind_null(r->st, i + 1);
            else if (params[i].type == CSGP_P_TEXT)
                sqlite3_bind_text(r->st, i + 1, params[i].text, -1, SQLITE_STATIC);
            else if (params[i].type == CSGP_P_REAL)
                sqlite3_bind_double(r->st, i + 1, params[i].real);
            else
                sqlite3_bind_int64(r->st, i + 1, params[i].i);
        }
    }
    *out = r;
    return 0;
fail:
    csgp_rows_free(r);
    return rc ? rc : -CSGP_EDB; /* never 0 here: callers read *out on 0 */
}

int csgp_rows_next(csgp_rows *r)
{
    if (r->res) {
        if (r->row + 1 >= r->nrows)
            return 0;
        r->row++;
        return 1;
    }
    int s = sqlite3_step(r->st);
    if (s == SQLITE_ROW)
        return 1;
    if (s == SQLITE_DONE)
        return 0;
    return -CSGP_EDB;
}

bool csgp_rows_null(csgp_rows *r, int col)
{
    if (r->res)
        return PQgetisnull(r->res, r->row, col);
    return sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

double csgp_rows_real(csgp_rows *r, int col)
{
    if (r->res)
        return strtod(PQgetvalue(r->res, r->row, col), NULL);
    return sqlite3_column_double(r->st, col);
}

int64_t csgp_rows_int(csgp_rows *r, int col)
{
    if (r->res)
        return strtoll(PQgetvalue(r->res, r->row, col), NULL, 10);
    return sqlite3_column_int64(r->st, col);
}

const char *csgp_rows_text(csgp_rows *r, int col)
{
    if (r->res)
        return PQgetvalue(r->res, r->row, col);
    const unsigned char *t = sqlite3_column_text(r->st, col);
    return t ? (const char *)t : "";
}

int csgp_rows_bool(csgp_rows *r, int col)
{
    if (csgp_rows_null(r, col))
        return -1;
    if (r->res)
        return PQgetvalue(r->res, r->row, col)[0] == 't';
    return sqlite3_column_int(r->st, col) != 0;
}

void csgp_rows_free(csgp_rows *r)
{
    if (!r)
        return;
    PQclear(r->res);
    if (r->st)
        sqlite3_finalize(r->st);
    free(r);
}

int csgp_db_exec(csgp_db *db, const char *sql, const csgp_param *params, int nparams,
                 int64_t *changed, csg_error *err)
{
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, params, nparams, &r, err);
    if (rc)
        return rc;
    int64_t n = 0;
    if (r->res) {
        n = strtoll(PQcmdTuples(r->res), NULL, 10);
    } else {
        int s;
        while ((s = sqlite3_step(r->st)) == SQLITE_ROW)
            ;
        if (s != SQLITE_DONE) {
            rc = lite_error(db, "statement", err);
            csgp_rows_free(r);
            return rc;
        }
        n = sqlite3_changes(db->lite);
    }
    csgp_rows_free(r);
    if (changed)
        *changed = n;
    return 0;
}

bool csgp_db_ping(csgp_db *db)
{
    csgp_rows *r;
    if (csgp_db_query(db, "SELECT 1", NULL, 0, &r, NULL))
        return false;
    bool ok = csgp_rows_next(r) == 1;
    csgp_rows_free(r);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Scripts and transactions (migrate.c, purge)                               */

int csgp_db_exec_script(csgp_db *db, const char *sql, const char *what, csg_error *err)
{
    if (db->kind == CSGP_DB_SQLITE)
        return lite_exec(db, sql, what, err);
    int rc = pg_connect(db, err);
    return rc ? rc : pg_exec_simple(db, sql, what, err);
}

void csgp_db_rollback(csgp_db *db)
{
    if (db->kind == CSGP_DB_PG)
        pg_rollback(db);
    else
        lite_exec(db, "ROLLBACK", "ROLLBACK", NULL);
}

int csgp_db_copy_in(csgp_db *db, const char *copy_sql, const char *data, size_t len,
                    csg_error *err)
{
    if (db->kind != CSGP_DB_PG)
        return csgp_fail(err, CSG_EINVAL, "COPY is PostgreSQL's");
    int rc = pg_connect(db, err);
    if (rc)
        return rc;
    bool abandoned;
    PGresult *res = pg_exec(db, copy_sql, false, 0, NULL, &abandoned);
    if (abandoned)
        return csgp_fail(err, CSGP_EDB, "PostgreSQL COPY abandoned: shutting down");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_error(db, res, "COPY", err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (PQputCopyData(db->pg, data ? data : "", (int)len) != 1 || PQputCopyEnd(db->pg, NULL) != 1)
        return pg_error(db, NULL, "COPY data", err);
    res = pg_results(db, &abandoned);
    if (abandoned)
        return csgp_fail(err, CSGP_EDB, "PostgreSQL COPY abandoned: shutting down");
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pg_error(db, res, "COPY", err);
    PQclear(res);
    return rc;
}

bool csgp_db_connected(const csgp_db *db)
{
    return db->kind == CSGP_DB_SQLITE || (db->pg && PQstatus(db->pg) == CONNECTION_OK);
}
