/*
 * dispatch.c — the request state machine behind csg_core_api.submit
 * (gateway_state.h): route, call the champion and the chosen challenger
 * (assignment all: every challenger) concurrently, reply, queue the
 * MetricEvent. A live challenger's answer is the reply for its share; the
 * champion is still called, and decides when the live challenger fails.
 *
 * Ownership on the request path: a request context (req_ctx) belongs to the
 * worker that accepted it and is only touched on that worker's thread. It
 * holds its routing snapshot's per-worker slot (slot->inflight) so the
 * adapter instances it uses outlive it, and it lives until (a) the client
 * got its reply, (b) the MetricEvent was queued and (c) every adapter
 * callback arrived — also those that came after the core's own timeout.
 * Nothing here blocks or takes a lock: the event queue push is lock-free
 * and a full queue drops the event (counted).
 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "config_guard.h"
#include "event.h"
#include "gateway_state.h"
#include "log.h"
#include "reasons.h"
#include "reply.h"

typedef struct req_ctx req_ctx;

typedef enum call_state { CALL_UNUSED = 0, CALL_PENDING, CALL_DONE } call_state;

typedef struct model_call {
    req_ctx *ctx;
    unsigned model; /* index in the snapshot */
    call_state state;
    bool outstanding; /* adapter callback not yet received */
    bool timer_set;
    bool trial; /* a challenger called inside its guardrail's trial share */
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
    double read_ms; /* the request was read (parse_application began) */
    model_call champ;
    csg_reason_texts champ_texts; /* the rest of champ.reasons, for the reply */
    csg_reason_texts live_texts;  /* the same for a live challenger (chal[0]) */
    bool live;                    /* chal[0] is a live challenger: it decides */
    bool chal_held;      /* chosen, but a guardrail kept it from being called */
    unsigned held_model; /* its index in the snapshot's models, when chal_held */
    bool is_probe;
    bool in_submit;
    bool reply_due; /* reply decided while inside submit: deliver from the loop */
    bool replied;
    bool event_done;
    bool deadline_set, defer_set;
    csg_reply_status due_status;
    struct event deadline_ev;
    struct event defer_ev;
    unsigned n_chal;     /* challengers called: 0 or 1, every one under assignment all */
    model_call chal[];   /* n_chal of them */
};

static void ctx_maybe_free(req_ctx *c);
static void progress(req_ctx *c);
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
    csg_guard *g = mc != &c->champ ? c->snap->guards[mc->model] : NULL;
    if (g && st != CSG_SCORE_OVERLOADED) /* shed load is this gateway's, not the model's */
        csg_guard_record(g, &c->snap->models[mc->model]->guardrail, st == CSG_SCORE_OK,
                         mc->latency_ms);
    if (mc == &c->champ)
        csg_readiness_champion(c->w, st, c->is_probe, c->snap->models[0]->name, mc->error);
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
                                                 mc == &c->champ ? &c->champ_texts
                                                 : c->live       ? &c->live_texts
                                                                 : NULL)
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
    csg_event_status chal_status = CSG_EVENT_OK; /* the first failing challenger's */
    for (unsigned i = 0; i < c->n_chal && i < e->n_chal; i++) {
        const model_call *mc = &c->chal[i];
        csg_event_chal *ec = &e->chal[i];
        copy_str(ec->model, sizeof ec->model, s->models[mc->model]->name);
        ec->ok = mc->status == CSG_SCORE_OK;
        ec->live = c->live && i == 0;
        ec->trial = mc->trial;
        ec->score = mc->score;
        ec->decision = mc->decision;
        ec->reasons = mc->reasons;
        ec->latency_ms = mc->latency_ms;
        ec->status = ec->ok                         ? CSG_EVENT_OK
                     : mc->status == CSG_SCORE_TIMEOUT ? CSG_EVENT_CHALLENGER_TIMEOUT
                                                       : CSG_EVENT_CHALLENGER_ERROR;
        if (chal_status == CSG_EVENT_OK)
            chal_status = ec->status;
    }
    /* The brief's single-challenger keys repeat the first result (DESIGN §6). */
    if (e->n_chal > 0) {
        const csg_event_chal *first = &e->chal[0];
        copy_str(e->challenger_model, sizeof e->challenger_model, first->model);
        e->challenger_ok = first->ok;
        e->challenger_score = first->score;
        e->challenger_decision = first->decision;
        e->challenger_reasons = first->reasons;
        e->latency_challenger_ms = first->latency_ms;
    } else if (c->chal_held) {
        /* Named, never called: score, decision and latency stay null (DESIGN §6). */
        copy_str(e->challenger_model, sizeof e->challenger_model,
                 s->models[c->held_model]->name);
    }
    e->decided_by_challenger = c->live && c->chal[0].status == CSG_SCORE_OK;
    e->timestamp_ms = c->wall_ms;
    if (c->champ.status == CSG_SCORE_TIMEOUT)
        e->status = CSG_EVENT_CHAMPION_TIMEOUT;
    else if (c->champ.status != CSG_SCORE_OK)
        e->status = CSG_EVENT_CHAMPION_ERROR;
    else if (c->live && c->chal[0].status != CSG_SCORE_OK)
        e->status = CSG_EVENT_LIVE_FALLBACK;
    else if (c->chal_held)
        e->status = CSG_EVENT_CHALLENGER_SUSPENDED;
    else
        e->status = chal_status;
}

