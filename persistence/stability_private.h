/*
 * stability_private.h — what stability.c (the rows) and stabq.c (the rollups) share: the
 * per-bucket counts of /metrics/stability and the step that turns a bucket into points.
 */
#ifndef CSGP_STABILITY_PRIVATE_H
#define CSGP_STABILITY_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "baseline.h"
#include "db.h"
#include "query.h"
#include "util.h"

#define MAX_MODELS 16 /* distinct models in one answer; more are left out (noted) */

typedef struct model_acc {
    char name[CSG_EVENT_NAME_MAX + 1];
    const csgp_baseline *base; /* NULL: no baseline, psi null */
    int64_t counts[CSGP_BASELINE_MAX_BINS], n;
    json_t *points;
} model_acc;

typedef struct acc {
    const csgp_baseline *bases;
    int nbases;
    const csgp_baseline *champion; /* its features give the CSI; NULL: none */
    model_acc models[MAX_MODELS];
    int nmodels;
    bool models_left_out;
    int64_t fcounts[CSG_EVENT_MAX_FEATURES][CSGP_BASELINE_MAX_BINS + 2], fn;
    json_t *fpoints[CSG_EVENT_MAX_FEATURES];
    /* the last bucket's feature counts, for each feature's "latest" bins */
    int64_t last_counts[CSG_EVENT_MAX_FEATURES][CSGP_BASELINE_MAX_BINS + 2], last_n;
    char last_t[CSGP_TS_SIZE];
    int64_t points;
    bool truncated;
} acc;

/* The accumulator of model name (created on first sight; NULL past MAX_MODELS). */
model_acc *csgp_stab_model(acc *a, const char *name);
/* The bucket (index, of secs seconds) that just ended: its points, then empty counts. */
void csgp_stab_flush(acc *a, int64_t bucket, int64_t secs);

/* The rollup resolution that answers q with the stored baselines a->bases (champion
 * a->champion) — no row-level filter, no reference window, buckets and from/to on its
 * boundaries, and every number feature of the champion's baseline binned at its cuts in
 * the rollups — or 0 for the rows. */
int csgp_stabq_res(csgp_db *db, const csgp_query *q, const acc *a, int *res, csg_error *err);
/* Count q's buckets from rollup_features at resolution res into a, flushing each. */
int csgp_stabq_read(csgp_db *db, const csgp_query *q, int res, acc *a, csg_error *err);

#endif /* CSGP_STABILITY_PRIVATE_H */
