/*
 * grpc.so — the gRPC transport (DESIGN §3, §5): csg.v1.CreditScoring/Score and
 * grpc.health.v1.Health/Check on the gRPC C core, messages with protobuf-c.
 *
 * Threads (see ../shared/notes/grpc-core.md): the C core only makes progress
 * while some thread sits in grpc_completion_queue_next and exposes no fd for
 * libevent, so one "queue thread" (started in start()) owns the completion
 * queue. It re-arms requests, nothing else. Each new call is handed, round
 * robin, to a worker through a per-worker list + an eventfd the worker's loop
 * watches; the worker has the message checked (score_request.c: as JSON, by
 * the core's parser), submits it and, from the reply callback, answers with
 * one grpc_call_start_batch. Calls are bound to a callback completion queue,
 * so the answer's completion frees the call in whichever thread finishes it. One thread owns a call at a time: queue
 * thread until the hand-off, worker until start_batch, then the completion.
 *
 * Shutdown (stop, main thread): grpc_server_shutdown_and_notify. Armed
 * requests come back failed (freed), calls already handed to workers are
 * answered normally, and the shutdown tag arrives once they are all done;
 * the queue thread then shuts the queue down, drains it and exits. destroy
 * joins it, cancelling whatever never finished.
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

#define GRPC_NAME "grpc"
#define ARMED_SCORE 64 /* registered Score requests kept armed */
#define ARMED_OTHER 4  /* Health/Check and generic (unknown method) requests */
#define SCORE_METHOD "/csg.v1.CreditScoring/Score"
#define HEALTH_METHOD "/grpc.health.v1.Health/Check"
#define SERVICE_NAME "csg.v1.CreditScoring"

typedef struct gserver gserver;
typedef struct gworker gworker;

typedef enum { KIND_SCORE, KIND_HEALTH, KIND_GENERIC } call_kind;

typedef struct gcall {
    /* First member: the call's last batch completes on the callback queue
     * with &fn as its tag (see reply_md). */
    grpc_completion_queue_functor fn;
    gserver *srv;
    gworker *gw;
    call_kind kind;
    bool dispatched; /* counted in srv->outstanding */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* KIND_GENERIC */
    grpc_byte_buffer *payload;
    grpc_byte_buffer *reply_payload;
    int cancelled;
    struct gcall *next, *prev; /* worker queue, then worker's in-flight list */
} gcall;

struct gworker {
    gserver *srv;
    csg_worker *w;
    struct event *wake_ev;
    int efd;
    pthread_mutex_t mu;
    gcall *q_head, *q_tail; /* handed over by the queue thread (under mu) */
    unsigned queued;        /* under mu */
    gcall *inflight;        /* submitted to the core (worker thread only) */
    unsigned ninflight;
};

struct gserver {
    const csg_core_api *api;
    grpc_server *server;
    grpc_completion_queue *cq;
    /* Callback queue the calls are bound to: the answer batch's completion
     * runs call_done in whichever thread finishes it (measured: 2/3 inline in
     * the worker's grpc_call_start_batch, the rest on a core executor thread)
     * instead of kicking the queue thread's pollset (an eventfd write and a
     * context switch) for every call. */
    grpc_completion_queue *call_cq;
    grpc_completion_queue_functor call_cq_shutdown;
    pthread_mutex_t call_cq_mu;
    pthread_cond_t call_cq_cv;
    bool call_cq_down; /* under call_cq_mu */
    void *score_method, *health_method;
    gworker *workers;
    unsigned nworkers;
    atomic_uint rr;
    atomic_bool stopping;
    /* Calls handed to workers whose last completion has not been seen. The
     * server's shutdown tag does not wait for calls the client already gave
     * up on (deadline, cancel), yet a worker may still answer those: the
     * queue is shut down only when this is 0, or start_batch would hit a
     * shut-down queue. */
    atomic_uint outstanding;
    atomic_bool shutdown_seen, cq_shut;
    bool started, thread_running, shutdown_called;
    pthread_t thread;
    int port;
    char shutdown_tag; /* its address is the tag */
};

/* A create/start failure: lib/'s setter (the caller returns the code). */
#define set_err(err, ...) ((void)csg_fail((err), CSG_EPLUGIN, __VA_ARGS__))

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
/* Calls                                                                     */

