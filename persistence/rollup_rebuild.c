/* rollup_rebuild.c — the rollups of the rows already stored (migrations 045 and 050; see
 * rollup.h): rows are read in id order, in chunks (with their challenger results for the
 * per-challenger rollups), turned back into events and counted by the same code as ingest
 * (rollup.c, fbins.c, rollup_pairs.c), so rebuilt rollups equal ingested ones. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rollup.h"

static csgp_decision decision_of(csgp_rows *rows, int col)
{
    if (csgp_rows_null(rows, col))
        return CSG_DECISION_NONE;
    const char *s = csgp_rows_text(rows, col);
    return csg_decision_parse(s, strlen(s)); /* the stored rows hold only valid names */
}

/* A stored reason list (JSON array text, as both backends give it here) into *out. */
static int read_reasons(csgp_rows *rows, int col, csgp_reasons *out)
{
    memset(out, 0, sizeof *out);
    if (csgp_rows_null(rows, col))
        return 0;
    json_t *a = json_loads(csgp_rows_text(rows, col), 0, NULL);
    if (!json_is_array(a) || json_array_size(a) > CSG_REASONS_MAX) {
        json_decref(a);
        return -1;
    }
    out->present = true;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *c = json_string_value(json_array_get(a, i));
        if (!c || strlen(c) > CSG_REASON_CODE_MAX) {
            json_decref(a);
            return -1;
        }
        snprintf(out->code[out->n++], sizeof out->code[0], "%s", c);
    }
    json_decref(a);
    return 0;
}

#define REBUILD_CHUNK 5000

/* Row r (the scan's columns) into *ev (features malloc'd: csgp_event_release). */
static int event_of_row(csgp_rows *rows, bool pg, csgp_event *ev)
{
    snprintf(ev->experiment_id, sizeof ev->experiment_id, "%s", csgp_rows_text(rows, 1));
    if (!csgp_rows_null(rows, 2))
        snprintf(ev->config_version, sizeof ev->config_version, "%s", csgp_rows_text(rows, 2));
    snprintf(ev->champion_model, sizeof ev->champion_model, "%s", csgp_rows_text(rows, 3));
    if ((ev->has_challenger_model = !csgp_rows_null(rows, 4)))
        snprintf(ev->challenger_model, sizeof ev->challenger_model, "%s", csgp_rows_text(rows, 4));
    snprintf(ev->transport, sizeof ev->transport, "%s", csgp_rows_text(rows, 5));
    snprintf(ev->status, sizeof ev->status, "%s", csgp_rows_text(rows, 6));
    if ((ev->has_champion_score = !csgp_rows_null(rows, 7)))
        ev->champion_score = csgp_rows_real(rows, 7);
    if ((ev->has_challenger_score = !csgp_rows_null(rows, 8)))
        ev->challenger_score = csgp_rows_real(rows, 8);
    ev->champion_decision = decision_of(rows, 9);
    ev->challenger_decision = decision_of(rows, 10);
    ev->latency_champion_ms = csgp_rows_real(rows, 11);
    if ((ev->has_latency_challenger = !csgp_rows_null(rows, 12)))
        ev->latency_challenger_ms = csgp_rows_real(rows, 12);
    if ((ev->has_decision_diff = !csgp_rows_null(rows, 13)))
        ev->decision_diff = csgp_rows_real(rows, 13);
    if ((ev->has_income = !csgp_rows_null(rows, 14)))
        ev->income = csgp_rows_real(rows, 14);
    if ((ev->has_loan_amount = !csgp_rows_null(rows, 15)))
        ev->loan_amount = csgp_rows_real(rows, 15);
    if ((ev->has_credit_history = !csgp_rows_null(rows, 16)))
        ev->credit_history = csgp_rows_int(rows, 16);
    if (pg) {
        ev->ts_ms = csgp_rows_int(rows, 17);
    } else {
        const char *ts = csgp_rows_text(rows, 17);
        if (csgp_parse_rfc3339(ts, strlen(ts), &ev->ts_ms))
            return -1;
    }
    if (read_reasons(rows, 18, &ev->champion_reasons) ||
        read_reasons(rows, 19, &ev->challenger_reasons))
        return -1;
    if (!csgp_rows_null(rows, 20) && !(ev->features = strdup(csgp_rows_text(rows, 20))))
        return -2;
    return 0;
}

/* The columns event_of_row reads, in its order (features NULL when not wanted). */
static void event_columns(bool pg, bool features, char *out, size_t cap)
{
    snprintf(out, cap,
             "id, experiment_id, config_version, champion_model, challenger_model, transport, "
             "status, champion_score, challenger_score, champion_decision, challenger_decision, "
             "latency_champion_ms, latency_challenger_ms, decision_diff, income, loan_amount, "
             "credit_history, %s AS ts, %s AS cr, %s AS xr, %s AS features",
             pg ? "(extract(epoch FROM \"timestamp\") * 1000)::bigint" : "\"timestamp\"",
             pg ? "array_to_json(champion_reasons)" : "champion_reasons",
             pg ? "array_to_json(challenger_reasons)" : "challenger_reasons",
             !features ? "NULL" : pg ? "features::text" : "features");
}

