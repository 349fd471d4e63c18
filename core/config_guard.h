/*
 * config_guard.h — reading `guardrail:` (per challenger) and `schedule:`
 * (per experiment) from experiments.yaml, and what a schedule says now.
 */
#ifndef CSG_CONFIG_GUARD_H
#define CSG_CONFIG_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "config_walk.h"

/* Value node n of a challenger's `guardrail:` into *g (errors into x). */
void csg_config_guardrail(vctx *x, yaml_node_t *n, csg_guardrail_cfg *g);
/* Value node n of `experiment.schedule:` into c (errors into x). */
void csg_config_schedule(vctx *x, yaml_node_t *n, csg_config *c);
/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" → epoch ms. */
bool csg_parse_utc(const char *s, int64_t *ms);

typedef enum csg_schedule_phase {
    CSG_SCHEDULE_RUNNING = 0,
    CSG_SCHEDULE_BEFORE = 1, /* before start: challengers are not called */
    CSG_SCHEDULE_ENDED = 2,  /* after end: challengers are not called */
} csg_schedule_phase;

csg_schedule_phase csg_schedule_at(const csg_config *c, int64_t wall_ms);

#endif /* CSG_CONFIG_GUARD_H */
