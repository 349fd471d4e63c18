/* sketch.c — logarithmic-bucket latency sketch (see sketch.h). */
#include "sketch.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA ((1.0 + CSGP_SKETCH_ALPHA) / (1.0 - CSGP_SKETCH_ALPHA))

int32_t csgp_sketch_bucket(double x)
{
    if (!(x > 0.0))
        return CSGP_SKETCH_ZERO;
    double i = ceil(log(x) / log(GAMMA));
    /* Doubles span about ±745/ln γ ≈ ±37,000 buckets: far inside int32. */
    return (int32_t)i;
}

double csgp_sketch_value(int32_t i)
{
    if (i == CSGP_SKETCH_ZERO)
        return 0.0;
    return 2.0 * pow(GAMMA, (double)i) / (GAMMA + 1.0);
}

int csgp_sketch_add(csgp_sketch *s, int32_t bucket, int64_t count)
{
    if (count <= 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        csgp_sketch_bin *nb = realloc(s->bins, cap * sizeof *nb);
        if (!nb)
            return -1;
        s->bins = nb;
        s->cap = cap;
    }
    s->bins[s->n++] = (csgp_sketch_bin){bucket, count};
    s->total += count;
    s->sorted = 0;
    return 0;
}

static int cmp_bin(const void *pa, const void *pb)
{
    const csgp_sketch_bin *a = pa, *b = pb;
    return (a->bucket > b->bucket) - (a->bucket < b->bucket);
}

/* Sort by bucket and merge equal buckets. */
static void normalise(csgp_sketch *s)
{
    if (s->sorted || s->n == 0)
        return;
    qsort(s->bins, s->n, sizeof *s->bins, cmp_bin);
    size_t w = 0;
    for (size_t r = 0; r < s->n; r++) {
        if (w && s->bins[w - 1].bucket == s->bins[r].bucket)
            s->bins[w - 1].count += s->bins[r].count;
        else
            s->bins[w++] = s->bins[r];
    }
    s->n = w;
    s->sorted = 1;
}

/* Representative of the order statistic at 0-based rank k (k < total). */
static double at_rank(const csgp_sketch *s, int64_t k)
{
    int64_t seen = 0;
    for (size_t i = 0; i < s->n; i++) {
        seen += s->bins[i].count;
        if (k < seen)
            return csgp_sketch_value(s->bins[i].bucket);
    }
    return csgp_sketch_value(s->bins[s->n - 1].bucket);
}

double csgp_sketch_percentile(csgp_sketch *s, double p)
{
    if (s->total <= 0)
        return NAN;
    normalise(s);
    double pos = p * (double)(s->total - 1);
    int64_t lo = (int64_t)floor(pos), hi = (int64_t)ceil(pos);
    if (hi >= s->total)
        hi = s->total - 1;
    double vlo = at_rank(s, lo), vhi = hi == lo ? vlo : at_rank(s, hi);
    return vlo + (vhi - vlo) * (pos - (double)lo);
}

void csgp_sketch_reset(csgp_sketch *s)
{
    s->n = 0;
    s->total = 0;
    s->sorted = 0;
}

void csgp_sketch_free(csgp_sketch *s)
{
    free(s->bins);
    *s = (csgp_sketch){0};
}

/* A decimal integer starting exactly at p (no blanks, no '+'), into *v; its end, or NULL. */
static const char *integer(const char *p, long long *v)
{
    if (!((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9')))
        return NULL;
    char *end;
    errno = 0;
    *v = strtoll(p, &end, 10);
    return errno ? NULL : end;
}

int csgp_sketch_parse(csgp_sketch *s, const char *text)
{
    const char *p = text;
    while (*p) {
        long long b, c;
        if (!(p = integer(p, &b)) || *p != ':' || b < INT32_MIN || b > INT32_MAX ||
            !(p = integer(p + 1, &c)) || c < 0 || (*p != ',' && *p) ||
            (*p == ',' && !p[1]))
            return -1;
        if (csgp_sketch_add(s, (int32_t)b, (int64_t)c))
            return -1;
        p += *p == ',';
    }
    return 0;
}

char *csgp_sketch_format(csgp_sketch *s)
{
    normalise(s);
    size_t cap = s->n * 32 + 1; /* an int32, ':', an int64, ',' fit in 32 */
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId32 ":%" PRId64, i ? "," : "",
                                s->bins[i].bucket, s->bins[i].count);
    return out;
}

char *csgp_sketch_merge_text(const char *a, const char *b)
{
    csgp_sketch s = {0};
    char *out = NULL;
    if (!csgp_sketch_parse(&s, a) && !csgp_sketch_parse(&s, b))
        out = csgp_sketch_format(&s);
    csgp_sketch_free(&s);
    return out;
}
