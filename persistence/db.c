/*
 * db.c — PostgreSQL and SQLite behind one interface (see db.h): connections,
 * and parameterised queries (the ingest path's batch insert: db_insert.c).
 */
#include "db.h"
#include "db_private.h"

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

/* csgp_db_interrupt_all, or this handle's hook: the call in progress gives up. */
static bool interrupted(csgp_db *db)
{
    return atomic_load(&g_interrupt_all) || (db->interrupt && db->interrupt(db->interrupt_arg));
}

/* SQLite calls this every few thousand VM steps: non-zero interrupts the statement. */
static int lite_progress(void *arg) { return interrupted(arg); }

void csgp_db_set_interrupt(csgp_db *db, bool (*fn)(void *arg), void *arg)
{
    db->interrupt = fn;
    db->interrupt_arg = arg;
    if (db->lite) /* a long statement (a baseline's rebuild) gives up too */
        sqlite3_progress_handler(db->lite, fn ? 10000 : 0, fn ? lite_progress : NULL, db);
}

void csgp_db_interrupt_all(void) { atomic_store(&g_interrupt_all, true); }

/* Give up the connection in the middle of a call: closing the socket makes the server
 * roll back whatever transaction was open (once it notices: see baseline_jobs.c for a
 * statement that may run long); the next call reconnects. No PQcancel: it blocks until
 * the server answers, and a hung one never does. */
static int pg_abandon(csgp_db *db, csg_error *err)
{
    PQfinish(db->pg);
    db->pg = NULL;
    return csg_fail(err, CSGP_EDB, "PostgreSQL call abandoned: shutting down");
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
int csgp_pg_connect(csgp_db *db, csg_error *err)
{
    if (db->pg && PQstatus(db->pg) == CONNECTION_OK)
        return 0;
    if (db->pg) {
        PQfinish(db->pg);
        db->pg = NULL;
    }
    if (interrupted(db))
        return csg_fail(err, CSGP_EDB, "PostgreSQL call abandoned: shutting down");
    /* Defaults first: keys expanded from the URL (dbname) override them. */
    /* Keepalives notice a server that vanished without closing the socket; statement
     * timeouts bound a hung lock wait (the ingest loop then retries the batch); the
     * API's ends before the REST server's 30 s idle close (httpd.h), so a client blocked
     * that long gets a 503 rather than a dropped connection. A
     * baseline's rollup rebuild reads every stored row, so its statements are bounded by
     * the data, not a clock: only its lock waits are. */
    const char *keys[] = {"application_name", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "options", "dbname", NULL};
    const char *vals[] = {"csg-persist", "10", "5", "3",
                          !strcmp(db->role, "api") ? "-c statement_timeout=25000"
                          : !strcmp(db->role, "baselines")
                              ? "-c statement_timeout=0 -c lock_timeout=120000"
                              : "-c statement_timeout=120000",
                          db->pg_url, NULL};
    db->pg = PQconnectStartParams(keys, vals, 1);
    if (!db->pg)
        return csg_fail(err, CSG_ENOMEM, "out of memory connecting to PostgreSQL");
    PQsetNoticeProcessor(db->pg, pg_notice, NULL);
    int64_t deadline = csg_now_ms_int() + PG_CONNECT_TIMEOUT_MS;
    /* libpq's protocol: start as if PQconnectPoll had asked for "writable". */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(db->pg) != CONNECTION_BAD) {
        if (pg_poll(db->pg, st == PGRES_POLLING_WRITING) > 0) {
            st = PQconnectPoll(db->pg);
            if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED)
                break;
            continue;
        }
        if (interrupted(db))
            return pg_abandon(db, err);
        if (csg_now_ms_int() >= deadline) {
            PQfinish(db->pg);
            db->pg = NULL;
            return csg_fail(err, CSGP_EDB, "PostgreSQL connection failed: timeout expired "
                                            "after %d ms", PG_CONNECT_TIMEOUT_MS);
        }
    }
    if (PQstatus(db->pg) != CONNECTION_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->pg));
        msg[strcspn(msg, "\n")] = 0;
        return csg_fail(err, CSGP_EDB, "PostgreSQL connection failed: %s", msg);
    }
    return 0;
}

/* The results of the command just sent, waited for in slices (see pg_connect). Returns
 * the first failed result or else the last one; a COPY IN result is returned at once.
 * NULL after an interrupt (the connection is then closed, *abandoned set). */
