/*
 * rest.h — rest.so's shared state (instance, connections, calls) and the functions the
 * adapter entry points (rest_adapter.c) call in the pool (rest.c). Private to
 * adapters/rest/.
 */
#ifndef CSG_REST_H
#define CSG_REST_H

#include <event2/event.h>
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "csg_buf.h"
#include "csg_net.h"
#include "csg_wq.h"

#define REST_VERSION "1.0.0"
#define REST_BODY_MAX 65536     /* a model reply larger than this is an error */
#define REST_REQ_MAX 8704 /* one request: headers + the application's canonical JSON */
#define REST_OUT_MAX (4u << 20) /* bytes queued on one upstream connection */
#define REST_BACKOFF_MIN_MS 50
#define REST_BACKOFF_MAX_MS 2000
#define REST_STALL_GRACE_MS 1000 /* a connection silent this long past timeout_ms is dead */

typedef struct rest_inst rest_inst;
typedef struct rest_conn rest_conn;

enum call_state { C_FREE, C_QUEUED, C_EXPIRED_QUEUED, C_INFLIGHT, C_ABANDONED, C_EARLY };

typedef struct rest_call {
    struct rest_call *next; /* queue, connection FIFO or free list */
    rest_inst *in;
    struct event *tev; /* timeout, or the early-failure deferral */
    enum call_state state;
    csg_score_cb cb;
    void *ctx;
    const char *early_error;
    csg_score_status early_status; /* ERROR, or OVERLOADED for a full queue */
    bool retried;
    size_t req_len;
    char req[REST_REQ_MAX];
} rest_call;

struct rest_conn {
    rest_inst *in;
    int fd; /* -1: not connected */
    struct event *rev;
    struct event *stall_ev;
    csg_wq wq;
    llhttp_t parser;
    rest_call *fifo_head, *fifo_tail; /* requests sent (or buffered), oldest first */
    unsigned inflight;
    bool served;     /* at least one reply on this connection */
    bool got_bytes;  /* reply bytes seen for the head call */
    bool failed;     /* failure found inside the parser; handled after execute */
    unsigned backoff_ms;
    uint64_t retry_at_ms;
    csg_buf body;
    struct ssl_st *ssl;   /* https:// (rest_tls.c); NULL: plain */
    bool tls_ready;       /* handshake done */
    const char *tls_why;  /* fixed reason of the last TLS failure */
};

struct rest_inst {
    const csg_core_api *api;
    struct event_base *base;
    char model[128];
    csg_url url;
    unsigned timeout_ms;
    unsigned pool_size;
    bool pipeline;
    unsigned depth;
    unsigned max_queue;
    char head[1400]; /* request line + fixed headers, up to "Content-Length: " */
    size_t head_len;
    bool started;
    csg_flusher *flusher;
    rest_conn *conns;
    rest_call *q_head, *q_tail; /* waiting for a connection */
    unsigned q_len;
    rest_call *free_calls;
    unsigned ncalls; /* allocated */
    unsigned busy;   /* callbacks on the stack */
    bool destroy_pending;
    bool logged_down;
    struct ssl_ctx_st *tls_ctx; /* https:// models; NULL: plain */
    bool tls_logged;            /* a TLS failure's details were logged */
};

/* A free call of the instance (the free list, else a new one); NULL without memory. */
rest_call *call_get(rest_inst *in);
/* Fail c on the next loop turn with why (never inside score_async). */
void call_fail_soon(rest_call *c, const char *why);
/* Move queued calls onto connections that can take them. */
void pump(rest_inst *in);
void on_stall(evutil_socket_t fd, short what, void *arg);
void conn_close_fd(rest_conn *k);

/* https:// (rest_tls.c). setup: the client context from the options (or an
 * error when they are given for an http:// URL); 0 or -1 with msg. open: an
 * SSL for k's new fd (0 also for plain); close frees it. recv: recv(2) or
 * SSL_read, with the handshake first; -1 with errno EPROTO on a TLS failure
 * (k->tls_why says which). */
int rest_tls_setup(rest_inst *in, const char *ca_file, const char *cert, const char *key,
                   char *msg, size_t cap);
int rest_tls_open(rest_conn *k);
void rest_tls_close(rest_conn *k);
ssize_t rest_conn_recv(rest_conn *k, void *buf, size_t n);
void inst_free(rest_inst *in);

#endif /* CSG_REST_H */
