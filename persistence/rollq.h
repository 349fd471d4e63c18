/*
 * rollq.h — the aggregate endpoints answered from the rollups (rollup.h): the same JSON
 * as the row queries of api.c / segments.c, except that latency percentiles come from the
 * sketches (relative accuracy CSGP_SKETCH_ALPHA, stated in the reply by the caller).
 * res is what csgp_rollup_res chose for the query.
 */
#ifndef CSGP_ROLLQ_H
#define CSGP_ROLLQ_H

#include <jansson.h>

#include "db.h"
#include "query.h"
#include "sqlb.h"

/* " WHERE res = … AND t >= … AND t < … AND experiment_id = … AND challenger_model = …": the
 * filters of q a rollup table answers (csgp_rollup_res has checked there are no others). */
void csgp_rollq_where(csgp_qb *b, const csgp_query *q, int res);

int csgp_rollq_summary(csgp_db *db, const csgp_query *q, int res, json_t **out, csg_error *err);
/* max_points: the series are cut there (the caller adds the note when *truncated). */
int csgp_rollq_latency(csgp_db *db, const csgp_query *q, int res, json_t *series,
                       size_t max_points, bool *truncated, csg_error *err);
/* q->bins must divide CSGP_ROLLUP_SCORE_BINS. Appends one entry per model to models. */
int csgp_rollq_distribution(csgp_db *db, const csgp_query *q, int res, json_t *models,
                            csg_error *err);
/* Segments by a column's default bands: fills seg[0..nb) "count", "divergence_rate" and
 * "models" (as segments.c does from rows). */
int csgp_rollq_segments(csgp_db *db, const csgp_query *q, int res, json_t **seg, int nb,
                        csg_error *err);
/* out's "first" and "last": the timestamps of the first and last events q matches (null
 * when none), for the dashboard's choice of a latency bucket. res > 0: the hourly rollups
 * find the two hours, then only those hours' rows are read; 0: the rows, bounded by q's
 * filters. */
int csgp_rollq_span(csgp_db *db, const csgp_query *q, int res, json_t *out, csg_error *err);

#endif /* CSGP_ROLLQ_H */
