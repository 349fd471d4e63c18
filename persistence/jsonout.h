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
/* out's "total" set to every request (the totals counted only requests with a challenger
 * result: assignment: all data) and challenger_share = with_challenger / total. */
void csgp_summary_set_total(json_t *out, int64_t total);

/* One entry of /metrics/summary's "models", the same whether rows or rollups were summed:
 * latency_ms (stolen) is its {"avg","p50","p95","p99"}; approval_rate is approved / decided;
 * the notes say why a rate or the latencies are null (nlat: latencies recorded). */
json_t *csgp_summary_model(const char *model, const char *role, int64_t count, json_t *latency_ms,
                           int64_t approved, int64_t decided, int64_t nlat);

/* /metrics/segments' per-band models from rows of (band, model, count, approved, decided),
 * the same whether rows or rollups were summed: each goes into seg[band]'s "models" (bands
 * outside 0..nb-1 are skipped). Reads rows to the end; 0, or -1 when reading failed. */
int csgp_band_models(csgp_rows *rows, const char *role, json_t **seg, int nb);
/* One model of a segment: {"model","role","count","approval_rate"} (+ note when undecided). */
json_t *csgp_band_model(const char *model, const char *role, int64_t count, int64_t approved,
                        int64_t decided);

#endif /* CSGP_JSONOUT_H */
