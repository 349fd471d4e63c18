/*
 * gateway.c — worker threads, routing snapshots, request dispatch, the
 * core_api, SIGHUP reload and SIGTERM drain.
 *
 * Ownership on the request path: a request context (req_ctx) belongs to the
 * worker that accepted it and is only touched on that worker's thread. It
 * holds its routing snapshot's per-worker slot (slot->inflight) so the
 * adapter instances it uses outlive it, and it lives until (a) the client
 * got its reply, (b) the MetricEvent was queued and (c) every adapter
 * callback arrived — also those that came after the core's own timeout.
 */
#include "gateway.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "application.h"
#include "event.h"
#include "event_queue.h"
#include "lockfile.h"
#include "log.h"
#include "metrics.h"
#include "model_adapter.h"
#include "options.h"
#include "publisher.h"
#include "reasons.h"
#include "reload_rules.h"
#include "reply.h"
#include "router.h"
#include "util.h"

#define MAX_MODELS (1 + CSG_MAX_CHALLENGERS)
#define CMD_DRAIN 1u
#define CMD_STOP 2u
#define PROBE_INTERVAL_MS 1000

/* ------------------------------------------------------------------------ */
/* Routing snapshots                                                         */

/* What one worker holds of a snapshot. Only that worker touches it. */
typedef struct snap_slot {
    _Alignas(64) unsigned inflight; /* request/probe contexts using this slot */
    bool retired;                   /* adapters destroyed */
    void *inst[MAX_MODELS];         /* [0] champion, [1+i] challenger i */
    csg_model_stats *stats[MAX_MODELS];
} snap_slot;

typedef struct csg_snapshot {
    uint64_t generation;
    csg_config *cfg;
    csg_router *router;
    unsigned n_models; /* 1 + challengers */
    const csg_cfg_model *models[MAX_MODELS];
    unsigned n_workers;
    _Atomic unsigned workers_left; /* slots not yet retired */
    snap_slot *slots;
    struct csg_snapshot *next; /* gateway's list of live snapshots (main thread) */
    struct csg_snapshot *gc_next;
} csg_snapshot;

/* ------------------------------------------------------------------------ */
/* Workers and the gateway                                                   */

struct csg_worker {
    unsigned index;
    csg_gateway *gw;
    struct event_base *base;
    struct event *wake;
    struct event *probe_timer;
    struct event *drain_timer;
    pthread_t thread;
    bool thread_started;
    _Atomic(csg_snapshot *) pending;
    _Atomic unsigned cmd;
    _Atomic bool drained;
    bool draining;
    csg_snapshot *current;
    csg_rng rng;
    unsigned live; /* contexts alive on this worker */
    double last_champion_ms;
    double last_drop_log_ms;
    unsigned champ_fail_streak;
    bool probe_outstanding;
    double probe_started_ms;
    csg_worker_metrics *metrics;
    unsigned transports_started;
};

struct csg_gateway {
    csg_config *cfg; /* the startup config: transports, events, limits, workers */
    char *config_path;
    unsigned n_workers;
    csg_worker *workers;
    csg_worker_metrics **metrics;
    csg_snapshot *snap;      /* latest (main thread's view) */
    csg_snapshot *all_snaps; /* every snapshot not yet freed */
    uint64_t generation;
    void *transports[CSG_MAX_TRANSPORTS];
    int lock_fds[CSG_MAX_TRANSPORTS];
    csg_event_queue *queue;
    csg_publisher *pub;
    _Atomic uint64_t reloads_ok, reloads_failed;
    _Atomic uint64_t config_version; /* of the serving snapshot, for /metrics */
    _Atomic int ready;
    _Atomic int64_t ready_logged_ms;
    _Atomic unsigned long ready_flips_unlogged;
    /* start hand-shake with the workers */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned started;
    int start_rc;
    csg_error start_err;
    /* retired snapshots handed from workers to main */
    pthread_mutex_t gc_mu;
    csg_snapshot *gc_list;
    /* main loop */
    struct event_base *main_base;
    struct event *gc_ev;
    bool reload_deferred;
    struct event *reload_retry;
};

static csg_gateway *g_gw;
static csg_core_api g_api;

static void gc_collect(csg_gateway *gw);

/* ------------------------------------------------------------------------ */
/* Snapshot life cycle                                                       */

static void snapshot_destroy_slot_instances(csg_snapshot *s, unsigned wi)
{
    snap_slot *sl = &s->slots[wi];
    for (unsigned m = 0; m < s->n_models; m++)
        if (sl->inst[m]) {
            s->models[m]->plugin->adapter->destroy(sl->inst[m]);
            sl->inst[m] = NULL;
        }
    sl->retired = true;
}

static void snapshot_free(csg_snapshot *s)
{
    if (!s)
        return;
    csg_router_free(s->router);
    csg_config_unref(s->cfg);
    free(s->slots);
    free(s);
}

/* Main thread. Adapters are created here for every worker, by the call
 * --check-config makes too (model_adapter.h); create() only allocates, the
 * first score_async on the worker adds events. */
