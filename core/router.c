/*
 * router.c — see router.h.
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

/* One slice of [0, 1) and its challenger; sorted by lo, never overlapping. */
typedef struct slice {
    double lo, hi;
    int who;
} slice;

struct csg_router {
    csg_assignment mode;
    unsigned n;      /* challengers */
    unsigned n_sl;   /* slices */
    slice *sl;
    size_t salt_len;
    char salt[]; /* copied: the config may go before the router */
};

static int slice_by_lo(const void *a, const void *b)
{
    const slice *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

csg_router *csg_router_new_ranges(csg_assignment mode, const char *salt, const csg_ranges *ranges,
                                  unsigned n)
{
    if (n > CSG_MAX_CHALLENGERS)
        return NULL;
    size_t sl = salt ? strlen(salt) : 0, total = 0;
    for (unsigned i = 0; i < n; i++)
        total += ranges[i].n;
    csg_router *r = calloc(1, sizeof *r + sl + 1);
    if (!r)
        return NULL;
    r->sl = calloc(total ? total : 1, sizeof *r->sl);
    if (!r->sl) {
        free(r);
        return NULL;
    }
    r->mode = mode;
    r->n = n;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < ranges[i].n; j++)
            r->sl[r->n_sl++] = (slice){ranges[i].r[j].lo, ranges[i].r[j].hi, (int)i};
    qsort(r->sl, r->n_sl, sizeof *r->sl, slice_by_lo);
    r->salt_len = sl;
    if (sl)
        memcpy(r->salt, salt, sl);
    return r;
}

csg_router *csg_router_new(csg_assignment mode, const char *salt, const double *weights,
                           unsigned n)
{
    if (n > CSG_MAX_CHALLENGERS)
        return NULL;
    csg_ranges rs[CSG_MAX_CHALLENGERS];
    csg_assign_list_order(weights, n, rs);
    return csg_router_new_ranges(mode, salt, rs, n);
}

void csg_router_free(csg_router *r)
{
    if (r)
        free(r->sl);
    free(r);
}

double csg_router_point(const char *salt, const char *applicant_id)
{
    return csg_hash_unit(
        csg_hash2(salt, strlen(salt), applicant_id, strlen(applicant_id)));
}

int csg_router_pick(const csg_router *r, const char *applicant_id, csg_rng *rng)
{
    if (r->n == 0)
        return -1;
    double u = r->mode == CSG_ASSIGN_RANDOM
                   ? csg_rng_unit(rng)
                   : csg_hash_unit(csg_hash2(r->salt, r->salt_len, applicant_id,
                                             strlen(applicant_id)));
    /* The last slice starting at or below u, if u lies inside it. */
    unsigned lo = 0, hi = r->n_sl;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (r->sl[mid].lo <= u)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && u < r->sl[lo - 1].hi)
        return r->sl[lo - 1].who;
    return -1;
}
