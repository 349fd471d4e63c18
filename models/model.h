/*
 * model.h — the scoring models csg-model serves: a WoE scorecard with points
 * (champion.json) and gradient-boosted trees (challenger.json), each with
 * adverse-action reasons, loaded from the JSON files models/train.py writes
 * (format csg-model/2, models/README.md).
 *
 * Scoring is pure arithmetic on a loaded model: no allocation, no I/O, safe to
 * call from any thread on a const model. The arithmetic is the one of
 * models/scorer.py, operation for operation, so both give the same double and
 * the same reasons.
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
#define CSG_MODEL_MAX_DEPTH 32 /* edges root to leaf; bounds TreeSHAP's stack use */
#define CSG_MODEL_MAX_FEATURES 64
#define CSG_MODEL_MAX_LEVELS 64   /* values of a category feature */
#define CSG_MODEL_LEVEL_MAX 64    /* bytes of one category value */
#define CSG_MODEL_MAX_BINS 64     /* scorecard bins of one characteristic, missing bin included */
#define CSG_MODEL_FEATURE_NAME_MAX 32 /* [a-z][a-z0-9_]{0,31}, as the gateway's schema */
/* Reasons: the bounds of lib/csg_event_schema.h (CSG_REASONS_MAX, CSG_REASON_CODE_MAX,
 * CSG_REASON_TEXT_MAX), restated because models/ includes no gateway header;
 * tests/models/test_model.c checks that the two agree. */
#define CSG_MODEL_REASONS_MAX 4
#define CSG_MODEL_REASON_CODE_MAX 16  /* [A-Z0-9_]{1,16} */
#define CSG_MODEL_REASON_TEXT_MAX 200 /* bytes of UTF-8, no control characters */

typedef enum csg_model_feature_type {
    CSG_MODEL_NUMBER = 0,   /* any finite JSON number */
    CSG_MODEL_INTEGER = 1,  /* a JSON integer (no fraction, no exponent) */
    CSG_MODEL_CATEGORY = 2, /* a JSON string, one of values[] */
} csg_model_feature_type;

/* What the model file says about one feature it uses: the input rule
 * csg-model checks before scoring, and the adverse-action reason the
 * feature stands for. */
typedef struct csg_model_feature {
    char name[CSG_MODEL_FEATURE_NAME_MAX + 1];
    csg_model_feature_type type;
    bool required; /* else absent = missing, which the model scores */
    bool has_min, has_max;
    bool min_exclusive, max_exclusive;
    double min, max;
    bool has_clip_max; /* scored as min(x, clip_max) (credit_history: 1) */
    double clip_max;
    size_t nvalues; /* CATEGORY: the levels, in the file's order */
    char values[CSG_MODEL_MAX_LEVELS][CSG_MODEL_LEVEL_MAX + 1];
    char reason_code[CSG_MODEL_REASON_CODE_MAX + 1];
    char reason_text[CSG_MODEL_REASON_TEXT_MAX + 1];
} csg_model_feature;

typedef enum csg_model_decision {
    CSG_MODEL_APPROVE = 1,
    CSG_MODEL_DECLINE = 2,
} csg_model_decision;

/* One answer: score, decision, the scorecard's points, and on decline up to
 * CSG_MODEL_REASONS_MAX features (indices into the feature list), most
 * important first. */
typedef struct csg_model_result {
    double score;
    csg_model_decision decision;
    bool has_points;
    double points;
    size_t nreasons;
    size_t reason[CSG_MODEL_REASONS_MAX];
} csg_model_result;

/* Parse a model from JSON text (format csg-model/2, models/README.md); *out is
 * the caller's to csg_model_free. Errors name the offending key, e.g.
 * "gbm.trees[3].left[5]: ...". */
int csg_model_parse(const char *json, size_t len, csg_model **out, csg_model_error *err);

/* Read and parse the file at path; error messages start with the path. */
int csg_model_load(const char *path, csg_model **out, csg_model_error *err);

void csg_model_free(csg_model *m);

const char *csg_model_name(const csg_model *m);    /* e.g. "champion-scorecard-v2" */
const char *csg_model_kind(const csg_model *m);    /* "scorecard" or "gbm" */
double csg_model_cutoff(const csg_model *m);       /* approve when score >= cutoff */
size_t csg_model_tree_count(const csg_model *m);   /* 0 for a scorecard */

/* The features the model uses, in the file's order (1-CSG_MODEL_MAX_FEATURES);
 * the pointer lives as long as the model. */
size_t csg_model_feature_count(const csg_model *m);
const csg_model_feature *csg_model_feature_at(const csg_model *m, size_t i);

/* Score x[0..feature_count), the model's features in the file's order:
 * numbers as given (already validated against their rules, models/input.h),
 * a category as the index of its level, NaN for a missing one. Fills *out
 * (reasons only on decline). Returns 0, or -CSG_MODEL_EINVAL when the
 * arithmetic gave no number (NaN: only a hand-made file with huge values can
 * overflow to inf - inf); *out then holds score 0 and no reasons. */
int csg_model_evaluate(const csg_model *m, const double *x, csg_model_result *out);

/* The score alone (csg_model_evaluate without the reasons). */
int csg_model_score(const csg_model *m, const double *x, double *score);

/* APPROVE when score >= cutoff, else DECLINE. */
csg_model_decision csg_model_decide(const csg_model *m, double score);

#endif /* CSG_MODEL_H */