static csg_snapshot *snapshot_build(csg_gateway *gw, csg_config *cfg, csg_error *err)
{
    csg_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->cfg = csg_config_ref(cfg);
    s->n_workers = gw->n_workers;
    s->slots = aligned_alloc(64, ((sizeof(snap_slot) * gw->n_workers + 63) / 64) * 64);
    if (!s->slots)
        goto oom;
    memset(s->slots, 0, sizeof(snap_slot) * gw->n_workers);
    atomic_init(&s->workers_left, gw->n_workers);
    s->n_models = 1 + (unsigned)cfg->n_challengers;
    s->models[0] = &cfg->champion;
    double weights[CSG_MAX_CHALLENGERS];
    for (size_t i = 0; i < cfg->n_challengers; i++) {
        s->models[1 + i] = &cfg->challengers[i];
        weights[i] = cfg->challengers[i].weight;
    }
    s->router = csg_router_new(cfg->assignment, cfg->salt, weights, (unsigned)cfg->n_challengers);
    if (!s->router)
        goto oom;
    for (unsigned w = 0; w < gw->n_workers; w++) {
        for (unsigned m = 0; m < s->n_models; m++) {
            if (csg_model_adapter_create(cfg, s->models[m], &g_api, gw->workers[w].base,
                                         &s->slots[w].inst[m], err) != 0) {
                /* Never used by a worker: safe to destroy here. */
                for (unsigned ww = 0; ww <= w; ww++)
                    snapshot_destroy_slot_instances(s, ww);
                snapshot_free(s);
                return NULL;
            }
        }
    }
    s->generation = ++gw->generation;
    return s;
oom:
    if (err)
        snprintf(err->message, sizeof err->message, "out of memory building the routing table");
    snapshot_free(s);
    return NULL;
}

/* Worker thread: this worker is done with s (no context uses it and a newer
 * one is current). */
static void retire_slot(csg_worker *w, csg_snapshot *s)
{
    if (s->slots[w->index].retired)
        return;
    snapshot_destroy_slot_instances(s, w->index);
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

static void adopt(csg_worker *w, csg_snapshot *s)
{
    csg_snapshot *old = w->current;
    snap_slot *sl = &s->slots[w->index];
    for (unsigned m = 0; m < s->n_models; m++) {
        sl->stats[m] = csg_metrics_model(w->metrics, s->models[m]->name);
        if (m > 0 && sl->stats[m])
            atomic_store_explicit(&sl->stats[m]->is_challenger, true, memory_order_relaxed);
    }
    w->current = s;
    if (old && old->slots[w->index].inflight == 0)
        retire_slot(w, old);
}

/* ------------------------------------------------------------------------ */
/* Request dispatch                                                          */

typedef struct req_ctx req_ctx;

typedef enum call_state { CALL_UNUSED = 0, CALL_PENDING, CALL_DONE } call_state;

typedef struct model_call {
    req_ctx *ctx;
    unsigned model; /* index in the snapshot */
    call_state state;
    bool outstanding; /* adapter callback not yet received */
    bool timer_set;
    struct event timer;
    double start_ms;
    double latency_ms;
    csg_score_status status;
    double score;
    csg_decision decision;
    csg_reason_codes reasons; /* when status is OK */
    char error[128];
} model_call;

struct req_ctx {
    csg_worker *w;
    csg_snapshot *snap;
    csg_request req;
    char transport[CSG_EVENT_TRANSPORT_MAX + 1]; /* copied whole into the event */
    csg_reply_cb on_reply;
    void *reply_ctx;
    int64_t wall_ms;
    double t0;
    model_call champ, chal;
    csg_reason_texts champ_texts; /* the rest of champ.reasons, for the reply */
    bool has_chal;
    bool is_probe;
    bool in_submit;
    bool reply_due; /* reply decided while inside submit: deliver from the loop */
    bool replied;
    bool event_done;
    bool deadline_set, defer_set;
    csg_reply_status due_status;
    struct event deadline_ev;
    struct event defer_ev;
};

static void ctx_maybe_free(req_ctx *c);
static void progress(req_ctx *c);

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

static void call_finish(model_call *mc, csg_score_status st, double score, csg_decision d,
                        const char *error)
{
    req_ctx *c = mc->ctx;
    mc->state = CALL_DONE;
    mc->latency_ms = csg_now_ms() - mc->start_ms;
    mc->status = st;
    mc->score = score;
    mc->decision = d;
    if (st != CSG_SCORE_OK)
        snprintf(mc->error, sizeof mc->error, "%s",
                 error && *error              ? error
                 : st == CSG_SCORE_TIMEOUT    ? "timed out"
                 : st == CSG_SCORE_OVERLOADED ? "overloaded"
                                              : "model error");
    if (mc->timer_set) {
        event_del(&mc->timer);
        mc->timer_set = false;
    }
    if (!c->is_probe)
        csg_metrics_observe_latency(c->snap->slots[c->w->index].stats[mc->model], mc->latency_ms);
    if (mc == &c->champ) {
        csg_worker *w = c->w;
        w->last_champion_ms = csg_now_ms();
        if (st == CSG_SCORE_OK) {
            w->champ_fail_streak = 0;
            set_ready(w->gw, true, c->snap->models[0]->name, NULL);
        } else if (st == CSG_SCORE_OVERLOADED) {
            /* Load on this gateway says nothing about the champion: readiness
             * must not flap at peak load (DESIGN §5). */
        } else if (++w->champ_fail_streak >= NOT_READY_STREAK || c->is_probe) {
            set_ready(w->gw, false, c->snap->models[0]->name, mc->error);
        }
    }
    progress(c);
}

static void on_score(void *arg, const csg_score_result *r)
{
    model_call *mc = arg;
    req_ctx *c = mc->ctx;
    mc->outstanding = false;
    if (mc->state == CALL_PENDING) {
        csg_score_status st = r ? r->status : CSG_SCORE_ERROR;
        if (st != CSG_SCORE_OK && st != CSG_SCORE_TIMEOUT && st != CSG_SCORE_OVERLOADED)
            st = CSG_SCORE_ERROR; /* an unknown value from a newer adapter */
        double score = r ? r->score : 0;
        csg_decision d = r ? r->decision : CSG_DECISION_NONE;
        /* A model's word is only taken when it makes sense (DESIGN §5). */
        if (st == CSG_SCORE_OK && (!(score >= 0 && score <= 1) ||
                                   (d != CSG_DECISION_APPROVE && d != CSG_DECISION_DECLINE))) {
            call_finish(mc, CSG_SCORE_ERROR, 0, CSG_DECISION_NONE,
                        "the model returned an invalid score or decision");
            return;
        }
        /* Reasons are copied now (r's pointers die with this callback), and
         * never taken in part: a bad one makes the whole answer an error. */
        const char *bad = st == CSG_SCORE_OK
                              ? csg_reasons_take(r, &mc->reasons,
                                                 mc == &c->champ ? &c->champ_texts : NULL)
                              : NULL;
        if (bad) {
            char msg[sizeof mc->error];
            snprintf(msg, sizeof msg, "the model returned invalid %s", bad);
            call_finish(mc, CSG_SCORE_ERROR, 0, CSG_DECISION_NONE, msg);
            return;
        }
        call_finish(mc, st, score, d, r ? r->error : NULL);
        return;
    }
    /* A late answer after the core's timeout: ignored, but now the context
     * may go. */
    ctx_maybe_free(c);
}

static void on_call_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    model_call *mc = arg;
    mc->timer_set = false;
    if (mc->state == CALL_PENDING) {
        char msg[64];
        snprintf(msg, sizeof msg, "no answer within %u ms",
                 mc->ctx->snap->models[mc->model]->timeout_ms);
        call_finish(mc, CSG_SCORE_TIMEOUT, 0, CSG_DECISION_NONE, msg);
    }
}

