/* sketch.c — logarithmic-bucket latency sketch (see sketch.h). */
#include "sketch.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
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

/* A decimal integer starting exactly at p (no blanks, no '+', at most 18 digits), into *v;
 * its end, or NULL. By hand: strtoll was a quarter of a 30-day latency query's CPU. */
static const char *integer(const char *p, long long *v)
{
    bool neg = *p == '-';
    p += neg;
    if (*p < '0' || *p > '9')
        return NULL;
    long long x = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (++digits > 18)
            return NULL;
        else
            x = x * 10 + (*p - '0');
    *v = neg ? -x : x;
    return p;
}

/* s (sorted, distinct buckets) merged with in[0..m) (ascending, distinct) in one pass. */
static int merge_sorted(csgp_sketch *s, const csgp_sketch_bin *in, size_t m)
{
    size_t cap = s->n + m, i = 0, j = 0, k = 0;
    csgp_sketch_bin *out = malloc((cap ? cap : 1) * sizeof *out);
    if (!out)
        return -1;
    while (i < s->n || j < m) {
        if (j == m || (i < s->n && s->bins[i].bucket < in[j].bucket)) {
            out[k++] = s->bins[i++];
        } else if (i == s->n || in[j].bucket < s->bins[i].bucket) {
            s->total += in[j].count;
            out[k++] = in[j++];
        } else {
            s->total += in[j].count;
            out[k] = s->bins[i++];
            out[k++].count += in[j++].count;
        }
    }
    free(s->bins);
    s->bins = out;
    s->n = k;
    s->cap = cap ? cap : 1;
    s->sorted = 1;
    return 0;
}

int csgp_sketch_parse(csgp_sketch *s, const char *text)
{
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    csgp_sketch_bin *in = malloc(cap * sizeof *in);
    if (!in)
        return -1;
    size_t m = 0;
    bool ascending = true;
    int rc = 0;
    const char *p = text;
    while (*p && !rc) {
        long long b, c;
        if (!(p = integer(p, &b)) || *p != ':' || b < INT32_MIN || b > INT32_MAX ||
            !(p = integer(p + 1, &c)) || c < 0 || (*p != ',' && *p) || (*p == ',' && !p[1]) ||
            m == cap) {
            rc = -1;
            break;
        }
        p += *p == ',';
        if (c == 0)
            continue;
        ascending = ascending && (m == 0 || b > in[m - 1].bucket);
        in[m++] = (csgp_sketch_bin){(int32_t)b, (int64_t)c};
    }
    /* The stored form is ascending: merge in one pass; any other order is appended and
     * sorted when a percentile is asked for. */
    if (!rc && ascending && (s->sorted || s->n == 0))
        rc = merge_sorted(s, in, m);
    else
        for (size_t i = 0; i < m && !rc; i++)
            rc = csgp_sketch_add(s, in[i].bucket, in[i].count);
    free(in);
    return rc;
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
