/*
 * gbm.c — the "gbm" body of a model file: scikit-learn HistGradientBoosting
 * trees with native missing values and categorical splits, exported by
 * models/train.py. raw = baseline + the leaf value of every tree, in order.
 *
 * The loader checks that every tree is a tree (each node but the root the
 * child of exactly one node, children after their parent), at most
 * CSG_MODEL_MAX_DEPTH deep, with covers > 0: scoring and TreeSHAP then need
 * no checks, walks end, and TreeSHAP's fractions never divide by zero.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define fail csg_model_fail

static const char *const tree_keys[] = {"feature", "threshold", "missing_left", "cat_left",
                                        "left", "right", "value", "cover", NULL};

/* A list of level indices of feature f as a bit set. */
static bool level_set(const json_t *a, const csg_model_feature *f, uint64_t *out)
{
    if (!json_is_array(a) || json_array_size(a) > f->nvalues)
        return false;
    *out = 0;
    for (size_t k = 0; k < json_array_size(a); k++) {
        int32_t v;
        if (!csg_model_get_int32(json_array_get(a, k), &v) || v < 0 || (size_t)v >= f->nvalues)
            return false;
        *out |= (uint64_t)1 << v;
    }
    return true;
}

static int parse_node(csg_model *m, const json_t *const *arr, size_t ti, size_t i, size_t n,
                      gbm_node *nd, csg_model_error *err)
{
    int32_t l, r, ml;
    if (!csg_model_get_int32(json_array_get(arr[4], i), &l) ||
        !csg_model_get_int32(json_array_get(arr[5], i), &r))
        return fail(err, "gbm.trees[%zu].left/right[%zu] must be integers", ti, i);
    if (!csg_model_get_num(json_array_get(arr[7], i), &nd->cover) || !(nd->cover > 0))
        return fail(err, "gbm.trees[%zu].cover[%zu] must be a number > 0", ti, i);
    nd->left = l;
    nd->right = r;
    if (l == -1 && r == -1) {
        if (!csg_model_get_num(json_array_get(arr[6], i), &nd->value))
            return fail(err, "gbm.trees[%zu].value[%zu] must be a finite number", ti, i);
        return 0;
    }
    /* Children after their parent: a walk strictly advances, so it ends. */
    if (l <= (int32_t)i || (size_t)l >= n || r <= (int32_t)i || (size_t)r >= n || l == r)
        return fail(err, "gbm.trees[%zu] node %zu: children (%d, %d) must both be -1 (leaf) or "
                         "two node indices in (%zu, %zu)", ti, i, l, r, i, n);
    int32_t f;
    if (!csg_model_get_int32(json_array_get(arr[0], i), &f) || f < 0 || (size_t)f >= m->nfeat)
        return fail(err, "gbm.trees[%zu].feature[%zu] must be a feature index 0-%zu", ti, i,
                    m->nfeat - 1);
    nd->feature = f;
    if (!csg_model_get_int32(json_array_get(arr[2], i), &ml) || (ml != 0 && ml != 1))
        return fail(err, "gbm.trees[%zu].missing_left[%zu] must be 0 or 1", ti, i);
    nd->missing_left = (uint8_t)ml;
    const csg_model_feature *feat = &m->feat[f];
    const json_t *cat = json_array_get(arr[3], i);
    if (feat->type == CSG_MODEL_CATEGORY) {
        if (!level_set(cat, feat, &nd->cat_left))
            return fail(err, "gbm.trees[%zu].cat_left[%zu] must list level indices 0-%zu of "
                             "%s", ti, i, feat->nvalues - 1, feat->name);
        nd->is_cat = 1;
    } else {
        if (!json_is_null(cat))
            return fail(err, "gbm.trees[%zu].cat_left[%zu] must be null: %s is not a category",
                        ti, i, feat->name);
        if (!csg_model_get_num(json_array_get(arr[1], i), &nd->threshold))
            return fail(err, "gbm.trees[%zu].threshold[%zu] must be a finite number", ti, i);
    }
    return 0;
}

