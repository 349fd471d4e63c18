/*
 * router.c — see router.h.
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

struct csg_router {
    csg_assignment mode;
    unsigned n;
    double upper[CSG_MAX_CHALLENGERS]; /* cumulative weights */
    size_t salt_len;
    char salt[]; /* copied: the config may go before the router */
};

csg_router *csg_router_new(csg_assignment mode, const char *salt, const double *weights,
                           unsigned n)
{
    if (n > CSG_MAX_CHALLENGERS)
        return NULL;
    size_t sl = salt ? strlen(salt) : 0;
    csg_router *r = calloc(1, sizeof *r + sl + 1);
    if (!r)
        return NULL;
    r->mode = mode;
    r->n = n;
    double sum = 0;
    for (unsigned i = 0; i < n; i++) {
        sum += weights[i];
        r->upper[i] = sum;
    }
    r->salt_len = sl;
    if (sl)
        memcpy(r->salt, salt, sl);
    return r;
}

void csg_router_free(csg_router *r)
{
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
    for (unsigned i = 0; i < r->n; i++)
        if (u < r->upper[i])
            return (int)i;
    return -1;
}
