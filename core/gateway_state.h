/*
 * gateway_state.h — the running gateway's shared state, for the modules
 * that together make it up and for nothing else:
 *   snapshot.c   routing snapshots: build, per-worker slots, retirement, reclamation
 *   worker.c     worker threads: their loops, wake-ups, drain and stop
 *   dispatch.c   the request state machine behind csg_core_api.submit
 *   readiness.c  /readyz: champion streaks and the idle probe
 *   core_api.c   the csg_core_api table handed to plugins
 *   gateway.c    start, reload, signals, drain and shutdown
 *
 * Threads: the main thread owns csg_gateway and builds snapshots; each
 * csg_worker is touched by its own thread only, except the atomics marked
 * below (the main thread's hand-off and commands).
 */
#ifndef CSG_GATEWAY_STATE_H
#define CSG_GATEWAY_STATE_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "event_queue.h"
#include "gateway.h"
#include "guardrail.h"
#include "metrics.h"
#include "publisher.h"
#include "registry.h"
#include "router.h"
#include "util.h"

#define CSG_MAX_MODELS (1 + CSG_MAX_CHALLENGERS)
#define CSG_WORKER_CMD_DRAIN 1u
#define CSG_WORKER_CMD_STOP 2u

/* ------------------------------------------------------------------------ */
/* Routing snapshots (snapshot.c)                                            */

/* What one worker holds of a snapshot. Only that worker touches it. */
typedef struct csg_snap_slot {
    _Alignas(64) unsigned inflight;  /* request/probe contexts using this slot */
    bool retired;                    /* adapters destroyed */
    void *inst[CSG_MAX_MODELS];      /* [0] champion, [1+i] challenger i */
    csg_model_stats *stats[CSG_MAX_MODELS];
} csg_snap_slot;

typedef struct csg_snapshot {
    uint64_t generation;
    csg_config *cfg;
    csg_router *router;
    csg_guard *guards[CSG_MAX_MODELS]; /* gw->guards' entry of a guarded challenger, else NULL */
    unsigned n_models; /* 1 + challengers */
    const csg_cfg_model *models[CSG_MAX_MODELS];
    unsigned n_workers;
    _Atomic unsigned workers_left; /* slots not yet retired */
    csg_snap_slot *slots;
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
    _Atomic(csg_snapshot *) pending; /* main → worker: the snapshot to adopt */
    _Atomic unsigned cmd;            /* main → worker: CSG_WORKER_CMD_* */
    _Atomic bool drained;            /* worker → main */
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
    /* When the last parse_application began (csg_now_ms): the request was
     * read then. The submit that follows takes it (0: none pending). */
    double parse_started_ms;
};

struct csg_gateway {
    csg_config *cfg; /* the startup config: transports, events, limits, workers */
    char *config_path;
    csg_registry *registry; /* the startup config's: every reload loads through it */
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
    struct csg_audit *audit; /* applied config versions (audit.h) */
    csg_guards *guards; /* guardrail state by challenger name (guardrail.h), kept over reloads */
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

/* snapshot.c — main thread unless said otherwise. */
/* Build a snapshot of cfg: a router and every model's adapter per worker
 * (created here, on the main thread; create() only allocates). NULL and
 * err on failure, with nothing left behind. */
csg_snapshot *csg_snapshot_build(csg_gateway *gw, csg_config *cfg, csg_error *err);
void csg_snapshot_free(csg_snapshot *s);
/* Destroy worker wi's adapter instances (on that worker, or on main when
 * no worker ever used them). */
void csg_snapshot_destroy_slot(csg_snapshot *s, unsigned wi);
/* Worker thread: make s w's current snapshot; retire the old one when no
 * context uses it any more. */
void csg_snapshot_adopt(csg_worker *w, csg_snapshot *s);
/* Worker thread: w is done with s; the last worker hands it to main. */
void csg_snapshot_retire_slot(csg_worker *w, csg_snapshot *s);
/* Free the snapshots every worker has retired. */
void csg_snapshot_collect(csg_gateway *gw);
/* gw->gc_ev's callback (arg = gw). */
void csg_snapshot_on_gc(evutil_socket_t fd, short what, void *arg);

/* worker.c — main thread. */
/* Allocate the workers with their bases, events and metrics (no threads). */
int csg_workers_init(csg_gateway *gw);
/* Start the threads (each adopts gw->snap, starts its transports, runs its
 * loop) and wait until each has started; the first failure in err. */
int csg_workers_start(csg_gateway *gw, csg_error *err);
/* Hand s to every worker (adopted on its next wake-up). */
void csg_workers_publish(csg_gateway *gw, csg_snapshot *s);
/* True when every worker has adopted the latest snapshot. */
bool csg_workers_swapped(csg_gateway *gw);
/* Ask every worker to drain; wait until all are drained or deadline_ms
 * (csg_now_ms() time) passes; returns how many are still busy. */
unsigned csg_workers_drain(csg_gateway *gw, double deadline_ms);
/* Stop and join the threads (idempotent). */
void csg_workers_stop(csg_gateway *gw);
/* Free what csg_workers_init made (threads stopped). */
void csg_workers_free(csg_gateway *gw);

/* dispatch.c — worker thread. */
/* csg_core_api.submit. */
void csg_dispatch_submit(csg_worker *w, const csg_request *in, csg_reply_cb on_reply, void *ctx);
/* Send app (owned from here on) to the champion as a readiness probe: not
 * counted in metrics or events, no reply. False without memory. */
bool csg_dispatch_probe(csg_worker *w, csg_application *app);

/* readiness.c — worker thread. */
/* What a champion call's outcome says about readiness. */
void csg_readiness_champion(csg_worker *w, csg_score_status st, bool probe, const char *model,
                            const char *why);
/* w->probe_timer's callback (arg = w). */
void csg_readiness_on_probe_timer(evutil_socket_t fd, short what, void *arg);
/* Arm worker w's first probe. */
void csg_readiness_arm(csg_worker *w);

/* core_api.c */
/* Fill the table for cfg and point its context-free functions (worker
 * count, metrics, readiness) at gw, which may be NULL (--check-config). */
void csg_core_api_bind(csg_gateway *gw, const csg_config *cfg);
/* Forget gw if it is the bound one. */
void csg_core_api_unbind(csg_gateway *gw);
/* The gateway bound now (NULL if none). */
csg_gateway *csg_core_api_bound(void);

#endif /* CSG_GATEWAY_STATE_H */
