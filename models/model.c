/*
 * model.c — load and score the csg-model file formats (models/README.md).
 *
 * Everything a file says is checked at load time (types, finiteness, tree
 * shape), so scoring needs no checks and can never loop or index out of
 * bounds: every child index is greater than its parent's, which bounds a walk
 * by the tree's node count.
 */
#include "model.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FEATURES CSG_MODEL_MAX_FEATURES
#define FORMAT_V1 "csg-model/1"

enum model_kind { K_LOGISTIC, K_GBM };

struct csg_model {
    char name[128];
    enum model_kind kind;
    size_t nfeat;
    csg_model_feature feat[MAX_FEATURES];
    double fmin[MAX_FEATURES], fmax[MAX_FEATURES];
    double cutoff;
    /* logistic */
    double intercept, mean[MAX_FEATURES], scale[MAX_FEATURES], coef[MAX_FEATURES];
    /* gbm: trees are stored back to back; tree t's nodes are
     * [tree_start[t], tree_start[t + 1]) and child indices are tree-local. */
    double init_raw, learning_rate;
    size_t ntrees;
    size_t *tree_start;
    int32_t *feature, *left, *right;
    double *threshold, *value;
};

static int fail(csg_model_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(csg_model_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -CSG_MODEL_EINVAL;
}

/* A finite JSON number (integer or real). */
static bool get_num(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return false;
    return isfinite(*out);
}

static bool get_int32(const json_t *v, int32_t *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < INT32_MIN || i > INT32_MAX)
        return false;
    *out = (int32_t)i;
    return true;
}

/* key must be an array of exactly n finite numbers. */
static int num_array(const json_t *obj, const char *key, const char *where, double *out, size_t n,
                     csg_model_error *err)
{
    const json_t *a = json_object_get(obj, key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return fail(err, "%s%s must be an array of %zu numbers", where, key, n);
    for (size_t i = 0; i < n; i++)
        if (!get_num(json_array_get(a, i), &out[i]))
            return fail(err, "%s%s[%zu] must be a finite number", where, key, i);
    return 0;
}

/* A bare name is the short form for one of the brief's three features, with
 * the rules of DESIGN §5 (files written before feature objects existed). */
static const csg_model_feature brief_features[] = {
    {.name = "income", .type = CSG_MODEL_NUMBER, .has_min = true, .min = 0},
    {.name = "loan_amount", .type = CSG_MODEL_NUMBER, .has_min = true, .min = 0,
     .min_exclusive = true},
    {.name = "credit_history", .type = CSG_MODEL_INTEGER, .has_min = true, .min = 0,
     .has_max = true, .max = 2147483647},
};

/* Names as the gateway's schema has them; the id fields are not features. */
static bool valid_feature_name(const char *s, size_t n)
{
    if (n < 1 || n > CSG_MODEL_FEATURE_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return strcmp(s, "applicant_id") != 0 && strcmp(s, "request_id") != 0;
}

/* {"name", "type": "number"|"integer", "min"?, "max"?, "min_exclusive"?,
 * "max_exclusive"?}; unknown keys are refused, so a typo ("minimum") cannot
 * silently drop a rule. */
static int parse_feature_object(const json_t *o, size_t i, csg_model_feature *f,
                                csg_model_error *err)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "min") &&
            strcmp(key, "max") && strcmp(key, "min_exclusive") && strcmp(key, "max_exclusive"))
            return fail(err, "features[%zu]: unknown key \"%s\" (name, type, min, max, "
                             "min_exclusive, max_exclusive)", i, key);
    }
    v = json_object_get(o, "name");
    if (!json_is_string(v) || !valid_feature_name(json_string_value(v), json_string_length(v)))
        return fail(err, "features[%zu].name must match [a-z][a-z0-9_]{0,%d} and not be "
                         "applicant_id or request_id", i, CSG_MODEL_FEATURE_NAME_MAX - 1);
    memcpy(f->name, json_string_value(v), json_string_length(v) + 1);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type && strcmp(type, "number") == 0)
        f->type = CSG_MODEL_NUMBER;
    else if (type && strcmp(type, "integer") == 0)
        f->type = CSG_MODEL_INTEGER;
    else
        return fail(err, "features[%zu].type must be \"number\" or \"integer\"", i);
    if ((v = json_object_get(o, "min"))) {
        if (!get_num(v, &f->min))
            return fail(err, "features[%zu].min must be a finite number", i);
        f->has_min = true;
    }
    if ((v = json_object_get(o, "max"))) {
        if (!get_num(v, &f->max))
            return fail(err, "features[%zu].max must be a finite number", i);
        f->has_max = true;
    }
    static const char *const flags[] = {"min_exclusive", "max_exclusive"};
    bool *dst[] = {&f->min_exclusive, &f->max_exclusive};
    bool has[] = {f->has_min, f->has_max};
    for (size_t k = 0; k < 2; k++) {
        if (!(v = json_object_get(o, flags[k])))
            continue;
        if (!json_is_boolean(v))
            return fail(err, "features[%zu].%s must be true or false", i, flags[k]);
        if (!has[k])
            return fail(err, "features[%zu].%s needs %s", i, flags[k], k ? "max" : "min");
        *dst[k] = json_is_true(v);
    }
    if (f->has_min && f->has_max &&
        (f->min > f->max || (f->min == f->max && (f->min_exclusive || f->max_exclusive))))
        return fail(err, "features[%zu]: min and max leave no valid value", i);
    return 0;
}

