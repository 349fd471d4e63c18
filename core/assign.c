/*
 * assign.c — see assign.h.
 */
#include "assign.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gaps shorter than this are float dust from earlier edits, not space. */
#define DUST 1e-12

typedef struct owned {
    double lo, hi;
    unsigned who;
} owned;

static int by_lo(const void *a, const void *b)
{
    const owned *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

static int range_by_lo(const void *a, const void *b)
{
    const csg_range *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

double csg_ranges_length(const csg_ranges *rs)
{
    double sum = 0;
    for (unsigned i = 0; i < rs->n; i++)
        sum += rs->r[i].hi - rs->r[i].lo;
    return sum;
}

void csg_assign_list_order(const double *weights, unsigned n, csg_ranges *out)
{
    double at = 0;
    for (unsigned i = 0; i < n; i++) {
        out[i].n = 0;
        if (weights[i] > 0) {
            out[i].r[0] = (csg_range){at, fmin(at + weights[i], 1.0)};
            out[i].n = 1;
        }
        at += weights[i];
    }
}

/* Every slice of ranges[0..n) and of also[0..n_also), sorted by lo, into a (caller
 * frees); NULL without memory. */
static owned *collect2(const csg_ranges *ranges, unsigned n, const csg_ranges *also,
                       unsigned n_also, size_t *count)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += ranges[i].n;
    for (unsigned i = 0; i < n_also; i++)
        total += also[i].n;
    owned *a = malloc((total ? total : 1) * sizeof *a);
    if (!a)
        return NULL;
    size_t k = 0;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < ranges[i].n; j++)
            a[k++] = (owned){ranges[i].r[j].lo, ranges[i].r[j].hi, i};
    for (unsigned i = 0; i < n_also; i++)
        for (unsigned j = 0; j < also[i].n; j++)
            a[k++] = (owned){also[i].r[j].lo, also[i].r[j].hi, i};
    qsort(a, total, sizeof *a, by_lo);
    *count = total;
    return a;
}

static owned *collect(const csg_ranges *ranges, unsigned n, size_t *count)
{
    return collect2(ranges, n, NULL, 0, count);
}

const char *csg_assign_check(const csg_ranges *ranges, const double *weights, unsigned n,
                             int *who, char *msg, size_t cap)
{
    *who = -1;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < ranges[i].n; j++) {
            const csg_range *r = &ranges[i].r[j];
            if (!(r->lo >= 0 && r->hi <= 1 && r->lo < r->hi)) {
                *who = (int)i;
                snprintf(msg, cap, "range [%.17g, %.17g] must satisfy 0 <= lo < hi <= 1", r->lo,
                         r->hi);
                return msg;
            }
        }
    size_t count;
    owned *a = collect(ranges, n, &count);
    if (!a) {
        snprintf(msg, cap, "out of memory");
        return msg;
    }
    for (size_t k = 1; k < count; k++)
        if (a[k].lo < a[k - 1].hi) {
            *who = (int)a[k].who;
            snprintf(msg, cap, "range [%.17g, %.17g] overlaps [%.17g, %.17g]%s", a[k].lo, a[k].hi,
                     a[k - 1].lo, a[k - 1].hi,
                     a[k].who == a[k - 1].who ? " of the same challenger"
                                              : " of another challenger");
            free(a);
            return msg;
        }
    free(a);
    for (unsigned i = 0; i < n; i++) {
        double len = csg_ranges_length(&ranges[i]);
        if (fabs(len - weights[i]) > CSG_RANGE_EPS) {
            *who = (int)i;
            snprintf(msg, cap,
                     "ranges add up to %.15g but \"weight\" is %.15g (run `csg-gateway rebalance "
                     "--config FILE` after editing weights)",
                     len, weights[i]);
            return msg;
        }
    }
    return NULL;
}

/* Sort a challenger's slices and merge those that touch. */
static void normalize(csg_ranges *rs)
{
    qsort(rs->r, rs->n, sizeof rs->r[0], range_by_lo);
    unsigned k = 0;
    for (unsigned j = 0; j < rs->n; j++) {
        if (k > 0 && rs->r[j].lo <= rs->r[k - 1].hi)
            rs->r[k - 1].hi = fmax(rs->r[k - 1].hi, rs->r[j].hi);
        else
            rs->r[k++] = rs->r[j];
    }
    rs->n = k;
}

/* Give back the highest-lying slices until rs is no longer than w. */
static void shrink(csg_ranges *rs, double w)
{
    double excess = csg_ranges_length(rs) - w;
    while (excess > CSG_RANGE_EPS / 2 && rs->n > 0) {
        csg_range *last = &rs->r[rs->n - 1];
        double len = last->hi - last->lo;
        if (len <= excess + DUST) {
            rs->n--;
            excess -= len;
        } else {
            last->hi -= excess;
            excess = 0;
        }
    }
}

/* Take up to *need from the lowest space that neither ranges nor keep_off (the slices
 * before this rebalance, NULL: none) hold, into ranges[i]; *need is reduced by what was
 * taken. */
static int grow(csg_ranges *ranges, unsigned n, unsigned i, double *need,
                const csg_ranges *keep_off, char *msg, size_t cap)
{
    size_t count;
    owned *a = collect2(ranges, n, keep_off, keep_off ? n : 0, &count);
    if (!a) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    double cursor = 0;
    for (size_t k = 0; k <= count && *need > CSG_RANGE_EPS / 2; k++) {
        double gap_end = k < count ? a[k].lo : 1.0;
        if (gap_end - cursor > DUST) {
            double take = fmin(*need, gap_end - cursor);
            if (ranges[i].n >= CSG_MAX_RANGES) {
                normalize(&ranges[i]);
                if (ranges[i].n >= CSG_MAX_RANGES) {
                    free(a);
                    snprintf(msg, cap, "challenger %u would need more than %d ranges", i + 1,
                             CSG_MAX_RANGES);
                    return -1;
                }
            }
            ranges[i].r[ranges[i].n++] = (csg_range){cursor, cursor + take};
            *need -= take;
        }
        if (k < count)
            cursor = fmax(cursor, a[k].hi);
    }
    free(a);
    normalize(&ranges[i]);
    return 0;
}

int csg_assign_rebalance(csg_ranges *ranges, const double *weights, unsigned n, double *moved,
                         char *msg, size_t cap)
{
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += weights[i];
    if (moved)
        *moved = 0;
    if (sum > 1.0 + CSG_RANGE_EPS) {
        snprintf(msg, cap, "challenger weights sum to %.15g, must be at most 1", sum);
        return -1;
    }
    csg_ranges *before = malloc((n ? n : 1) * sizeof *before);
    if (!before) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        normalize(&ranges[i]);
        before[i] = ranges[i];
        shrink(&ranges[i], weights[i]);
    }
    /* Space nobody held before this edit first; space given back in this same edit
     * only when that is not enough (then applicants move between challengers). */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            double need = weights[i] - csg_ranges_length(&ranges[i]), asked = need;
            if (need <= CSG_RANGE_EPS / 2)
                continue;
            if (grow(ranges, n, i, &need, pass == 0 ? before : NULL, msg, cap) != 0) {
                free(before);
                return -1;
            }
            if (pass == 1 && moved)
                *moved += asked - need;
            if (pass == 1 && need > CSG_RANGE_EPS) {
                free(before);
                snprintf(msg, cap, "not enough unassigned space for challenger %u", i + 1);
                return -1;
            }
        }
    free(before);
    return 0;
}
