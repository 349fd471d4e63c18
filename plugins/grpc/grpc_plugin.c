/*
 * grpc_plugin.c — grpc.so's plugin entry and lifecycle (create, start, stop, drain,
 * destroy); the calls themselves are in csg_grpc.c (see its comment for the threads).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "csg/plugin.h"
#include "csg_clock.h"
#include "csg/v1/credit_score.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "score_request.h"

#include "grpc_call.h"
#include "grpc_tls.h"

/* gRPC threads must never take the gateway's SIGTERM/SIGINT: block them while
 * grpc creates threads (they inherit the mask), then restore ours. */
static void block_signals(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void restore_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

/* Debian's abseil is built without NDEBUG, so every absl::Mutex::Lock in the
 * gRPC core runs deadlock detection (a global GraphCycles lookup under a
 * global lock): a few % of the gateway's CPU per call. Switch it off, as a
 * release build of abseil does by default. Looked up at run time because it
 * is C++ with an ABI-tagged namespace; absent elsewhere, then nothing to do. */
static void fast_absl_mutexes(void)
{
    void (*set_mode)(int) = NULL;
    void *sym = dlsym(RTLD_DEFAULT,
                      "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE");
    if (sym) {
        memcpy(&set_mode, &sym, sizeof set_mode);
        set_mode(0); /* absl::OnDeadlockCycle::kIgnore */
    }
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                       */

static void grpc_plugin_destroy(void *instance);

static int grpc_plugin_create(const csg_transport_config *cfg, const csg_core_api *api,
                              void **instance, csg_error *err)
{
    gserver *srv = calloc(1, sizeof *srv);
    if (!srv) {
        set_err(err, "grpc: out of memory");
        return -CSG_ENOMEM;
    }
    int rc = -CSG_EINVAL;
    pthread_mutex_init(&srv->call_cq_mu, NULL);
    pthread_cond_init(&srv->call_cq_cv, NULL);
    srv->call_cq_shutdown.functor_run = on_call_cq_shutdown;
    srv->call_cq_shutdown.inlineable = 0;
    sigset_t old;
    block_signals(&old);
    grpc_init();
    fast_absl_mutexes();
    srv->api = api;
    srv->nworkers = api->worker_count();
    srv->workers = calloc(srv->nworkers ? srv->nworkers : 1, sizeof *srv->workers);
    if (!srv->workers || srv->nworkers == 0) {
        set_err(err, "grpc: out of memory");
        rc = -CSG_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        srv->workers[i].efd = -1;
        pthread_mutex_init(&srv->workers[i].mu, NULL);
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        gworker *gw = &srv->workers[i];
        gw->srv = srv;
        gw->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (gw->efd < 0) {
            set_err(err, "grpc: eventfd: %s", strerror(errno));
            rc = -CSG_EIO;
            goto fail;
        }
    }

    /* SO_REUSEPORT off: a second gateway on this address must fail to start,
     * not silently share the port. */
    grpc_arg args[3];
    size_t nargs = 0;
    args[nargs].type = GRPC_ARG_INTEGER;
    args[nargs].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[nargs++].value.integer = 0;
    args[nargs].type = GRPC_ARG_INTEGER;
    args[nargs].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[nargs++].value.integer = api->max_body_bytes ? (int)api->max_body_bytes : 65536;
    if (api->idle_timeout_ms) {
        args[nargs].type = GRPC_ARG_INTEGER;
        args[nargs].key = (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS;
        args[nargs++].value.integer = (int)api->idle_timeout_ms;
    }
    grpc_channel_args chargs = {.num_args = nargs, .args = args};
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    srv->call_cq = grpc_completion_queue_create_for_callback(&srv->call_cq_shutdown, NULL);
    srv->server = grpc_server_create(&chargs, NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    srv->score_method = grpc_server_register_method(srv->server, SCORE_METHOD, NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    srv->health_method = grpc_server_register_method(
        srv->server, HEALTH_METHOD, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (!srv->score_method || !srv->health_method) {
        set_err(err, "grpc: cannot register methods");
        rc = -CSG_EPLUGIN;
        goto fail;
    }
    grpc_server_credentials *creds = NULL;
    const csg_tls_config *tls = CSG_STRUCT_HAS(cfg, csg_transport_config, tls) ? cfg->tls : NULL; // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
    if (tls) {
        if (!(srv->tls = grpc_tls_new(tls, &creds, err)))
            goto fail;
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    srv->port = grpc_server_add_http2_port(srv->server, cfg->listen ? cfg->listen : "", creds);
    grpc_server_credentials_release(creds);
    if (srv->port <= 0) {
        set_err(err, "grpc: cannot listen on %s (address in use or invalid)",
                cfg->listen ? cfg->listen : "(none)");
        rc = -CSG_EIO;
        goto fail;
    }
    restore_signals(&old);
    *instance = srv;
    return 0;
fail:
    restore_signals(&old);
    grpc_plugin_destroy(srv);
    return rc;
}

static int grpc_plugin_start_worker(void *instance, csg_worker *w, csg_error *err)
{
    gserver *srv = instance;
    unsigned i = srv->api->worker_index(w);
    if (i >= srv->nworkers) {
        set_err(err, "grpc: worker index %u out of range", i);
        return -CSG_EINVAL;
    }
    gworker *gw = &srv->workers[i];
    gw->w = w;
    gw->wake_ev = event_new(srv->api->worker_base(w), gw->efd, EV_READ | EV_PERSIST, on_wake, gw);
    if (!gw->wake_ev || event_add(gw->wake_ev, NULL) < 0) {
        set_err(err, "grpc: cannot add the wake-up event");
        return -CSG_ENOMEM;
    }
    return 0;
}

static int grpc_plugin_start(void *instance, csg_error *err)
{
    gserver *srv = instance;
    sigset_t old;
    block_signals(&old);
    grpc_server_start(srv->server);
    srv->started = true;
    int armed = 0;
    for (int i = 0; i < ARMED_SCORE; i++)
        armed += arm(srv, KIND_SCORE) == 0;
    for (int i = 0; i < ARMED_OTHER; i++) {
        armed += arm(srv, KIND_HEALTH) == 0;
        armed += arm(srv, KIND_GENERIC) == 0;
    }
    int rc = pthread_create(&srv->thread, NULL, queue_thread, srv);
    restore_signals(&old);
    if (armed < ARMED_SCORE + 2 * ARMED_OTHER || rc != 0) {
        set_err(err, "grpc: cannot start the completion-queue thread");
        if (rc == 0)
            srv->thread_running = true;
        return -CSG_EPLUGIN;
    }
    srv->thread_running = true;
    srv->api->log(CSG_LOG_INFO, GRPC_NAME, "listening on port %d", srv->port);
    return 0;
}

static void grpc_plugin_stop(void *instance)
{
    gserver *srv = instance;
    if (atomic_exchange(&srv->stopping, true) || !srv->started)
        return;
    srv->shutdown_called = true;
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
}

static unsigned grpc_plugin_drain_worker(void *instance, csg_worker *w)
{
    gserver *srv = instance;
    unsigned i = srv->api->worker_index(w);
    if (i >= srv->nworkers)
        return 0;
    gworker *gw = &srv->workers[i];
    pthread_mutex_lock(&gw->mu);
    unsigned queued = gw->queued;
    pthread_mutex_unlock(&gw->mu);
    return queued + gw->ninflight;
}

static void free_owned(gworker *gw)
{
    pthread_mutex_lock(&gw->mu);
    gcall *list = gw->q_head;
    gw->q_head = gw->q_tail = NULL;
    pthread_mutex_unlock(&gw->mu);
    while (list) { /* never reached a worker: cancel so shutdown can finish */
        gcall *gc = list;
        list = gc->next;
        grpc_call_cancel(gc->call, NULL);
        call_done(gc);
    }
    while (gw->inflight) { /* the core will never answer them: workers are gone */
        gcall *gc = gw->inflight;
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the head has no prev, so this advances gw->inflight
        inflight_remove(gw, gc);
        grpc_call_cancel(gc->call, NULL);
        call_done(gc);
    }
}

/* Main thread, workers gone (or never started). */
static void grpc_plugin_destroy(void *instance)
{
    gserver *srv = instance;
    if (!srv)
        return;
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++)
        if (srv->workers[i].efd >= 0)
            free_owned(&srv->workers[i]);
    if (srv->server) {
        if (!srv->shutdown_called && srv->started) {
            atomic_store(&srv->stopping, true);
            srv->shutdown_called = true;
            grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
        }
        if (srv->thread_running) {
            /* Calls still open (e.g. a client that never reads) would hold the
             * shutdown forever. */
            grpc_server_cancel_all_calls(srv->server);
            pthread_join(srv->thread, NULL);
        } else {
            /* Never started: no thread ever polled, so drain the queue here. */
            if (srv->started) {
                grpc_server_cancel_all_calls(srv->server);
            } else {
                grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
            }
            grpc_completion_queue_shutdown(srv->cq);
            for (;;) {
                grpc_event ev = grpc_completion_queue_next(
                    srv->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_seconds(5, GPR_TIMESPAN)),
                    NULL);
                if (ev.type != GRPC_OP_COMPLETE)
                    break;
                if (ev.tag != &srv->shutdown_tag)
                    call_free(ev.tag);
            }
        }
        grpc_server_destroy(srv->server);
    }
    grpc_tls_free(srv->tls); /* its fetcher runs only for handshakes of the server */
    if (srv->cq)
        grpc_completion_queue_destroy(srv->cq);
    if (srv->call_cq) {
        /* Its shutdown callback runs once every answer batch's callback has
         * run: only then may srv go. Bounded: destroy must not hang. */
        grpc_completion_queue_shutdown(srv->call_cq);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        pthread_mutex_lock(&srv->call_cq_mu);
        while (!srv->call_cq_down &&
               pthread_cond_timedwait(&srv->call_cq_cv, &srv->call_cq_mu, &until) == 0)
            ;
        bool down = srv->call_cq_down;
        pthread_mutex_unlock(&srv->call_cq_mu);
        if (!down) {
            srv->api->log(CSG_LOG_ERROR, GRPC_NAME, "call queue did not shut down in 10 s");
            return; /* leak srv rather than free memory a late callback uses */
        }
        grpc_completion_queue_destroy(srv->call_cq);
    }
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
        gworker *gw = &srv->workers[i];
        if (gw->wake_ev)
            event_free(gw->wake_ev);
        if (gw->efd >= 0)
            close(gw->efd);
        pthread_mutex_destroy(&gw->mu);
    }
    free(srv->workers);
    pthread_mutex_destroy(&srv->call_cq_mu);
    pthread_cond_destroy(&srv->call_cq_cv);
    free(srv);
    grpc_shutdown_blocking();
}

static int grpc_plugin_tls_reload(void *instance, csg_error *err)
{
    gserver *srv = instance;
    return srv->tls ? grpc_tls_reload(srv->tls, err) : 0;
}

static const csg_transport_plugin grpc_transport = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "grpc", "1.0.0"),
    .options = NULL,
    .create = grpc_plugin_create,
    .start_worker = grpc_plugin_start_worker,
    .start = grpc_plugin_start,
    .stop = grpc_plugin_stop,
    .drain_worker = grpc_plugin_drain_worker,
    .destroy = grpc_plugin_destroy,
    .tls_reload = grpc_plugin_tls_reload,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &grpc_transport.header;
}
