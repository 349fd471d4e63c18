/*
 * assign.h — stable assignment: which slices of the hash space [0, 1) each
 * challenger owns (DESIGN §3 `ranges:`), and the rebalance rule that keeps
 * applicants in their arm when weights change.
 *
 * Without ranges, challenger i owns [w0+…+w(i-1), w0+…+wi) (list order):
 * editing one weight shifts every later slice, moving applicants between
 * challengers. With ranges the slices live in the configuration, and
 * csg_assign_rebalance changes them only at their ends: a lowered weight
 * gives back its last slices to the unassigned space, a raised one takes
 * the lowest unassigned space. So an applicant only ever moves between a
 * challenger and the champion-only pool, never between two challengers.
 * Pure functions: the router, the config checks, `csg-gateway rebalance`
 * and the unit tests share them.
 */
#ifndef CSG_ASSIGN_H
#define CSG_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>

#define CSG_MAX_RANGES 64
/* Slack for comparing sums of slices with weights (0.1 + 0.2 != 0.3). */
#define CSG_RANGE_EPS 1e-9

typedef struct csg_range {
    double lo, hi; /* [lo, hi), 0 <= lo < hi <= 1 */
} csg_range;

typedef struct csg_ranges {
    unsigned n;
    csg_range r[CSG_MAX_RANGES];
} csg_ranges;

/* Total length of the slices. */
double csg_ranges_length(const csg_ranges *rs);

/* Today's list-order slices of weights[0..n) into out[0..n) (a zero weight
 * gets no slice). */
void csg_assign_list_order(const double *weights, unsigned n, csg_ranges *out);

/* Check ranges[0..n) against weights: every slice inside [0, 1] with
 * lo < hi, no two slices (of any challengers) overlapping, each
 * challenger's slices adding up to its weight. Returns NULL when fine, else
 * a message written into msg naming the challenger index (*who, -1: none). */
const char *csg_assign_check(const csg_ranges *ranges, const double *weights, unsigned n,
                             int *who, char *msg, size_t cap);

/* Rewrite ranges[0..n) for new weights (DESIGN §3 rebalance): challengers whose
 * slices exceed their weight give back their highest slices; then, in list order, those
 * short of it take the lowest space nobody held before this call. Only when that is not
 * enough (weights moved between challengers in one edit with no unassigned space left)
 * is space given back in this same call handed on: *moved (may be NULL) gets how much
 * of the hash space changed challenger, 0 normally. Slices of one challenger that touch
 * are merged. Returns 0, or -1 with msg when the weights sum to more than 1 or a
 * challenger would need more than CSG_MAX_RANGES slices. */
int csg_assign_rebalance(csg_ranges *ranges, const double *weights, unsigned n, double *moved,
                         char *msg, size_t cap);

#endif /* CSG_ASSIGN_H */