static int parse_features(csg_model *m, const json_t *root, csg_model_error *err)
{
    const json_t *a = json_object_get(root, "features");
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n < 1 || n > MAX_FEATURES)
        return fail(err, "features must be an array of 1-%d features", MAX_FEATURES);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        csg_model_feature *f = &m->feat[i];
        if (json_is_object(v)) {
            int rc = parse_feature_object(v, i, f, err);
            if (rc)
                return rc;
        } else {
            const char *s = json_string_value(v);
            size_t k = 0, nb = sizeof brief_features / sizeof brief_features[0];
            while (s && k < nb && strcmp(s, brief_features[k].name) != 0)
                k++;
            if (!s || k == nb)
                return fail(err, "features[%zu] must be \"income\", \"loan_amount\", "
                                 "\"credit_history\" or an object {\"name\", \"type\", ...}", i);
            *f = brief_features[k];
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->feat[j].name, f->name) == 0)
                return fail(err, "features[%zu]: \"%s\" is listed twice", i, f->name);
    }
    m->nfeat = n;
    if (num_array(root, "feature_min", "", m->fmin, n, err) ||
        num_array(root, "feature_max", "", m->fmax, n, err))
        return -CSG_MODEL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (m->fmin[i] > m->fmax[i])
            return fail(err, "feature_min[%zu] is greater than feature_max[%zu]", i, i);
    return 0;
}

static int parse_logistic(csg_model *m, const json_t *lr, csg_model_error *err)
{
    if (!json_is_object(lr))
        return fail(err, "logistic must be an object");
    if (!get_num(json_object_get(lr, "intercept"), &m->intercept))
        return fail(err, "logistic.intercept must be a finite number");
    if (num_array(lr, "mean", "logistic.", m->mean, m->nfeat, err) ||
        num_array(lr, "scale", "logistic.", m->scale, m->nfeat, err) ||
        num_array(lr, "coef", "logistic.", m->coef, m->nfeat, err))
        return -CSG_MODEL_EINVAL;
    for (size_t i = 0; i < m->nfeat; i++)
        if (!(m->scale[i] > 0))
            return fail(err, "logistic.scale[%zu] must be > 0", i);
    return 0;
}

/* One tree's five parallel arrays; nodes land at m->...[base + i]. */
static int parse_tree(csg_model *m, const json_t *t, size_t ti, size_t base, size_t n,
                      csg_model_error *err)
{
    static const char *const keys[] = {"feature", "threshold", "left", "right", "value"};
    const json_t *arr[5];
    for (size_t k = 0; k < 5; k++) {
        arr[k] = json_object_get(t, keys[k]);
        if (!json_is_array(arr[k]) || json_array_size(arr[k]) != n)
            return fail(err, "gbm.trees[%zu].%s must be an array of %zu entries (one per node)",
                        ti, keys[k], n);
    }
    for (size_t i = 0; i < n; i++) {
        int32_t f, l, r;
        double thr, val;
        if (!get_int32(json_array_get(arr[2], i), &l) || !get_int32(json_array_get(arr[3], i), &r))
            return fail(err, "gbm.trees[%zu].left/right[%zu] must be integers", ti, i);
        if (l == -1 && r == -1) {
            if (!get_num(json_array_get(arr[4], i), &val))
                return fail(err, "gbm.trees[%zu].value[%zu] must be a finite number", ti, i);
            f = 0;
            thr = 0;
        } else {
            /* Children after their parent: a walk strictly advances, so it ends. */
            if (l <= (int32_t)i || (size_t)l >= n || r <= (int32_t)i || (size_t)r >= n)
                return fail(err, "gbm.trees[%zu] node %zu: children (%d, %d) must both be -1 "
                                 "(leaf) or node indices in (%zu, %zu)", ti, i, l, r, i, n);
            if (!get_int32(json_array_get(arr[0], i), &f) || f < 0 || (size_t)f >= m->nfeat)
                return fail(err, "gbm.trees[%zu].feature[%zu] must be a feature index 0-%zu", ti,
                            i, m->nfeat - 1);
            if (!get_num(json_array_get(arr[1], i), &thr))
                return fail(err, "gbm.trees[%zu].threshold[%zu] must be a finite number", ti, i);
            val = 0;
        }
        m->feature[base + i] = f;
        m->left[base + i] = l;
        m->right[base + i] = r;
        m->threshold[base + i] = thr;
        m->value[base + i] = val;
    }
    return 0;
}

