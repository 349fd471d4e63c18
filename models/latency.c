/*
 * latency.c — parse and draw from --latency-ms distributions (see latency.h).
 */
#include "latency.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail csg_model_fail

/* A whole token as a number of milliseconds in [0, CSG_LATENCY_MAX_MS]. */
static int number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < 0 || v > CSG_LATENCY_MAX_MS)
        return -1;
    *out = v;
    return 0;
}

int csg_latency_parse(const char *spec, csg_latency *out, csg_model_error *err)
{
    static const char *const usage =
        "expected MS, uniform:MIN:MAX, exp:MEAN or normal:MEAN:SD (milliseconds, 0-600000)";
    char buf[128];
    char *part[4];
    size_t n = 0;
    if (strlen(spec) >= sizeof buf)
        return fail(err, "bad latency: too long; %s", usage);
    memcpy(buf, spec, strlen(spec) + 1);
    /* Split on ':' by hand: strtok would merge empty fields ("exp::5"). */
    for (char *p = buf;; p++) {
        if (n == 4)
            return fail(err, "bad latency \"%s\": %s", spec, usage);
        part[n++] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p = '\0';
    }
    csg_latency l = {CSG_LATENCY_FIXED, 0, 0};
    size_t want = 1;
    if (n > 1) {
        if (strcmp(part[0], "uniform") == 0) {
            l.kind = CSG_LATENCY_UNIFORM;
            want = 3;
        } else if (strcmp(part[0], "exp") == 0) {
            l.kind = CSG_LATENCY_EXP;
            want = 2;
        } else if (strcmp(part[0], "normal") == 0) {
            l.kind = CSG_LATENCY_NORMAL;
            want = 3;
        } else {
            return fail(err, "bad latency \"%s\": unknown distribution \"%s\"; %s", spec,
                        part[0], usage);
        }
    }
    if (n != want || number(part[n - 1], want == 3 ? &l.b : &l.a) ||
        (want == 3 && number(part[1], &l.a)))
        return fail(err, "bad latency \"%s\": %s", spec, usage);
    if (l.kind == CSG_LATENCY_UNIFORM && l.a > l.b)
        return fail(err, "bad latency \"%s\": uniform MIN is greater than MAX", spec);
    *out = l;
    return 0;
}

int csg_latency_is_zero(const csg_latency *lat)
{
    return lat->kind == CSG_LATENCY_FIXED && lat->a == 0;
}

void csg_rng_seed(csg_rng *rng, uint64_t seed) { rng->s = seed; }

uint64_t csg_rng_next(csg_rng *rng)
{
    uint64_t z = (rng->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double csg_rng_uniform(csg_rng *rng) { return (double)(csg_rng_next(rng) >> 11) * 0x1.0p-53; }

double csg_latency_sample(const csg_latency *lat, csg_rng *rng)
{
    double v;
    switch (lat->kind) {
    case CSG_LATENCY_UNIFORM:
        v = lat->a + (lat->b - lat->a) * csg_rng_uniform(rng);
        break;
    case CSG_LATENCY_EXP:
        /* 1 - u is in (0, 1], so the log is finite. */
        v = -lat->a * log(1.0 - csg_rng_uniform(rng));
        break;
    case CSG_LATENCY_NORMAL: {
        /* Box–Muller; u1 in (0, 1] keeps the log finite. */
        double u1 = 1.0 - csg_rng_uniform(rng), u2 = csg_rng_uniform(rng);
        v = lat->a + lat->b * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        break;
    }
    case CSG_LATENCY_FIXED:
    default:
        v = lat->a;
        break;
    }
    if (!(v > 0))
        return 0;
    return v > CSG_LATENCY_MAX_MS ? CSG_LATENCY_MAX_MS : v;
}
