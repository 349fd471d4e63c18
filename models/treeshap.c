/*
 * treeshap.c — the reasons of a gbm: exact path-dependent TreeSHAP (Lundberg,
 * Erion, Lee 2018, "Consistent individualized feature attribution for tree
 * ensembles", Algorithm 2), with the node covers (training rows) as the
 * weights of the paths x does not decide.
 *
 * The arithmetic is scorer.py's, expression for expression (same order, no
 * FMA: CMake builds with -ffp-contract=off), so the reason lists agree
 * exactly; train.py checks scorer.py against a brute-force Shapley
 * computation. No allocation: the unique paths of one walk live in a stack
 * array sized by CSG_MODEL_MAX_DEPTH (the loader refuses deeper trees).
 */
#include <string.h>

#include "model_internal.h"

typedef struct path_elem {
    int32_t d;  /* feature, -1 for the root's element */
    double z;   /* fraction of the paths where the feature is unknown (covers) */
    double o;   /* 1 when x follows this path, else 0 */
    double w;   /* the permutation weight */
} path_elem;

/* One walk needs at most sum_{k=1..D+1} k elements, D = the depth bound + 1. */
#define PATH_MAX_ELEMS ((CSG_MODEL_MAX_DEPTH + 2) * (CSG_MODEL_MAX_DEPTH + 3) / 2)

typedef struct walk {
    const csg_model *m;
    const gbm_node *nodes;
    const double *x;
    double *phi;
} walk;

static void extend(path_elem *m, int ud, double pz, double po, int32_t pi)
{
    m[ud] = (path_elem){.d = pi, .z = pz, .o = po, .w = ud == 0 ? 1.0 : 0.0};
    for (int i = ud - 1; i >= 0; i--) {
        m[i + 1].w += po * m[i].w * (double)(i + 1) / (double)(ud + 1);
        m[i].w = pz * m[i].w * (double)(ud - i) / (double)(ud + 1);
    }
}

static void unwind(path_elem *m, int ud, int pi)
{
    double o = m[pi].o, z = m[pi].z, n = m[ud].w;
    for (int i = ud - 1; i >= 0; i--) {
        if (o != 0.0) {
            double t = m[i].w;
            m[i].w = n * (double)(ud + 1) / ((double)(i + 1) * o);
            n = t - m[i].w * z * (double)(ud - i) / (double)(ud + 1);
        } else {
            m[i].w = m[i].w * (double)(ud + 1) / (z * (double)(ud - i));
        }
    }
    for (int i = pi; i < ud; i++) {
        m[i].d = m[i + 1].d;
        m[i].z = m[i + 1].z;
        m[i].o = m[i + 1].o;
    }
}

static double unwound_sum(const path_elem *m, int ud, int pi)
{
    double o = m[pi].o, z = m[pi].z, n = m[ud].w, total = 0.0;
    for (int i = ud - 1; i >= 0; i--) {
        if (o != 0.0) {
            double t = n * (double)(ud + 1) / ((double)(i + 1) * o);
            total += t;
            n = m[i].w - t * z * (double)(ud - i) / (double)(ud + 1);
        } else {
            total += m[i].w * (double)(ud + 1) / (z * (double)(ud - i));
        }
    }
    return total;
}

/* parent[0..ud) is the caller's path; this call's own copy is m (room for
 * ud + 1 elements), and its children's start right after it. */
static void recurse(const walk *wk, int32_t node, const path_elem *parent, path_elem *m, int ud,
                    double pz, double po, int32_t pi)
{
    const gbm_node *nd = &wk->nodes[node];
    path_elem *next = m + ud + 1; /* past this call's own ud + 1 elements */
    if (ud > 0)
        memcpy(m, parent, (size_t)ud * sizeof *m);
    extend(m, ud, pz, po, pi);
    if (nd->left < 0) {
        for (int i = 1; i <= ud; i++) {
            double w = unwound_sum(m, ud, i);
            wk->phi[m[i].d] += w * (m[i].o - m[i].z) * nd->value;
        }
        return;
    }
    int32_t hot = nd->left, cold = nd->right;
    if (!csg_gbm_go_left(wk->m, nd, wk->x)) {
        hot = nd->right;
        cold = nd->left;
    }
    double iz = 1.0, io = 1.0;
    int k = -1;
    for (int i = 1; i <= ud; i++)
        if (m[i].d == nd->feature) {
            k = i;
            break;
        }
    if (k >= 0) {
        iz = m[k].z;
        io = m[k].o;
        unwind(m, ud, k);
        ud -= 1;
    }
    recurse(wk, hot, m, next, ud + 1, wk->nodes[hot].cover / nd->cover * iz, io, nd->feature);
    recurse(wk, cold, m, next, ud + 1, wk->nodes[cold].cover / nd->cover * iz, 0.0, nd->feature);
}

void csg_treeshap(const csg_model *m, const double *x, double *phi)
{
    path_elem buf[PATH_MAX_ELEMS];
    for (size_t i = 0; i < m->nfeat; i++)
        phi[i] = 0.0;
    for (size_t t = 0; t < m->ntrees; t++) {
        walk wk = {.m = m, .nodes = m->nodes + m->tree_start[t], .x = x, .phi = phi};
        recurse(&wk, 0, NULL, buf, 0, 1.0, 1.0, -1);
    }
}
