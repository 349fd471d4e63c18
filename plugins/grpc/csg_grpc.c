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
#include <errno.h>
#include <pthread.h>
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

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */

void call_free(gcall *gc)
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
void call_done(gcall *gc)
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

void on_call_cq_shutdown(grpc_completion_queue_functor *fn, int ok)
{
    (void)ok;
    gserver *srv = (gserver *)((char *)fn - offsetof(gserver, call_cq_shutdown));
    pthread_mutex_lock(&srv->call_cq_mu);
    srv->call_cq_down = true;
    pthread_cond_signal(&srv->call_cq_cv);
    pthread_mutex_unlock(&srv->call_cq_mu);
}

/* Queue thread (and create/start): keep one request of this kind armed. */
int arm(gserver *srv, call_kind kind)
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

void inflight_remove(gworker *gw, gcall *gc)
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
    /* The deciding model's reasons (or FALLBACK): views of the core's strings, valid
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
    /* Which model decided (field 8); a core before ABI 2.2 only has the champion. */
    resp.arm = (char *)(CSG_STRUCT_HAS(r, csg_reply, arm) && r->arm ? r->arm : "champion"); // NOLINT(bugprone-sizeof-expression): CSG_STRUCT_HAS sizes a pointer field on purpose
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
void on_wake(evutil_socket_t fd, short what, void *arg)
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

void *queue_thread(void *arg)
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