static int parse_gbm(csg_model *m, const json_t *g, csg_model_error *err)
{
    if (!json_is_object(g))
        return fail(err, "gbm must be an object");
    if (!get_num(json_object_get(g, "init_raw"), &m->init_raw))
        return fail(err, "gbm.init_raw must be a finite number");
    if (!get_num(json_object_get(g, "learning_rate"), &m->learning_rate) ||
        !(m->learning_rate > 0))
        return fail(err, "gbm.learning_rate must be a finite number > 0");
    const json_t *trees = json_object_get(g, "trees");
    size_t nt = json_array_size(trees);
    if (!json_is_array(trees) || nt < 1 || nt > CSG_MODEL_MAX_TREES)
        return fail(err, "gbm.trees must be an array of 1-%d trees", CSG_MODEL_MAX_TREES);
    /* Scoring narrows clipped features to float; keep that conversion defined. */
    for (size_t i = 0; i < m->nfeat; i++)
        if (fabs(m->fmin[i]) > FLT_MAX || fabs(m->fmax[i]) > FLT_MAX)
            return fail(err, "feature_min/feature_max[%zu] must be within float range for gbm", i);

    /* First pass: sizes, so the node arrays are allocated once. */
    size_t total = 0;
    for (size_t t = 0; t < nt; t++) {
        const json_t *tree = json_array_get(trees, t);
        size_t n = json_array_size(json_object_get(tree, "left"));
        if (!json_is_object(tree) || n < 1 || n > CSG_MODEL_MAX_NODES_PER_TREE)
            return fail(err, "gbm.trees[%zu] must be an object with 1-%d nodes", t,
                        CSG_MODEL_MAX_NODES_PER_TREE);
        total += n;
        if (total > CSG_MODEL_MAX_TOTAL_NODES)
            return fail(err, "gbm.trees: more than %d nodes in all", CSG_MODEL_MAX_TOTAL_NODES);
    }
    m->ntrees = nt;
    m->tree_start = calloc(nt + 1, sizeof *m->tree_start);
    m->feature = calloc(total, sizeof *m->feature);
    m->left = calloc(total, sizeof *m->left);
    m->right = calloc(total, sizeof *m->right);
    m->threshold = calloc(total, sizeof *m->threshold);
    m->value = calloc(total, sizeof *m->value);
    if (!m->tree_start || !m->feature || !m->left || !m->right || !m->threshold || !m->value) {
        fail(err, "out of memory for %zu tree nodes", total);
        return -CSG_MODEL_ENOMEM;
    }
    size_t base = 0;
    for (size_t t = 0; t < nt; t++) {
        const json_t *tree = json_array_get(trees, t);
        size_t n = json_array_size(json_object_get(tree, "left"));
        m->tree_start[t] = base;
        int rc = parse_tree(m, tree, t, base, n, err);
        if (rc)
            return rc;
        base += n;
    }
    m->tree_start[nt] = base;
    return 0;
}

/* Model names end up in JSON, metric labels and logs: keep them plain. */
static bool valid_name(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!s || n < 1 || n >= sizeof ((csg_model *)0)->name)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

int csg_model_parse(const char *json, size_t len, csg_model **out, csg_model_error *err)
{
    json_error_t jerr;
    int rc = -CSG_MODEL_EINVAL;
    csg_model *m = NULL;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fail(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        fail(err, "a model file must hold a JSON object");
        goto fail;
    }
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, FORMAT_V1) != 0) {
        fail(err, "format must be \"%s\" (got %s%s%s)", FORMAT_V1, format ? "\"" : "",
             format ? format : "nothing", format ? "\"" : "");
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        rc = -CSG_MODEL_ENOMEM;
        fail(err, "out of memory");
        goto fail;
    }
    const json_t *name = json_object_get(root, "model");
    if (!valid_name(name)) {
        fail(err, "model must be a name of 1-%zu characters A-Z a-z 0-9 . _ -",
             sizeof m->name - 1);
        goto fail;
    }
    memcpy(m->name, json_string_value(name), json_string_length(name) + 1);
    if (!get_num(json_object_get(root, "cutoff"), &m->cutoff) || m->cutoff < 0 ||
        m->cutoff > 1) {
        fail(err, "cutoff must be a number in [0, 1]");
        goto fail;
    }
    if ((rc = parse_features(m, root, err)))
        goto fail;
    const char *type = json_string_value(json_object_get(root, "type"));
    if (type && strcmp(type, "logistic") == 0) {
        m->kind = K_LOGISTIC;
        rc = parse_logistic(m, json_object_get(root, "logistic"), err);
    } else if (type && strcmp(type, "gbm") == 0) {
        m->kind = K_GBM;
        rc = parse_gbm(m, json_object_get(root, "gbm"), err);
    } else {
        rc = fail(err, "type must be \"logistic\" or \"gbm\"");
    }
    if (rc)
        goto fail;
    json_decref(root);
    *out = m;
    return 0;
