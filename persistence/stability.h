/*
 * stability.h — GET /metrics/stability (DESIGN §7 "stability"): per time bucket, each
 * model's score PSI against its baseline and each characteristic's CSI against the
 * champion's, with the band (stable < 0.10 <= watch <= 0.25 < shifted) and the counts.
 *
 * Baselines are the stored ones (baseline.h), or, with reference_from/reference_to, built
 * from the rows of that window: each model's score deciles there, and the champion's
 * stored feature bins (else the window's deciles for numbers, its levels for categories).
 * Empty bins are floored as in every PSI here (lib/csg_outcome_stats.h, csg_psi_term). Hour
 * and day buckets without row-level filters come from the feature-bin rollups (stabq.c,
 * fbins.h), else rows are read within the query's filters, bucketed by their timestamp;
 * the champion is the latest row's champion_model. Each feature also carries "latest": its last bucket's bins with
 * the expected (baseline) and actual shares, for the dashboard (null without rows).
 */
#ifndef CSGP_STABILITY_H
#define CSGP_STABILITY_H

#include <jansson.h>

#include "db.h"
#include "query.h"

#define CSGP_STABILITY_WATCH 0.10
#define CSGP_STABILITY_SHIFTED 0.25

/* The reply body for q (kind CSGP_Q_STABILITY) into *out. */
int csgp_stability_json(csgp_db *db, const csgp_query *q, json_t **out, csg_error *err);

/* The Prometheus gauges csgp_psi{model} and csgp_csi{feature} for the latest complete hour,
 * cached until the hour changes or a baseline is stored (csgp_stability_gauges_reset). */
typedef struct csgp_stability_gauges {
    int64_t hour_ms; /* the hour the text is for; 0: none yet */
    char *text;
} csgp_stability_gauges;

/* The gauge lines (HELP/TYPE included) for now_ms into *text (owned by cache). */
int csgp_stability_gauges_text(csgp_db *db, int64_t now_ms, csgp_stability_gauges *cache,
                               const char **text, csg_error *err);
void csgp_stability_gauges_reset(csgp_stability_gauges *cache);

/* "stable", "watch" or "shifted" for a PSI/CSI value. */
const char *csgp_stability_band(double value);

#endif /* CSGP_STABILITY_H */
