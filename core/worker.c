/*
 * worker.c — the worker threads (gateway_state.h): one libevent base each,
 * started, commanded (adopt a snapshot, drain, stop) and joined by the main
 * thread. A worker starts every transport on its own base, then runs its
 * loop; requests arrive through the transports into dispatch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway_state.h"
#include "log.h"

static void on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_worker *w = arg;
    csg_gateway *gw = w->gw;
    unsigned pending = 0;
    for (unsigned i = 0; i < w->transports_started; i++)
        pending += gw->cfg->transports[i].plugin->transport->drain_worker(gw->transports[i], w);
    if (pending == 0 && w->live == 0) {
        atomic_store(&w->drained, true);
        return;
    }
    struct timeval tv = {0, 5000};
    evtimer_add(w->drain_timer, &tv);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_worker *w = arg;
    csg_snapshot *s = atomic_exchange(&w->pending, NULL);
    if (s)
        csg_snapshot_adopt(w, s);
    unsigned cmd = atomic_load(&w->cmd);
    if ((cmd & CSG_WORKER_CMD_DRAIN) && !w->draining) {
        w->draining = true;
        if (w->probe_timer)
            evtimer_del(w->probe_timer);
        struct timeval tv = {0, 0};
        evtimer_add(w->drain_timer, &tv);
    }
    if (cmd & CSG_WORKER_CMD_STOP) {
        /* Adapters are destroyed on their own worker thread. Contexts still
         * alive past the drain deadline keep their slot (and leak at exit). */
        if (w->current && w->current->slots[w->index].inflight == 0)
            csg_snapshot_destroy_slot(w->current, w->index);
        event_base_loopbreak(w->base);
    }
}

static void *worker_main(void *arg)
{
    csg_worker *w = arg;
    csg_gateway *gw = w->gw;
    csg_error err = {{0}};
    int rc = 0;
    csg_snapshot_adopt(w, gw->snap);
    for (unsigned i = 0; i < gw->cfg->n_transports; i++) {
        const csg_transport_plugin *tp = gw->cfg->transports[i].plugin->transport;
        rc = tp->start_worker(gw->transports[i], w, &err);
        if (rc != 0)
            break;
        w->transports_started++;
    }
    if (rc == 0 && w->index == 0)
        csg_readiness_arm(w);
    pthread_mutex_lock(&gw->mu);
    gw->started++;
    if (rc != 0 && gw->start_rc == 0) {
        gw->start_rc = rc;
        snprintf(gw->start_err.message, sizeof gw->start_err.message, "%.200s: worker %u: %.280s",
                 gw->cfg->transports[w->transports_started].plugin_path, w->index, err.message);
    }
    pthread_cond_broadcast(&gw->cv);
    pthread_mutex_unlock(&gw->mu);
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int csg_workers_init(csg_gateway *gw)
{
    gw->workers = calloc(gw->n_workers, sizeof *gw->workers);
    gw->metrics = calloc(gw->n_workers, sizeof *gw->metrics); // NOLINT(bugprone-sizeof-expression): an array of pointers
    if (!gw->workers || !gw->metrics)
        return -CSG_ENOMEM;
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        w->index = i;
        w->gw = gw;
        csg_rng_seed(&w->rng);
        w->metrics = aligned_alloc(64, ((sizeof(csg_worker_metrics) + 63) / 64) * 64);
        if (!w->metrics)
            return -CSG_ENOMEM;
        memset(w->metrics, 0, sizeof(csg_worker_metrics));
        gw->metrics[i] = w->metrics;
        /* Precise timers: the default coarse monotonic clock ticks in 4 ms
         * jiffies, so a 100 ms model timeout could fire after 96 ms. */
        struct event_config *ec = event_config_new();
        if (!ec)
            return -CSG_ENOMEM;
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
        if (!w->base)
            return -CSG_ENOMEM;
        w->wake = event_new(w->base, -1, 0, on_wake, w);
        w->probe_timer = evtimer_new(w->base, csg_readiness_on_probe_timer, w);
        w->drain_timer = evtimer_new(w->base, on_drain_timer, w);
        if (!w->wake || !w->probe_timer || !w->drain_timer)
            return -CSG_ENOMEM;
        w->last_champion_ms = -1e9;
        w->last_drop_log_ms = -1e9;
    }
    return 0;
}

int csg_workers_start(csg_gateway *gw, csg_error *err)
{
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err->message, sizeof err->message, "cannot start worker thread %u", i);
            return -CSG_EIO;
        }
        w->thread_started = true;
    }
    pthread_mutex_lock(&gw->mu);
    while (gw->started < gw->n_workers)
        pthread_cond_wait(&gw->cv, &gw->mu);
    int rc = gw->start_rc;
    if (rc != 0)
        *err = gw->start_err;
    pthread_mutex_unlock(&gw->mu);
    return rc;
}

void csg_workers_publish(csg_gateway *gw, csg_snapshot *s)
{
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        atomic_store(&w->pending, s);
        event_active(w->wake, EV_READ, 0);
    }
}

bool csg_workers_swapped(csg_gateway *gw)
{
    for (unsigned i = 0; i < gw->n_workers; i++)
        if (atomic_load(&gw->workers[i].pending))
            return false;
    return true;
}

/* The main thread may block here: it serves no requests. */
unsigned csg_workers_drain(csg_gateway *gw, double deadline_ms)
{
    for (unsigned i = 0; i < gw->n_workers; i++) {
        atomic_fetch_or(&gw->workers[i].cmd, CSG_WORKER_CMD_DRAIN);
        event_active(gw->workers[i].wake, EV_READ, 0);
    }
    bool all = false;
    while (!all && csg_now_ms() < deadline_ms) {
        all = true;
        for (unsigned i = 0; i < gw->n_workers; i++)
            all = all && atomic_load(&gw->workers[i].drained);
        if (!all) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
    unsigned left = 0;
    for (unsigned i = 0; i < gw->n_workers; i++)
        left += atomic_load(&gw->workers[i].drained) ? 0 : 1;
    return left;
}

void csg_workers_stop(csg_gateway *gw)
{
    if (!gw->workers)
        return;
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        if (!w->thread_started)
            continue;
        atomic_fetch_or(&w->cmd, CSG_WORKER_CMD_STOP);
        event_active(w->wake, EV_READ, 0);
    }
    for (unsigned i = 0; i < gw->n_workers; i++)
        if (gw->workers[i].thread_started) {
            pthread_join(gw->workers[i].thread, NULL);
            gw->workers[i].thread_started = false;
        }
}

void csg_workers_free(csg_gateway *gw)
{
    for (unsigned i = 0; gw->workers && i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        if (w->wake)
            event_free(w->wake);
        if (w->probe_timer)
            event_free(w->probe_timer);
        if (w->drain_timer)
            event_free(w->drain_timer);
        if (w->base)
            event_base_free(w->base);
        free(gw->metrics ? gw->metrics[i] : NULL);
    }
    free(gw->metrics);
    free(gw->workers);
    gw->metrics = NULL;
    gw->workers = NULL;
}
