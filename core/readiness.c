/*
 * readiness.c — what /readyz reports (csg_core_api.is_ready): the champion
 * answered its last calls. Champion outcomes on every worker feed it; when
 * worker 0 has seen no champion traffic for a second it sends a probe
 * application through the champion adapter (dispatch.c, not counted in
 * metrics or events). The shared flag is written only on a change, so the
 * request path writes no shared cache line.
 */
#include <stdio.h>

#include "application.h"
#include "gateway_state.h"
#include "log.h"

#define PROBE_INTERVAL_MS 1000
/* Champion calls that must fail in a row (on one worker) before the gateway
 * reports not ready: a model with a small error rate should not make
 * /readyz flap. A failed idle probe counts at once. */
#define NOT_READY_STREAK 3
#define READY_LOG_INTERVAL_MS 10000

static void set_ready(csg_gateway *gw, bool ok, const char *model, const char *why)
{
    /* Written only on change: no shared cache-line write per request. */
    if (atomic_load_explicit(&gw->ready, memory_order_relaxed) == (int)ok)
        return;
    if (atomic_exchange(&gw->ready, (int)ok) == (int)ok)
        return; /* another worker saw the same change first */
    /* A flapping champion must not become a log line per request. */
    int64_t now = csg_now_ms_int();
    int64_t last = atomic_load(&gw->ready_logged_ms);
    if (now - last < READY_LOG_INTERVAL_MS) {
        atomic_fetch_add(&gw->ready_flips_unlogged, 1);
        return;
    }
    if (!atomic_compare_exchange_strong(&gw->ready_logged_ms, &last, now))
        return;
    unsigned long flips = atomic_exchange(&gw->ready_flips_unlogged, 0);
    if (ok)
        csg_log(CSG_LOG_INFO, "core", "champion %s answers: ready (%lu earlier change(s) not logged)",
                model, flips);
    else
        csg_log(CSG_LOG_WARN, "core",
                "champion %s failed (%s): not ready (%lu earlier change(s) not logged)", model,
                why ? why : "no answer", flips);
}

void csg_readiness_champion(csg_worker *w, csg_score_status st, bool probe, const char *model,
                            const char *why)
{
    w->last_champion_ms = csg_now_ms();
    if (st == CSG_SCORE_OK) {
        w->champ_fail_streak = 0;
        set_ready(w->gw, true, model, NULL);
    } else if (st == CSG_SCORE_OVERLOADED) {
        /* Load on this gateway says nothing about the champion: readiness
         * must not flap at peak load (DESIGN §5). */
    } else if (++w->champ_fail_streak >= NOT_READY_STREAK || probe) {
        set_ready(w->gw, false, model, why);
    }
}

void csg_readiness_on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_worker *w = arg;
    double now = csg_now_ms();
    if (w->draining)
        return;
    if (w->probe_outstanding) {
        /* An adapter that never calls back is not a ready champion. */
        if (now - w->probe_started_ms > 2.0 * w->current->models[0]->timeout_ms + 1000)
            set_ready(w->gw, false, w->current->models[0]->name, "the adapter never answered");
    } else if (now - w->last_champion_ms >= PROBE_INTERVAL_MS) {
        /* Set before the call: an adapter may answer inside it. */
        w->probe_outstanding = true;
        w->probe_started_ms = now;
        if (!csg_dispatch_probe(w, csg_app_probe(w->current->cfg->schema)))
            w->probe_outstanding = false;
    }
    struct timeval tv = {PROBE_INTERVAL_MS / 1000, (PROBE_INTERVAL_MS % 1000) * 1000};
    evtimer_add(w->probe_timer, &tv);
}

void csg_readiness_arm(csg_worker *w)
{
    struct timeval tv = {0, 50000};
    evtimer_add(w->probe_timer, &tv);
}
