/*
 * grpc_call.h — grpc.so's shared state: the server, its workers and calls, and the
 * call functions the plugin's lifecycle (grpc_plugin.c) starts and stops. Private to
 * plugins/grpc/.
 */
#ifndef CSG_GRPC_CALL_H
#define CSG_GRPC_CALL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <event2/event.h>
#include <grpc/grpc.h>

#include "csg/plugin.h"

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
    struct grpc_tls *tls; /* `tls:`, NULL = plaintext (grpc_tls.h) */
};

/* A create/start failure: lib/'s setter (the caller returns the code). */
#define set_err(err, ...) ((void)csg_fail((err), CSG_EPLUGIN, __VA_ARGS__))

/* Calls (csg_grpc.c). */
void call_free(gcall *gc);
/* The call's last completion: free it and count it out of srv->outstanding. */
void call_done(gcall *gc);
void inflight_remove(gworker *gw, gcall *gc);
/* Arm one more request of kind on the server's completion queue; 0 or -1. */
int arm(gserver *srv, call_kind kind);
void on_call_cq_shutdown(grpc_completion_queue_functor *fn, int ok);
/* A worker's eventfd: take the calls the queue thread handed over. */
void on_wake(evutil_socket_t fd, short what, void *arg);
/* The queue thread: re-arms requests and hands calls to workers. */
void *queue_thread(void *arg);

#endif /* CSG_GRPC_CALL_H */
