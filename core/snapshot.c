/*
 * snapshot.c — routing snapshots (gateway_state.h): what one configuration
 * serves with — its router and every model's adapter instance per worker.
 *
 * A reload builds a new snapshot on the main thread and hands it to every
 * worker; a worker adopts it between requests. The old one stays while any
 * of that worker's contexts use it (slot->inflight); then the worker
 * destroys its own adapter instances (on its own thread, as the ABI wants)
 * and the last worker hands the snapshot to the main thread, which frees it.
 * No lock on the request path: the slot counters are per worker; only the
 * hand-off to main takes gc_mu, once per snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_state.h"
#include "log.h"
#include "model_adapter.h"

void csg_snapshot_destroy_slot(csg_snapshot *s, unsigned wi)
{
    csg_snap_slot *sl = &s->slots[wi];
    for (unsigned m = 0; m < s->n_models; m++)
        if (sl->inst[m]) {
            s->models[m]->plugin->adapter->destroy(sl->inst[m]);
            sl->inst[m] = NULL;
        }
    sl->retired = true;
}

void csg_snapshot_free(csg_snapshot *s)
{
    if (!s)
        return;
    csg_router_free(s->router);
    csg_config_unref(s->cfg);
    free(s->slots);
    free(s);
}

/* Point s's guarded challengers at their state in gw->guards (created on
 * first use, kept over reloads) and mark which names the new config guards. */
static bool guards_bind(csg_gateway *gw, csg_snapshot *s)
{
    if (!gw->guards) {
        /* csg_guard is cache-line aligned: calloc does not promise that. */
        gw->guards = aligned_alloc(_Alignof(csg_guards), sizeof *gw->guards);
        if (!gw->guards)
            return false;
        memset(gw->guards, 0, sizeof *gw->guards);
    }
    const char *names[CSG_MAX_MODELS];
    size_t n = 0;
    for (unsigned m = 1; m < s->n_models; m++)
        if (s->models[m]->guardrail.set) {
            s->guards[m] = csg_guard_for(gw->guards, s->models[m]->name);
            names[n++] = s->models[m]->name;
        }
    csg_guards_configure(gw->guards, names, n);
    return true;
}

/* Adapters are created here for every worker, by the call --check-config
 * makes too (model_adapter.h); create() only allocates, the first
 * score_async on the worker adds events. */
csg_snapshot *csg_snapshot_build(csg_gateway *gw, csg_config *cfg, csg_error *err)
{
    csg_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->cfg = csg_config_ref(cfg);
    s->n_workers = gw->n_workers;
    s->slots = aligned_alloc(64, ((sizeof(csg_snap_slot) * gw->n_workers + 63) / 64) * 64);
    if (!s->slots)
        goto oom;
    memset(s->slots, 0, sizeof(csg_snap_slot) * gw->n_workers);
    atomic_init(&s->workers_left, gw->n_workers);
    s->n_models = 1 + (unsigned)cfg->n_challengers;
    s->models[0] = &cfg->champion;
    double weights[CSG_MAX_CHALLENGERS];
    csg_ranges ranges[CSG_MAX_CHALLENGERS];
    bool given = false; /* the config validated: all or none carry ranges */
    for (size_t i = 0; i < cfg->n_challengers; i++) {
        s->models[1 + i] = &cfg->challengers[i];
        weights[i] = cfg->challengers[i].weight;
        ranges[i] = cfg->challengers[i].ranges;
        given |= cfg->challengers[i].has_ranges;
    }
    s->router = given ? csg_router_new_ranges(cfg->assignment, cfg->salt, ranges,
                                              (unsigned)cfg->n_challengers)
                      : csg_router_new(cfg->assignment, cfg->salt, weights,
                                       (unsigned)cfg->n_challengers);
    if (!s->router)
        goto oom;
    for (unsigned w = 0; w < gw->n_workers; w++) {
        for (unsigned m = 0; m < s->n_models; m++) {
            if (csg_model_adapter_create(cfg, s->models[m], csg_gateway_api(), gw->workers[w].base,
                                         &s->slots[w].inst[m], err) != 0) {
                /* Never used by a worker: safe to destroy here. */
                for (unsigned ww = 0; ww <= w; ww++)
                    csg_snapshot_destroy_slot(s, ww);
                csg_snapshot_free(s);
                return NULL;
            }
        }
    }
    if (!guards_bind(gw, s))
        goto oom_built;
    s->generation = ++gw->generation;
    return s;
oom_built:
    for (unsigned w = 0; w < gw->n_workers; w++)
        csg_snapshot_destroy_slot(s, w);
    csg_snapshot_free(s);
    s = NULL;
oom:
    if (err)
        snprintf(err->message, sizeof err->message, "out of memory building the routing table");
    csg_snapshot_free(s);
    return NULL;
}

void csg_snapshot_retire_slot(csg_worker *w, csg_snapshot *s)
{
    if (s->slots[w->index].retired)
        return;
    csg_snapshot_destroy_slot(s, w->index);
    if (atomic_fetch_sub(&s->workers_left, 1) == 1) {
        csg_gateway *gw = w->gw;
        pthread_mutex_lock(&gw->gc_mu);
        s->gc_next = gw->gc_list;
        gw->gc_list = s;
        pthread_mutex_unlock(&gw->gc_mu);
        if (gw->gc_ev)
            event_active(gw->gc_ev, EV_READ, 0);
    }
}

void csg_snapshot_adopt(csg_worker *w, csg_snapshot *s)
{
    csg_snapshot *old = w->current;
    csg_snap_slot *sl = &s->slots[w->index];
    for (unsigned m = 0; m < s->n_models; m++) {
        sl->stats[m] = csg_metrics_model(w->metrics, s->models[m]->name);
        if (m > 0 && sl->stats[m])
            atomic_store_explicit(&sl->stats[m]->is_challenger, true, memory_order_relaxed);
    }
    w->current = s;
    if (old && old->slots[w->index].inflight == 0)
        csg_snapshot_retire_slot(w, old);
}

void csg_snapshot_on_gc(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_snapshot_collect(arg);
}

void csg_snapshot_collect(csg_gateway *gw)
{
    pthread_mutex_lock(&gw->gc_mu);
    csg_snapshot *list = gw->gc_list;
    gw->gc_list = NULL;
    pthread_mutex_unlock(&gw->gc_mu);
    while (list) {
        csg_snapshot *s = list;
        list = s->gc_next;
        for (csg_snapshot **pp = &gw->all_snaps; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        csg_log(CSG_LOG_DEBUG, "core", "routing table generation %llu freed",
                (unsigned long long)s->generation);
        csg_snapshot_free(s);
    }
}