static void call_free(gcall *gc)
{
    if (gc->payload)
        grpc_byte_buffer_destroy(gc->payload);
    if (gc->reply_payload)
        grpc_byte_buffer_destroy(gc->reply_payload);
    grpc_metadata_array_destroy(&gc->md);
    if (gc->kind == KIND_GENERIC)
        grpc_call_details_destroy(&gc->details);
    if (gc->call)
        grpc_call_unref(gc->call);
    free(gc);
}

static void maybe_shutdown_cq(gserver *srv)
{
    if (atomic_load(&srv->shutdown_seen) && atomic_load(&srv->outstanding) == 0 &&
        !atomic_exchange(&srv->cq_shut, true))
        grpc_completion_queue_shutdown(srv->cq);
}

/* Free a call that was handed to a worker (any thread that owns it). */
static void call_done(gcall *gc)
{
    gserver *srv = gc->srv;
    bool counted = gc->dispatched;
    call_free(gc);
    if (counted && atomic_fetch_sub(&srv->outstanding, 1) == 1)
        maybe_shutdown_cq(srv);
}

static void on_call_done(grpc_completion_queue_functor *fn, int ok)
{
    (void)ok; /* failed or not, the call is finished */
    call_done((gcall *)fn);
}

static void on_call_cq_shutdown(grpc_completion_queue_functor *fn, int ok)
{
    (void)ok;
    gserver *srv = (gserver *)((char *)fn - offsetof(gserver, call_cq_shutdown));
    pthread_mutex_lock(&srv->call_cq_mu);
    srv->call_cq_down = true;
    pthread_cond_signal(&srv->call_cq_cv);
    pthread_mutex_unlock(&srv->call_cq_mu);
}

/* Queue thread (and create/start): keep one request of this kind armed. */
static int arm(gserver *srv, call_kind kind)
{
    gcall *gc = calloc(1, sizeof *gc);
    if (!gc)
        return -1;
    gc->srv = srv;
    gc->kind = kind;
    gc->fn.functor_run = on_call_done;
    gc->fn.inlineable = 1; /* call_done only frees: safe to run inline in core */
    grpc_metadata_array_init(&gc->md);
    grpc_call_error e;
    if (kind == KIND_GENERIC) {
        grpc_call_details_init(&gc->details);
        e = grpc_server_request_call(srv->server, &gc->call, &gc->details, &gc->md,
                                     srv->call_cq, srv->cq, gc);
    } else {
        e = grpc_server_request_registered_call(
            srv->server, kind == KIND_SCORE ? srv->score_method : srv->health_method, &gc->call,
            &gc->deadline, &gc->md, &gc->payload, srv->call_cq, srv->cq, gc);
    }
    if (e != GRPC_CALL_OK) {
        call_free(gc);
        return -1;
    }
    return 0;
}

static void inflight_add(gworker *gw, gcall *gc)
{
    gc->prev = NULL;
    gc->next = gw->inflight;
    if (gw->inflight)
        gw->inflight->prev = gc;
    gw->inflight = gc;
    gw->ninflight++;
}

static void inflight_remove(gworker *gw, gcall *gc)
{
    if (gc->prev)
        gc->prev->next = gc->next;
    else
        gw->inflight = gc->next;
    if (gc->next)
        gc->next->prev = gc->prev;
    gc->next = gc->prev = NULL;
    gw->ninflight--;
}

/* Worker thread: answer the call. msg may be NULL (status only). rid: the
 * request id to send as `x-request-id` metadata, or NULL; fallback adds
 * `x-csg-fallback: true` (score is then 0, not a model's answer). The
 * metadata goes out both as initial metadata and in the trailers: an error
 * without a message may travel as trailers only. After this, gc belongs to
 * the queue thread again. */
