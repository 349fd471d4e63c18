/*
 * baseline.h — population-stability baselines (DESIGN §7 "stability"): the file
 * models/baseline.py writes beside each model, validated, stored in csgp_baselines
 * (POST /baselines, `csg-persist --baseline FILE`) and loaded back for
 * /metrics/stability (stability.c).
 *
 * A baseline holds a model's score bins (edges at its training deciles, [e_i, e_i+1), the
 * last bin closed at 1) and, per characteristic, value bins with the share of training
 * rows in each: a number's bins are cuts (bin k = exactly k cuts <= value), a category's
 * are its levels; every feature has a missing bin (absent, null or of another type), and a
 * category also an "other" bin (a level outside its list: share 0 unless the document
 * gives it after the missing share, as a reference window's baseline does).
 */
#ifndef CSGP_BASELINE_H
#define CSGP_BASELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "csg_event_schema.h"
#include "db.h"

#define CSGP_BASELINE_FORMAT "csg-baseline/1"
#define CSGP_BASELINE_MAX_BINS 64 /* score bins; a feature's value bins */
#define CSGP_BASELINE_MAX_BYTES (1 << 20)

typedef struct csgp_baseline_feature {
    const char *name; /* into the document */
    bool category;
    int nvalue_bins;             /* number: cuts + 1; category: levels */
    double cuts[CSGP_BASELINE_MAX_BINS];
    const char *levels[CSGP_BASELINE_MAX_BINS]; /* into the document */
    /* value bins, then missing, then (categories) other */
    double share[CSGP_BASELINE_MAX_BINS + 2];
    int nbins; /* all bins: nvalue_bins + 1 (+ 1) */
} csgp_baseline_feature;

typedef struct csgp_baseline {
    json_t *doc; /* owns the strings above */
    const char *model;
    const char *source;
    double edges[CSGP_BASELINE_MAX_BINS + 1];
    double score_share[CSGP_BASELINE_MAX_BINS];
    int nscore_bins;
    csgp_baseline_feature features[CSG_EVENT_MAX_FEATURES];
    int nfeatures;
} csgp_baseline;

/* Validate doc and fill *out (which takes a reference to doc). -CSG_EINVAL with a message
 * naming the field. */
int csgp_baseline_from_json(json_t *doc, csgp_baseline *out, csg_error *err);
/* Parse text[0..len) as a baseline document. */
int csgp_baseline_parse(const char *text, size_t len, csgp_baseline *out, csg_error *err);
int csgp_baseline_read_file(const char *path, csgp_baseline *out, csg_error *err);
void csgp_baseline_free(csgp_baseline *b);

/* The bin of a score / of a feature's JSON value (NULL = absent). */
int csgp_baseline_score_bin(const csgp_baseline *b, double score);
int csgp_baseline_feature_bin(const csgp_baseline_feature *f, const json_t *value);
/* The feature named name, or NULL. */
const csgp_baseline_feature *csgp_baseline_feature_of(const csgp_baseline *b, const char *name);

/* Store b (replacing the model's earlier baseline). */
int csgp_baseline_store(csgp_db *db, const csgp_baseline *b, csg_error *err);
/* Every stored baseline, by model name; *out is malloc'd (free each, then the array). */
int csgp_baseline_load_all(csgp_db *db, csgp_baseline **out, int *n, csg_error *err);
/* The stored baselines as GET /baselines lists them: [{"model","source","score_bins",
 * "features","loaded_at"}], by model. */
int csgp_baseline_list_json(csgp_db *db, json_t **out, csg_error *err);

#endif /* CSGP_BASELINE_H */
