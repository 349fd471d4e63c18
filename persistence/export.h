/*
 * export.h — stored events as JSON rows: the objects of GET /metrics/events and the NDJSON
 * pages of GET /export/events (DESIGN §7 (next), the stream csg-replay reads), from one
 * column list so both endpoints describe a row the same way.
 */
#ifndef CSGP_EXPORT_H
#define CSGP_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "db.h"
#include "query.h"
#include "sqlb.h"

/* Append "SELECT <the event columns> FROM credit_score_metrics" to b (no WHERE). */
void csgp_event_select(csgp_qb *b);

/* The current row of a result that starts with csgp_event_select's columns as one JSON
 * object (a new reference); extra columns after them are not read. */
json_t *csgp_event_row_json(csgp_rows *rows);

/* One page of GET /export/events: the rows matching q's filters with id > q->after_id
 * (q->labelled_only: only applicants with an outcome), oldest id first, at most q->limit,
 * one compact JSON object per line — the event columns plus "defaulted" (true, false, or
 * null without an outcome). *count gets the number of lines. 0 or a database error. */
int csgp_export_page(csgp_db *db, const csgp_query *q, struct evbuffer *out, int64_t *count,
                     csg_error *err);

#endif /* CSGP_EXPORT_H */
