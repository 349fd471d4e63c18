/*
 * metrics.h — per-worker counters and the Prometheus text rendering.
 *
 * Each worker owns one csg_worker_metrics (cache-line aligned) and is its
 * only writer: increments are a relaxed load + store, no lock and no shared
 * cache line on the request path. render reads them all with relaxed loads
 * from any thread and sums them.
 */
#ifndef CSG_METRICS_H
#define CSG_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_sink.h"

#define CSG_METRICS_MAX_REQ 64
#define CSG_METRICS_MAX_MODELS 64
#define CSG_LATENCY_BUCKETS 14
#define CSG_OVERHEAD_BUCKETS 24 /* 10 µs … 100 ms, then +Inf */
#define CSG_METRICS_MAX_TRANSPORTS 8

typedef struct csg_req_counter {
    char transport[16];
    char status[24];
    _Atomic uint64_t count;
} csg_req_counter;

typedef struct csg_model_stats {
    char name[65];
    _Atomic uint64_t buckets[CSG_LATENCY_BUCKETS]; /* non-cumulative */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us; /* microseconds */
    _Atomic uint64_t assignments;
    _Atomic uint64_t live_fallbacks; /* a live challenger failed: the champion decided */
    _Atomic bool is_challenger; /* listed in csg_challenger_assignments_total */
} csg_model_stats;

/* csg_gateway_overhead_seconds for one transport: the gateway's own time
 * per request, the champion call taken out. */
typedef struct csg_overhead_stats {
    char transport[16];
    _Atomic uint64_t buckets[CSG_OVERHEAD_BUCKETS]; /* non-cumulative */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} csg_overhead_stats;

typedef struct csg_worker_metrics {
    _Alignas(64) _Atomic unsigned n_req;
    csg_req_counter req[CSG_METRICS_MAX_REQ];
    _Atomic unsigned n_models;
    csg_model_stats models[CSG_METRICS_MAX_MODELS];
    _Atomic uint64_t events_queued;
    _Atomic uint64_t events_dropped;
    _Atomic int64_t events_waiting; /* requests whose event is not yet queued */
    _Atomic unsigned n_overhead;
    csg_overhead_stats overhead[CSG_METRICS_MAX_TRANSPORTS];
} csg_worker_metrics;

/* Owner-thread increment without a locked instruction. */
static inline void csg_bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static inline void csg_bump_signed(_Atomic int64_t *c, int64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* Owner thread: count a request for (transport, status). */
void csg_metrics_count_request(csg_worker_metrics *m, const char *transport, const char *status);
/* Owner thread: the stats row for a model name (created on first use; NULL
 * when the table is full). */
csg_model_stats *csg_metrics_model(csg_worker_metrics *m, const char *name);
/* Owner thread: one model call took ms milliseconds. */
void csg_metrics_observe_latency(csg_model_stats *s, double ms);

/* Owner thread: one request of transport cost the gateway sec seconds. */
void csg_metrics_observe_overhead(csg_worker_metrics *m, const char *transport, double sec);

/* Gauges and counters that live outside the workers. */
typedef struct csg_metrics_globals {
    const csg_sink_stats *sink; /* may be NULL */
    size_t queue_depth;
    uint64_t reloads_ok, reloads_failed;
    uint64_t config_version; /* the serving configuration's config_version */
    const struct csg_guards *guards; /* guardrail states (guardrail.h); may be NULL */
} csg_metrics_globals;

/* Render everything into a malloc'd NUL-terminated string (*len = its length). */
char *csg_metrics_render(csg_worker_metrics *const *workers, unsigned n,
                         const csg_metrics_globals *g, size_t *len);

#endif /* CSG_METRICS_H */
