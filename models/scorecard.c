/*
 * scorecard.c — the "scorecard" body of a model file: per characteristic the
 * bins (numeric cuts or a category's level_bin, then the missing bin), each
 * bin's WoE and points, the coefficient; logit = intercept + sum coef * WoE,
 * points = sum of the bins' points; a characteristic's reason weight is its
 * loss below its maximum points (models/README.md, scorer.py).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define fail csg_model_fail

/* key must be an array of finite numbers: *n of them, or when *n is 0 on
 * entry lo..hi of them (their count goes to *n). */
static int num_list(const json_t *o, const char *key, size_t i, double *out, size_t *n, size_t lo,
                    size_t hi, csg_model_error *err)
{
    const json_t *a = json_object_get(o, key);
    size_t len = json_array_size(a);
    if (!json_is_array(a) || len < lo || len > hi || (*n && len != *n))
        return *n ? fail(err, "scorecard.characteristics[%zu].%s must be an array of %zu numbers",
                         i, key, *n)
                  : fail(err, "scorecard.characteristics[%zu].%s must be an array of %zu-%zu "
                              "numbers", i, key, lo, hi);
    for (size_t k = 0; k < len; k++)
        if (!csg_model_get_num(json_array_get(a, k), &out[k]))
            return fail(err, "scorecard.characteristics[%zu].%s[%zu] must be a finite number", i,
                        key, k);
    *n = len;
    return 0;
}

static int parse_char(csg_model *m, const json_t *o, size_t i, csg_model_error *err)
{
    static const char *const keys[] = {"cuts", "level_bin", "woe", "points", "coef",
                                       "bin_rows", NULL};
    const csg_model_feature *f = &m->feat[i];
    sc_char *c = &m->chars[i];
    char where[64];
    snprintf(where, sizeof where, "scorecard.characteristics[%zu]: ", i);
    if (!json_is_object(o))
        return fail(err, "scorecard.characteristics[%zu] must be an object", i);
    if (csg_model_known_keys(o, keys, where, err))
        return -CSG_MODEL_EINVAL;
    /* woe first: it fixes the bin count the others must match */
    size_t nb = 0;
    if (num_list(o, "woe", i, c->woe, &nb, 2, CSG_MODEL_MAX_BINS, err) ||
        num_list(o, "points", i, c->points, &nb, 2, CSG_MODEL_MAX_BINS, err))
        return -CSG_MODEL_EINVAL;
    c->nbins = nb;
    if (!csg_model_get_num(json_object_get(o, "coef"), &c->coef))
        return fail(err, "scorecard.characteristics[%zu].coef must be a finite number", i);
    if (f->type == CSG_MODEL_CATEGORY) {
        if (json_object_get(o, "cuts"))
            return fail(err, "%s\"cuts\" is for numbers; %s is a category (level_bin)", where,
                        f->name);
        const json_t *a = json_object_get(o, "level_bin");
        if (!json_is_array(a) || json_array_size(a) != f->nvalues)
            return fail(err, "scorecard.characteristics[%zu].level_bin must be an array of %zu "
                             "bin indices (one per value of %s)", i, f->nvalues, f->name);
        for (size_t k = 0; k < f->nvalues; k++) {
            int32_t b;
            if (!csg_model_get_int32(json_array_get(a, k), &b) || b < 0 || (size_t)b >= nb)
                return fail(err, "scorecard.characteristics[%zu].level_bin[%zu] must be a bin "
                                 "index 0-%zu", i, k, nb - 1);
            c->level_bin[k] = (uint8_t)b;
        }
    } else {
        if (json_object_get(o, "level_bin"))
            return fail(err, "%s\"level_bin\" is for categories; %s is a number (cuts)", where,
                        f->name);
        size_t nc = 0;
        if (num_list(o, "cuts", i, c->cuts, &nc, 0, CSG_MODEL_MAX_BINS - 2, err))
            return -CSG_MODEL_EINVAL;
        if (nc != nb - 2)
            return fail(err, "scorecard.characteristics[%zu]: %zu cuts make %zu bins and the "
                             "missing bin, but woe has %zu", i, nc, nc + 1, nb);
        for (size_t k = 1; k < nc; k++)
            if (!(c->cuts[k] > c->cuts[k - 1]))
                return fail(err, "scorecard.characteristics[%zu].cuts must increase strictly", i);
        c->ncuts = nc;
    }
    const json_t *rows = json_object_get(o, "bin_rows"); /* documentation only */
    if (rows && (!json_is_array(rows) || json_array_size(rows) != nb))
        return fail(err, "scorecard.characteristics[%zu].bin_rows must be an array of %zu "
                         "counts", i, nb);
    c->max_points = c->points[0];
    for (size_t k = 1; k < nb; k++)
        if (c->points[k] > c->max_points)
            c->max_points = c->points[k];
    return 0;
}

int csg_scorecard_parse(csg_model *m, const json_t *b, csg_model_error *err)
{
    static const char *const keys[] = {"points_base", "odds_base", "pdo", "factor", "offset",
                                       "intercept", "characteristics", NULL};
    if (!json_is_object(b))
        return fail(err, "scorecard must be an object");
    if (csg_model_known_keys(b, keys, "scorecard: ", err))
        return -CSG_MODEL_EINVAL;
    /* The scaling constants are documentation (points are per bin), but must be numbers. */
    for (size_t k = 0; k < 5; k++) {
        double v;
        const json_t *x = json_object_get(b, keys[k]);
        if (x && !csg_model_get_num(x, &v))
            return fail(err, "scorecard.%s must be a finite number", keys[k]);
    }
    if (!csg_model_get_num(json_object_get(b, "intercept"), &m->intercept))
        return fail(err, "scorecard.intercept must be a finite number");
    const json_t *a = json_object_get(b, "characteristics");
    if (!json_is_array(a) || json_array_size(a) != m->nfeat)
        return fail(err, "scorecard.characteristics must be an array of %zu (one per feature)",
                    m->nfeat);
    m->chars = calloc(m->nfeat, sizeof *m->chars);
    if (!m->chars) {
        fail(err, "out of memory");
        return -CSG_MODEL_ENOMEM;
    }
    for (size_t i = 0; i < m->nfeat; i++) {
        int rc = parse_char(m, json_array_get(a, i), i, err);
        if (rc)
            return rc;
    }
    return 0;
}

double csg_scorecard_logit(const csg_model *m, const double *x, double *points, double *loss)
{
    double logit = m->intercept, pts = 0.0;
    for (size_t i = 0; i < m->nfeat; i++) {
        const sc_char *c = &m->chars[i];
        size_t k;
        if (isnan(x[i]))
            k = c->nbins - 1;
        else if (m->feat[i].type == CSG_MODEL_CATEGORY)
            /* input.c gives level indices; anything else (a fuzzer) counts as missing */
            k = x[i] >= 0 && x[i] < (double)m->feat[i].nvalues ? c->level_bin[(size_t)x[i]]
                                                                : c->nbins - 1;
        else
            for (k = 0; k < c->ncuts && x[i] >= c->cuts[k]; k++)
                ;
        logit += c->coef * c->woe[k];
        pts += c->points[k];
        loss[i] = c->max_points - c->points[k];
    }
    *points = pts;
    return logit;
}
