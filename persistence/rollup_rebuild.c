/* rollup_rebuild.c — the rollups of the rows already stored (migrations 045, 050, 065 and
 * 075; see rollup.h): rows are read in id order, in chunks (with their challenger results for
 * the per-challenger rollups), turned back into events and counted by the same code as
 * ingest (rollup.c, fbins.c, rollup_pairs.c), so rebuilt rollups equal ingested ones. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbins.h"
#include "rollup.h"
#include "rollup_private.h"

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

/* The columns event_of_row reads, in its order. */
static void event_columns(bool pg, char *out, size_t cap)
{
    snprintf(out, cap,
             "id, experiment_id, config_version, champion_model, challenger_model, transport, "
             "status, champion_score, challenger_score, champion_decision, challenger_decision, "
             "latency_champion_ms, latency_challenger_ms, decision_diff, income, loan_amount, "
             "credit_history, %s AS ts, %s AS cr, %s AS xr, %s AS features",
             pg ? "(extract(epoch FROM \"timestamp\") * 1000)::bigint" : "\"timestamp\"",
             pg ? "array_to_json(champion_reasons)" : "champion_reasons",
             pg ? "array_to_json(challenger_reasons)" : "challenger_reasons",
             pg ? "features::text" : "features");
}

/* The challenger_results columns of row (from column 22 on) into *x. */
static int row_result(csgp_rows *rows, csgp_chal_result *x)
{
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

/* A chunk's challenger results, every event's in one array (ev->chal points into it once
 * the chunk is read). */
typedef struct pool {
    csgp_chal_result *r;
    size_t n, cap;
    size_t first[REBUILD_CHUNK]; /* each event's first result */
} pool;

static csgp_chal_result *pool_next(pool *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : REBUILD_CHUNK;
        csgp_chal_result *nr = realloc(p->r, cap * sizeof *nr);
        if (!nr)
            return NULL;
        p->r = nr;
        p->cap = cap;
    }
    return &p->r[p->n++];
}

/* Read one chunk of rows (with results: joined with their results, one row per result)
 * into ev; *got: events read, *last: the last id, *nres: results read. 0, -1 malformed,
 * -2 out of memory, -3 a database error. */
static int read_chunk(csgp_rows *rows, bool pg, bool results, csgp_event *ev, pool *pl,
                      size_t *got, int64_t *last, int64_t *nres)
{
    int s;
    csgp_event *e = NULL;
    pl->n = 0;
    while ((s = csgp_rows_next(rows)) == 1) {
        int64_t id = csgp_rows_int(rows, 0);
        if (!e || id != *last) {
            if (*got == REBUILD_CHUNK)
                return -1; /* the query's LIMIT: cannot happen */
            e = &ev[*got];
            memset(e, 0, sizeof *e);
            pl->first[(*got)++] = pl->n;
            *last = id;
            if ((s = event_of_row(rows, pg, e)) < 0)
                return s;
        }
        if (results && !csgp_rows_null(rows, 22)) { /* an event without results: no pair */
            csgp_chal_result *x = e->n_chal < CSG_EVENT_MAX_CHALLENGERS ? pool_next(pl) : NULL;
            if (!x)
                return e->n_chal < CSG_EVENT_MAX_CHALLENGERS ? -2 : -1;
            if (row_result(rows, x))
                return -1;
            e->n_chal++;
            (*nres)++;
        }
    }
    for (size_t i = 0; i < *got; i++)
        ev[i].chal = ev[i].n_chal ? &pl->r[pl->first[i]] : NULL;
    return s < 0 ? -3 : 0;
}