static void reply_md(gcall *gc, const ProtobufCMessage *msg, grpc_status_code status,
                     const char *details, const char *rid, bool fallback)
{
    gserver *srv = gc->srv;
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    grpc_metadata md[2];
    memset(md, 0, sizeof md);
    size_t nmd = 0;
    if (rid && rid[0]) {
        md[nmd].key = grpc_slice_from_static_string("x-request-id");
        md[nmd++].value = grpc_slice_from_copied_string(rid);
    }
    if (fallback) {
        md[nmd].key = grpc_slice_from_static_string("x-csg-fallback");
        md[nmd++].value = grpc_slice_from_static_string("true");
    }
    size_t n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = nmd;
    ops[n++].data.send_initial_metadata.metadata = nmd ? md : NULL;
    if (msg) {
        size_t size = protobuf_c_message_get_packed_size(msg);
        grpc_slice slice = grpc_slice_malloc(size);
        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
        gc->reply_payload = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = gc->reply_payload;
    }
    grpc_slice detail_slice = grpc_slice_from_copied_string(details ? details : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.trailing_metadata_count = nmd;
    ops[n].data.send_status_from_server.trailing_metadata = nmd ? md : NULL;
    ops[n].data.send_status_from_server.status = status;
    ops[n++].data.send_status_from_server.status_details = details ? &detail_slice : NULL;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &gc->cancelled;
    grpc_call_error e = grpc_call_start_batch(gc->call, ops, n, &gc->fn, NULL);
    grpc_slice_unref(detail_slice); /* core copied what it needs */
    for (size_t i = 0; i < nmd; i++)
        grpc_slice_unref(md[i].value); /* keys are static */
    if (e != GRPC_CALL_OK) {
        srv->api->log(CSG_LOG_ERROR, GRPC_NAME, "grpc_call_start_batch failed: %d", (int)e);
        grpc_call_cancel(gc->call, NULL);
        call_done(gc); /* no completion will come for a batch that did not start */
    }
}

static void reply(gcall *gc, const ProtobufCMessage *msg, grpc_status_code status,
                  const char *details)
{
    reply_md(gc, msg, status, details, NULL, false);
}

static const char *status_label(grpc_status_code st)
{
    switch (st) {
    case GRPC_STATUS_OK:
        return "OK";
    case GRPC_STATUS_INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case GRPC_STATUS_UNAVAILABLE:
        return "UNAVAILABLE";
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    default:
        return "INTERNAL";
    }
}

/* label: the DESIGN §5 code counted in csg_requests_total{status}, the same
 * vocabulary as HTTP and TCP ("ok", "invalid_field", "overloaded", …). */
static void reply_counted(gworker *gw, gcall *gc, const ProtobufCMessage *msg,
                          grpc_status_code status, const char *details, const char *label,
                          const char *rid, bool fallback)
{
    gw->srv->api->count_request(gw->w, GRPC_NAME, label);
    reply_md(gc, msg, status, details, rid, fallback);
}

/* The decision's name (lib/csg_vocab.h); "" for none (proto3 strings cannot be null). */
static const char *decision_text(csg_decision d)
{
    const char *name = csg_decision_name(d);
    return name ? name : "";
}

static void on_reply(void *ctx, const csg_reply *r)
{
    gcall *gc = ctx;
    gworker *gw = gc->gw;
    inflight_remove(gw, gc);
    if (r->status != CSG_REPLY_OK) {
        grpc_status_code st = GRPC_STATUS_UNAVAILABLE; /* champion_error, not_ready */
        const char *label = csg_reply_status_code(r->status);
        switch (r->status) {
        case CSG_REPLY_CHAMPION_TIMEOUT:
        case CSG_REPLY_DEADLINE:
            st = GRPC_STATUS_DEADLINE_EXCEEDED;
            break;
        case CSG_REPLY_OVERLOADED:
            st = GRPC_STATUS_RESOURCE_EXHAUSTED;
            break;
        default:
            break;
        }
        reply_counted(gw, gc, NULL, st, r->error_message ? r->error_message : status_label(st),
                      label, r->request_id, false);
        return;
    }
    Csg__V1__ScoreResponse resp = CSG__V1__SCORE_RESPONSE__INIT;
    resp.applicant_id = (char *)(r->applicant_id ? r->applicant_id : "");
    /* A fallback decision has no score: proto3 doubles cannot be null, so 0
     * plus `x-csg-fallback: true` metadata (HTTP/TCP send "score":null). */
    resp.score = r->is_fallback ? 0.0 : r->score;
    resp.decision = (char *)decision_text(r->decision);
    resp.model = (char *)(r->model ? r->model : "");
    resp.experiment_id = (char *)(r->experiment_id ? r->experiment_id : "");
    resp.request_id = (char *)(r->request_id ? r->request_id : "");
    /* The champion's reasons (or FALLBACK): views of the core's strings, valid
     * during this callback, which is as long as packing needs them. */
    Csg__V1__Reason reasons[CSG_REASONS_MAX_ABI];
    Csg__V1__Reason *rp[CSG_REASONS_MAX_ABI];
    size_t n = CSG_STRUCT_HAS(r, csg_reply, reasons) && r->reasons ? r->reason_count : 0; // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
    if (n > CSG_REASONS_MAX_ABI)
        n = CSG_REASONS_MAX_ABI;
    for (size_t i = 0; i < n; i++) {
        csg__v1__reason__init(&reasons[i]);
        reasons[i].code = (char *)(r->reasons[i].code ? r->reasons[i].code : "");
        reasons[i].feature = (char *)(r->reasons[i].feature ? r->reasons[i].feature : "");
        reasons[i].text = (char *)(r->reasons[i].text ? r->reasons[i].text : "");
        rp[i] = &reasons[i];
    }
    resp.n_reasons = n;
    resp.reasons = n ? rp : NULL;
    reply_counted(gw, gc, &resp.base, GRPC_STATUS_OK, NULL, CSG_CODE_OK, r->request_id,
                  r->is_fallback);
}

/* A whole received message as one span, valid while bb lives. A small
 * message is one uncompressed slice: read in place. Otherwise it is gathered
 * into a malloc'd copy returned in *owned (free it). NULL: cannot read. */
static const uint8_t *read_payload(grpc_byte_buffer *bb, size_t *len, uint8_t **owned)
{
    *owned = NULL;
    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
        bb->data.raw.slice_buffer.count == 1) {
        grpc_slice *s = &bb->data.raw.slice_buffer.slices[0];
        *len = GRPC_SLICE_LENGTH(*s);
        return GRPC_SLICE_START_PTR(*s);
    }
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    *len = GRPC_SLICE_LENGTH(s);
    *owned = malloc(*len ? *len : 1);
    if (*owned)
        memcpy(*owned, GRPC_SLICE_START_PTR(s), *len);
    grpc_slice_unref(s);
    return *owned;
}

