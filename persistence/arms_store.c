/*
 * arms_store.c — see arms_store.h. PostgreSQL takes the rows in one COPY; SQLite one
 * INSERT per row (in the open transaction, so no fsync each).
 */
#include "arms_store.h"

#include <stdio.h>
#include <stdlib.h>

#include "pgcopy.h"

static int pg_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                  csg_error *err)
{
    csgp_copy_buf b = {0};
    for (size_t i = 0; i < n; i++)
        if (fresh[i] && csgp_copy_chal_results(&b, &ev[i]) != 0) {
            free(b.p);
            return csg_fail(err, CSG_ENOMEM, "out of memory building COPY data");
        }
    int rc = b.len ? csgp_db_copy_in(db, "COPY challenger_results (" CSGP_CHAL_COLUMNS
                                         ") FROM STDIN", b.p, b.len, err)
                   : 0;
    free(b.p);
    return rc;
}

static int lite_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                    csg_error *err)
{
    static const char sql[] = "INSERT OR IGNORE INTO challenger_results (" CSGP_CHAL_COLUMNS
                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    for (size_t i = 0; i < n; i++) {
        const csgp_event *e = &ev[i];
        for (int k = 0; fresh[i] && k < e->n_chal; k++) {
            const csgp_chal_result *r = &e->chal[k];
            char arr[CSGP_REASONS_TEXT_SIZE];
            const char *d = csg_decision_name(r->decision);
            csgp_param p[10] = {
                {.type = CSGP_P_TEXT, .text = e->event_id},
                {.type = CSGP_P_INT, .i = k},
                {.type = CSGP_P_TEXT, .text = r->model},
                {.type = r->has_score ? CSGP_P_REAL : CSGP_P_NULL, .real = r->score},
                {.type = r->has_score && d ? CSGP_P_TEXT : CSGP_P_NULL, .text = d},
                {.type = CSGP_P_REAL, .real = r->latency_ms},
                {.type = CSGP_P_TEXT, .text = csg_event_status_name(r->status)},
                {.type = r->reasons.present ? CSGP_P_TEXT : CSGP_P_NULL,
                 .text = r->reasons.present ? csgp_reasons_text(&r->reasons, '[', ']', arr)
                                            : NULL},
                {.type = CSGP_P_TEXT, .text = r->live ? CSG_MODE_LIVE_NAME : CSG_MODE_SHADOW_NAME},
                {.type = CSGP_P_TEXT, .text = e->timestamp},
            };
            int rc = csgp_db_exec(db, sql, p, 10, NULL, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int csgp_arms_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                  csg_error *err)
{
    return csgp_db_kind_of(db) == CSGP_DB_PG ? pg_add(db, ev, fresh, n, err)
                                             : lite_add(db, ev, fresh, n, err);
}

int csgp_arms_multi(csgp_db *db, bool *multi, csg_error *err)
{
    csgp_rows *rows = NULL;
    *multi = false;
    int rc = csgp_db_query(db, "SELECT 1 FROM challenger_results WHERE ord > 0 LIMIT 1", NULL, 0,
                           &rows, err);
    if (rc)
        return rc;
    int s = csgp_rows_next(rows);
    *multi = s == 1;
    csgp_rows_free(rows);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading challenger_results failed") : 0;
}