static void start_call(req_ctx *c, model_call *mc, unsigned model)
{
    csg_worker *w = c->w;
    const csg_cfg_model *cm = c->snap->models[model];
    mc->ctx = c;
    mc->model = model;
    mc->state = CALL_PENDING;
    mc->outstanding = true;
    mc->start_ms = csg_now_ms();
    evtimer_assign(&mc->timer, w->base, on_call_timeout, mc);
    struct timeval tv = {cm->timeout_ms / 1000, (cm->timeout_ms % 1000) * 1000};
    evtimer_add(&mc->timer, &tv);
    mc->timer_set = true;
    cm->plugin->adapter->score_async(c->snap->slots[w->index].inst[model], c->req.app, on_score,
                                     mc);
}

/* snprintf(dst, cap, "%s", src) without printf: runs several times per
 * request. Truncates the same way; cap > 0. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* e comes from csg_event_new (features, brief values, applicant id). */
static void fill_event(req_ctx *c, csg_event *e)
{
    const csg_snapshot *s = c->snap;
    memcpy(e->event_id, c->req.request_id, sizeof e->event_id);
    copy_str(e->experiment_id, sizeof e->experiment_id, s->cfg->experiment_id);
    memcpy(e->config_version, s->cfg->version, sizeof e->config_version);
    memcpy(e->transport, c->transport, sizeof e->transport);
    copy_str(e->champion_model, sizeof e->champion_model, s->models[0]->name);
    e->champion_ok = c->champ.status == CSG_SCORE_OK;
    e->champion_score = c->champ.score;
    e->champion_decision = c->champ.decision;
    e->champion_reasons = c->champ.reasons;
    e->latency_champion_ms = c->champ.latency_ms;
    if (c->has_chal) {
        copy_str(e->challenger_model, sizeof e->challenger_model, s->models[c->chal.model]->name);
        e->challenger_ok = c->chal.status == CSG_SCORE_OK;
        e->challenger_score = c->chal.score;
        e->challenger_decision = c->chal.decision;
        e->challenger_reasons = c->chal.reasons;
        e->latency_challenger_ms = c->chal.latency_ms;
    }
    e->timestamp_ms = c->wall_ms;
    if (c->champ.status == CSG_SCORE_TIMEOUT)
        e->status = CSG_EVENT_CHAMPION_TIMEOUT;
    else if (c->champ.status != CSG_SCORE_OK)
        e->status = CSG_EVENT_CHAMPION_ERROR;
    else if (c->has_chal && c->chal.status == CSG_SCORE_TIMEOUT)
        e->status = CSG_EVENT_CHALLENGER_TIMEOUT;
    else if (c->has_chal && c->chal.status != CSG_SCORE_OK)
        e->status = CSG_EVENT_CHALLENGER_ERROR;
    else
        e->status = CSG_EVENT_OK;
}

static void emit_event(req_ctx *c)
{
    csg_worker *w = c->w;
    c->event_done = true;
    if (c->is_probe)
        return;
    csg_bump_signed(&w->metrics->events_waiting, -1);
    csg_event *e = csg_event_new(c->req.app);
    if (!e) {
        csg_bump(&w->metrics->events_dropped, 1);
        return;
    }
    fill_event(c, e);
    if (!csg_event_queue_push(w->gw->queue, e)) {
        free(e); /* full: drop and count, never block the worker */
        csg_bump(&w->metrics->events_dropped, 1);
        double now = csg_now_ms();
        if (now - w->last_drop_log_ms >= 10000) { /* a log line per 10 s, not per event */
            w->last_drop_log_ms = now;
            csg_log(CSG_LOG_WARN, "core",
                    "worker %u: event queue full (capacity %zu): dropping events (%llu so far "
                    "on this worker); is the sink keeping up?",
                    w->index, csg_event_queue_capacity(w->gw->queue),
                    (unsigned long long)atomic_load_explicit(&w->metrics->events_dropped,
                                                             memory_order_relaxed));
        }
        return;
    }
    csg_bump(&w->metrics->events_queued, 1);
    csg_publisher_notify(w->gw->pub);
}