/* " AND timestamp >= $2" when since (an RFC 3339 text) is set, else "". */
static void since_clause(csgp_db *db, const char *since, const char *col, char *out, size_t cap)
{
    char ph[16];
    if (since)
        snprintf(out, cap, " AND %s >= %s", col,
                 csgp_db_ph(db, 2, csgp_db_kind_of(db) == CSGP_DB_PG ? "timestamptz" : NULL, ph,
                            sizeof ph));
    else
        out[0] = '\0';
}

/* csgp_rollup_scan over the rows from since (RFC 3339; NULL: all). */
static int scan(csgp_db *db, const char *since, csgp_scan_fn fn, void *arg, int64_t *nrows,
                csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csgp_event *ev = calloc(REBUILD_CHUNK, sizeof *ev);
    if (!ev)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    char cols[640], sql[1024], ph[16], cond[64];
    event_columns(pg, true, cols, sizeof cols);
    since_clause(db, since, "\"timestamp\"", cond, sizeof cond);
    snprintf(sql, sizeof sql,
             "SELECT %s FROM credit_score_metrics WHERE id > %s%s ORDER BY id LIMIT %d", cols,
             csgp_db_ph(db, 1, "bigint", ph, sizeof ph), cond, REBUILD_CHUNK);
    int64_t last = 0, total = 0;
    int rc = 0;
    for (;;) {
        csgp_param p[2] = {{.type = CSGP_P_INT, .i = last}, {.type = CSGP_P_TEXT, .text = since}};
        csgp_rows *rows;
        if ((rc = csgp_db_query(db, sql, p, since ? 2 : 1, &rows, err)))
            break;
        int s;
        size_t got = 0;
        while ((s = csgp_rows_next(rows)) == 1) {
            csgp_event *e = &ev[got++];
            memset(e, 0, sizeof *e);
            last = csgp_rows_int(rows, 0);
            if ((s = event_of_row(rows, pg, e)) < 0)
                break;
        }
        csgp_rows_free(rows);
        if (s < 0)
            rc = s == -2 ? csg_fail(err, CSG_ENOMEM, "out of memory")
                         : csg_fail(err, CSGP_EDB, "reading rows for the rollups failed (row id "
                                                   "%lld)", (long long)last);
        else if (got)
            rc = fn(db, ev, got, arg, err);
        for (size_t i = 0; i < got; i++)
            csgp_event_release(&ev[i]);
        total += (int64_t)got;
        if (rc || got < REBUILD_CHUNK)
            break;
    }
    free(ev);
    if (nrows)
        *nrows = total;
    return rc;
}

int csgp_rollup_scan(csgp_db *db, csgp_scan_fn fn, void *arg, int64_t *nrows, csg_error *err)
{
    return scan(db, NULL, fn, arg, nrows, err);
}

/* A chunk of stored rows counted as ingest counts a batch, into arg (a csgp_rollup:
 * every level, or the minute level alone). Not csgp_rollup_add: a migration's rebuild
 * must not expire minute rows of tables a later migration creates. */
static int add_chunk(csgp_db *db, const csgp_event *ev, size_t n, void *arg, csg_error *err)
{
    unsigned char *fresh = malloc(n);
    if (!fresh)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    memset(fresh, 1, n);
    int rc = csgp_rollup_add_into(arg, db, ev, fresh, n, err);
    free(fresh);
    return rc;
}

/* The challenger_results columns of row (from column 22 on) as ev's next result. */
static int row_result(csgp_rows *rows, csgp_event *ev)
{
    if (ev->n_chal >= CSG_EVENT_MAX_CHALLENGERS)
        return -1;
    csgp_chal_result *x = &ev->chal[ev->n_chal++];
    memset(x, 0, sizeof *x);
    snprintf(x->model, sizeof x->model, "%s", csgp_rows_text(rows, 22));
    if ((x->has_score = !csgp_rows_null(rows, 23)))
        x->score = csgp_rows_real(rows, 23);
    x->decision = decision_of(rows, 24);
    x->latency_ms = csgp_rows_real(rows, 25);
    x->live = !strcmp(csgp_rows_text(rows, 28), CSG_MODE_LIVE_NAME);
    return csg_event_status_parse(csgp_rows_text(rows, 26), &x->status) &&
                   read_reasons(rows, 27, &x->reasons) == 0
               ? 0
               : -1;
}

/* The per-challenger rollups from every stored challenger result: each event (id order,
 * in chunks) joined with its results (ord order), counted as ingest counts them. since
 * (RFC 3339): only the events from then on, at the minute level alone (migration 065),
 * into tables emptied of their minute rows by the caller; NULL: all, every level. */
