/*
 * db.h — the database behind csg-persist: PostgreSQL (libpq) or SQLite, one interface.
 *
 * A csgp_db is one connection, used by one thread at a time (the ingest loop and the
 * REST thread each open their own). PostgreSQL connections reconnect on the next call
 * after a failure, so a restarted server is picked up without restarting csg-persist.
 * URLs: "postgresql://…" / "postgres://…" (libpq URL; passwords from PGPASSFILE) or
 * "sqlite:PATH" (WAL mode, created if missing).
 */
#ifndef CSGP_DB_H
#define CSGP_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "util.h"

typedef enum csgp_db_kind { CSGP_DB_SQLITE = 1, CSGP_DB_PG = 2 } csgp_db_kind;

typedef struct csgp_db csgp_db;
typedef struct csgp_rows csgp_rows;

/* A query parameter. Text parameters are not copied: keep them alive during the call. */
typedef struct csgp_param {
    enum { CSGP_P_TEXT, CSGP_P_REAL, CSGP_P_INT, CSGP_P_NULL } type;
    const char *text;
    double real;
    int64_t i;
} csgp_param;

/* Open url (PostgreSQL: connects on the first call, not here). *out is freed with
 * csgp_db_close.
 * role_hint is a name for logs ("ingest", "api"). */
int csgp_db_open(const char *url, const char *role_hint, csgp_db **out, csg_error *err);
void csgp_db_close(csgp_db *db);
csgp_db_kind csgp_db_kind_of(const csgp_db *db);

/* Apply the numbered migrations not yet in schema_migrations, each in its own
 * transaction; *applied (optional) gets how many ran. */
int csgp_db_migrate(csgp_db *db, int *applied, csg_error *err);
/* 0 when every migration this binary knows is applied; -CSG_EINVAL with a message
 * naming `csg-persist migrate` otherwise; -CSGP_EDB when the DB is unreachable. */
int csgp_db_check_schema(csgp_db *db, csg_error *err);
/* Highest migration version this binary ships for the db's backend. */
int csgp_db_latest_version(const csgp_db *db);

/* Insert ev[0..n) in one transaction, skipping event_ids already stored (also repeats
 * inside the batch). *inserted gets the number of new rows. -CSGP_EDB: nothing was
 * stored (connection lost, server down, lock timeout) — retry later. */
int csgp_db_insert_events(csgp_db *db, const csgp_event *ev, size_t n, size_t *inserted,
                          csg_error *err);

/* Run one parameterised SELECT. The SQL uses placeholders as produced by csgp_db_ph. */
int csgp_db_query(csgp_db *db, const char *sql, const csgp_param *params, int nparams,
                  csgp_rows **out, csg_error *err);
/* Execute a statement without rows (parameterised); *changed gets affected rows. */
int csgp_db_exec(csgp_db *db, const char *sql, const csgp_param *params, int nparams,
                 int64_t *changed, csg_error *err);
/* 1 = a row is current, 0 = done, <0 = error (message in err of csgp_db_query's db). */
int csgp_rows_next(csgp_rows *r);
bool csgp_rows_null(csgp_rows *r, int col);
double csgp_rows_real(csgp_rows *r, int col);
int64_t csgp_rows_int(csgp_rows *r, int col);
const char *csgp_rows_text(csgp_rows *r, int col); /* valid until the next csgp_rows_next */
int csgp_rows_bool(csgp_rows *r, int col);         /* -1 null, 0, 1 */
void csgp_rows_free(csgp_rows *r);

/* Placeholder number n (1-based) for the backend: "$n" / "?n". pg_cast (may be NULL),
 * e.g. "float8", is appended as "::float8" on PostgreSQL only. Returns buf. */
const char *csgp_db_ph(const csgp_db *db, int n, const char *pg_cast, char *buf, size_t size);

/* Shutdown hooks. PostgreSQL calls wait for the server in 100 ms slices; whenever fn(arg)
 * returns true (per handle; NULL = never) or after csgp_db_interrupt_all() (every handle,
 * any thread), the call in progress is abandoned: a connect is given up, a query's
 * connection is closed (the server rolls its transaction back) and the call returns
 * -CSGP_EDB. So a hung or black-holed server cannot hold up a SIGTERM. */
void csgp_db_set_interrupt(csgp_db *db, bool (*fn)(void *arg), void *arg);
void csgp_db_interrupt_all(void);

/* Run sql (one or more statements, no parameters, no rows wanted) as it is: migrations,
 * BEGIN/COMMIT around a multi-step job. PostgreSQL connects first when needed. */
int csgp_db_exec_script(csgp_db *db, const char *sql, const char *what, csg_error *err);
/* COMMIT the open transaction; on PostgreSQL -CSGP_EDB unless it is still open (its
 * connection was not lost and replaced since BEGIN). */
int csgp_db_commit(csgp_db *db, csg_error *err);
/* Roll back the open transaction, if any (errors ignored). */
void csgp_db_rollback(csgp_db *db);
/* PostgreSQL: run copy_sql ("COPY t (…) FROM STDIN") and send data[0..len) (COPY text
 * rows). -CSG_EINVAL on SQLite. */
int csgp_db_copy_in(csgp_db *db, const char *copy_sql, const char *data, size_t len,
                    csg_error *err);
/* SQLite: always; PostgreSQL: the connection is up. */
bool csgp_db_connected(const csgp_db *db);

/* Cheap liveness check (SELECT 1), reconnecting if needed. */
bool csgp_db_ping(csgp_db *db);

/* The URL with any password replaced by "***", for logs. */
void csgp_db_redact_url(const char *url, char *out, size_t size);

#endif /* CSGP_DB_H */