PGresult *csgp_pg_results(csgp_db *db, bool *abandoned)
{
    PGresult *keep = NULL;
    *abandoned = false;
    for (;;) {
        while (PQisBusy(db->pg)) {
            if (interrupted(db)) {
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
PGresult *csgp_pg_exec(csgp_db *db, const char *sql, bool extended, int nparams,
                         const char *const *values, bool *abandoned)
{
    *abandoned = false;
    /* extended: one statement only (the protocol refuses more), as PQexecParams. */
    int sent = extended ? PQsendQueryParams(db->pg, sql, nparams, NULL, values, NULL, NULL, 0)
                        : PQsendQuery(db->pg, sql);
    if (!sent)
        return NULL;
    return csgp_pg_results(db, abandoned);
}

/* Classify a failed result: data errors (SQLSTATE class 22/23) will fail again;
 * everything else (connection, shutdown, locks, permissions) is worth retrying. */
int csgp_pg_error(csgp_db *db, PGresult *res, const char *what, csg_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[400];
    snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg));
    msg[strcspn(msg, "\n")] = 0;
    int code = CSGP_EDB;
    if (state && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2)) &&
        PQstatus(db->pg) == CONNECTION_OK)
        code = CSGP_EDBDATA;
    return csg_fail(err, code, "PostgreSQL %s failed: %s%s%s", what, msg, state ? " SQLSTATE " : "",
                     state ? state : "");
}

void csgp_pg_rollback(csgp_db *db)
{
    bool abandoned;
    if (PQstatus(db->pg) == CONNECTION_OK && PQtransactionStatus(db->pg) != PQTRANS_IDLE)
        PQclear(csgp_pg_exec(db, "ROLLBACK", false, 0, NULL, &abandoned));
}