static int rebuild_pairs(csgp_db *db, const char *since, int64_t *nrows, csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    int rc = 0;
    for (int t = 0; !since && csgp_rollup_pair_table(t) && !rc; t++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", csgp_rollup_pair_table(t));
        rc = csgp_db_exec(db, sql, NULL, 0, NULL, err);
    }
    if (rc)
        return rc;
    csgp_rollup *r = since ? csgp_rollup_new_minutes() : csgp_rollup_new();
    csgp_event *ev = calloc(1, sizeof *ev);
    csgp_chal_result *chal = calloc(CSG_EVENT_MAX_CHALLENGERS, sizeof *chal);
    if (!r || !ev || !chal) {
        csgp_rollup_free(r);
        free(ev);
        free(chal);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    char cols[640], sql[1536], ph[16], cond[64];
    event_columns(pg, false, cols, sizeof cols);
    since_clause(db, since, "\"timestamp\"", cond, sizeof cond);
    snprintf(sql, sizeof sql,
             "SELECT m.*, r.model, r.score, r.decision, r.latency_ms, r.status, %s, r.mode FROM "
             "(SELECT %s, event_id FROM credit_score_metrics WHERE id > %s%s ORDER BY id LIMIT "
             "%d) m LEFT JOIN challenger_results r ON r.event_id = m.event_id ORDER BY m.id, r.ord",
             pg ? "array_to_json(r.reasons)" : "r.reasons", cols,
             csgp_db_ph(db, 1, "bigint", ph, sizeof ph), cond, REBUILD_CHUNK);
    int64_t last = 0, total = 0;
    for (;;) {
        csgp_param p[2] = {{.type = CSGP_P_INT, .i = last}, {.type = CSGP_P_TEXT, .text = since}};
        csgp_rows *rows;
        if ((rc = csgp_db_query(db, sql, p, since ? 2 : 1, &rows, err)))
            break;
        int s, got = 0;
        bool open = false; /* ev holds an event whose results are being read */
        while ((s = csgp_rows_next(rows)) == 1) {
            int64_t id = csgp_rows_int(rows, 0);
            if (!open || id != last) {
                if (open && csgp_rollup_pairs(r, ev)) {
                    s = -2;
                    break;
                }
                got++;
                memset(ev, 0, sizeof *ev);
                ev->chal = chal;
                last = id;
                if (event_of_row(rows, pg, ev)) {
                    s = -1;
                    break;
                }
                open = true;
            }
            if (!csgp_rows_null(rows, 22)) { /* an event without results: no pair */
                if (row_result(rows, ev)) {
                    s = -1;
                    break;
                }
                total++;
            }
        }
        if (s == 0 && open && csgp_rollup_pairs(r, ev))
            s = -2;
        csgp_rows_free(rows);
        if (s < 0) {
            rc = s == -2 ? csg_fail(err, CSG_ENOMEM, "out of memory")
                         : csg_fail(err, CSGP_EDB, "reading challenger results for the rollups "
                                                   "failed (row id %lld)", (long long)last);
            break;
        }
        if ((rc = csgp_rollup_flush(r, db, err)) || !got)
            break;
    }
    csgp_rollup_free(r);
    free(ev);
    free(chal);
    if (nrows)
        *nrows = total;
    return rc;
}

int csgp_rollup_rebuild(csgp_db *db, bool pairs, int64_t *nrows, csg_error *err)
{
    if (pairs)
        return rebuild_pairs(db, NULL, nrows, err);
    int rc = 0;
    for (int t = 0; csgp_rollup_table(t) && !rc; t++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", csgp_rollup_table(t));
        rc = csgp_db_exec(db, sql, NULL, 0, NULL, err);
    }
    csgp_rollup *r = rc ? NULL : csgp_rollup_new();
    if (!rc && !r)
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    if (!rc)
        rc = csgp_rollup_scan(db, add_chunk, r, nrows, err);
    csgp_rollup_free(r);
    return rc;
}

int csgp_rollup_rebuild_minutes(csgp_db *db, int64_t *nrows, csg_error *err)
{
    int64_t from = csgp_rollup_minute_from(time(NULL));
    int rc = csgp_rollup_expire_minutes(db, INT64_MAX, NULL, err); /* every minute row */
    if (rc || from == INT64_MAX) {
        if (nrows)
            *nrows = 0;
        return rc;
    }
    char since[CSGP_TS_SIZE];
    csgp_format_ms(from * 1000, since);
    csgp_rollup *r = csgp_rollup_new_minutes();
    if (!r)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    rc = scan(db, since, add_chunk, r, nrows, err);
    csgp_rollup_free(r);
    return rc ? rc : rebuild_pairs(db, since, NULL, err);
}
