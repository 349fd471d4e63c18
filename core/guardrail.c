/*
 * guardrail.c — see guardrail.h.
 *
 * The latency budget is "p99 ≤ max_p99_ms": the p99 exceeds it exactly when
 * more than 1% of the window's calls took longer, so a count of slow calls
 * per bucket is enough (no histogram). Timeouts count as errors and as slow.
 */
#include "guardrail.h"

#include <stdio.h>
#include <string.h>

#include "csg_clock.h"
#include "log.h"

#define PHASE_SHIFT 60
#define SINCE_MASK ((UINT64_C(1) << PHASE_SHIFT) - 1)
#define SLOW_SHARE 0.01 /* p99: at most 1% of calls slower than max_p99_ms */

static uint64_t pack(csg_guard_phase ph, uint64_t since_ms)
{
    return (uint64_t)ph << PHASE_SHIFT | (since_ms & SINCE_MASK);
}

static csg_guard_phase phase_of(uint64_t s)
{
    return (csg_guard_phase)(s >> PHASE_SHIFT);
}

static uint64_t now_ms(void)
{
    return (uint64_t)csg_now_ms_int();
}

csg_guard *csg_guard_for(csg_guards *gs, const char *name)
{
    for (size_t i = 0; i < CSG_GUARD_MAX; i++) {
        csg_guard *g = &gs->g[i];
        if (!atomic_load_explicit(&g->used, memory_order_acquire)) {
            snprintf(g->name, sizeof g->name, "%s", name);
            atomic_store_explicit(&g->used, true, memory_order_release);
            return g;
        }
        if (!strcmp(g->name, name))
            return g;
    }
    csg_log(CSG_LOG_WARN, "core",
            "challenger %s: more than %d guarded challengers since start; its guardrail is not "
            "applied until a restart",
            name, CSG_GUARD_MAX);
    return NULL;
}

void csg_guards_configure(csg_guards *gs, const char *const *names, size_t n)
{
    for (size_t i = 0; i < CSG_GUARD_MAX; i++) {
        csg_guard *g = &gs->g[i];
        if (!atomic_load_explicit(&g->used, memory_order_acquire))
            break;
        bool on = false;
        for (size_t j = 0; j < n && !on; j++)
            on = !strcmp(g->name, names[j]);
        atomic_store_explicit(&g->configured, on, memory_order_relaxed);
    }
}

static int64_t bucket_ms(const csg_guardrail_cfg *p)
{
    int64_t w = (int64_t)p->window_s * 1000 / CSG_GUARD_BUCKETS;
    return w > 0 ? w : 1;
}

/* Forget the window (the winner of a phase change does this). */
static void clear_window(csg_guard *g)
{
    for (int i = 0; i < CSG_GUARD_BUCKETS; i++) {
        csg_guard_bucket *b = &g->b[i];
        atomic_store_explicit(&b->epoch, -1, memory_order_relaxed);
        atomic_store_explicit(&b->calls, 0, memory_order_relaxed);
        atomic_store_explicit(&b->errors, 0, memory_order_relaxed);
        atomic_store_explicit(&b->slow, 0, memory_order_relaxed);
    }
}

/* Move from the observed state `from` to phase `to`; true for the one winner. */
static bool change(csg_guard *g, uint64_t from, csg_guard_phase to)
{
    if (!atomic_compare_exchange_strong(&g->state, &from, pack(to, now_ms())))
        return false;
    clear_window(g);
    return true;
}

csg_guard_admit csg_guard_admit_call(csg_guard *g, const csg_guardrail_cfg *p, csg_rng *rng)
{
    uint64_t s = atomic_load_explicit(&g->state, memory_order_acquire);
    switch (phase_of(s)) {
    case CSG_GUARD_ACTIVE:
        return CSG_GUARD_CALL;
    case CSG_GUARD_SUSPENDED:
        if (now_ms() - (s & SINCE_MASK) < (uint64_t)p->cooldown_s * 1000)
            return CSG_GUARD_HELD;
        if (change(g, s, CSG_GUARD_TRIAL))
            csg_log(CSG_LOG_INFO, "core",
                    "challenger %s: cool-down of %us over; trying it on %.0f%% of its share",
                    g->name, p->cooldown_s, CSG_GUARD_TRIAL_SHARE * 100);
        break;
    case CSG_GUARD_TRIAL:
        break;
    }
    return csg_rng_unit(rng) < CSG_GUARD_TRIAL_SHARE ? CSG_GUARD_TRIAL_CALL : CSG_GUARD_HELD;
}

