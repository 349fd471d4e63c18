/*
 * pgcopy.h — one MetricEvent as a row of PostgreSQL's COPY text format, for the staging
 * table of the batch insert (db.c, DESIGN §7). Pure: no connection, no libpq.
 *
 * The row's columns are CSGP_COPY_COLUMNS in that order, after a leading ord (the
 * event's position in the batch); NULLs are \N; text is escaped (\\ \t \n \r).
 */
#ifndef CSGP_PGCOPY_H
#define CSGP_PGCOPY_H

#include <stddef.h>

#include "event.h"

/* The staging table's columns after ord, which are also the insert's column list. */
#define CSGP_COPY_COLUMNS                                                                      \
    "event_id, experiment_id, applicant_id, transport, champion_model, challenger_model, "   \
    "champion_score, challenger_score, champion_decision, challenger_decision, "             \
    "decision_match, latency_champion_ms, latency_challenger_ms, decision_diff, income, "    \
    "loan_amount, credit_history, \"timestamp\", status, features, config_version, "      \
    "champion_reasons, challenger_reasons"

/* A growing byte buffer: start zeroed, free(p) when done. */
typedef struct csgp_copy_buf {
    char *p;
    size_t len, cap;
} csgp_copy_buf;

/* Append the row of e (ord = its index in the batch). 0, or -1 when out of memory. */
int csgp_copy_event(csgp_copy_buf *b, size_t ord, const csgp_event *e);

/* The columns of challenger_results rows (issue 21), in csgp_copy_chal_results' order. */
#define CSGP_CHAL_COLUMNS                                                                      \
    "event_id, ord, model, score, decision, latency_ms, status, reasons, mode, \"timestamp\""

/* Append one challenger_results row per element of e's challengers. 0, or -1 when out of
 * memory. */
int csgp_copy_chal_results(csgp_copy_buf *b, const csgp_event *e);

#endif /* CSGP_PGCOPY_H */
