/*
 * metrics.c — see metrics.h.
 */
#include "metrics.h"

#include "guardrail.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bucket_le[CSG_LATENCY_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

/* Fine enough to read a p99 near 100 µs (DESIGN §6, bench target T4). */
static const double overhead_le[CSG_OVERHEAD_BUCKETS - 1] = {
    0.00001, 0.00002, 0.00003, 0.00004, 0.00005, 0.00006, 0.00007, 0.00008,
    0.00009, 0.0001,  0.000125, 0.00015, 0.0002, 0.00025, 0.0003, 0.0004,
    0.0005,  0.00075, 0.001,   0.0025,  0.005,  0.01,    0.1};

void csg_metrics_observe_overhead(csg_worker_metrics *m, const char *transport, double sec)
{
    unsigned n = atomic_load_explicit(&m->n_overhead, memory_order_relaxed), i = 0;
    while (i < n && strcmp(m->overhead[i].transport, transport))
        i++;
    if (i == n) {
        if (n == CSG_METRICS_MAX_TRANSPORTS)
            return;
        snprintf(m->overhead[n].transport, sizeof m->overhead[n].transport, "%s", transport);
        /* publish the row only once its label is written */
        atomic_store_explicit(&m->n_overhead, n + 1, memory_order_release);
    }
    csg_overhead_stats *o = &m->overhead[i];
    int b = 0;
    while (b < CSG_OVERHEAD_BUCKETS - 1 && sec > overhead_le[b])
        b++;
    csg_bump(&o->buckets[b], 1);
    csg_bump(&o->count, 1);
    csg_bump(&o->sum_ns, sec > 0 ? (uint64_t)(sec * 1e9 + 0.5) : 0);
}

void csg_metrics_count_request(csg_worker_metrics *m, const char *transport, const char *status)
{
    unsigned n = atomic_load_explicit(&m->n_req, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        csg_req_counter *c = &m->req[i];
        if (!strcmp(c->status, status) && !strcmp(c->transport, transport)) {
            csg_bump(&c->count, 1);
            return;
        }
    }
    if (n == CSG_METRICS_MAX_REQ)
        return;
    csg_req_counter *c = &m->req[n];
    snprintf(c->transport, sizeof c->transport, "%s", transport);
    snprintf(c->status, sizeof c->status, "%s", status);
    atomic_store_explicit(&c->count, 1, memory_order_relaxed);
    /* publish the row only once its labels are written */
    atomic_store_explicit(&m->n_req, n + 1, memory_order_release);
}

csg_model_stats *csg_metrics_model(csg_worker_metrics *m, const char *name)
{
    unsigned n = atomic_load_explicit(&m->n_models, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(m->models[i].name, name))
            return &m->models[i];
    if (n == CSG_METRICS_MAX_MODELS)
        return NULL;
    csg_model_stats *s = &m->models[n];
    snprintf(s->name, sizeof s->name, "%s", name);
    atomic_store_explicit(&m->n_models, n + 1, memory_order_release);
    return s;
}