static void deliver_reply(req_ctx *c, csg_reply_status st)
{
    const csg_snapshot *s = c->snap;
    c->replied = true;
    if (c->deadline_set) {
        event_del(&c->deadline_ev);
        c->deadline_set = false;
    }
    if (c->is_probe)
        return;
    char msg[200] = "";
    csg_reason reasons[CSG_REASONS_MAX];
    csg_reply r = {
        .status = st,
        .size = sizeof r,
        .applicant_id = csg_app_applicant_id(c->req.app),
        .model = s->models[0]->name,
        .experiment_id = s->cfg->experiment_id,
        .request_id = c->req.request_id,
    };
    if (st == CSG_REPLY_OK) {
        if (c->champ.status == CSG_SCORE_OK) {
            r.score = c->champ.score;
            r.decision = c->champ.decision;
            r.reason_count = csg_reasons_view(&c->champ.reasons, &c->champ_texts, reasons);
            r.reasons = reasons;
        } else {
            r.score = NAN;
            r.decision = s->cfg->champion.fallback_decision;
            r.is_fallback = true;
            r.reason_count = 1;
            r.reasons = &csg_reason_fallback;
        }
    } else if (st == CSG_REPLY_DEADLINE) {
        snprintf(msg, sizeof msg, "the client's deadline passed before the champion answered");
    } else {
        snprintf(msg, sizeof msg, "champion model %s: %s", s->models[0]->name, c->champ.error);
    }
    r.error_message = msg;
    c->on_reply(c->reply_ctx, &r);
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    req_ctx *c = arg;
    c->defer_set = false;
    if (c->reply_due && !c->replied) {
        c->reply_due = false;
        deliver_reply(c, c->due_status);
    }
    ctx_maybe_free(c);
}

static void reply(req_ctx *c, csg_reply_status st)
{
    if (c->replied || c->reply_due)
        return;
    if (c->in_submit) {
        /* Never call the transport back from inside its own submit(). */
        c->reply_due = true;
        c->due_status = st;
        return;
    }
    deliver_reply(c, st);
}

static csg_reply_status champion_reply_status(const req_ctx *c)
{
    if (c->champ.status == CSG_SCORE_OK)
        return CSG_REPLY_OK;
    /* Shed load is answered as such even with a fallback configured: the
     * client should retry, not get a "review" for a healthy champion. */
    if (c->champ.status == CSG_SCORE_OVERLOADED)
        return CSG_REPLY_OVERLOADED;
    if (c->snap->cfg->champion.fallback_decision != CSG_DECISION_NONE)
        return CSG_REPLY_OK;
    return c->champ.status == CSG_SCORE_TIMEOUT ? CSG_REPLY_CHAMPION_TIMEOUT
                                                : CSG_REPLY_CHAMPION_ERROR;
}

static void progress(req_ctx *c)
{
    bool champ_done = c->champ.state == CALL_DONE;
    bool chal_done = !c->has_chal || c->chal.state == CALL_DONE;
    /* The event is queued as soon as both answers are known — in after_all
     * mode before the reply goes out (the brief's literal order). */
    if (champ_done && chal_done && !c->event_done)
        emit_event(c);
    if (champ_done && !c->replied &&
        (c->snap->cfg->reply == CSG_REPLY_AFTER_CHAMPION || chal_done))
        reply(c, champion_reply_status(c));
    ctx_maybe_free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    req_ctx *c = arg;
    c->deadline_set = false;
    if (!c->replied)
        reply(c, CSG_REPLY_DEADLINE);
    ctx_maybe_free(c);
}

static void ctx_maybe_free(req_ctx *c)
{
    if (c->in_submit || !c->replied || !c->event_done || c->champ.outstanding ||
        c->chal.outstanding || c->defer_set || c->reply_due)
        return;
    if (c->champ.timer_set)
        event_del(&c->champ.timer);
    if (c->chal.timer_set)
        event_del(&c->chal.timer);
    if (c->deadline_set)
        event_del(&c->deadline_ev);
    csg_worker *w = c->w;
    csg_snapshot *s = c->snap;
    snap_slot *sl = &s->slots[w->index];
    sl->inflight--;
    w->live--;
    if (c->is_probe)
        w->probe_outstanding = false;
    csg_app_free(c->req.app);
    free(c);
    if (sl->inflight == 0 && s != w->current)
        retire_slot(w, s);
}

static req_ctx *ctx_new(csg_worker *w)
{
    req_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w = w;
    c->snap = w->current;
    c->snap->slots[w->index].inflight++;
    w->live++;
    c->t0 = csg_now_ms();
    c->wall_ms = csg_wall_ms();
    return c;
}

