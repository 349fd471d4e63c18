/*
 * model_internal.h — what model.c (file, features, public API), scorecard.c,
 * gbm.c and treeshap.c share: the csg_model struct and the JSON helpers of the
 * loader. Not used outside models/model*.c, scorecard.c, gbm.c, treeshap.c.
 */
#ifndef CSG_MODEL_INTERNAL_H
#define CSG_MODEL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum model_kind { K_SCORECARD, K_GBM };

/* One scorecard characteristic: numeric bins are (-inf, cuts[0]), [cuts[0],
 * cuts[1]), ..., [cuts[ncuts-1], inf); a category's level picks its bin by
 * level_bin; the last bin (nbins - 1) is the missing bin. */
typedef struct sc_char {
    size_t ncuts, nbins;
    double cuts[CSG_MODEL_MAX_BINS];
    uint8_t level_bin[CSG_MODEL_MAX_LEVELS];
    double woe[CSG_MODEL_MAX_BINS], points[CSG_MODEL_MAX_BINS];
    double coef, max_points;
} sc_char;

/* One tree node; leaves have left == right == -1. A split on a category
 * feature sends the levels in cat_left (a bit per level) left, other levels
 * seen in training (gbm known[]) right, and the rest the missing way. */
typedef struct gbm_node {
    int32_t feature, left, right;
    uint8_t missing_left, is_cat;
    uint64_t cat_left;
    double threshold, value, cover;
} gbm_node;

struct csg_model {
    char name[128];
    enum model_kind kind;
    size_t nfeat;
    csg_model_feature feat[CSG_MODEL_MAX_FEATURES];
    double cutoff;
    /* scorecard */
    double intercept;
    sc_char *chars; /* nfeat of them */
    /* gbm: trees back to back; tree t is nodes[tree_start[t] .. tree_start[t+1]),
     * child indices tree-local */
    double baseline;
    uint64_t known[CSG_MODEL_MAX_FEATURES];
    size_t ntrees;
    size_t *tree_start;
    gbm_node *nodes;
};

/* A finite JSON number (integer or real). */
bool csg_model_get_num(const json_t *v, double *out);
bool csg_model_get_int32(const json_t *v, int32_t *out);
/* Refuse any key of object o not in allowed (NULL-terminated); where names o. */
int csg_model_known_keys(const json_t *o, const char *const *allowed, const char *where,
                         csg_model_error *err);

int csg_scorecard_parse(csg_model *m, const json_t *body, csg_model_error *err);
/* logit, points and each characteristic's loss below its maximum points. */
double csg_scorecard_logit(const csg_model *m, const double *x, double *points, double *loss);

int csg_gbm_parse(csg_model *m, const json_t *body, csg_model_error *err);
double csg_gbm_raw(const csg_model *m, const double *x);
/* Whether node k (absolute index) sends x left. */
bool csg_gbm_go_left(const csg_model *m, const gbm_node *nd, const double *x);

/* phi[0..nfeat) = exact path-dependent TreeSHAP contributions to the raw score. */
void csg_treeshap(const csg_model *m, const double *x, double *phi);

#endif /* CSG_MODEL_INTERNAL_H */
