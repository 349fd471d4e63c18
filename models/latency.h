/*
 * latency.h — the added-delay distributions of `csg-model --latency-ms SPEC`
 * and the small PRNG that draws from them (and decides --error-rate).
 *
 * SPEC (milliseconds):
 *   "20"               fixed 20 ms ("0" = none)
 *   "uniform:5:50"     uniform in [5, 50]
 *   "exp:10"           exponential with mean 10
 *   "normal:20:5"      normal, mean 20, sd 5, negative draws become 0
 * Every draw is capped at CSG_LATENCY_MAX_MS.
 */
#ifndef CSG_LATENCY_H
#define CSG_LATENCY_H

#include <stdint.h>

#include "model_error.h"

#define CSG_LATENCY_MAX_MS 600000.0

typedef enum csg_latency_kind {
    CSG_LATENCY_FIXED = 0,
    CSG_LATENCY_UNIFORM = 1,
    CSG_LATENCY_EXP = 2,
    CSG_LATENCY_NORMAL = 3,
} csg_latency_kind;

/* A parsed SPEC; a plain value (no resources). */
typedef struct csg_latency {
    csg_latency_kind kind;
    double a, b; /* fixed: a; uniform: [a, b]; exp: mean a; normal: mean a, sd b */
} csg_latency;

/* splitmix64 state: cheap, good enough for load shaping, reproducible by seed. */
typedef struct csg_rng {
    uint64_t s;
} csg_rng;

/* Parse SPEC into *out; on error fills err with what is wrong. */
int csg_latency_parse(const char *spec, csg_latency *out, csg_model_error *err);

/* A draw in milliseconds, in [0, CSG_LATENCY_MAX_MS]. */
double csg_latency_sample(const csg_latency *lat, csg_rng *rng);

/* True when the spec can never add delay (fixed 0). */
int csg_latency_is_zero(const csg_latency *lat);

void csg_rng_seed(csg_rng *rng, uint64_t seed);
uint64_t csg_rng_next(csg_rng *rng);
/* Uniform in [0, 1). */
double csg_rng_uniform(csg_rng *rng);

#endif /* CSG_LATENCY_H */
