/*
 * router.h — which challenger (if any) scores an application.
 *
 * The champion always scores. Challenger i owns the slice
 * [w0+…+w(i-1), w0+…+wi) of [0, 1); a point u in [0, 1) picks the slice it
 * falls in, and u beyond the last slice (weights summing to < 1) means no
 * challenger. With assignment "hash", u = csg_hash_unit(csg_hash2(salt,
 * applicant_id)): the same applicant always lands in the same arm, and a new
 * salt reshuffles everyone. With "random", u comes from the calling worker's
 * own PRNG (no shared state, no lock). A config with `ranges:` gives the
 * slices itself (assign.h: stable across weight edits).
 */
#ifndef CSG_ROUTER_H
#define CSG_ROUTER_H

#include "config.h"
#include "util.h"

typedef struct csg_router csg_router;

/* weights[0..n) each in [0, 1] with sum <= 1 (validated by the config).
 * NULL on ENOMEM. */
csg_router *csg_router_new(csg_assignment mode, const char *salt, const double *weights,
                           unsigned n);
/* Each challenger i owns the slices ranges[i] (validated by the config:
 * inside [0, 1), not overlapping). NULL on ENOMEM. */
csg_router *csg_router_new_ranges(csg_assignment mode, const char *salt, const csg_ranges *ranges,
                                  unsigned n);
void csg_router_free(csg_router *r);

/* Index of the chosen challenger, or -1 for none (assignment "all" picks
 * like "hash"; the dispatcher calls every challenger then). rng is only used with
 * assignment "random" (may be NULL otherwise). */
int csg_router_pick(const csg_router *r, const char *applicant_id, csg_rng *rng);

/* The point in [0, 1) for an applicant under hash assignment. */
double csg_router_point(const char *salt, const char *applicant_id);

#endif /* CSG_ROUTER_H */
