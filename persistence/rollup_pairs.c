/* rollup_pairs.c — the per-challenger rollups (see rollup.h): each challenger result of an
 * event counted as one row of the view challenger_pairs (sql/.../011), with the same
 * columns: the request's champion side and top-level keys, the result's challenger side,
 * decision_diff = |champion score − result score|, arm 'live' when a live challenger
 * answered (its decision was the reply), else 'shadow'. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"

/* Result k of e is in the live arm (the view's rule). */
static bool is_live(const csgp_event *e, int k)
{
    return e->chal[k].live && e->chal[k].status == CSG_EVENT_OK;
}

/* Result k is the request's first result in its arm. */
static bool arm_first(const csgp_event *e, int k)
{
    for (int j = 0; j < k; j++)
        if (is_live(e, j) == is_live(e, k))
            return false;
    return true;
}

static const char *arm_name(bool live)
{
    return live ? CSG_MODE_LIVE_NAME : CSG_MODE_SHADOW_NAME;
}

int csgp_rollup_pairs(csgp_rollup *r, const csgp_event *e)
{
    if (e->n_chal <= 0)
        return 0;
    csgp_event *pe = malloc(sizeof *pe); /* a few KiB: off the stack */
    if (!pe)
        return -CSG_ENOMEM;
    int rc = 0;
    for (int k = 0; k < e->n_chal && !rc; k++) {
        const csgp_chal_result *x = &e->chal[k];
        *pe = *e;
        memcpy(pe->challenger_model, x->model, sizeof pe->challenger_model);
        pe->has_challenger_model = true;
        pe->has_challenger_score = x->has_score;
        pe->challenger_score = x->score;
        pe->challenger_decision = x->has_score ? x->decision : CSG_DECISION_NONE;
        pe->has_latency_challenger = true;
        pe->latency_challenger_ms = x->latency_ms;
        pe->has_decision_diff = e->has_champion_score && x->has_score;
        pe->decision_diff = pe->has_decision_diff ? fabs(e->champion_score - x->score) : 0.0;
        pe->challenger_reasons = x->reasons;
        rc = csgp_rollup_pair(r, pe, arm_name(is_live(e, k)), k == 0, arm_first(e, k));
    }
    free(pe);
    return rc;
}

void csgp_rollup_pair_values(const csgp_event *e, csgp_rollup_pairvals *out)
{
    out->n = e->n_chal > 0 ? e->n_chal : 0;
    for (int k = 0; k < out->n; k++) {
        const csgp_chal_result *x = &e->chal[k];
        out->p[k].model = x->model;
        out->p[k].arm = arm_name(is_live(e, k));
        /* the pair's decisions as csgp_rollup_pairs sets them */
        csgp_rollup_decision_values(e->champion_decision,
                                    x->has_score ? x->decision : CSG_DECISION_NONE, true,
                                    out->p[k].v);
        out->p[k].v[CSGP_ROLLUP_SEGMENT_VALUES] = k == 0;
        out->p[k].v[CSGP_ROLLUP_SEGMENT_VALUES + 1] = arm_first(e, k);
    }
}
