/*
 * rest.c — the REST model adapter (rest.so), DESIGN §4 and §5 "Model API".
 *
 * Owns, per worker and model: a pool of keep-alive HTTP/1.1 connections to
 * the model's POST endpoint, a bounded queue of calls waiting for a free
 * connection, per-call timeouts, reconnection with back-off, and the strict
 * check of the model's reply (status 200 with a body that rest_reply.c
 * accepts, {"score": 0..1, "decision": approve|decline}; anything else is a
 * model error).
 *
 * Why it looks like this: one request in flight per connection is the safe
 * default (any HTTP server handles it); `pipeline: true` lets a busy
 * connection carry more, which measured fastest here (bench-anchors.md:
 * 4 pipelined connections beat 64 one-at-a-time ones). Requests produced in
 * one loop turn go out with one send() per connection (csg_wq). The host is
 * resolved once in create() on the main thread, so a worker never blocks on
 * DNS. Callbacks are never made from inside score_async: early failures are
 * delivered through the call's own event, activated for the same turn.
 *
 * Threads: create on the main thread (allocation and validation only; no
 * events are added until the first score_async); everything else on the
 * worker thread that owns the event_base.
 */
#include <errno.h>
#include <event2/event.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csg/plugin.h"
#include "csg_buf.h"
#include "csg_clock.h" /* back-off and queue expiry: the coarse monotonic clock */
#include "csg_net.h"
#include "csg_wq.h"
#include "rest_reply.h"

#define REST_VERSION "1.0.0"
#define REST_BODY_MAX 65536     /* a model reply larger than this is an error */
#define REST_REQ_MAX 8704 /* one request: headers + the application's canonical JSON */
#define REST_OUT_MAX (4u << 20) /* bytes queued on one upstream connection */
#define REST_BACKOFF_MIN_MS 50
#define REST_BACKOFF_MAX_MS 2000
#define REST_STALL_GRACE_MS 1000 /* a connection silent this long past timeout_ms is dead */

/* The option values, stored by the core (options_apply): defaults only in the table. */
typedef struct rest_options_t {
    const char *url;
    int64_t pool_size, pipeline_depth, max_queue;
    bool pipeline;
} rest_options_t;

static const csg_option rest_options[] = {
    {CSG_OPT_URL, "url", NULL, true, 1, 0,
     "model endpoint http://host:port/path; names are resolved once at start",
     CSG_OPT_AT(rest_options_t, url)},
    {CSG_OPT_INT, "pool_size", "4", false, 1, 256, "keep-alive connections per worker",
     CSG_OPT_AT(rest_options_t, pool_size)},
    {CSG_OPT_BOOL, "pipeline", "false", false, 1, 0,
     "queue further requests on busy connections (the model must support HTTP pipelining)",
     CSG_OPT_AT(rest_options_t, pipeline)},
    {CSG_OPT_INT, "pipeline_depth", "16", false, 1, 256,
     "requests in flight per connection when pipeline is true",
     CSG_OPT_AT(rest_options_t, pipeline_depth)},
    {CSG_OPT_INT, "max_queue", "1024", false, 1, 1000000,
     "calls waiting for a connection per worker; beyond it calls fail at once",
     CSG_OPT_AT(rest_options_t, max_queue)},
    {0, NULL, NULL, false, 0, 0, NULL, 0},
};

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
};

static void inst_free(rest_inst *in);
static void pump(rest_inst *in);

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */

static void call_release(rest_call *c)
{
    rest_inst *in = c->in;
    event_del(c->tev);
    c->state = C_FREE;
    c->cb = NULL;
    c->ctx = NULL;
    c->next = in->free_calls;
    in->free_calls = c;
}

/* Deliver the result (a good answer, else st and error); the call object is
 * recycled before the callback so a callback that scores again can reuse it. */
