/*
 * guardrail.h — per-challenger guardrails (DESIGN §3 `guardrail:`): when a
 * challenger breaks its error or latency budget over a sliding window it is
 * suspended (not called; its share goes to the champion), after `cooldown_s`
 * it is tried again on a small trial share, and a healthy trial resumes it.
 *
 * No lock on the request path: each challenger's state is one atomic word
 * (phase + since when) that workers read per request, and its window is a
 * ring of time buckets of atomic counters that workers add to. Phase changes
 * are compare-and-swaps, so exactly one worker logs and counts each one. A
 * bucket that turns over is zeroed by whoever wins its epoch CAS; a count
 * racing with that reset may be lost, which only blurs the window by a call.
 *
 * The state lives with the gateway, keyed by challenger name, so a reload
 * (or promote) neither frees it under a worker nor forgets a suspension.
 */
#ifndef CSG_GUARDRAIL_H
#define CSG_GUARDRAIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CSG_GUARD_BUCKETS 10
#define CSG_GUARD_MAX 64          /* distinct guarded challenger names per process */
#define CSG_GUARD_TRIAL_SHARE 0.1 /* of its arm, after the cool-down */

/* The `guardrail:` block of a challenger (config.h holds one per model). */
typedef struct csg_guardrail_cfg {
    bool set;
    double max_error_rate; /* errors and timeouts / calls, in [0, 1] */
    double max_p99_ms;     /* 0: no latency budget */
    unsigned window_s;
    unsigned min_calls; /* no verdict on fewer calls in the window */
    unsigned cooldown_s;
} csg_guardrail_cfg;

typedef enum csg_guard_phase {
    CSG_GUARD_ACTIVE = 0,
    CSG_GUARD_SUSPENDED = 1,
    CSG_GUARD_TRIAL = 2,
} csg_guard_phase;

typedef struct csg_guard_bucket {
    _Atomic int64_t epoch;
    _Atomic uint64_t calls, errors, slow;
} csg_guard_bucket;

typedef struct csg_guard {
    _Alignas(64) char name[65];
    _Atomic bool used;       /* name is set (written once, by the main thread) */
    _Atomic bool configured; /* the serving config gives it a guardrail */
    _Atomic uint64_t state;  /* phase << 60 | monotonic ms it entered the phase */
    _Atomic uint64_t suspensions;
    csg_guard_bucket b[CSG_GUARD_BUCKETS];
} csg_guard;

/* Every guard of a gateway (zero-initialised; freed with the gateway). */
typedef struct csg_guards {
    csg_guard g[CSG_GUARD_MAX];
} csg_guards;

/* Main thread: the guard for challenger name (created on first use), NULL
 * when the table is full (the guardrail is then not applied; logged). */
csg_guard *csg_guard_for(csg_guards *gs, const char *name);
/* Main thread: mark which guards the serving config configures (names[i] of n). */
void csg_guards_configure(csg_guards *gs, const char *const *names, size_t n);

typedef enum csg_guard_admit {
    CSG_GUARD_CALL = 0,  /* call it: active */
    CSG_GUARD_HELD = 1,  /* do not call: suspended or outside the trial share */
    /* call it: inside its trial share after the cool-down (the event says so, and the
     * sample-ratio check leaves the request out, DESIGN §7) */
    CSG_GUARD_TRIAL_CALL = 2,
} csg_guard_admit;

/* Worker: may the challenger be called now? rng draws the trial share. */
csg_guard_admit csg_guard_admit_call(csg_guard *g, const csg_guardrail_cfg *p, csg_rng *rng);
/* Worker: a call ended (ok false: error or timeout) after latency_ms. */
void csg_guard_record(csg_guard *g, const csg_guardrail_cfg *p, bool ok, double latency_ms);

/* Any thread: the phase now (for /metrics and /readyz). */
csg_guard_phase csg_guard_phase_of(const csg_guard *g);

/* Any thread: append the guarded challengers' Prometheus lines
 * (csg_challenger_suspended, csg_challenger_suspensions_total) through
 * out(arg, text). */
void csg_guards_render(const csg_guards *gs, void (*out)(void *arg, const char *text), void *arg);
/* Any thread: `[{"model","state"}]` of the guarded challengers into buf
 * (snprintf semantics). */
size_t csg_guards_json(const csg_guards *gs, char *buf, size_t cap);

#endif /* CSG_GUARDRAIL_H */
