/*
 * export.c — stored events as JSON (see export.h). The column list and the row → JSON
 * step serve GET /metrics/events (api.c) and GET /export/events alike.
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>

#include "jsonout.h"

/* column kinds: i integer, s text, r real, b bool, j JSON text */
static const char kinds[] = "issssssrrssbrrrrrisssjsjj";
static const char *const names[] = {
    "id", "event_id", "experiment_id", "applicant_id", "transport", "champion_model",
    "challenger_model", "champion_score", "challenger_score", "champion_decision",
    "challenger_decision", "decision_match", "latency_champion_ms", "latency_challenger_ms",
    "decision_diff", "income", "loan_amount", "credit_history", "timestamp", "status",
    "ingested_at", "features", "config_version", "champion_reasons", "challenger_reasons"};
_Static_assert(sizeof kinds - 1 == sizeof names / sizeof *names, "one kind per column");
#define NCOLS ((int)(sizeof names / sizeof *names))

void csgp_event_select(csgp_qb *b)
{
    bool pg = csgp_qb_pg(b);
    const char *ts = pg ? "to_char(\"timestamp\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                        : "\"timestamp\"";
    const char *ing = pg ? "to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                         : "ingested_at";
    /* Aliases keep the names when the select is wrapped in a subquery (export). */
    csgp_qb_add(b, "SELECT id, event_id, experiment_id, applicant_id, transport, champion_model, "
                "challenger_model, champion_score, challenger_score, champion_decision, "
                "challenger_decision, decision_match, latency_champion_ms, latency_challenger_ms, "
                "decision_diff, income, loan_amount, credit_history, %s AS \"timestamp\", status, "
                "%s AS ingested_at, features, config_version, %s AS champion_reasons, "
                "%s AS challenger_reasons FROM " CSGP_TABLE,
                ts, ing, pg ? "array_to_json(champion_reasons)" : "champion_reasons",
                pg ? "array_to_json(challenger_reasons)" : "challenger_reasons");
}

json_t *csgp_event_row_json(csgp_rows *rows)
{
    json_t *e = json_object();
    for (int c = 0; c < NCOLS; c++) {
        char kind = kinds[c];
        json_t *v;
        if (csgp_rows_null(rows, c))
            v = json_null();
        else if (kind == 'i')
            v = json_integer(csgp_rows_int(rows, c));
        else if (kind == 'r')
            v = csgp_jreal(csgp_rows_real(rows, c));
        else if (kind == 'b')
            v = json_boolean(csgp_rows_bool(rows, c) == 1);
        else if (kind == 'j')
            v = json_loads(csgp_rows_text(rows, c), 0, NULL);
        else
            v = json_string(csgp_rows_text(rows, c));
        json_object_set_new(e, names[c], v ? v : json_null());
    }
    return e;
}

int csgp_export_page(csgp_db *db, const csgp_query *q, struct evbuffer *out, int64_t *count,
                     csg_error *err)
{
    csgp_qb b;
    csgp_rows *rows = NULL;
    *count = 0;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "SELECT e.*, o.defaulted FROM (");
    csgp_event_select(&b);
    csgp_qb_where(&b, q);
    csgp_qb_add(&b, " AND id > ");
    csgp_qb_int(&b, q->after_id);
    if (q->labelled_only)
        csgp_qb_add(&b, " AND applicant_id IN (SELECT applicant_id FROM loan_outcomes)");
    csgp_qb_add(&b, " ORDER BY id LIMIT ");
    csgp_qb_int(&b, q->limit);
    csgp_qb_add(&b, ") e LEFT JOIN loan_outcomes o ON o.applicant_id = e.applicant_id ORDER BY e.id");
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        json_t *e = csgp_event_row_json(rows);
        int bad = csgp_rows_null(rows, NCOLS) ? -1 : csgp_rows_bool(rows, NCOLS);
        json_object_set_new(e, "defaulted", bad < 0 ? json_null() : json_boolean(bad == 1));
        char *line = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        if (!line) {
            csgp_rows_free(rows);
            return csg_fail(err, CSG_ENOMEM, "out of memory");
        }
        evbuffer_add_printf(out, "%s\n", line);
        free(line);
        (*count)++;
    }
    csgp_rows_free(rows);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading rows failed");
    return 0;
}
