/*
 * outcomes.h — POST /outcomes: parsing and validating loan outcomes (ground truth) and
 * storing them in loan_outcomes (DESIGN §7, docs/analytics.md).
 *
 * A body is a JSON array of objects or NDJSON (one object per line; blank lines skipped).
 * Items are validated one by one: good ones are stored, bad ones reported by their
 * 0-based index (array position, or the n-th non-blank line) — one bad item never sinks
 * the batch. Storing is idempotent per applicant: the later label (by observed_at; on a
 * tie the one posted last) replaces the earlier.
 */
#ifndef CSGP_OUTCOMES_H
#define CSGP_OUTCOMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "event.h"
#include "util.h"

#define CSGP_OUTCOMES_MAX_ITEMS 100000     /* per request */
#define CSGP_OUTCOMES_MAX_BYTES (16u << 20) /* request body */

typedef struct csgp_outcome {
    char applicant_id[CSG_EVENT_APPLICANT_ID_MAX + 1];
    bool defaulted;
    int64_t observed_ms; /* observed_at, or the time of the request when absent */
} csgp_outcome;

/* Parse body[0..len). On success *items (malloc'd, caller frees; may be NULL when *n == 0)
 * holds the valid items in order and rejected (a JSON array the caller owns) gets one
 * {"index","error"} per bad item. now_ms stands in for a missing observed_at.
 * -CSG_EINVAL (err says why) when the body as a whole is unusable: not a JSON array nor
 * NDJSON objects, empty, or more than CSGP_OUTCOMES_MAX_ITEMS items. -CSG_ENOMEM. */
int csgp_outcomes_parse(const char *body, size_t len, int64_t now_ms, csgp_outcome **items,
                        size_t *n, json_t *rejected, csg_error *err);

/* Upsert items[0..n) in one transaction. *stored (optional) gets how many rows changed
 * (an item older than the stored label changes nothing). -CSGP_EDB on failure. */
int csgp_outcomes_store(csgp_db *db, const csgp_outcome *items, size_t n, size_t *stored,
                        csg_error *err);

#endif /* CSGP_OUTCOMES_H */