static void core_submit(csg_worker *w, const csg_request *in, csg_reply_cb on_reply, void *ctx)
{
    csg_request rq = *in, *req = &rq;
    /* Parsed under an older schema (a reload came in between): map it onto
     * the one this worker's adapters were created with. */
    const csg_schema *now = w->current->cfg->schema;
    if (csg_app_schema(req->app) != now) {
        char id[CSG_APPLICANT_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", csg_app_applicant_id(req->app));
        rq.app = csg_app_rebind(req->app, now);
        if (!rq.app) {
            csg_reply r = {.size = sizeof r, .status = CSG_REPLY_OVERLOADED, .applicant_id = id,
                           .request_id = req->request_id, .error_message = "out of memory"};
            on_reply(ctx, &r);
            return;
        }
    }
    req_ctx *c = ctx_new(w);
    if (!c) {
        /* No memory for even a context: answer at once (the one case where
         * the callback runs inside submit). */
        csg_reply r = {.size = sizeof r,
                       .status = CSG_REPLY_OVERLOADED,
                       .applicant_id = csg_app_applicant_id(req->app),
                       .request_id = req->request_id,
                       .error_message = "out of memory"};
        on_reply(ctx, &r);
        csg_app_free(req->app);
        return;
    }
    c->req = *req;
    c->req.size = sizeof c->req;
    c->req.request_id[CSG_REQUEST_ID_MAX] = '\0';
    if (!c->req.request_id[0])
        csg_uuid4(&w->rng, c->req.request_id);
    copy_str(c->transport, sizeof c->transport, req->transport ? req->transport : "?");
    c->on_reply = on_reply;
    c->reply_ctx = ctx;
    c->in_submit = true;
    /* Timers below count from libevent's cached loop time; refresh it so a
     * worker that has been busy (or preempted) does not time out early. */
    event_base_update_cache_time(w->base);
    csg_snapshot *s = c->snap;
    snap_slot *sl = &s->slots[w->index];
    csg_bump_signed(&w->metrics->events_waiting, 1);

    int chal = csg_router_pick(s->router, csg_app_applicant_id(c->req.app), &w->rng);
    c->champ.ctx = c;
    c->chal.ctx = c;
    if (chal >= 0) {
        c->has_chal = true;
        c->chal.state = CALL_PENDING; /* before any adapter runs: see progress() */
        if (sl->stats[1 + chal])
            csg_bump(&sl->stats[1 + chal]->assignments, 1);
    }
    if (req->deadline_ms > 0) {
        int64_t left = req->deadline_ms - csg_now_ms_int();
        evtimer_assign(&c->deadline_ev, w->base, on_deadline, c);
        if (left < 0)
            left = 0;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
        evtimer_add(&c->deadline_ev, &tv);
        c->deadline_set = true;
    }
    c->champ.state = CALL_PENDING;
    start_call(c, &c->champ, 0);
    if (chal >= 0)
        start_call(c, &c->chal, 1 + (unsigned)chal);

    c->in_submit = false;
    if (c->reply_due) {
        event_assign(&c->defer_ev, w->base, -1, 0, on_deferred, c);
        event_active(&c->defer_ev, EV_TIMEOUT, 0);
        c->defer_set = true;
        return;
    }
    ctx_maybe_free(c);
}

/* Readiness: the champion answered its last call. When worker 0 has seen
 * no champion traffic for a second it sends a probe application through
 * the champion adapter (not counted in metrics or events). */
static void on_probe_timer(evutil_socket_t fd, short what, void *arg)
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
        csg_application *app = csg_app_probe(w->current->cfg->schema);
        req_ctx *c = app ? ctx_new(w) : NULL;
        if (!c)
            csg_app_free(app);
        if (c) {
            c->is_probe = true;
            c->replied = true;
            c->req.app = app;
            snprintf(c->transport, sizeof c->transport, "probe");
            c->champ.ctx = c;
            c->chal.ctx = c;
            w->probe_outstanding = true;
            w->probe_started_ms = now;
            c->in_submit = true;
            start_call(c, &c->champ, 0);
            c->in_submit = false;
            ctx_maybe_free(c);
        }
    }
    struct timeval tv = {PROBE_INTERVAL_MS / 1000, (PROBE_INTERVAL_MS % 1000) * 1000};
    evtimer_add(w->probe_timer, &tv);
}

/* ------------------------------------------------------------------------ */
/* Worker threads                                                            */

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
        adopt(w, s);
    unsigned cmd = atomic_load(&w->cmd);
    if ((cmd & CMD_DRAIN) && !w->draining) {
        w->draining = true;
        if (w->probe_timer)
            evtimer_del(w->probe_timer);
        struct timeval tv = {0, 0};
        evtimer_add(w->drain_timer, &tv);
    }
    if (cmd & CMD_STOP) {
        /* Adapters are destroyed on their own worker thread. Contexts still
         * alive past the drain deadline keep their slot (and leak at exit). */
        if (w->current && w->current->slots[w->index].inflight == 0)
            snapshot_destroy_slot_instances(w->current, w->index);
        event_base_loopbreak(w->base);
    }
}

