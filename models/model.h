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

#include "csg/plugin.h"

typedef struct csg_model csg_model;

/* Upper bounds on what a model file may hold; a file beyond them is refused. */
#define CSG_MODEL_MAX_FILE_BYTES (64u << 20)
#define CSG_MODEL_MAX_TREES 100000
#define CSG_MODEL_MAX_NODES_PER_TREE (1 << 20)
#define CSG_MODEL_MAX_TOTAL_NODES 10000000

/* Parse a model from JSON text; *out is the caller's to csg_model_free.
 * Errors name the offending key, e.g. "gbm.trees[3].left[5]: …". */
int csg_model_parse(const char *json, size_t len, csg_model **out, csg_error *err);

/* Read and parse the file at path; error messages start with the path. */
int csg_model_load(const char *path, csg_model **out, csg_error *err);

void csg_model_free(csg_model *m);

const char *csg_model_name(const csg_model *m);    /* e.g. "champion-lr-v1" */
const char *csg_model_kind(const csg_model *m);    /* "logistic" or "gbm" */
double csg_model_cutoff(const csg_model *m);       /* approve when score >= cutoff */
size_t csg_model_tree_count(const csg_model *m);   /* 0 for logistic */

/* P(repay) in [0, 1] for a validated application into *score; features are
 * clipped to the training range stored in the file first. Returns 0, or
 * -CSG_EINVAL when the arithmetic gave no number (NaN: only a hand-made file
 * with huge coefficients can overflow to inf - inf); *score is then 0. */
int csg_model_score(const csg_model *m, const csg_application *app, double *score);

/* APPROVE when score >= cutoff, else DECLINE. */
csg_decision csg_model_decide(const csg_model *m, double score);

#endif /* CSG_MODEL_H */