void csg_guard_record(csg_guard *g, const csg_guardrail_cfg *p, bool ok, double latency_ms)
{
    uint64_t s = atomic_load_explicit(&g->state, memory_order_acquire);
    if (phase_of(s) == CSG_GUARD_SUSPENDED)
        return; /* a late answer from before the suspension */
    int64_t width = bucket_ms(p), epoch = csg_now_ms_int() / width;
    csg_guard_bucket *b = &g->b[epoch % CSG_GUARD_BUCKETS];
    int64_t old = atomic_load_explicit(&b->epoch, memory_order_acquire);
    if (old != epoch && atomic_compare_exchange_strong(&b->epoch, &old, epoch)) {
        atomic_store_explicit(&b->calls, 0, memory_order_relaxed);
        atomic_store_explicit(&b->errors, 0, memory_order_relaxed);
        atomic_store_explicit(&b->slow, 0, memory_order_relaxed);
    }
    bool slow = !ok || (p->max_p99_ms > 0 && latency_ms > p->max_p99_ms);
    atomic_fetch_add_explicit(&b->calls, 1, memory_order_relaxed);
    if (!ok)
        atomic_fetch_add_explicit(&b->errors, 1, memory_order_relaxed);
    if (slow)
        atomic_fetch_add_explicit(&b->slow, 1, memory_order_relaxed);

    uint64_t calls = 0, errors = 0, slows = 0;
    for (int i = 0; i < CSG_GUARD_BUCKETS; i++) {
        int64_t e = atomic_load_explicit(&g->b[i].epoch, memory_order_acquire);
        if (e < 0 || e <= epoch - CSG_GUARD_BUCKETS)
            continue;
        calls += atomic_load_explicit(&g->b[i].calls, memory_order_relaxed);
        errors += atomic_load_explicit(&g->b[i].errors, memory_order_relaxed);
        slows += atomic_load_explicit(&g->b[i].slow, memory_order_relaxed);
    }
    if (calls < p->min_calls || calls == 0)
        return;
    double err_rate = (double)errors / (double)calls;
    bool p99_broken = p->max_p99_ms > 0 && (double)slows > SLOW_SHARE * (double)calls;
    if (err_rate > p->max_error_rate || p99_broken) {
        if (!change(g, s, CSG_GUARD_SUSPENDED))
            return;
        atomic_fetch_add(&g->suspensions, 1);
        csg_log(CSG_LOG_WARN, "core",
                "challenger %s suspended by its guardrail: %llu calls in the last %us, error "
                "rate %.3f (max %.3f), %llu slower than %.0f ms (p99 budget)%s; retried after %us",
                g->name, (unsigned long long)calls, p->window_s, err_rate, p->max_error_rate,
                (unsigned long long)slows, p->max_p99_ms,
                phase_of(s) == CSG_GUARD_TRIAL ? " during its trial" : "", p->cooldown_s);
    } else if (phase_of(s) == CSG_GUARD_TRIAL && change(g, s, CSG_GUARD_ACTIVE)) {
        csg_log(CSG_LOG_INFO, "core",
                "challenger %s resumed: %llu trial calls within its guardrail", g->name,
                (unsigned long long)calls);
    }
}

csg_guard_phase csg_guard_phase_of(const csg_guard *g)
{
    return phase_of(atomic_load_explicit(&g->state, memory_order_relaxed));
}

static const char *phase_name(csg_guard_phase ph)
{
    return ph == CSG_GUARD_SUSPENDED ? "suspended" : ph == CSG_GUARD_TRIAL ? "trial" : "active";
}

/* The next guard from *i on that the serving config configures (advancing *i past
 * it), NULL at the end of the used ones. */
static const csg_guard *configured_at(const csg_guards *gs, size_t *i)
{
    for (; *i < CSG_GUARD_MAX; (*i)++) {
        const csg_guard *g = &gs->g[*i];
        if (!atomic_load_explicit(&g->used, memory_order_acquire))
            return NULL;
        if (atomic_load_explicit(&g->configured, memory_order_relaxed)) {
            (*i)++;
            return g;
        }
    }
    return NULL;
}

void csg_guards_render(const csg_guards *gs, void (*out)(void *arg, const char *text), void *arg)
{
    char line[256];
    out(arg, "# HELP csg_challenger_suspended 1 while a guardrail holds the challenger off "
             "(suspended, or on its trial share), else 0.\n"
             "# TYPE csg_challenger_suspended gauge\n");
    size_t i = 0;
    for (const csg_guard *g; (g = configured_at(gs, &i));) {
        snprintf(line, sizeof line, "csg_challenger_suspended{model=\"%s\"} %d\n", g->name,
                 csg_guard_phase_of(g) != CSG_GUARD_ACTIVE);
        out(arg, line);
    }
    out(arg, "# HELP csg_challenger_suspensions_total Times a guardrail suspended the challenger.\n"
             "# TYPE csg_challenger_suspensions_total counter\n");
    for (size_t k = 0; k < CSG_GUARD_MAX && atomic_load_explicit(&gs->g[k].used, memory_order_acquire);
         k++) {
        const csg_guard *g = &gs->g[k];
        snprintf(line, sizeof line, "csg_challenger_suspensions_total{model=\"%s\"} %llu\n",
                 g->name, (unsigned long long)atomic_load(&g->suspensions));
        out(arg, line);
    }
}

size_t csg_guards_json(const csg_guards *gs, char *buf, size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__);         \
        n += k_ > 0 ? (size_t)k_ : 0;                                                              \
    } while (0)
    PUT("[");
    bool first = true;
    size_t i = 0;
    for (const csg_guard *g; (g = configured_at(gs, &i));) {
        PUT("%s{\"model\":\"%s\",\"state\":\"%s\",\"suspensions\":%llu}", first ? "" : ",",
            g->name, phase_name(csg_guard_phase_of(g)),
            (unsigned long long)atomic_load(&g->suspensions));
        first = false;
    }
    PUT("]");
#undef PUT
    return n;
}
