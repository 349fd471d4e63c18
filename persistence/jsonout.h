/*
 * jsonout.h — the JSON shapes every REST answer shares: numbers that cannot be computed
 * are null (never NaN), and a "note" in the same object says why (DESIGN §7).
 */
#ifndef CSGP_JSONOUT_H
#define CSGP_JSONOUT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"

/* A finite number, else null (jansson refuses NaN/inf anyway). */
json_t *csgp_jreal(double v);
/* Column col of the current row as a number, or null. */
json_t *csgp_jcol(csgp_rows *rows, int col);
/* num / den, or null when den is 0. */
json_t *csgp_jratio(int64_t num, int64_t den);
/* Append a sentence to obj's "note" ("a; b"). */
void csgp_add_note(json_t *obj, const char *text);

/* /metrics/summary's totals from the current row of its ten columns, the same whether rows
 * or rollups were summed: count, count with a challenger, decision_diff (its sum when
 * diff_is_sum, else its average), count of decision_diff, both decided, diverged, both
 * approve, both decline, champion only approves, challenger only approves. Sets total,
 * with_challenger, challenger_share, avg_decision_diff, divergence_rate, decisions and
 * notes in out; returns the empty "models" array it put there. */
json_t *csgp_summary_totals(json_t *out, csgp_rows *rows, bool diff_is_sum);

#endif /* CSGP_JSONOUT_H */
