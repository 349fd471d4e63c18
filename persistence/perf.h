/*
 * perf.h — turns database rows into the outcome-based answers of the REST API:
 * GET /metrics/performance and the outcome columns of /metrics/segments
 * (DESIGN §7, docs/analytics.md). api.c builds the filtered, parameterised SQL; this
 * module walks the rows (applicant de-duplication by latest event) and calls the pure
 * statistics of lib/csg_outcome_stats.c, so both backends give the same numbers.
 */
#ifndef CSGP_PERF_H
#define CSGP_PERF_H

#include <jansson.h>

#include "db.h"

/* Columns: champion_model, challenger_model, applicant_id, champion_score,
 * challenger_score, champion_decision, challenger_decision, defaulted — only OK events with
 * both scores and a known outcome, ordered by champion_model, challenger_model,
 * applicant_id, then newest first ("timestamp" DESC, id DESC): the first row of each
 * applicant is its latest event. *out gets {"population","models","swap_sets","psi",
 * "promotion","note"?}. 0, -CSG_ENOMEM or a database error. */
int csgp_perf_from_rows(csgp_rows *rows, json_t **out, csg_error *err);

/* Columns: model, applicant_id, band (NULL = below the first edge), score, defaulted,
 * ordered by model, applicant_id, newest first. Adds "labelled", "auc" and "bad_rate" to the
 * entry of that model and role in seg[band]["models"]. *found (accumulated) tells whether
 * any labelled applicant was seen. */
int csgp_segment_outcomes_from_rows(csgp_rows *rows, const char *role, json_t *const *seg, int nb,
                                    bool *found, csg_error *err);

/* After csgp_segment_outcomes_from_rows for every role: give every model entry still
 * without outcome columns labelled 0, auc/bad_rate null and a note. */
void csgp_segment_outcomes_fill(json_t *const *seg, int nb);

#endif /* CSGP_PERF_H */
