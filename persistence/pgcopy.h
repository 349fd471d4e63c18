/*
 * pgcopy.h — MetricEvents in PostgreSQL's binary COPY format for the batch insert
 * (db_insert.c, DESIGN §7): each event's key row for the staging table that claims the
 * event_ids, and the rows themselves for credit_score_metrics; and challenger results as
 * COPY text rows. Pure: no connection, no libpq.
 *
 * Binary because the drain paid for text both ways (issue 20): printing every double with
 * 17 digits here, parsing it and the timestamp there; a binary float8 is the event's
 * double bit for bit.
 */
#ifndef CSGP_PGCOPY_H
#define CSGP_PGCOPY_H

#include <stddef.h>

#include "event.h"

/* The columns of an event row (csgp_copy_event), in its order: the insert's column list. */
#define CSGP_COPY_COLUMNS                                                                      \
    "event_id, experiment_id, applicant_id, transport, champion_model, challenger_model, "   \
    "champion_score, challenger_score, champion_decision, challenger_decision, "             \
    "decision_match, latency_champion_ms, latency_challenger_ms, decision_diff, income, "    \
    "loan_amount, credit_history, \"timestamp\", status, features, config_version, "      \
    "champion_reasons, challenger_reasons"

/* The staging table of the batch's keys (csgp_copy_key): ord, the event's position in
 * the batch; event_id, compared byte for byte as csg_event_ids' key (migration 040); and
 * what srm.c reads of the fresh rows (its keys in "C" as srm_first_seen's, migration 060). */
#define CSGP_COPY_KEY_COLUMNS_DDL                                                              \
    "ord int, event_id text COLLATE \"C\", \"timestamp\" timestamptz, applicant_id text "        \
    "COLLATE \"C\", challenger_model text, config_version text COLLATE \"C\""

/* CSGP_COPY_COLUMNS' count, and the text type's oid (pg_type.dat; binary arrays name
 * their element type). */
#define CSGP_COPY_NCOLS 23
#define CSGP_TEXTOID 25

/* A growing byte buffer: start zeroed, free(p) when done. */
typedef struct csgp_copy_buf {
    char *p;
    size_t len, cap;
} csgp_copy_buf;

/* The binary COPY header, before the first row, and its trailer, after the last
 * (COPY … FROM STDIN (FORMAT binary)). 0, or -1 when out of memory. */
int csgp_copy_begin(csgp_copy_buf *b);
int csgp_copy_end(csgp_copy_buf *b);

/* Append the key row of e (ord = its index in the batch). 0, or -1 when out of memory. */
int csgp_copy_key(csgp_copy_buf *b, size_t ord, const csgp_event *e);

/* Append the row of e (CSGP_COPY_COLUMNS). 0, or -1 when out of memory. */
int csgp_copy_event(csgp_copy_buf *b, const csgp_event *e);

/* The columns of challenger_results rows (issue 21), in csgp_copy_chal_results' order. */
#define CSGP_CHAL_COLUMNS                                                                      \
    "event_id, ord, model, score, decision, latency_ms, status, reasons, mode, \"timestamp\""

/* Append one challenger_results row per element of e's challengers. 0, or -1 when out of
 * memory. */
int csgp_copy_chal_results(csgp_copy_buf *b, const csgp_event *e);

#endif /* CSGP_PGCOPY_H */
