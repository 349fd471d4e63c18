/*
 * segments.h — GET /metrics/segments (DESIGN §7): counts, divergence and per-model
 * approval (and outcome columns once outcomes exist) per band of one column or feature.
 *
 * by=income|loan_amount|credit_history: the column, bands from `bands=` or the column's
 * defaults; rows below the first edge are in no band. by=<number feature>: `bands=` or,
 * when not given, its fixed bands (fbins.h; before any is frozen, the deciles of the
 * filtered rows), plus "(missing)" for rows without it. by=<category or
 * boolean feature>: one segment per value present in the filtered rows, in byte order
 * (booleans "false", "true"), at most 100 with "(other)" for the rest, plus "(missing)".
 * "(missing)" and "(other)" appear only when they hold rows.
 */
#ifndef CSGP_SEGMENTS_H
#define CSGP_SEGMENTS_H

#include <jansson.h>

#include "db.h"
#include "query.h"

/* The answer for q (parsed, features checked); *out is the caller's. 0 or a database
 * error (err filled). */
/* res: the rollup resolution to read counts from (csgp_rollup_res: a column's default
 * bands from rollup_segments, a feature without bands= from rollup_features; under arm= or
 * with several challengers per request their per-challenger tables, rollq.h), 0 for rows. */
int csgp_segments_json(csgp_db *db, const csgp_query *q, int res, json_t **out, csg_error *err);

#endif /* CSGP_SEGMENTS_H */