static void *worker_main(void *arg)
{
    csg_worker *w = arg;
    csg_gateway *gw = w->gw;
    csg_error err = {{0}};
    int rc = 0;
    adopt(w, gw->snap);
    for (unsigned i = 0; i < gw->cfg->n_transports; i++) {
        const csg_transport_plugin *tp = gw->cfg->transports[i].plugin->transport;
        rc = tp->start_worker(gw->transports[i], w, &err);
        if (rc != 0)
            break;
        w->transports_started++;
    }
    if (rc == 0 && w->index == 0) {
        struct timeval tv = {0, 50000};
        evtimer_add(w->probe_timer, &tv);
    }
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

/* ------------------------------------------------------------------------ */
/* core_api                                                                  */

static void api_log(csg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void api_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csg_vlog(level, component, fmt, ap);
    va_end(ap);
}

static struct event_base *api_worker_base(csg_worker *w)
{
    return w->base;
}

static unsigned api_worker_index(csg_worker *w)
{
    return w->index;
}

static unsigned api_worker_count(void)
{
    return g_gw ? g_gw->n_workers : 0;
}

static void api_count_request(csg_worker *w, const char *transport, const char *status)
{
    csg_metrics_count_request(w->metrics, transport ? transport : "?", status ? status : "?");
}

static char *api_render_metrics(size_t *len)
{
    csg_gateway *gw = g_gw;
    if (!gw)
        return NULL;
    csg_metrics_globals g = {
        .sink = gw->pub ? csg_publisher_stats(gw->pub) : NULL,
        .queue_depth = gw->queue ? csg_event_queue_depth(gw->queue) : 0,
        .reloads_ok = atomic_load(&gw->reloads_ok),
        .reloads_failed = atomic_load(&gw->reloads_failed),
        .config_version = atomic_load(&gw->config_version),
    };
    return csg_metrics_render(gw->metrics, gw->n_workers, &g, len);
}

/* Against the schema w serves now: w's thread only (csg/plugin.h). */
static csg_parse_status api_parse_application(csg_worker *w, const char *json, size_t len,
                                              csg_application **app, char *request_id,
                                              csg_parse_error *err)
{
    return csg_app_parse(w->current->cfg->schema, json, len, app, request_id, err);
}

static bool api_is_ready(void)
{
    return g_gw && atomic_load_explicit(&g_gw->ready, memory_order_relaxed);
}

const csg_core_api *csg_gateway_api(void)
{
    return &g_api;
}

static void api_init(const csg_config *cfg)
{
    g_api = (csg_core_api){
        .size = sizeof(csg_core_api),
        .abi_major = CSG_ABI_MAJOR,
        .abi_minor = CSG_ABI_MINOR,
        .log = api_log,
        .worker_base = api_worker_base,
        .worker_index = api_worker_index,
        .worker_count = api_worker_count,
        .submit = core_submit,
        .parse_application = api_parse_application,
        .valid_request_id = csg_valid_request_id,
        .format_reply = csg_format_reply,
        .format_error = csg_format_error,
        .count_request = api_count_request,
        .options_apply = csg_options_apply,
        .render_metrics = api_render_metrics,
        .is_ready = api_is_ready,
        .max_body_bytes = (size_t)cfg->max_body_bytes,
        .max_line_bytes = (size_t)cfg->max_line_bytes,
        .max_connections = (unsigned)cfg->max_connections,
        .idle_timeout_ms = (unsigned)cfg->idle_timeout_ms,
        .read_timeout_ms = (unsigned)cfg->read_timeout_ms,
    };
    csg_app_api_fill(&g_api);
}

int csg_gateway_check(const csg_config *cfg, csg_errlist *errs)
{
    if (g_gw) {
        csg_errlist_add(errs, "%s: a gateway is already running in this process", cfg->file);
        return -CSG_EINVAL;
    }
    api_init(cfg);
    return csg_model_adapters_check(cfg, &g_api, errs);
}

csg_worker *csg_gateway_worker(csg_gateway *gw, unsigned i)
{
    return i < gw->n_workers ? &gw->workers[i] : NULL;
}

unsigned csg_gateway_worker_count(csg_gateway *gw)
{
    return gw->n_workers;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                            */

static void stop_workers(csg_gateway *gw)
{
    if (!gw->workers)
        return;
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        if (!w->thread_started)
            continue;
        atomic_fetch_or(&w->cmd, CMD_STOP);
        event_active(w->wake, EV_READ, 0);
    }
    for (unsigned i = 0; i < gw->n_workers; i++)
        if (gw->workers[i].thread_started) {
            pthread_join(gw->workers[i].thread, NULL);
            gw->workers[i].thread_started = false;
        }
}

static void gateway_free(csg_gateway *gw)
{
    /* Transports: after the workers have exited (ABI). */
    for (unsigned i = 0; i < gw->cfg->n_transports; i++)
        if (gw->transports[i]) {
            gw->cfg->transports[i].plugin->transport->destroy(gw->transports[i]);
            gw->transports[i] = NULL;
        }
    /* Snapshots: whatever is left (their slots were retired or abandoned). */
    gc_collect(gw);
    for (csg_snapshot *s = gw->all_snaps, *n; s; s = n) {
        n = s->next;
        snapshot_free(s);
    }
    gw->all_snaps = NULL;
    if (gw->pub) {
        csg_publisher_stop(gw->pub, 10000);
        gw->pub = NULL;
    }
    csg_event_queue_free(gw->queue);
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
    for (unsigned i = 0; i < CSG_MAX_TRANSPORTS; i++)
        csg_lockfile_release(gw->lock_fds[i]);
    if (gw->gc_ev)
        event_free(gw->gc_ev);
    if (gw->reload_retry)
        event_free(gw->reload_retry);
    if (gw->main_base)
        event_base_free(gw->main_base);
    pthread_mutex_destroy(&gw->mu);
    pthread_cond_destroy(&gw->cv);
    pthread_mutex_destroy(&gw->gc_mu);
    csg_config_unref(gw->cfg);
    free(gw->config_path);
    if (g_gw == gw)
        g_gw = NULL;
    free(gw);
}

static void on_gc(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gc_collect(arg);
}

/* Main thread: free snapshots every worker has retired. */
static void gc_collect(csg_gateway *gw)
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
        snapshot_free(s);
    }
}

static void use_pthreads(void)
{
    evthread_use_pthreads(); /* event_active() from other threads needs it */
}

