/* rollup_pairs.c — the per-challenger rollups (see rollup.h): each challenger result of an
 * event counted as one row of the view challenger_pairs (sql/.../011), with the same
 * columns: the request's champion side and top-level keys, the result's challenger side,
 * decision_diff = |champion score − result score|, arm 'live' when a live challenger
 * answered (its decision was the reply), else 'shadow'. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"

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
        bool live = x->live && x->status == CSG_EVENT_OK;
        bool arm_first = true;
        for (int j = 0; j < k && arm_first; j++)
            arm_first = (e->chal[j].live && e->chal[j].status == CSG_EVENT_OK) != live;
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
        rc = csgp_rollup_pair(r, pe, live ? CSG_MODE_LIVE_NAME : CSG_MODE_SHADOW_NAME, k == 0, arm_first);
    }
    free(pe);
    return rc;
}
