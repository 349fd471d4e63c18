/*
 * db_private.h — what db.c (connections, queries) and db_insert.c (the ingest path's batch
 * insert) share: the handle's layout and the backend helpers. Private to those two files.
 */
#ifndef CSGP_DB_PRIVATE_H
#define CSGP_DB_PRIVATE_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "db.h"

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

/* PostgreSQL: connect if not connected (every call reconnects after a failure). */
int csgp_pg_connect(csgp_db *db, csg_error *err);
/* The results of the command just sent, waited for in slices: the first failed result or
 * else the last one (COPY IN at once); NULL after an interrupt (*abandoned set). */
PGresult *csgp_pg_results(csgp_db *db, bool *abandoned);
/* Send sql and wait (interruptible) for its last result; NULL when *abandoned or lost. */
PGresult *csgp_pg_exec(csgp_db *db, const char *sql, bool extended, int nparams,
                       const char *const *values, bool *abandoned);
/* err from a failed result (freed), classified as data or connection trouble. */
int csgp_pg_error(csgp_db *db, PGresult *res, const char *what, csg_error *err);
void csgp_pg_rollback(csgp_db *db);
int csgp_pg_exec_simple(csgp_db *db, const char *sql, const char *what, csg_error *err);
/* SQLite: err from the handle's last error; exec a script. */
int csgp_lite_error(csgp_db *db, const char *what, csg_error *err);
int csgp_lite_exec(csgp_db *db, const char *sql, const char *what, csg_error *err);

#endif /* CSGP_DB_PRIVATE_H */
