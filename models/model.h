/*
 * model.h — the scoring models csg-model serves: logistic regression
 * (champion.json) and gradient-boosted trees (challenger.json), loaded from
 * the JSON files models/train.py writes (formats in models/README.md).
 *
 * Scoring is pure arithmetic on a loaded model: no allocation, no I/O, safe to
 * call from any thread on a const model. The arithmetic is the one of
 * models/scorer.py, operation for operation, so both give the same double.
 */
#ifndef CSG_MODEL_H
#define CSG_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "model_error.h"

typedef struct csg_model csg_model;

/* Upper bounds on what a model file may hold; a file beyond them is refused. */
#define CSG_MODEL_MAX_FILE_BYTES (64u << 20)
#define CSG_MODEL_MAX_TREES 100000
#define CSG_MODEL_MAX_NODES_PER_TREE (1 << 20)
#define CSG_MODEL_MAX_TOTAL_NODES 10000000
#define CSG_MODEL_MAX_FEATURES 64
#define CSG_MODEL_FEATURE_NAME_MAX 32 /* [a-z][a-z0-9_]{0,31}, as the gateway's schema */

typedef enum csg_model_feature_type {
    CSG_MODEL_NUMBER = 0,  /* any finite JSON number */
    CSG_MODEL_INTEGER = 1, /* a JSON integer (no fraction, no exponent) */
} csg_model_feature_type;

/* What the model file says an application must carry for one feature it
 * uses: the input rules csg-model checks before scoring (the training range
 * used for clipping is separate: feature_min / feature_max). */
typedef struct csg_model_feature {
    char name[CSG_MODEL_FEATURE_NAME_MAX + 1];
    csg_model_feature_type type;
    bool has_min, has_max;
    bool min_exclusive, max_exclusive;
    double min, max;
} csg_model_feature;

typedef enum csg_model_decision {
    CSG_MODEL_APPROVE = 1,
    CSG_MODEL_DECLINE = 2,
} csg_model_decision;

/* Parse a model from JSON text; *out is the caller's to csg_model_free.
 * Errors name the offending key, e.g. "gbm.trees[3].left[5]: …". */
int csg_model_parse(const char *json, size_t len, csg_model **out, csg_model_error *err);

/* Read and parse the file at path; error messages start with the path. */
int csg_model_load(const char *path, csg_model **out, csg_model_error *err);

void csg_model_free(csg_model *m);

const char *csg_model_name(const csg_model *m);    /* e.g. "champion-lr-v1" */
const char *csg_model_kind(const csg_model *m);    /* "logistic" or "gbm" */
double csg_model_cutoff(const csg_model *m);       /* approve when score >= cutoff */
size_t csg_model_tree_count(const csg_model *m);   /* 0 for logistic */

/* The features the model uses, in the file's order (1-CSG_MODEL_MAX_FEATURES);
 * the pointer lives as long as the model. */
size_t csg_model_feature_count(const csg_model *m);
const csg_model_feature *csg_model_feature_at(const csg_model *m, size_t i);

/* P(repay) in [0, 1] into *score for x[0..feature_count), the values of the
 * model's features in the file's order, already validated against their rules
 * (models/input.h does that); they are clipped to the training range stored in
 * the file first. Returns 0, or -CSG_MODEL_EINVAL when the arithmetic gave no
 * number (NaN: only a hand-made file with huge coefficients can overflow to
 * inf - inf); *score is then 0. */
int csg_model_score(const csg_model *m, const double *x, double *score);

/* APPROVE when score >= cutoff, else DECLINE. */
csg_model_decision csg_model_decide(const csg_model *m, double score);

#endif /* CSG_MODEL_H */