int csg_gateway_start(csg_config *cfg, const char *config_path, csg_gateway **out,
                      csg_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_pthreads);
    *out = NULL;
    if (g_gw) {
        snprintf(err->message, sizeof err->message, "a gateway is already running in this process");
        return -CSG_EINVAL;
    }
    csg_gateway *gw = calloc(1, sizeof *gw);
    if (!gw)
        return -CSG_ENOMEM;
    gw->cfg = csg_config_ref(cfg);
    gw->config_path = csg_strdup(config_path);
    gw->n_workers = cfg->workers;
    for (unsigned i = 0; i < CSG_MAX_TRANSPORTS; i++)
        gw->lock_fds[i] = -1;
    pthread_mutex_init(&gw->mu, NULL);
    pthread_cond_init(&gw->cv, NULL);
    pthread_mutex_init(&gw->gc_mu, NULL);
    atomic_init(&gw->ready_logged_ms, INT64_MIN / 2);
    g_gw = gw;
    api_init(cfg);
    int rc = -CSG_EIO;

    /* 1. Claim every port before anything binds (lockfile.h). */
    for (unsigned i = 0; i < cfg->n_transports; i++) {
        int fd = csg_lockfile_claim(cfg->lock_dir, cfg->transports[i].listen, err);
        if (fd < 0)
            goto fail;
        gw->lock_fds[i] = fd;
    }

    /* 2. Event queue and sink. */
    gw->queue = csg_event_queue_new((size_t)cfg->queue_capacity);
    if (!gw->queue) {
        snprintf(err->message, sizeof err->message, "out of memory for the event queue");
        goto fail;
    }
    csg_sink_config sc = {
        .sink = cfg->sink,
        .brokers = cfg->kafka_brokers,
        .topic = cfg->topic,
        .spool_dir = cfg->spool_dir,
        .spool_max_bytes = cfg->spool_max_bytes,
    };
    if (csg_publisher_start(gw->queue, &sc, &gw->pub, err) != 0)
        goto fail;

    /* 3. Workers' bases (threads come later). */
    gw->workers = calloc(gw->n_workers, sizeof *gw->workers);
    gw->metrics = calloc(gw->n_workers, sizeof *gw->metrics);
    if (!gw->workers || !gw->metrics)
        goto oom;
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        w->index = i;
        w->gw = gw;
        csg_rng_seed(&w->rng);
        w->metrics = aligned_alloc(64, ((sizeof(csg_worker_metrics) + 63) / 64) * 64);
        if (!w->metrics)
            goto oom;
        memset(w->metrics, 0, sizeof(csg_worker_metrics));
        gw->metrics[i] = w->metrics;
        /* Precise timers: the default coarse monotonic clock ticks in 4 ms
         * jiffies, so a 100 ms model timeout could fire after 96 ms. */
        struct event_config *ec = event_config_new();
        if (!ec)
            goto oom;
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
        if (!w->base)
            goto oom;
        w->wake = event_new(w->base, -1, 0, on_wake, w);
        w->probe_timer = evtimer_new(w->base, on_probe_timer, w);
        w->drain_timer = evtimer_new(w->base, on_drain_timer, w);
        if (!w->wake || !w->probe_timer || !w->drain_timer)
            goto oom;
        w->last_champion_ms = -1e9;
        w->last_drop_log_ms = -1e9;
    }
    gw->main_base = event_base_new();
    if (!gw->main_base)
        goto oom;
    gw->gc_ev = event_new(gw->main_base, -1, 0, on_gc, gw);
    if (!gw->gc_ev)
        goto oom;

    /* 4. The first routing snapshot (adapters per worker). */
    gw->snap = snapshot_build(gw, cfg, err);
    if (!gw->snap)
        goto fail;
    gw->all_snaps = gw->snap;
    atomic_store(&gw->config_version, strtoull(cfg->version, NULL, 16));

    /* 5. Transports bind their sockets (main thread). */
    for (unsigned i = 0; i < cfg->n_transports; i++) {
        const csg_cfg_transport *t = &cfg->transports[i];
        csg_transport_config tc = {
            .size = sizeof tc,
            .listen = t->listen,
            .options = t->options,
            .config_file = cfg->file,
        };
        csg_error e = {{0}};
        if (t->plugin->transport->create(&tc, &g_api, &gw->transports[i], &e) != 0) {
            gw->transports[i] = NULL;
            snprintf(err->message, sizeof err->message, "%.200s (%.64s): init failed: %.200s",
                     t->plugin_path, t->listen, e.message[0] ? e.message : "create() failed");
            goto fail;
        }
    }

    /* 6. Worker threads: each starts its transports, then runs its loop. */
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err->message, sizeof err->message, "cannot start worker thread %u", i);
            goto fail;
        }
        w->thread_started = true;
    }
    pthread_mutex_lock(&gw->mu);
    while (gw->started < gw->n_workers)
        pthread_cond_wait(&gw->cv, &gw->mu);
    rc = gw->start_rc;
    if (rc != 0)
        *err = gw->start_err;
    pthread_mutex_unlock(&gw->mu);
    if (rc != 0)
        goto fail;

    /* 7. Transports' own threads (gRPC completion queue). */
    for (unsigned i = 0; i < cfg->n_transports; i++) {
        const csg_transport_plugin *tp = cfg->transports[i].plugin->transport;
        csg_error e = {{0}};
        if (tp->start && tp->start(gw->transports[i], &e) != 0) {
            snprintf(err->message, sizeof err->message, "%.200s (%.64s): start failed: %.200s",
                     cfg->transports[i].plugin_path, cfg->transports[i].listen, e.message);
            rc = -CSG_EPLUGIN;
            goto fail;
        }
    }
    *out = gw;
    return 0;