static void call_finish(rest_call *c, csg_score_status st, const rest_answer *a,
                        const char *error)
{
    rest_inst *in = c->in;
    csg_score_cb cb = c->cb;
    void *ctx = c->ctx;
    call_release(c);
    csg_score_result r = {.size = sizeof r, .status = st, .error = error};
    csg_reason reasons[CSG_REASONS_MAX];
    if (a) {
        r.score = a->score;
        r.decision = a->decision;
        r.points = a->points;
        r.has_points = a->has_points;
        r.reason_count = a->reason_count;
        r.reasons = reasons;
        for (unsigned i = 0; i < a->reason_count; i++)
            reasons[i] = (csg_reason){a->reasons[i].code, a->reasons[i].feature,
                                      a->reasons[i].text};
    }
    in->busy++;
    cb(ctx, &r);
    in->busy--;
}

static void on_call_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rest_call *c = arg;
    rest_inst *in = c->in;
    in->busy++;
    switch (c->state) {
    case C_EARLY:
        call_finish(c, c->early_status, NULL, c->early_error);
        break;
    case C_QUEUED: {
        /* Still waiting for a connection: leave it in the queue (skipped when
         * dequeued) and answer now. Every connection was held by earlier calls
         * for the whole timeout, which is what a slow model looks like, so it
         * is a timeout (504); only a full queue is overload (503). It no
         * longer counts toward q_len. */
        csg_score_cb cb = c->cb;
        void *ctx = c->ctx;
        c->state = C_EXPIRED_QUEUED;
        in->q_len--;
        csg_score_result r = {.size = sizeof r, .status = CSG_SCORE_TIMEOUT,
                              .error = "timed out waiting for a free connection"};
        cb(ctx, &r);
        break;
    }
    case C_INFLIGHT: {
        /* The reply may still come; it is read and dropped when it does. */
        csg_score_cb cb = c->cb;
        void *ctx = c->ctx;
        c->state = C_ABANDONED;
        csg_score_result r = {
            .size = sizeof r, .status = CSG_SCORE_TIMEOUT, .error = "model timed out"};
        cb(ctx, &r);
        break;
    }
    default: break;
    }
    in->busy--;
    if (in->busy == 0 && in->destroy_pending)
        inst_free(in);
}

