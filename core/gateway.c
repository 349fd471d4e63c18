/*
 * gateway.c — the gateway's life cycle (gateway.h): start (lock files,
 * publisher, workers, the first routing snapshot, transports), SIGHUP
 * reload, SIGTERM/SIGINT drain and shutdown, and --check-config's extra
 * checks. The parts it assembles live in their own files (gateway_state.h):
 * snapshot.c, worker.c, dispatch.c, readiness.c, core_api.c.
 */
#include "gateway.h"

#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "gateway_state.h"
#include "lockfile.h"
#include "log.h"
#include "model_adapter.h"
#include "reload_rules.h"

int csg_gateway_check(const csg_config *cfg, csg_errlist *errs)
{
    if (csg_core_api_bound()) {
        csg_errlist_add(errs, "%s: a gateway is already running in this process", cfg->file);
        return -CSG_EINVAL;
    }
    csg_core_api_bind(NULL, cfg);
    return csg_model_adapters_check(cfg, csg_gateway_api(), errs);
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

static void gateway_free(csg_gateway *gw)
{
    /* Transports: after the workers have exited (ABI). */
    for (unsigned i = 0; i < gw->cfg->n_transports; i++)
        if (gw->transports[i]) {
            gw->cfg->transports[i].plugin->transport->destroy(gw->transports[i]);
            gw->transports[i] = NULL;
        }
    /* Snapshots: whatever is left (their slots were retired or abandoned). */
    csg_snapshot_collect(gw);
    for (csg_snapshot *s = gw->all_snaps, *n; s; s = n) {
        n = s->next;
        csg_snapshot_free(s);
    }
    gw->all_snaps = NULL;
    if (gw->pub) {
        csg_publisher_stop(gw->pub, 10000);
        gw->pub = NULL;
    }
    csg_audit_close(gw->audit, 1000);
    csg_event_queue_free(gw->queue);
    csg_workers_free(gw);
    free(gw->guards);
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
    csg_registry_unref(gw->registry);
    free(gw->config_path);
    csg_core_api_unbind(gw);
    free(gw);
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
    if (csg_core_api_bound()) {
        snprintf(err->message, sizeof err->message, "a gateway is already running in this process");
        return -CSG_EINVAL;
    }
    if (!cfg->registry) {
        snprintf(err->message, sizeof err->message,
                 "%s: loaded without a plugin registry: its plugins were never loaded", cfg->file);
        return -CSG_EINVAL;
    }
    csg_gateway *gw = calloc(1, sizeof *gw);
    if (!gw)
        return -CSG_ENOMEM;
    gw->cfg = csg_config_ref(cfg);
    gw->registry = csg_registry_ref(cfg->registry);
    gw->config_path = csg_strdup(config_path);
    gw->n_workers = cfg->workers;
    for (unsigned i = 0; i < CSG_MAX_TRANSPORTS; i++)
        gw->lock_fds[i] = -1;
    pthread_mutex_init(&gw->mu, NULL);
    pthread_cond_init(&gw->cv, NULL);
    pthread_mutex_init(&gw->gc_mu, NULL);
    atomic_init(&gw->ready_logged_ms, INT64_MIN / 2);
    csg_core_api_bind(gw, cfg);
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
        .kafka_conf = cfg->kafka_conf,
        .n_kafka_conf = cfg->n_kafka_conf,
        .pseudonym = cfg->pseudonym,
    };
    if (csg_publisher_start(gw->queue, &sc, &gw->pub, err) != 0)
        goto fail;
    gw->audit = csg_audit_open(cfg, err);
    if (!gw->audit)
        goto fail;

    /* 3. Workers' bases (threads come later). */
    if (csg_workers_init(gw) != 0)
        goto oom;
    gw->main_base = event_base_new();
    if (!gw->main_base)
        goto oom;
    gw->gc_ev = event_new(gw->main_base, -1, 0, csg_snapshot_on_gc, gw);
    if (!gw->gc_ev)
        goto oom;

    /* 4. The first routing snapshot (adapters per worker). */
    gw->snap = csg_snapshot_build(gw, cfg, err);
    if (!gw->snap)
        goto fail;
    gw->all_snaps = gw->snap;
    atomic_store(&gw->config_version, strtoull(cfg->version, NULL, 16));

    /* 5. Transports bind their sockets (main thread). */
    for (unsigned i = 0; i < cfg->n_transports; i++) {
        const csg_cfg_transport *t = &cfg->transports[i];
        csg_tls_config tls = {sizeof tls, t->tls_cert, t->tls_key, t->tls_client_ca,
                              t->tls_min_version};
        csg_transport_config tc = {
            .size = sizeof tc,
            .listen = t->listen,
            .options = t->options,
            .config_file = cfg->file,
            .tls = t->has_tls ? &tls : NULL,
        };
        csg_error e = {{0}};
        if (t->has_tls && t->plugin->header->abi_minor < 2) { /* it would serve plaintext */
            snprintf(err->message, sizeof err->message,
                     "%.200s (%.64s): built against ABI %u.%u, which has no tls (needs 2.2)",
                     t->plugin_path, t->listen, t->plugin->header->abi_major,
                     t->plugin->header->abi_minor);
            goto fail;
        }
        if (t->plugin->transport->create(&tc, csg_gateway_api(), &gw->transports[i], &e) != 0) {
            gw->transports[i] = NULL;
            snprintf(err->message, sizeof err->message, "%.200s (%.64s): init failed: %.200s",
                     t->plugin_path, t->listen, e.message[0] ? e.message : "create() failed");
            goto fail;
        }
    }

    /* 6. Worker threads: each starts its transports, then runs its loop. */
    rc = csg_workers_start(gw, err);
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
    csg_audit_publish(gw->audit, cfg, "start", NULL, NULL);
    *out = gw;
    return 0;
oom:
    snprintf(err->message, sizeof err->message, "out of memory");
fail:
    csg_workers_stop(gw);
    /* The snapshot's adapters were never used if no worker ran: destroy here. */
    if (gw->snap)
        for (unsigned i = 0; gw->workers && i < gw->n_workers; i++)
            if (!gw->snap->slots[i].retired)
                csg_snapshot_destroy_slot(gw->snap, i);
    gateway_free(gw);
    return rc ? rc : -CSG_EIO;
}