oom:
    snprintf(err->message, sizeof err->message, "out of memory");
fail:
    stop_workers(gw);
    /* The snapshot's adapters were never used if no worker ran: destroy here. */
    if (gw->snap)
        for (unsigned i = 0; gw->workers && i < gw->n_workers; i++)
            if (!gw->snap->slots[i].retired)
                snapshot_destroy_slot_instances(gw->snap, i);
    gateway_free(gw);
    return rc ? rc : -CSG_EIO;
}

bool csg_gateway_swapped(csg_gateway *gw)
{
    for (unsigned i = 0; i < gw->n_workers; i++)
        if (atomic_load(&gw->workers[i].pending))
            return false;
    return true;
}

int csg_gateway_reload_config(csg_gateway *gw, csg_config *cfg, csg_error *err)
{
    csg_snapshot *s = snapshot_build(gw, cfg, err);
    if (!s)
        return -CSG_EPLUGIN;
    s->next = gw->all_snaps;
    gw->all_snaps = s;
    gw->snap = s;
    atomic_store(&gw->config_version, strtoull(cfg->version, NULL, 16));
    for (unsigned i = 0; i < gw->n_workers; i++) {
        csg_worker *w = &gw->workers[i];
        atomic_store(&w->pending, s);
        event_active(w->wake, EV_READ, 0);
    }
    return 0;
}

int csg_gateway_reload(csg_gateway *gw)
{
    csg_config *cfg = csg_reload_load(gw->config_path, gw->cfg, gw->snap->cfg);
    if (!cfg) {
        atomic_fetch_add(&gw->reloads_failed, 1);
        return -CSG_EINVAL;
    }
    csg_error err = {{0}};
    int rc = csg_gateway_reload_config(gw, cfg, &err);
    if (rc != 0) {
        csg_log(CSG_LOG_ERROR, "core", "reload rejected: %s; the previous configuration stays in use",
                err.message);
        atomic_fetch_add(&gw->reloads_failed, 1);
    } else {
        csg_reload_log_applied(cfg, (unsigned long long)gw->snap->generation);
        atomic_fetch_add(&gw->reloads_ok, 1);
    }
    csg_config_unref(cfg);
    return rc;
}

void csg_gateway_shutdown(csg_gateway *gw)
{
    if (!gw)
        return;
    double t0 = csg_now_ms();
    /* 1. No new connections or calls. */
    for (unsigned i = 0; i < gw->cfg->n_transports; i++) {
        const csg_transport_plugin *tp = gw->cfg->transports[i].plugin->transport;
        if (tp->stop && gw->transports[i])
            tp->stop(gw->transports[i]);
    }
    /* 2. Drain: workers finish what is in flight (main may block here: it
     *    serves no requests). */
    for (unsigned i = 0; i < gw->n_workers; i++) {
        atomic_fetch_or(&gw->workers[i].cmd, CMD_DRAIN);
        event_active(gw->workers[i].wake, EV_READ, 0);
    }
    double deadline = t0 + gw->cfg->drain_timeout_ms;
    bool all = false;
    while (!all && csg_now_ms() < deadline) {
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
    if (left)
        csg_log(CSG_LOG_WARN, "core", "drain deadline (%u ms) passed with %u worker(s) still busy",
                gw->cfg->drain_timeout_ms, left);
    /* 3. Workers exit; 4. transports and snapshots go; 5. the publisher
     *    delivers what is queued and closes the sink. */
    stop_workers(gw);
    size_t depth = csg_event_queue_depth(gw->queue);
    gateway_free(gw);
    csg_log(CSG_LOG_INFO, "core", "stopped in %.0f ms (%zu event(s) flushed at exit)",
            csg_now_ms() - t0, depth);
}

/* ------------------------------------------------------------------------ */
/* Main loop                                                                 */

static void on_reload_retry(evutil_socket_t fd, short what, void *arg);

static void try_reload(csg_gateway *gw)
{
    if (!csg_gateway_swapped(gw)) {
        /* Workers have not all adopted the previous table yet (rare, ms). */
        gw->reload_deferred = true;
        struct timeval tv = {0, 20000};
        evtimer_add(gw->reload_retry, &tv);
        return;
    }
    gw->reload_deferred = false;
    csg_gateway_reload(gw);
}

static void on_reload_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    try_reload(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    csg_gateway *gw = arg;
    if (sig == SIGHUP) {
        try_reload(gw);
        return;
    }
    csg_log(CSG_LOG_INFO, "core", "%s received: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(gw->main_base);
}

int csg_gateway_run(csg_gateway *gw)
{
    struct event *sigs[3];
    int signos[3] = {SIGHUP, SIGTERM, SIGINT};
    gw->reload_retry = evtimer_new(gw->main_base, on_reload_retry, gw);
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(gw->main_base, signos[i], on_signal, gw);
        evsignal_add(sigs[i], NULL);
    }
    /* Signals were blocked before any thread started so that only this
     * thread (and its libevent loop) receives them. */
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < 3; i++)
        sigaddset(&set, signos[i]);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    csg_log(CSG_LOG_INFO, "core",
            "csg-gateway running: %u worker(s), %zu transport(s), champion %s, config_version %s",
            gw->n_workers, gw->cfg->n_transports, gw->snap->cfg->champion.name,
            gw->snap->cfg->version);
    event_base_dispatch(gw->main_base);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    csg_gateway_shutdown(gw);
    return 0;
}