void csg_metrics_observe_latency(csg_model_stats *s, double ms)
{
    if (!s)
        return;
    double sec = ms / 1000.0;
    int b = 0;
    while (b < CSG_LATENCY_BUCKETS - 1 && sec > bucket_le[b])
        b++;
    csg_bump(&s->buckets[b], 1);
    csg_bump(&s->count, 1);
    csg_bump(&s->sum_us, (uint64_t)(ms * 1000.0 + 0.5));
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 8192;
        while (ncap < b->len + (size_t)n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void sb_put(void *arg, const char *text)
{
    sb_printf(arg, "%s", text);
}

static uint64_t ld(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* One histogram series: cumulative _bucket lines (le from bounds, then +Inf),
 * _sum in seconds with `decimals` digits, _count. */
static void histogram_series(sbuf *b, const char *metric, const char *label, const char *value,
                             const double *bounds, int nb, const uint64_t *buckets,
                             uint64_t count, double sum, int decimals)
{
    uint64_t cum = 0;
    for (int bi = 0; bi < nb; bi++) {
        cum += buckets[bi];
        if (bi < nb - 1)
            sb_printf(b, "%s_bucket{%s=\"%s\",le=\"%g\"} %" PRIu64 "\n", metric, label, value,
                      bounds[bi], cum);
        else
            sb_printf(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", metric, label, value,
                      cum);
    }
    sb_printf(b, "%s_sum{%s=\"%s\"} %.*f\n", metric, label, value, decimals, sum);
    sb_printf(b, "%s_count{%s=\"%s\"} %" PRIu64 "\n", metric, label, value, count);
}

/* A per-challenger counter (the csg_model_stats field at off) summed over
 * workers, one line per challenger name. */
static void challenger_counter(sbuf *b, csg_worker_metrics *const *workers, unsigned n,
                               const char *const *names, unsigned nn, size_t off,
                               const char *metric, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
    for (unsigned k = 0; k < nn; k++) {
        uint64_t a = 0;
        bool any = false;
        for (unsigned w = 0; w < n; w++) {
            unsigned nm = atomic_load_explicit(&workers[w]->n_models, memory_order_acquire);
            for (unsigned i = 0; i < nm; i++)
                if (!strcmp(workers[w]->models[i].name, names[k])) {
                    const csg_model_stats *st = &workers[w]->models[i];
                    a += ld((const _Atomic uint64_t *)((const char *)st + off)); // NOLINT(cppcoreguidelines-pro-type-cstyle-cast): a field chosen by offset
                    any = any || atomic_load_explicit(&st->is_challenger, memory_order_relaxed);
                }
        }
        if (any)
            sb_printf(b, "%s{model=\"%s\"} %" PRIu64 "\n", metric, names[k], a);
    }
}

/* csg_gateway_overhead_seconds: one histogram per transport, summed over
 * workers at scrape time. */
static void render_overhead(sbuf *b, csg_worker_metrics *const *workers, unsigned n)
{
    sb_printf(b, "# HELP csg_gateway_overhead_seconds The gateway's own time per scored request: "
                 "from parsing the request to the reply handed to the transport, the champion "
                 "call taken out.\n# TYPE csg_gateway_overhead_seconds histogram\n");
    const char *names[CSG_METRICS_MAX_TRANSPORTS];
    unsigned nn = 0;
    for (unsigned w = 0; w < n; w++) {
        unsigned no = atomic_load_explicit(&workers[w]->n_overhead, memory_order_acquire);
        for (unsigned i = 0; i < no; i++) {
            unsigned j = 0;
            while (j < nn && strcmp(names[j], workers[w]->overhead[i].transport))
                j++;
            if (j == nn && nn < CSG_METRICS_MAX_TRANSPORTS)
                names[nn++] = workers[w]->overhead[i].transport;
        }
    }
    for (unsigned k = 0; k < nn; k++) {
        uint64_t buckets[CSG_OVERHEAD_BUCKETS] = {0}, count = 0, sum_ns = 0;
        for (unsigned w = 0; w < n; w++) {
            unsigned no = atomic_load_explicit(&workers[w]->n_overhead, memory_order_acquire);
            for (unsigned i = 0; i < no; i++) {
                const csg_overhead_stats *o = &workers[w]->overhead[i];
                if (strcmp(o->transport, names[k]))
                    continue;
                for (int bi = 0; bi < CSG_OVERHEAD_BUCKETS; bi++)
                    buckets[bi] += ld(&o->buckets[bi]);
                count += ld(&o->count);
                sum_ns += ld(&o->sum_ns);
            }
        }
        histogram_series(b, "csg_gateway_overhead_seconds", "transport", names[k], overhead_le,
                         CSG_OVERHEAD_BUCKETS, buckets, count, (double)sum_ns / 1e9, 9);
    }
}

char *csg_metrics_render(csg_worker_metrics *const *workers, unsigned n,
                         const csg_metrics_globals *g, size_t *len)
{
    sbuf b = {0};
    sb_printf(&b, "# HELP csg_requests_total Requests finished by a transport.\n"
                  "# TYPE csg_requests_total counter\n");
    /* Merge label sets across workers (small tables: quadratic is fine). */
    for (unsigned w = 0; w < n; w++) {
        const csg_worker_metrics *m = workers[w];
        unsigned nr = atomic_load_explicit(&m->n_req, memory_order_acquire);
        for (unsigned i = 0; i < nr; i++) {
            const csg_req_counter *c = &m->req[i];
            bool seen = false;
            for (unsigned pw = 0; pw < w && !seen; pw++) {
                unsigned pn = atomic_load_explicit(&workers[pw]->n_req, memory_order_acquire);
                for (unsigned j = 0; j < pn; j++)
                    if (!strcmp(workers[pw]->req[j].transport, c->transport) &&
                        !strcmp(workers[pw]->req[j].status, c->status)) {
                        seen = true;
                        break;
                    }
            }
            if (seen)
                continue;
            uint64_t total = 0;
            for (unsigned v = w; v < n; v++) {
                unsigned vn = atomic_load_explicit(&workers[v]->n_req, memory_order_acquire);
                for (unsigned j = 0; j < vn; j++)
                    if (!strcmp(workers[v]->req[j].transport, c->transport) &&
                        !strcmp(workers[v]->req[j].status, c->status))
                        total += ld(&workers[v]->req[j].count);
            }
            sb_printf(&b, "csg_requests_total{transport=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                      c->transport, c->status, total);
        }
    }

    /* Models: collect the distinct names first. */
    const char *names[CSG_METRICS_MAX_MODELS * 2] = {0};
    unsigned nn = 0;
    for (unsigned w = 0; w < n; w++) {
        unsigned nm = atomic_load_explicit(&workers[w]->n_models, memory_order_acquire);
        for (unsigned i = 0; i < nm && nn < CSG_METRICS_MAX_MODELS * 2; i++) {
            const char *nm_i = workers[w]->models[i].name;
            unsigned j = 0;
            while (j < nn && strcmp(names[j], nm_i))
                j++;
            if (j == nn)
                names[nn++] = nm_i;
        }
    }
    sb_printf(&b, "# HELP csg_model_latency_seconds Model call latency as seen by the gateway "
                  "(timeouts count at the time the gateway gave up).\n"
                  "# TYPE csg_model_latency_seconds histogram\n");
    for (unsigned k = 0; k < nn; k++) {
        uint64_t buckets[CSG_LATENCY_BUCKETS] = {0}, count = 0, sum_us = 0;
        for (unsigned w = 0; w < n; w++) {
            unsigned nm = atomic_load_explicit(&workers[w]->n_models, memory_order_acquire);
            for (unsigned i = 0; i < nm; i++) {
                const csg_model_stats *s = &workers[w]->models[i];
                if (strcmp(s->name, names[k]))
                    continue;
                for (int bi = 0; bi < CSG_LATENCY_BUCKETS; bi++)
                    buckets[bi] += ld(&s->buckets[bi]);
                count += ld(&s->count);
                sum_us += ld(&s->sum_us);
            }
        }
        histogram_series(&b, "csg_model_latency_seconds", "model", names[k], bucket_le,
                         CSG_LATENCY_BUCKETS, buckets, count, (double)sum_us / 1e6, 6);
    }
    render_overhead(&b, workers, n);
    challenger_counter(&b, workers, n, names, nn, offsetof(csg_model_stats, assignments),
                       "csg_challenger_assignments_total", "Requests routed to each challenger.");
    challenger_counter(&b, workers, n, names, nn, offsetof(csg_model_stats, live_fallbacks),
                       "csg_live_fallbacks_total",
                       "Requests a live challenger failed, answered with the champion's decision.");

    uint64_t queued = 0, qdropped = 0;
    int64_t waiting = 0;
    for (unsigned w = 0; w < n; w++) {
        queued += ld(&workers[w]->events_queued);
        qdropped += ld(&workers[w]->events_dropped);
        waiting += atomic_load_explicit(&workers[w]->events_waiting, memory_order_relaxed);
    }
    const csg_sink_stats *s = g ? g->sink : NULL;
    uint64_t delivered = s ? atomic_load(&s->delivered) : 0;
    uint64_t failed = s ? atomic_load(&s->failed) : 0;
    uint64_t spooled = s ? atomic_load(&s->spooled) : 0;
    uint64_t replayed = s ? atomic_load(&s->replayed) : 0;
    uint64_t sdropped = s ? atomic_load(&s->dropped) : 0;
    int64_t unacked = s ? atomic_load(&s->unacked) : 0;
    int64_t spool_bytes = s ? atomic_load(&s->spool_bytes) : 0;
    size_t depth = g ? g->queue_depth : 0;
    if (waiting < 0)
        waiting = 0;
    if (unacked < 0)
        unacked = 0;
    sb_printf(&b,
              "# HELP csg_events_total MetricEvents by outcome (dropped = queue full or spool full).\n"
              "# TYPE csg_events_total counter\n"
              "csg_events_total{outcome=\"queued\"} %" PRIu64 "\n"
              "csg_events_total{outcome=\"delivered\"} %" PRIu64 "\n"
              "csg_events_total{outcome=\"failed\"} %" PRIu64 "\n"
              "csg_events_total{outcome=\"spooled\"} %" PRIu64 "\n"
              "csg_events_total{outcome=\"replayed\"} %" PRIu64 "\n"
              "csg_events_total{outcome=\"dropped\"} %" PRIu64 "\n",
              queued, delivered, failed, spooled, replayed, qdropped + sdropped);
    sb_printf(&b,
              "# HELP csg_event_queue_depth Events waiting in the in-memory queue.\n"
              "# TYPE csg_event_queue_depth gauge\n"
              "csg_event_queue_depth %zu\n"
              "# HELP csg_events_unacked Events a SIGKILL would lose: waiting for a challenger, "
              "queued, or handed to the sink and not yet confirmed.\n"
              "# TYPE csg_events_unacked gauge\n"
              "csg_events_unacked %" PRId64 "\n"
              "# HELP csg_spool_bytes Bytes in the disk spool.\n"
              "# TYPE csg_spool_bytes gauge\n"
              "csg_spool_bytes %" PRId64 "\n",
              depth, waiting + (int64_t)depth + unacked, spool_bytes);
    sb_printf(&b,
              "# HELP csg_config_reloads_total Configuration reloads (SIGHUP) by result.\n"
              "# TYPE csg_config_reloads_total counter\n"
              "csg_config_reloads_total{result=\"ok\"} %" PRIu64 "\n"
              "csg_config_reloads_total{result=\"error\"} %" PRIu64 "\n",
              g ? g->reloads_ok : 0, g ? g->reloads_failed : 0);
    sb_printf(&b,
              "# HELP csg_config_info The serving configuration (config_version).\n"
              "# TYPE csg_config_info gauge\n"
              "csg_config_info{version=\"%016" PRIx64 "\"} 1\n",
              g ? g->config_version : 0);
    if (g && g->guards)
        csg_guards_render(g->guards, sb_put, &b);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