fail:
    csg_model_free(m);
    json_decref(root);
    return rc ? rc : -CSG_MODEL_EINVAL;
}

int csg_model_load(const char *path, csg_model **out, csg_model_error *err)
{
    int rc = -CSG_MODEL_EIO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        fail(err, "%s: cannot open: %s", path, strerror(errno));
        return -CSG_MODEL_EIO;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(err, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > (off_t)CSG_MODEL_MAX_FILE_BYTES) {
        rc = -CSG_MODEL_EINVAL;
        fail(err, "%s: larger than %u bytes", path, CSG_MODEL_MAX_FILE_BYTES);
        goto out;
    }
    /* One byte more than the size: a file that grew meanwhile is noticed. */
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        rc = -CSG_MODEL_ENOMEM;
        fail(err, "%s: out of memory", path);
        goto out;
    }
    size_t len = fread(buf, 1, cap, f);
    if (ferror(f) || len == cap) {
        fail(err, "%s: read error or file changed while reading", path);
        goto out;
    }
    csg_model_error inner;
    rc = csg_model_parse(buf, len, out, &inner);
    if (rc)
        fail(err, "%s: %s", path, inner.message);
out:
    free(buf);
    fclose(f);
    return rc;
}

void csg_model_free(csg_model *m)
{
    if (!m)
        return;
    free(m->tree_start);
    free(m->feature);
    free(m->left);
    free(m->right);
    free(m->threshold);
    free(m->value);
    free(m);
}

const char *csg_model_name(const csg_model *m) { return m->name; }
const char *csg_model_kind(const csg_model *m) { return m->kind == K_GBM ? "gbm" : "logistic"; }
double csg_model_cutoff(const csg_model *m) { return m->cutoff; }
size_t csg_model_tree_count(const csg_model *m) { return m->kind == K_GBM ? m->ntrees : 0; }
size_t csg_model_feature_count(const csg_model *m) { return m->nfeat; }
const csg_model_feature *csg_model_feature_at(const csg_model *m, size_t i)
{
    return i < m->nfeat ? &m->feat[i] : NULL;
}

/* 1 / (1 + exp(-x)), the expression scorer.py and scipy's expit use. */
static double expit(double x) { return 1.0 / (1.0 + exp(-x)); }

static double raw_score(const csg_model *m, const double *in)
{
    double x[MAX_FEATURES];
    for (size_t i = 0; i < m->nfeat; i++) {
        double v = in[i];
        x[i] = v < m->fmin[i] ? m->fmin[i] : v > m->fmax[i] ? m->fmax[i] : v;
    }
    if (m->kind == K_LOGISTIC) {
        double acc = m->intercept;
        for (size_t i = 0; i < m->nfeat; i++)
            acc += m->coef[i] * ((x[i] - m->mean[i]) / m->scale[i]);
        return acc;
    }
    /* scikit-learn casts X to float32 before walking its trees and compares
     * the float32 value (widened) with the float64 threshold; do the same, or
     * a value between float32 neighbours of a threshold goes the other way. */
    double xf[MAX_FEATURES];
    for (size_t i = 0; i < m->nfeat; i++)
        xf[i] = (double)(float)x[i];
    double raw = m->init_raw;
    for (size_t t = 0; t < m->ntrees; t++) {
        size_t b = m->tree_start[t];
        int32_t node = 0;
        while (m->left[b + (size_t)node] >= 0) {
            size_t k = b + (size_t)node;
            node = xf[m->feature[k]] <= m->threshold[k] ? m->left[k] : m->right[k];
        }
        raw += m->learning_rate * m->value[b + (size_t)node];
    }
    return raw;
}

int csg_model_score(const csg_model *m, const double *x, double *score)
{
    double p = expit(raw_score(m, x));
    if (isnan(p)) {
        *score = 0;
        return -CSG_MODEL_EINVAL;
    }
    *score = p;
    return 0;
}

csg_model_decision csg_model_decide(const csg_model *m, double score)
{
    return score >= m->cutoff ? CSG_MODEL_APPROVE : CSG_MODEL_DECLINE;
}