static void handle_score(gworker *gw, gcall *gc)
{
    const csg_core_api *api = gw->srv->api;
    csg_request req;
    memset(&req, 0, sizeof req);
    req.size = sizeof req;
    size_t len = 0;
    /* The client's x-request-id first, so every error can echo a valid one. */
    const char *bad = NULL;
    const char *rid = NULL;
    for (size_t i = 0; i < gc->md.count; i++) {
        if (grpc_slice_str_cmp(gc->md.metadata[i].key, "x-request-id") != 0)
            continue;
        grpc_slice v = gc->md.metadata[i].value;
        size_t vl = GRPC_SLICE_LENGTH(v);
        if (!api->valid_request_id((const char *)GRPC_SLICE_START_PTR(v), vl)) {
            bad = "x-request-id: must be 1-64 printable ASCII characters";
            rid = NULL;
            break;
        }
        memcpy(req.request_id, GRPC_SLICE_START_PTR(v), vl), req.request_id[vl] = '\0';
        rid = req.request_id;
    }
    uint8_t *owned = NULL; /* buf NULL (no message, unreadable): "invalid_json" as on HTTP/TCP */
    const uint8_t *buf = gc->payload ? read_payload(gc->payload, &len, &owned) : NULL;
    char why[256];
    csg_sr_status st = csg_score_request_parse(buf, len, api, gw->w, &req.app, why, sizeof why);
    free(owned);
    if (bad && st != CSG_SR_MALFORMED) /* then the x-request-id error, before the fields' */
        st = CSG_SR_INVALID_FIELD, snprintf(why, sizeof why, "%s", bad);
    if (st != CSG_SR_OK) {
        api->application_free(req.app);
        static const char *const label[] = {CSG_CODE_OK, CSG_CODE_INVALID_JSON,
                                            CSG_CODE_INVALID_FIELD, CSG_CODE_PAYLOAD_TOO_LARGE};
        reply_counted(gw, gc, NULL,
                      st == CSG_SR_TOO_LARGE ? GRPC_STATUS_RESOURCE_EXHAUSTED
                                             : GRPC_STATUS_INVALID_ARGUMENT,
                      why, label[st], rid, false);
        return;
    }
    /* The client's deadline, re-expressed on CLOCK_MONOTONIC for the core. */
    if (gpr_time_cmp(gc->deadline, gpr_inf_future(gc->deadline.clock_type)) != 0) {
        gpr_timespec left = gpr_time_sub(gc->deadline, gpr_now(gc->deadline.clock_type));
        int64_t left_ms = gpr_time_to_millis(left);
        if (left_ms <= 0) {
            api->application_free(req.app);
            reply_counted(gw, gc, NULL, GRPC_STATUS_DEADLINE_EXCEEDED,
                          "deadline passed before the call was handled",
                          CSG_CODE_DEADLINE_EXCEEDED,
                          rid, false);
            return;
        }
        req.deadline_ms = csg_now_ms_int() + left_ms;
    }
    req.transport = GRPC_NAME;
    inflight_add(gw, gc);
    api->submit(gw->w, &req, on_reply, gc);
}