static void emit_event(req_ctx *c)
{
    csg_worker *w = c->w;
    c->event_done = true;
    if (c->is_probe)
        return;
    csg_bump_signed(&w->metrics->events_waiting, -1);
    csg_event *e = csg_event_new(c->req.app, c->n_chal);
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

/* csg_gateway_overhead_seconds: read → reply handed to the transport, less
 * the model call the reply waited for (the champion's, or the live
 * challenger's when longer). Not for a reply the client's deadline forced
 * before the champion answered: that time is the model's. */
static void observe_overhead(const req_ctx *c)
{
    if (c->champ.state != CALL_DONE)
        return;
    double waited = c->champ.latency_ms;
    if (c->live && c->chal[0].state == CALL_DONE && c->chal[0].latency_ms > waited)
        waited = c->chal[0].latency_ms;
    double sec = (csg_now_ms() - c->read_ms - waited) / 1000.0;
    csg_metrics_observe_overhead(c->w->metrics, c->transport, sec > 0 ? sec : 0);
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
        .arm = CSG_ARM_CHAMPION,
    };
    if (st == CSG_REPLY_OK) {
        if (c->live && c->chal[0].status == CSG_SCORE_OK) {
            const model_call *lc = &c->chal[0];
            r.model = s->models[lc->model]->name;
            r.arm = CSG_ARM_CHALLENGER;
            r.score = lc->score;
            r.decision = lc->decision;
            r.reason_count = csg_reasons_view(&lc->reasons, &c->live_texts, reasons);
            r.reasons = reasons;
        } else if (c->champ.status == CSG_SCORE_OK) {
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
    observe_overhead(c);
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
    bool chal_done = true;
    for (unsigned i = 0; i < c->n_chal; i++)
        chal_done = chal_done && c->chal[i].state == CALL_DONE;
    /* The event is queued as soon as every answer is known — in after_all
     * mode before the reply goes out (the brief's literal order). */
    if (champ_done && chal_done && !c->event_done)
        emit_event(c);
    if (!c->replied) {
        bool after_all = c->snap->cfg->reply == CSG_REPLY_AFTER_ALL;
        if (c->live && c->chal[0].state == CALL_DONE && c->chal[0].status == CSG_SCORE_OK &&
            (!after_all || (champ_done && chal_done)))
            reply(c, CSG_REPLY_OK); /* the live challenger decides */
        else if (champ_done && (!c->live || c->chal[0].state == CALL_DONE) &&
                 (!after_all || chal_done)) {
            csg_model_stats *ls =
                c->live ? c->snap->slots[c->w->index].stats[c->chal[0].model] : NULL;
            if (ls && c->champ.status == CSG_SCORE_OK)
                csg_bump(&ls->live_fallbacks, 1);
            reply(c, champion_reply_status(c));
        }
    }
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
        c->defer_set || c->reply_due)
        return;
    for (unsigned i = 0; i < c->n_chal; i++)
        if (c->chal[i].outstanding)
            return;
    if (c->champ.timer_set)
        event_del(&c->champ.timer);
    for (unsigned i = 0; i < c->n_chal; i++)
        if (c->chal[i].timer_set)
            event_del(&c->chal[i].timer);
    if (c->deadline_set)
        event_del(&c->deadline_ev);
    csg_worker *w = c->w;
    csg_snapshot *s = c->snap;
    csg_snap_slot *sl = &s->slots[w->index];
    sl->inflight--;
    w->live--;
    if (c->is_probe)
        w->probe_outstanding = false;
    csg_app_free(c->req.app);
    free(c);
    if (sl->inflight == 0 && s != w->current)
        csg_snapshot_retire_slot(w, s);
}

static req_ctx *ctx_new(csg_worker *w, unsigned n_chal)
{
    req_ctx *c = calloc(1, sizeof *c + n_chal * sizeof c->chal[0]);
    if (!c)
        return NULL;
    c->w = w;
    c->snap = w->current;
    c->snap->slots[w->index].inflight++;
    w->live++;
    c->n_chal = n_chal;
    for (unsigned i = 0; i < n_chal; i++)
        c->chal[i].ctx = c;
    c->t0 = csg_now_ms();
    c->wall_ms = csg_wall_ms();
    return c;
}

/* Which challengers this request calls: picks[0..n), indexes into the configured
 * challengers. Outside the experiment's schedule none. A challenger a guardrail holds off
 * is not called (its share goes to the champion); when it is the one routed to, *held
 * names it for the event (CHALLENGER_SUSPENDED). */
static unsigned route(csg_worker *w, const csg_snapshot *s, const char *applicant, bool all,
                      unsigned *picks, bool *trial, int *held)
{
    *held = -1;
    if (s->cfg->has_schedule && csg_schedule_at(s->cfg, csg_wall_ms()) != CSG_SCHEDULE_RUNNING)
        return 0;
    int first = all ? 0 : csg_router_pick(s->router, applicant, &w->rng);
    int last = all ? (int)s->cfg->n_challengers - 1 : first;
    unsigned n = 0;
    for (int i = first; i >= 0 && i <= last; i++) {
        csg_guard *g = s->guards[1 + i];
        csg_guard_admit a =
            g ? csg_guard_admit_call(g, &s->models[1 + i]->guardrail, &w->rng) : CSG_GUARD_CALL;
        if (a == CSG_GUARD_HELD) {
            if (!all)
                *held = i;
            continue;
        }
        trial[n] = a == CSG_GUARD_TRIAL_CALL;
        picks[n++] = (unsigned)i;
    }
    return n;
}

void csg_dispatch_submit(csg_worker *w, const csg_request *in, csg_reply_cb on_reply, void *ctx)
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
    /* Route first: the context is sized by how many challengers it calls. */
    unsigned picks[CSG_MAX_CHALLENGERS];
    bool trial[CSG_MAX_CHALLENGERS];
    int held = -1;
    const csg_snapshot *cur = w->current;
    bool all = cur->cfg->assignment == CSG_ASSIGN_ALL;
    unsigned n_chal = route(w, cur, csg_app_applicant_id(req->app), all, picks, trial, &held);
    req_ctx *c = ctx_new(w, n_chal);
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
    c->read_ms = w->parse_started_ms > 0 ? w->parse_started_ms : c->t0;
    w->parse_started_ms = 0;
    c->on_reply = on_reply;
    c->reply_ctx = ctx;
    c->in_submit = true;
    /* Timers below count from libevent's cached loop time; refresh it so a
     * worker that has been busy (or preempted) does not time out early. */
    event_base_update_cache_time(w->base);
    csg_snapshot *s = c->snap;
    csg_snap_slot *sl = &s->slots[w->index];
    csg_bump_signed(&w->metrics->events_waiting, 1);

    c->chal_held = held >= 0;
    c->held_model = 1 + (unsigned)(held >= 0 ? held : 0);
    c->champ.ctx = c;
    for (unsigned i = 0; i < n_chal; i++) {
        unsigned idx = picks[i];
        c->chal[i].model = 1 + idx;
        c->chal[i].trial = trial[i];
        c->chal[i].state = CALL_PENDING; /* before any adapter runs: see progress() */
        if (sl->stats[1 + idx])
            csg_bump(&sl->stats[1 + idx]->assignments, 1);
    }
    c->live = !all && n_chal == 1 && s->models[c->chal[0].model]->mode == CSG_MODE_LIVE;
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
    for (unsigned i = 0; i < n_chal; i++)
        start_call(c, &c->chal[i], c->chal[i].model);

    c->in_submit = false;
    if (c->reply_due) {
        event_assign(&c->defer_ev, w->base, -1, 0, on_deferred, c);
        event_active(&c->defer_ev, EV_TIMEOUT, 0);
        c->defer_set = true;
        return;
    }
    ctx_maybe_free(c);
}


bool csg_dispatch_probe(csg_worker *w, csg_application *app)
{
    req_ctx *c = app ? ctx_new(w, 0) : NULL;
    if (!c) {
        csg_app_free(app);
        return false;
    }
    c->is_probe = true;
    c->replied = true;
    c->req.app = app;
    snprintf(c->transport, sizeof c->transport, "probe");
    c->champ.ctx = c;
    c->in_submit = true;
    start_call(c, &c->champ, 0);
    c->in_submit = false;
    ctx_maybe_free(c);
    return true;
}
