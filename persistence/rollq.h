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

/* The rollup tables, each per event and per challenger result (rollup_pairs.c). */
typedef enum {
    CSGP_R_COUNTS,
    CSGP_R_LATENCY,
    CSGP_R_SCORES,
    CSGP_R_SEGMENTS,
    CSGP_R_REASONS,
    CSGP_R_FEATURES,
    CSGP_R_TABLES
} csgp_rollq_table;

/* Whether a part of q reads the per-challenger rollups, as csgp_qb_table picks the rows'
 * source: for an arm, and for the challenger's side (challenger_side) once some request
 * has several challengers (q->pairs). */
bool csgp_rollq_on_pairs(const csgp_query *q, bool challenger_side);
/* " FROM <table> WHERE …" (csgp_rollq_where, and the arm) for a part of q. */
void csgp_rollq_from(csgp_qb *b, const csgp_query *q, int res, csgp_rollq_table table,
                     bool challenger_side);
/* The column that counts q's requests on its challenger side, as the rows'
 * count(DISTINCT id): n per event, or per challenger result under a challenger_model
 * filter (one result per model and request); else arm_first under arm=, ev_first for
 * several challengers. */
const char *csgp_rollq_requests(const csgp_query *q);

int csgp_rollq_summary(csgp_db *db, const csgp_query *q, int res, json_t **out, csg_error *err);
/* max_points: the series are cut there (the caller adds the note when *truncated). */
int csgp_rollq_latency(csgp_db *db, const csgp_query *q, int res, json_t *series,
                       size_t max_points, bool *truncated, csg_error *err);
/* q->bins must divide CSGP_ROLLUP_SCORE_BINS. Appends one entry per model to models. */
int csgp_rollq_distribution(csgp_db *db, const csgp_query *q, int res, json_t *models,
                            csg_error *err);
/* Segments by a column's default bands: fills seg[0..nb) "count", "divergence_rate" and
 * "models" (as segments.c does from rows; per challenger result as csgp_rollq_from picks). */
int csgp_rollq_segments(csgp_db *db, const csgp_query *q, int res, json_t **seg, int nb,
                        csg_error *err);
/* out's "first" and "last": the timestamps of the first and last events q matches (null
 * when none), for the dashboard's choice of a latency bucket. res > 0: the hourly rollups
 * find the two hours, then only those hours' rows are read; 0: the rows, bounded by q's
 * filters. */
int csgp_rollq_span(csgp_db *db, const csgp_query *q, int res, json_t *out, csg_error *err);

#endif /* CSGP_ROLLQ_H */