static void handle_health(gworker *gw, gcall *gc)
{
    gserver *srv = gw->srv;
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *buf = gc->payload ? read_payload(gc->payload, &len, &owned) : NULL;
    Grpc__Health__V1__HealthCheckRequest *m =
        buf ? grpc__health__v1__health_check_request__unpack(NULL, len, buf) : NULL;
    free(owned);
    if (!m) {
        reply(gc, NULL, GRPC_STATUS_INVALID_ARGUMENT, "malformed HealthCheckRequest");
        return;
    }
    bool known = m->service[0] == '\0' || strcmp(m->service, SERVICE_NAME) == 0;
    grpc__health__v1__health_check_request__free_unpacked(m, NULL);
    if (!known) {
        reply(gc, NULL, GRPC_STATUS_NOT_FOUND, "unknown service");
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = !atomic_load(&srv->stopping) && srv->api->is_ready()
                      ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    reply(gc, &resp.base, GRPC_STATUS_OK, NULL);
}

/* Worker thread: the queue thread handed over calls. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    gworker *gw = arg;
    uint64_t v;
    ssize_t ignored = read(fd, &v, sizeof v);
    (void)ignored; /* EAGAIN: a wake-up already consumed; the list is what counts */
    pthread_mutex_lock(&gw->mu);
    gcall *list = gw->q_head;
    gw->q_head = gw->q_tail = NULL;
    gw->queued = 0;
    pthread_mutex_unlock(&gw->mu);
    while (list) {
        gcall *gc = list;
        list = gc->next;
        gc->next = NULL;
        switch (gc->kind) {
        case KIND_SCORE:
            handle_score(gw, gc);
            break;
        case KIND_HEALTH:
            handle_health(gw, gc);
            break;
        case KIND_GENERIC:
            reply_counted(gw, gc, NULL, GRPC_STATUS_UNIMPLEMENTED, "method not implemented",
                          CSG_CODE_NOT_FOUND, NULL, false);
            break;
        }
    }
}

/* Queue thread: hand a new call to a worker. */
static void dispatch(gserver *srv, gcall *gc)
{
    gworker *gw = &srv->workers[atomic_fetch_add(&srv->rr, 1) % srv->nworkers];
    gc->gw = gw;
    gc->dispatched = true;
    atomic_fetch_add(&srv->outstanding, 1);
    gc->next = NULL;
    pthread_mutex_lock(&gw->mu);
    bool was_empty = gw->q_head == NULL;
    if (gw->q_tail)
        gw->q_tail->next = gc;
    else
        gw->q_head = gc;
    gw->q_tail = gc;
    gw->queued++;
    pthread_mutex_unlock(&gw->mu);
    if (was_empty) { /* one wake-up per batch, not per call */
        uint64_t one = 1;
        ssize_t ignored = write(gw->efd, &one, sizeof one);
        (void)ignored; /* eventfd only fails when the counter would overflow */
    }
}

static void *queue_thread(void *arg)
{
    gserver *srv = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                   NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &srv->shutdown_tag) {
            atomic_store(&srv->shutdown_seen, true);
            maybe_shutdown_cq(srv);
            continue;
        }
        gcall *gc = ev.tag; /* a requested call (answer batches end on call_cq) */
        if (!ev.success) { /* a request cancelled by shutdown */
            call_free(gc);
            continue;
        }
        if (!atomic_load(&srv->stopping) && arm(srv, gc->kind) < 0)
            srv->api->log(CSG_LOG_ERROR, GRPC_NAME, "cannot re-arm a call request");
        dispatch(srv, gc);
    }
    return NULL;
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
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
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

static const csg_transport_plugin grpc_transport = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "grpc", "1.0.0"),
    .options = NULL,
    .create = grpc_plugin_create,
    .start_worker = grpc_plugin_start_worker,
    .start = grpc_plugin_start,
    .stop = grpc_plugin_stop,
    .drain_worker = grpc_plugin_drain_worker,
    .destroy = grpc_plugin_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &grpc_transport.header;
}