static rest_call *call_get(rest_inst *in)
{
    rest_call *c = in->free_calls;
    if (c) {
        in->free_calls = c->next;
        c->next = NULL;
        return c;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->in = in;
    c->tev = event_new(in->base, -1, 0, on_call_event, c);
    if (!c->tev) {
        free(c);
        return NULL;
    }
    in->ncalls++;
    return c;
}

/* Fail a call later in this loop turn (never inside score_async). */
static void call_fail_soon(rest_call *c, const char *why)
{
    event_del(c->tev);
    c->state = C_EARLY;
    c->early_error = why;
    c->early_status = CSG_SCORE_ERROR;
    event_active(c->tev, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static void conn_fail(rest_conn *k, const char *why);

static void stall_arm(rest_conn *k)
{
    struct timeval tv = {(k->in->timeout_ms + REST_STALL_GRACE_MS) / 1000,
                         ((k->in->timeout_ms + REST_STALL_GRACE_MS) % 1000) * 1000};
    event_add(k->stall_ev, &tv);
}

static void on_stall(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rest_conn *k = arg;
    rest_inst *in = k->in;
    in->busy++;
    conn_fail(k, "model stopped answering on this connection");
    pump(in);
    in->busy--;
    if (in->busy == 0 && in->destroy_pending)
        inst_free(in);
}

static void conn_close_fd(rest_conn *k)
{
    if (k->fd < 0)
        return;
    csg_wq_done(&k->wq);
    event_del(k->rev);
    event_free(k->rev);
    k->rev = NULL;
    event_del(k->stall_ev);
    close(k->fd);
    k->fd = -1;
    csg_buf_clear(&k->body);
}

/* The connection is unusable: close it and settle every call on it. Calls
 * that never got a byte of reply on a connection that had served before
 * (the server closed an idle keep-alive connection as we wrote) are retried
 * once; the others fail. */
static void conn_fail(rest_conn *k, const char *why)
{
    rest_inst *in = k->in;
    bool served = k->served;
    bool head_got_bytes = k->got_bytes;
    if (!served) {
        /* Never answered since connect: back off before trying again. */
        k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : REST_BACKOFF_MIN_MS;
        if (k->backoff_ms > REST_BACKOFF_MAX_MS)
            k->backoff_ms = REST_BACKOFF_MAX_MS;
        k->retry_at_ms = csg_mono_ms() + k->backoff_ms;
        if (!in->logged_down) {
            in->api->log(CSG_LOG_WARN, "rest", "model %s (%s): %s; retrying with back-off",
                         in->model, in->url.hostport, why);
            in->logged_down = true;
        }
    }
    conn_close_fd(k);
    rest_call *c = k->fifo_head;
    k->fifo_head = k->fifo_tail = NULL;
    k->inflight = 0;
    k->served = false;
    k->got_bytes = false;
    rest_call *retry_head = NULL, **retry_tail = &retry_head;
    bool first = true;
    while (c) {
        rest_call *next = c->next;
        c->next = NULL;
        if (c->state == C_ABANDONED) {
            call_release(c);
        } else if (served && !c->retried && !(first && head_got_bytes)) {
            c->retried = true;
            c->state = C_QUEUED;
            *retry_tail = c;
            retry_tail = &c->next;
        } else {
            call_fail_soon(c, why);
        }
        first = false;
        c = next;
    }
    if (retry_head) {
        /* Back to the front of the queue, in their original order. */
        rest_call *last = retry_head;
        unsigned n = 1;
        while (last->next) {
            last = last->next;
            n++;
        }
        last->next = in->q_head;
        in->q_head = retry_head;
        if (!in->q_tail)
            in->q_tail = last;
        in->q_len += n;
    }
}

/* One complete model reply for the head call. */
static void conn_reply(rest_conn *k, int status, const char *body, size_t len)
{
    rest_inst *in = k->in;
    rest_call *c = k->fifo_head;
    if (!c)
        return; /* unsolicited: llhttp would flag most of these; drop */
    k->fifo_head = c->next;
    if (!k->fifo_head)
        k->fifo_tail = NULL;
    c->next = NULL;
    k->inflight--;
    k->served = true;
    k->got_bytes = false;
    k->backoff_ms = 0;
    in->logged_down = false;
    if (k->inflight > 0)
        stall_arm(k);
    else
        event_del(k->stall_ev);
    if (c->state == C_ABANDONED) {
        call_release(c);
        return;
    }
    const char *err = NULL;
    rest_answer a; /* ~1 KiB on the stack: reasons are copied, never allocated */
    if (status != 200)
        err = status >= 500 ? "model answered 5xx" : "model answered a non-200 status";
    else
        err = rest_reply_check(body, len, &a);
    if (err)
        call_finish(c, CSG_SCORE_ERROR, NULL, err);
    else
        call_finish(c, CSG_SCORE_OK, &a, NULL);
}

static int cb_message_begin(llhttp_t *p)
{
    rest_conn *k = p->data;
    csg_buf_clear(&k->body);
    return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t n)
{
    rest_conn *k = p->data;
    if (csg_buf_append(&k->body, at, n) != 0) {
        k->failed = true;
        return HPE_USER;
    }
    return 0;
}

static int cb_message_complete(llhttp_t *p)
{
    rest_conn *k = p->data;
    int status = llhttp_get_status_code(p);
    bool keep = llhttp_should_keep_alive(p);
    if (status >= 100 && status < 200)
        return 0; /* interim response: the real one follows */
    conn_reply(k, status, csg_buf_size(&k->body) ? csg_buf_ptr(&k->body) : "",
               csg_buf_size(&k->body));
    csg_buf_clear(&k->body);
    if (!keep) {
        /* Server closes after this reply: not a failure, no back-off. */
        k->failed = true;
        return HPE_PAUSED;
    }
    return 0;
}

static const llhttp_settings_t resp_settings = {
    .on_message_begin = cb_message_begin,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

static void on_conn_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    rest_conn *k = arg;
    rest_inst *in = k->in;
    char buf[16384];
    in->busy++;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n >= 0) {
        if (n > 0 && k->fifo_head)
            k->got_bytes = true;
        k->failed = false;
        /* At EOF llhttp_finish ends a reply whose body runs to the close (no
         * Content-Length, e.g. HTTP/1.0): that reply is good. A reply cut
         * short, or no reply at all, is still a failure. */
        llhttp_errno_t e = n > 0 ? llhttp_execute(&k->parser, buf, (size_t)n)
                                 : llhttp_finish(&k->parser);
        if (k->fd >= 0 && (e != HPE_OK || k->failed || n == 0)) {
            /* Fixed texts: the reason outlives this frame in deferred failures. */
            const char *why = "malformed HTTP reply from the model";
            if (e == HPE_PAUSED) {
                k->served = true; /* closing after a good reply: reconnect freely */
                k->got_bytes = false;
                why = "model closed the connection";
            } else if (n == 0) {
                why = e == HPE_OK ? "model closed the connection"
                                  : "model closed the connection mid-reply";
            }
            conn_fail(k, why);
        }
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_fail(k, errno == ECONNREFUSED ? "model refused the connection"
                                           : "model connection failed");
    }
    pump(in);
    in->busy--;
    if (in->busy == 0 && in->destroy_pending)
        inst_free(in);
}

static void on_conn_wq(csg_wq *q, int what, int err)
{
    rest_conn *k = q->owner;
    if (what != CSG_WQ_ERROR)
        return;
    rest_inst *in = k->in;
    in->busy++;
    conn_fail(k, err == ECONNREFUSED ? "model refused the connection" : "cannot send to the model");
    pump(in);
    in->busy--;
    if (in->busy == 0 && in->destroy_pending)
        inst_free(in);
}

static int conn_open(rest_conn *k)
{
    rest_inst *in = k->in;
    int fd = csg_net_connect(&in->url.addr);
    if (fd < 0)
        return -1;
    k->rev = event_new(in->base, fd, EV_READ | EV_PERSIST, on_conn_readable, k);
    if (!k->rev || event_add(k->rev, NULL) != 0) {
        if (k->rev)
            event_free(k->rev);
        k->rev = NULL;
        close(fd);
        return -1;
    }
    k->fd = fd;
    csg_wq_init(&k->wq, in->flusher, fd, REST_OUT_MAX, on_conn_wq, k);
    llhttp_init(&k->parser, HTTP_RESPONSE, &resp_settings);
    k->parser.data = k;
    k->served = false;
    k->got_bytes = false;
    return 0;
}

/* Put call c on connection k (connected or connecting). */
static bool conn_send(rest_conn *k, rest_call *c)
{
    if (csg_buf_append(&k->wq.out, c->req, c->req_len) != 0)
        return false;
    c->state = C_INFLIGHT;
    c->next = NULL;
    if (k->fifo_tail)
        k->fifo_tail->next = c;
    else
        k->fifo_head = c;
    k->fifo_tail = c;
    if (k->inflight++ == 0)
        stall_arm(k);
    csg_wq_mark(&k->wq);
    return true;
}

/* A connection that can take one more request now, or NULL. */
static rest_conn *pick_conn(rest_inst *in, uint64_t now)
{
    rest_conn *best = NULL;
    for (unsigned i = 0; i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        if (k->fd >= 0 && k->inflight == 0)
            return k;
    }
    if (in->pipeline) {
        for (unsigned i = 0; i < in->pool_size; i++) {
            rest_conn *k = &in->conns[i];
            if (k->fd >= 0 && k->inflight < in->depth && k->served &&
                (!best || k->inflight < best->inflight))
                best = k;
        }
        if (best && best->inflight == 0)
            return best;
    }
    for (unsigned i = 0; i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        if (k->fd < 0 && now >= k->retry_at_ms) {
            if (conn_open(k) == 0)
                return k;
            k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : REST_BACKOFF_MIN_MS;
            if (k->backoff_ms > REST_BACKOFF_MAX_MS)
                k->backoff_ms = REST_BACKOFF_MAX_MS;
            k->retry_at_ms = now + k->backoff_ms;
        }
    }
    return best;
}

/* True when no connection is open and every one is backing off: new calls
 * would only wait for their timeout, so they fail at once instead. */
static bool all_down(rest_inst *in, uint64_t now)
{
    for (unsigned i = 0; i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        if (k->fd >= 0 || now >= k->retry_at_ms)
            return false;
    }
    return true;
}

static void pump(rest_inst *in)
{
    uint64_t now = csg_mono_ms();
    while (in->q_head) {
        rest_call *c = in->q_head;
        if (c->state == C_EXPIRED_QUEUED) { /* q_len dropped when it expired */
            in->q_head = c->next;
            if (!in->q_head)
                in->q_tail = NULL;
            call_release(c);
            continue;
        }
        rest_conn *k = pick_conn(in, now);
        if (!k)
            break;
        in->q_head = c->next;
        if (!in->q_head)
            in->q_tail = NULL;
        in->q_len--;
        if (!conn_send(k, c))
            call_fail_soon(c, "cannot queue the request (out of memory)");
    }
    if (in->q_head && all_down(in, now)) {
        while (in->q_head) {
            rest_call *c = in->q_head;
            in->q_head = c->next;
            if (c->state == C_EXPIRED_QUEUED) {
                call_release(c);
            } else {
                in->q_len--;
                call_fail_soon(c, "model unreachable");
            }
        }
        in->q_tail = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Adapter entry points                                                      */

static int build_request(rest_inst *in, const csg_application *app, rest_call *c)
{
    /* The core's canonical JSON, forwarded as is: no re-serialising. */
    size_t body_len;
    const char *body = in->api->app_json(app, &body_len);
    /* "<len>\r\n\r\n" by hand: snprintf cost more than the rest of the body. */
    char num[24];
    int nl = 0;
    {
        char digits[20];
        int nd = 0;
        size_t v = body_len;
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v && nd < (int)sizeof digits);
        while (nd)
            num[nl++] = digits[--nd];
        memcpy(num + nl, "\r\n\r\n", 4);
        nl += 4;
    }
    if (nl < 0 || in->head_len + (size_t)nl + body_len > sizeof c->req)
        return -1;
    /* memcpy, not one big snprintf: this runs for every model call. */
    memcpy(c->req, in->head, in->head_len);
    memcpy(c->req + in->head_len, num, (size_t)nl);
    memcpy(c->req + in->head_len + (size_t)nl, body, body_len);
    c->req_len = in->head_len + (size_t)nl + body_len;
    return 0;
}

static int start(rest_inst *in)
{
    in->flusher = csg_flusher_new(in->base);
    if (!in->flusher)
        return -1;
    for (unsigned i = 0; i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        k->stall_ev = evtimer_new(in->base, on_stall, k);
        if (!k->stall_ev)
            return -1;
    }
    in->started = true;
    return 0;
}

typedef struct oom_call {
    csg_score_cb cb;
    void *ctx;
} oom_call;

static void on_oom(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    oom_call o = *(oom_call *)arg;
    free(arg);
    csg_score_result r = {.size = sizeof r, .status = CSG_SCORE_ERROR, .error = "out of memory"};
    o.cb(o.ctx, &r);
}

static void rest_score_async(void *instance, const csg_application *app, csg_score_cb cb, void *ctx)
{
    rest_inst *in = instance;
    rest_call *c = NULL;
    if (in->started || start(in) == 0)
        c = call_get(in);
    if (!c) {
        /* Out of memory: still answer exactly once, later, if libevent can. */
        in->api->log(CSG_LOG_ERROR, "rest", "model %s: out of memory", in->model);
        oom_call *o = malloc(sizeof *o);
        if (o) {
            o->cb = cb;
            o->ctx = ctx;
            struct timeval zero = {0, 0};
            if (event_base_once(in->base, -1, EV_TIMEOUT, on_oom, o, &zero) == 0)
                return;
            free(o);
        }
        return;
    }
    c->cb = cb;
    c->ctx = ctx;
    c->retried = false;
    c->next = NULL;
    if (build_request(in, app, c) != 0) {
        call_fail_soon(c, "application too large to serialise");
        return;
    }
    if (in->q_len >= in->max_queue) {
        call_fail_soon(c, "model queue full");
        c->early_status = CSG_SCORE_OVERLOADED; /* load, not a champion failure */
        return;
    }
    /* 1 ms before the core's own timer (set for timeout_ms just before this
     * call): the adapter's verdict (timeout, or overloaded while still
     * queued) must arrive first, or the core would call every expiry a
     * champion timeout. */
    unsigned t_ms = in->timeout_ms > 1 ? in->timeout_ms - 1 : in->timeout_ms;
    struct timeval tv = {t_ms / 1000, (t_ms % 1000) * 1000};
    event_add(c->tev, &tv);
    c->state = C_QUEUED;
    if (in->q_tail)
        in->q_tail->next = c;
    else
        in->q_head = c;
    in->q_tail = c;
    in->q_len++;
    pump(in);
}

static int rest_create(const csg_adapter_config *cfg, const csg_core_api *api,
                       struct event_base *base, void **instance, csg_error *err)
{
    char msg[400];
    rest_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err->message, sizeof err->message, "rest: out of memory");
        return -CSG_ENOMEM;
    }
    in->api = api;
    in->base = base;
    snprintf(in->model, sizeof in->model, "%s", cfg->model_name ? cfg->model_name : "?");
    rest_options_t o = {0};
    api->options_apply(rest_options, cfg->options, &o);
    const char *url = o.url;
    if (!url) {
        snprintf(err->message, sizeof err->message, "rest: model %s: url is required", in->model);
        goto fail;
    }
    if (csg_net_parse_url(url, &in->url, msg, sizeof msg) != 0) {
        snprintf(err->message, sizeof err->message, "rest: model %.100s: url %.380s", in->model,
                 msg);
        goto fail;
    }
    /* The table's ranges hold (the core checked them); a host that skipped
     * that still gets a clear refusal. */
    if (o.pool_size < 1 || o.pool_size > 256 || o.pipeline_depth < 1 || o.max_queue < 1 ||
        o.max_queue > 1000000 || o.pipeline_depth > 256) {
        snprintf(err->message, sizeof err->message,
                 "rest: model %s: pool_size 1-256, pipeline_depth >= 1, max_queue >= 1",
                 in->model);
        goto fail;
    }
    in->pool_size = (unsigned)o.pool_size;
    in->pipeline = o.pipeline;
    in->depth = (unsigned)o.pipeline_depth;
    in->max_queue = (unsigned)o.max_queue;
    in->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 1000;
    int n = snprintf(in->head, sizeof in->head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Accept: application/json\r\nContent-Length: ",
                     in->url.path, in->url.hostport);
    if (n < 0 || (size_t)n >= sizeof in->head) {
        snprintf(err->message, sizeof err->message, "rest: model %s: url too long", in->model);
        goto fail;
    }
    in->head_len = (size_t)n;
    in->conns = calloc(in->pool_size, sizeof *in->conns);
    if (!in->conns) {
        snprintf(err->message, sizeof err->message, "rest: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < in->pool_size; i++) {
        in->conns[i].in = in;
        in->conns[i].fd = -1;
        csg_buf_init(&in->conns[i].body, REST_BODY_MAX);
    }
    *instance = in;
    return 0;
fail:
    free(in);
    return -CSG_EINVAL;
}

static void inst_free(rest_inst *in)
{
    for (unsigned i = 0; in->conns && i < in->pool_size; i++) {
        rest_conn *k = &in->conns[i];
        conn_close_fd(k);
        rest_call *c = k->fifo_head;
        while (c) { /* only abandoned ones can be left when destroy is allowed */
            rest_call *next = c->next;
            c->next = in->free_calls;
            in->free_calls = c;
            c = next;
        }
        if (k->stall_ev)
            event_free(k->stall_ev);
        csg_buf_free(&k->body);
    }
    rest_call *c = in->q_head;
    while (c) {
        rest_call *next = c->next;
        c->next = in->free_calls;
        in->free_calls = c;
        c = next;
    }
    while ((c = in->free_calls) != NULL) {
        in->free_calls = c->next;
        event_free(c->tev);
        free(c);
    }
    csg_flusher_free(in->flusher);
    free(in->conns);
    free(in);
}

static void rest_destroy(void *instance)
{
    rest_inst *in = instance;
    if (!in)
        return;
    if (in->busy > 0) {
        /* Called from inside one of our callbacks: free on the way out. */
        in->destroy_pending = true;
        return;
    }
    inst_free(in);
}

static const csg_model_adapter rest_adapter = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_MODEL_ADAPTER, csg_model_adapter, "rest", REST_VERSION),
    .options = rest_options,
    .create = rest_create,
    .score_async = rest_score_async,
    .destroy = rest_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &rest_adapter.header;
}
