/*
 * fbins.h — feature-bin rollups (issues 20 + 22; docs/persistence.md "Feature-bin
 * rollups"): per hour and day (and minute for recent data, rollup.h), per
 * rollup_segments' key, each feature's default band or value → the segments' counts,
 * written with the rows (rollup.c calls csgp_fbins_add in the batch's transaction, for the
 * rows actually inserted).
 *
 * Bands of a number feature are fixed (table feature_bands, migration 045): a stored
 * baseline's cuts (bands (-inf, c1), [c1, c2), …, [ck, inf), as the baseline's bins), else
 * the deciles of the first batch that stored the feature (its minimum, then each distinct
 * percentile_cont decile), frozen then. A category value and a boolean are their own bin;
 * a key's total and its events with a features object are rows of their own (feature ''),
 * so "(missing)" is the total minus the feature's bins. Each model's scores are counted at
 * its baseline's score bins (kinds 5, 6; /metrics/stability's PSI), kept with the bands
 * as "score:<model>".
 */
#ifndef CSGP_FBINS_H
#define CSGP_FBINS_H

#include <stdbool.h>
#include <stddef.h>

#include "baseline.h"
#include "db.h"
#include "event.h"
#include "query.h"
#include "rollup.h"

/* rollup_features.kind */
enum {
    CSGP_FB_TOTAL,
    CSGP_FB_NUMBER,
    CSGP_FB_CATEGORY,
    CSGP_FB_BOOLEAN,
    CSGP_FB_FEATURED,
    CSGP_FB_CHAMPION_SCORE,  /* bin: the champion score's bin in its model's baseline */
    CSGP_FB_CHALLENGER_SCORE /* ("" while the model has no baseline) */
};
#define CSGP_FBINS_MAX_EDGES CSGP_QUERY_MAX_BANDS
/* feature_bands' name of a model's score bins: the prefix, then the model. */
#define CSGP_FBINS_SCORE_PREFIX "score:"

typedef struct csgp_fbins csgp_fbins;

/* Count the feature bins of ev[i] for every fresh[i] into r, freezing the bands of number
 * features seen for the first time (inside the caller's transaction). */
int csgp_fbins_add(csgp_db *db, csgp_rollup *r, const csgp_event *ev, const unsigned char *fresh,
                   size_t n, csg_error *err);

/* The stored bands of number feature name: edges[0..*n) (edges[0] = -INFINITY when open
 * below); *n = 0 when it has none yet. */
int csgp_fbins_bands(csgp_db *db, const char *name, double *edges, int *n, csg_error *err);

/* Baseline b was stored: its score edges become its model's score bins, and its number
 * features' cuts their bands where b is the champion's baseline (its model is the latest
 * stored event's champion, or no band comes from another model's baseline); the rollups of
 * every score / feature whose bins changed are rebuilt from the rows still stored — all in
 * the caller's open transaction. *rebuilt (optional) gets how many were rebuilt. */
int csgp_fbins_apply_baseline(csgp_db *db, const csgp_baseline *b, int *rebuilt,
                              csg_error *err);

/* Rebuild rollup_features from the rows still stored, in the open transaction: every bin
 * (only NULL; bands of number features without any frozen from the first chunk; *rows,
 * optional, gets the rows read), or the number bands of the features listed in only
 * (NULL-terminated; csgp_fbins_rebuild_listed; *rows = -1). */
int csgp_fbins_rebuild(csgp_db *db, const char *const *only, int64_t *rows, csg_error *err);

/* The listed rebuild of csgp_fbins_rebuild, in SQL (fbins_rebuild.c): for each feature of
 * only its number-band rows, for each "score:<model>" the model's score-bin rows (both
 * sides), deleted and counted again from the stored rows at every resolution. */
int csgp_fbins_rebuild_listed(csgp_db *db, const char *const *only, csg_error *err);

#endif /* CSGP_FBINS_H */
