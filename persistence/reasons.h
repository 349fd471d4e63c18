/*
 * reasons.h — GET /metrics/reasons (DESIGN §7, issue 17): how often each adverse-action
 * reason code leads and appears in each model's declines, and how often champion and
 * challenger name the same first reason when both decline.
 *
 * A model's declines are the filtered rows where it answered (its score is not null) with
 * "decline" — a configured fallback decision is not the model's. Per code: `first` = its
 * declines with the code first, `any` = with the code anywhere in the list (a row counts
 * once even if the list repeats a code); shares are of declines (no shares without
 * declines). Declines stored without a list (older gateways) count in `declines` but
 * under no code, and a note says how many. Codes sort by first desc, any desc, code (byte
 * order). Models: champions, then challengers, each by name — every model of the filtered
 * rows. agreement: per champion/challenger pair of the filtered rows, `both_declined` =
 * rows where both declined with non-empty lists, `first_agree` = of those, the first codes
 * equal; rate = first_agree / both_declined (null when 0).
 */
#ifndef CSGP_REASONS_H
#define CSGP_REASONS_H

#include <jansson.h>

#include "db.h"
#include "query.h"

/* The answer for q (parsed, features checked); *out is the caller's. 0 or a database
 * error (err filled). */
/* res: the rollup resolution to read (csgp_rollup_res; under arm= or with several
 * challengers per request the per-challenger rollups, rollq.h), 0 for the rows. */
int csgp_reasons_json(csgp_db *db, const csgp_query *q, int res, json_t **out, csg_error *err);

#endif /* CSGP_REASONS_H */