static int parse_tree(csg_model *m, const json_t *t, size_t ti, gbm_node *nodes, size_t n,
                      csg_model_error *err)
{
    char where[48];
    snprintf(where, sizeof where, "gbm.trees[%zu]: ", ti);
    if (csg_model_known_keys(t, tree_keys, where, err))
        return -CSG_MODEL_EINVAL;
    const json_t *arr[8];
    for (size_t k = 0; k < 8; k++) {
        arr[k] = json_object_get(t, tree_keys[k]);
        if (!json_is_array(arr[k]) || json_array_size(arr[k]) != n)
            return fail(err, "gbm.trees[%zu].%s must be an array of %zu entries (one per node)",
                        ti, tree_keys[k], n);
    }
    uint8_t *depth = calloc(n, 1), *parents = calloc(n, 1);
    int rc = 0;
    if (!depth || !parents) {
        (void)fail(err, "out of memory");
        rc = -CSG_MODEL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = parse_node(m, arr, ti, i, n, &nodes[i], err)))
            break;
        if (i > 0 && parents[i] != 1) {
            rc = fail(err, "gbm.trees[%zu] node %zu is the child of %u nodes (must be 1)", ti, i,
                      parents[i]);
            break;
        }
        if (nodes[i].left < 0)
            continue;
        if (depth[i] >= CSG_MODEL_MAX_DEPTH) {
            rc = fail(err, "gbm.trees[%zu] is deeper than %d", ti, CSG_MODEL_MAX_DEPTH);
            break;
        }
        int32_t kids[2] = {nodes[i].left, nodes[i].right};
        for (size_t k = 0; k < 2; k++) {
            depth[kids[k]] = (uint8_t)(depth[i] + 1);
            if (parents[kids[k]] < 2)
                parents[kids[k]]++;
        }
    }
out:
    free(depth);
    free(parents);
    return rc;
}

static int parse_known(csg_model *m, const json_t *a, csg_model_error *err)
{
    if (!json_is_array(a) || json_array_size(a) != m->nfeat)
        return fail(err, "gbm.known must be an array of %zu entries (one per feature)", m->nfeat);
    for (size_t j = 0; j < m->nfeat; j++) {
        const json_t *v = json_array_get(a, j);
        const csg_model_feature *f = &m->feat[j];
        if (f->type != CSG_MODEL_CATEGORY) {
            if (!json_is_null(v))
                return fail(err, "gbm.known[%zu] must be null: %s is not a category", j, f->name);
        } else if (!level_set(v, f, &m->known[j])) {
            return fail(err, "gbm.known[%zu] must list the levels of %s seen in training "
                             "(indices 0-%zu)", j, f->name, f->nvalues - 1);
        }
    }
    return 0;
}

int csg_gbm_parse(csg_model *m, const json_t *g, csg_model_error *err)
{
    static const char *const keys[] = {"baseline", "known", "trees", NULL};
    if (!json_is_object(g))
        return fail(err, "gbm must be an object");
    if (csg_model_known_keys(g, keys, "gbm: ", err))
        return -CSG_MODEL_EINVAL;
    if (!csg_model_get_num(json_object_get(g, "baseline"), &m->baseline))
        return fail(err, "gbm.baseline must be a finite number");
    if (parse_known(m, json_object_get(g, "known"), err))
        return -CSG_MODEL_EINVAL;
    const json_t *trees = json_object_get(g, "trees");
    size_t nt = json_array_size(trees);
    if (!json_is_array(trees) || nt < 1 || nt > CSG_MODEL_MAX_TREES)
        return fail(err, "gbm.trees must be an array of 1-%d trees", CSG_MODEL_MAX_TREES);
    /* First pass: sizes, so the nodes are allocated once. */
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
    m->nodes = calloc(total, sizeof *m->nodes);
    if (!m->tree_start || !m->nodes) {
        fail(err, "out of memory for %zu tree nodes", total);
        return -CSG_MODEL_ENOMEM;
    }
    size_t base = 0;
    for (size_t t = 0; t < nt; t++) {
        const json_t *tree = json_array_get(trees, t);
        size_t n = json_array_size(json_object_get(tree, "left"));
        m->tree_start[t] = base;
        int rc = parse_tree(m, tree, t, m->nodes + base, n, err);
        if (rc)
            return rc;
        base += n;
    }
    m->tree_start[nt] = base;
    return 0;
}

bool csg_gbm_go_left(const csg_model *m, const gbm_node *nd, const double *x)
{
    double v = x[nd->feature];
    if (isnan(v))
        return nd->missing_left;
    if (!nd->is_cat)
        return v <= nd->threshold;
    /* input.c gives level indices; anything else (a fuzzer) counts as missing */
    if (!(v >= 0 && v < (double)m->feat[nd->feature].nvalues))
        return nd->missing_left;
    uint64_t bit = (uint64_t)1 << (unsigned)v;
    if (nd->cat_left & bit)
        return true;
    if (m->known[nd->feature] & bit)
        return false;
    return nd->missing_left;
}

double csg_gbm_raw(const csg_model *m, const double *x)
{
    double raw = m->baseline;
    for (size_t t = 0; t < m->ntrees; t++) {
        const gbm_node *nodes = m->nodes + m->tree_start[t];
        int32_t k = 0;
        while (nodes[k].left >= 0)
            k = csg_gbm_go_left(m, &nodes[k], x) ? nodes[k].left : nodes[k].right;
        raw += nodes[k].value;
    }
    return raw;
}