int csgp_pg_exec_simple(csgp_db *db, const char *sql, const char *what, csg_error *err)
{
    bool abandoned;
    PGresult *res = csgp_pg_exec(db, sql, false, 0, NULL, &abandoned);
    if (abandoned)
        return csg_fail(err, CSGP_EDB, "PostgreSQL %s abandoned: shutting down", what);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = csgp_pg_error(db, res, what, err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* SQLite                                                                   */

int csgp_lite_error(csgp_db *db, const char *what, csg_error *err)
{
    int code = sqlite3_errcode(db->lite);
    int prim = code & 0xff;
    int cls = (prim == SQLITE_CONSTRAINT || prim == SQLITE_MISMATCH || prim == SQLITE_TOOBIG)
                  ? CSGP_EDBDATA
                  : CSGP_EDB;
    return csg_fail(err, cls, "SQLite %s failed: %s", what, sqlite3_errmsg(db->lite));
}

static int lite_open(csgp_db *db, const char *path, csg_error *err)
{
    if (sqlite3_open_v2(path, &db->lite,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = csg_fail(err, CSGP_EDB, "cannot open SQLite database %s: %s", path,
                           db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
        return rc;
    }
    sqlite3_busy_timeout(db->lite, 10000);
    /* WAL: readers (the REST thread) never block the writer. synchronous=FULL so that a
     * committed batch survives a power cut before its Kafka offsets are committed. */
    char *msg = NULL;
    if (sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        int rc = csg_fail(err, CSGP_EDB, "SQLite %s: %s", path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        return rc;
    }
    if (csgp_stats_register_sqlite(db->lite) != SQLITE_OK)
        return csgp_lite_error(db, "registering SQL functions", err);
    return 0;
}

int csgp_lite_exec(csgp_db *db, const char *sql, const char *what, csg_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = csgp_lite_error(db, what, err);
        if (msg && err)
            snprintf(err->message, sizeof err->message, "SQLite %s failed: %s", what, msg);
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Common                                                                   */

int csgp_db_open(const char *url, const char *role_hint, csgp_db **out, csg_error *err)
{
    csgp_db *db = calloc(1, sizeof *db);
    if (!db)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    snprintf(db->role, sizeof db->role, "%s", role_hint ? role_hint : "");
    int rc;
    if (!strncmp(url, "sqlite:", 7)) {
        db->kind = CSGP_DB_SQLITE;
        const char *path = url + 7;
        if (!strncmp(path, "//", 2)) /* sqlite:///abs/path */
            path += 2;
        if (!*path) {
            rc = csg_fail(err, CSG_EINVAL, "sqlite: URL needs a path (sqlite:var/csg.sqlite)");
            goto fail;
        }
        rc = lite_open(db, path, err);
        if (rc)
            goto fail;
    } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        db->kind = CSGP_DB_PG;
        db->pg_url = strdup(url);
        if (!db->pg_url) {
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
            goto fail;
        }
        /* No connection yet: the first call connects (as every call reconnects after a
         * failure), so a server that is down or hangs is met where an interrupt hook or
         * a retry loop can handle it. */
    } else {
        rc = csg_fail(err, CSG_EINVAL, "--db must be postgresql://… or sqlite:PATH");
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
        (void)csg_fail(err, CSG_ENOMEM, "out of memory");
        return -CSG_ENOMEM;
    }
    r->db = db;
    r->row = -1;
    int rc;
    if (db->kind == CSGP_DB_PG) {
        rc = csgp_pg_connect(db, err);
        if (rc)
            goto fail;
        char(*vals)[40] = calloc((size_t)nparams + 1, sizeof *vals);
        const char **pv = calloc((size_t)nparams + 1, sizeof *pv);
        if (!vals || !pv) {
            free(vals);
            free(pv);
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
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
        bool idle = PQtransactionStatus(db->pg) == PQTRANS_IDLE;
        r->res = csgp_pg_exec(db, sql, true, nparams, pv, &abandoned);
        if (!abandoned && idle && PQresultStatus(r->res) != PGRES_TUPLES_OK &&
            PQstatus(db->pg) == CONNECTION_BAD && !strncmp(sql, "SELECT", 6) &&
            csgp_pg_connect(db, NULL) == 0) {
            /* The server restarted since our last call: a read outside a transaction is
             * retried once on the new connection (not inside one: the retry would run
             * alone, the transaction's other statements lost; nor writes). */
            PQclear(r->res);
            r->res = csgp_pg_exec(db, sql, true, nparams, pv, &abandoned);
        }
        free(vals);
        free(pv);
        if (abandoned) {
            rc = csg_fail(err, CSGP_EDB, "PostgreSQL query abandoned: shutting down");
            goto fail;
        }
        ExecStatusType st = PQresultStatus(r->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            rc = csgp_pg_error(db, r->res, "query", err);
            goto fail;
        }
        r->nrows = PQntuples(r->res);
    } else {
        if (sqlite3_prepare_v2(db->lite, sql, -1, &r->st, NULL) != SQLITE_OK) {
            rc = csgp_lite_error(db, "prepare", err);
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
            rc = csgp_lite_error(db, "statement", err);
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
        return csgp_lite_exec(db, sql, what, err);
    int rc = csgp_pg_connect(db, err);
    return rc ? rc : csgp_pg_exec_simple(db, sql, what, err);
}

int csgp_db_commit(csgp_db *db, csg_error *err)
{
    if (db->kind == CSGP_DB_SQLITE)
        return csgp_lite_exec(db, "COMMIT", "COMMIT", err);
    /* A connection lost and silently replaced inside the transaction (each call reconnects)
     * would COMMIT nothing with a mere warning: only commit the transaction still open. */
    if (!db->pg || PQtransactionStatus(db->pg) != PQTRANS_INTRANS)
        return csg_fail(err, CSGP_EDB, "PostgreSQL transaction lost before COMMIT");
    return csgp_pg_exec_simple(db, "COMMIT", "COMMIT", err);
}

void csgp_db_rollback(csgp_db *db)
{
    if (db->kind == CSGP_DB_PG)
        csgp_pg_rollback(db);
    else
        csgp_lite_exec(db, "ROLLBACK", "ROLLBACK", NULL);
}

int csgp_db_copy_in(csgp_db *db, const char *copy_sql, const char *data, size_t len,
                    csg_error *err)
{
    if (db->kind != CSGP_DB_PG)
        return csg_fail(err, CSG_EINVAL, "COPY is PostgreSQL's");
    int rc = csgp_pg_connect(db, err);
    if (rc)
        return rc;
    bool abandoned;
    PGresult *res = csgp_pg_exec(db, copy_sql, false, 0, NULL, &abandoned);
    if (abandoned)
        return csg_fail(err, CSGP_EDB, "PostgreSQL COPY abandoned: shutting down");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = csgp_pg_error(db, res, "COPY", err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (PQputCopyData(db->pg, data ? data : "", (int)len) != 1 || PQputCopyEnd(db->pg, NULL) != 1)
        return csgp_pg_error(db, NULL, "COPY data", err);
    res = csgp_pg_results(db, &abandoned);
    if (abandoned)
        return csg_fail(err, CSGP_EDB, "PostgreSQL COPY abandoned: shutting down");
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : csgp_pg_error(db, res, "COPY", err);
    PQclear(res);
    return rc;
}

bool csgp_db_connected(const csgp_db *db)
{
    return db->kind == CSGP_DB_SQLITE || (db->pg && PQstatus(db->pg) == CONNECTION_OK);
}