/* csgp_rollup_scan over the rows from since on (RFC 3339; NULL: all). */
static int scan(csgp_db *db, const char *since, bool results, csgp_scan_fn fn, void *arg,
                int64_t *nrows, csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csgp_event *ev = calloc(REBUILD_CHUNK, sizeof *ev);
    pool *pl = calloc(1, sizeof *pl);
    if (!ev || !pl) {
        free(ev);
        free(pl);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    char cols[640], sql[1536], ph[16], ph2[16], cond[64] = "";
    event_columns(pg, cols, sizeof cols);
    if (since)
        snprintf(cond, sizeof cond, " AND \"timestamp\" >= %s",
                 csgp_db_ph(db, 2, pg ? "timestamptz" : NULL, ph2, sizeof ph2));
    if (results) /* each event (id order, in chunks) joined with its results (ord order) */
        snprintf(sql, sizeof sql,
                 "SELECT m.*, r.model, r.score, r.decision, r.latency_ms, r.status, %s, r.mode "
                 "FROM (SELECT %s, event_id FROM credit_score_metrics WHERE id > %s%s ORDER BY "
                 "id LIMIT %d) m LEFT JOIN challenger_results r ON r.event_id = m.event_id "
                 "ORDER BY m.id, r.ord",
                 pg ? "array_to_json(r.reasons)" : "r.reasons", cols,
                 csgp_db_ph(db, 1, "bigint", ph, sizeof ph), cond, REBUILD_CHUNK);
    else
        snprintf(sql, sizeof sql,
                 "SELECT %s FROM credit_score_metrics WHERE id > %s%s ORDER BY id LIMIT %d",
                 cols, csgp_db_ph(db, 1, "bigint", ph, sizeof ph), cond, REBUILD_CHUNK);
    int64_t last = 0, total = 0;
    int rc = 0;
    for (;;) {
        csgp_param p[2] = {{.type = CSGP_P_INT, .i = last}, {.type = CSGP_P_TEXT, .text = since}};
        csgp_rows *rows;
        if ((rc = csgp_db_query(db, sql, p, since ? 2 : 1, &rows, err)))
            break;
        size_t got = 0;
        int64_t nres = 0;
        int s = read_chunk(rows, pg, results, ev, pl, &got, &last, &nres);
        csgp_rows_free(rows);
        if (s < 0)
            rc = s == -2 ? csg_fail(err, CSG_ENOMEM, "out of memory")
                         : csg_fail(err, CSGP_EDB, "reading rows for the rollups failed (row id "
                                                   "%lld)", (long long)last);
        else if (got)
            rc = fn(db, ev, got, arg, err);
        for (size_t i = 0; i < got; i++) {
            ev[i].chal = NULL; /* the pool's */
            csgp_event_release(&ev[i]);
        }
        total += results ? nres : (int64_t)got;
        if (rc || got < REBUILD_CHUNK)
            break;
    }
    free(pl->r);
    free(pl);
    free(ev);
    if (nrows)
        *nrows = total;
    return rc;
}

/* The tables each csgp_rebuild builds. */
static const unsigned rebuild_tables[] = {
    [CSGP_REBUILD_EVENTS] = T_MASK(T_COUNTS) | T_MASK(T_LATENCY) | T_MASK(T_SCORES) |
                            T_MASK(T_SEGMENTS) | T_MASK(T_REASONS) | T_MASK(T_FEATURES),
    [CSGP_REBUILD_PAIRS] = T_MASK(T_PCOUNTS) | T_MASK(T_PLATENCY) | T_MASK(T_PSCORES),
    [CSGP_REBUILD_PAIR_SEGMENTS] = T_MASK(T_PSEGMENTS) | T_MASK(T_PREASONS) |
                                   T_MASK(T_PFEATURES),
};
#define EVENT_TABLES (T_MASK(T_BASE) - 1)
#define FEATURE_TABLES (T_MASK(T_FEATURES) | T_MASK(T_PFEATURES))

int csgp_rollup_scan(csgp_db *db, bool results, csgp_scan_fn fn, void *arg, int64_t *nrows,
                     csg_error *err)
{
    return scan(db, NULL, results, fn, arg, nrows, err);
}

/* What count_chunk counts: the tables, and the minute level alone or every level (minutes
 * for the rows inside the window, as ingest writes them). */
typedef struct rebuild_ctx {
    unsigned mask;
    bool minutes;
} rebuild_ctx;

/* A chunk of stored rows counted as ingest counts a batch, into the tables of arg only.
 * Not csgp_rollup_add: a migration's rebuild must not expire minute rows of tables a
 * later migration creates. */
static int count_chunk(csgp_db *db, const csgp_event *ev, size_t n, void *arg, csg_error *err)
{
    const rebuild_ctx *c = arg;
    unsigned mask = c->mask;
    csgp_rollup *r = c->minutes ? csgp_rollup_new_minutes() : csgp_rollup_new();
    if (!r)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    csgp_rollup_only(r, mask);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (((mask & EVENT_TABLES) && csgp_rollup_event(r, &ev[i])) ||
            ((mask & ~EVENT_TABLES) && csgp_rollup_pairs(r, &ev[i])))
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    if (!rc && (mask & FEATURE_TABLES))
        rc = csgp_fbins_add(db, r, ev, NULL, n, err);
    if (!rc)
        rc = csgp_rollup_flush(r, db, err);
    csgp_rollup_free(r);
    return rc;
}

/* Delete the rows of the tables in mask (T_MASK()s) matching where ("" or " WHERE …"). */
static int empty_tables(csgp_db *db, unsigned mask, const char *where, csg_error *err)
{
    int rc = 0;
    for (int t = 0; t < T_TABLES && !rc; t++) {
        if (!(mask & T_MASK(t)))
            continue;
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s%s", csgp_rollup_specs[t].name, where);
        rc = csgp_db_exec(db, sql, NULL, 0, NULL, err);
    }
    return rc;
}

int csgp_rollup_rebuild(csgp_db *db, csgp_rebuild which, int64_t *nrows, csg_error *err)
{
    unsigned mask = rebuild_tables[which];
    int rc = empty_tables(db, mask, "", err);
    rebuild_ctx c = {mask, false};
    return rc ? rc : scan(db, NULL, which != CSGP_REBUILD_EVENTS, count_chunk, &c, nrows, err);
}

int csgp_rollup_rebuild_minutes(csgp_db *db, int64_t *nrows, csg_error *err)
{
    /* the tables there are at migration 065: the per-challenger segment, reason and
     * feature-bin rollups (075) get their minute rows from their own rebuild */
    rebuild_ctx c = {rebuild_tables[CSGP_REBUILD_EVENTS] | rebuild_tables[CSGP_REBUILD_PAIRS],
                     true};
    char minutes[32]; /* the owner migrates: a plain DELETE */
    snprintf(minutes, sizeof minutes, " WHERE res = %d", CSGP_ROLLUP_MINUTE);
    int rc = empty_tables(db, c.mask, minutes, err);
    int64_t from = csgp_rollup_minute_from(time(NULL));
    if (nrows)
        *nrows = 0;
    if (rc || from == INT64_MAX)
        return rc;
    char since[CSGP_TS_SIZE];
    csgp_format_ms(from * 1000, since);
    return scan(db, since, true, count_chunk, &c, nrows, err);
}