bool csg_gateway_swapped(csg_gateway *gw)
{
    return csg_workers_swapped(gw);
}

int csg_gateway_reload_config(csg_gateway *gw, csg_config *cfg, csg_error *err)
{
    if (!cfg->registry) {
        snprintf(err->message, sizeof err->message,
                 "%s: loaded without a plugin registry: its plugins were never loaded", cfg->file);
        return -CSG_EINVAL;
    }
    csg_snapshot *s = csg_snapshot_build(gw, cfg, err);
    if (!s)
        return -CSG_EPLUGIN;
    s->next = gw->all_snaps;
    gw->all_snaps = s;
    gw->snap = s;
    atomic_store(&gw->config_version, strtoull(cfg->version, NULL, 16));
    csg_workers_publish(gw, s);
    return 0;
}

/* SIGHUP: transports with `tls:` read their cert, key and CA files again
 * (the files, not the config's paths: transports change only at restart). */
static void reload_tls(csg_gateway *gw)
{
    for (unsigned i = 0; i < gw->cfg->n_transports; i++) {
        const csg_cfg_transport *t = &gw->cfg->transports[i];
        const csg_transport_plugin *tp = t->plugin->transport;
        if (!t->has_tls || !gw->transports[i] || !tp->tls_reload)
            continue;
        csg_error e = {{0}};
        if (tp->tls_reload(gw->transports[i], &e) != 0)
            csg_log(CSG_LOG_ERROR, "core", "%s (%s): TLS reload failed: %s; the previous "
                    "certificate stays in use", t->plugin_path, t->listen, e.message);
        else
            csg_log(CSG_LOG_INFO, "core", "%s (%s): TLS certificate reloaded", t->plugin_path,
                    t->listen);
    }
}

int csg_gateway_reload(csg_gateway *gw)
{
    reload_tls(gw);
    csg_config *cfg = csg_reload_load(gw->config_path, gw->registry, gw->cfg, gw->snap->cfg);
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
        /* promote/rollback leave a note saying who asked and why. */
        char action[16] = "reload", by[256] = "", summary[512] = "";
        bool noted = csg_audit_take_note(gw->config_path, action, sizeof action, by, sizeof by,
                                         summary, sizeof summary);
        csg_audit_publish(gw->audit, cfg, action, by, summary);
        /* Only now may the command return: its audit record is written (file sink). */
        if (noted)
            csg_audit_confirm_note(gw->config_path);
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
    /* 2. Drain: workers finish what is in flight. */
    unsigned left = csg_workers_drain(gw, t0 + gw->cfg->drain_timeout_ms);
    if (left)
        csg_log(CSG_LOG_WARN, "core", "drain deadline (%u ms) passed with %u worker(s) still busy",
                gw->cfg->drain_timeout_ms, left);
    /* 3. Workers exit; 4. transports and snapshots go; 5. the publisher
     *    delivers what is queued and closes the sink. */
    csg_workers_stop(gw);
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
