/*
 * rest.c — the REST model adapter (rest.so), DESIGN §4 and §5 "Model API": the
 * connection pool and calls (entry points: rest_adapter.c; reply check: rest_reply.c).
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

#include "rest.h"

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

rest_call *call_get(rest_inst *in)
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
void call_fail_soon(rest_call *c, const char *why)
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

void on_stall(evutil_socket_t fd, short what, void *arg)
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

void conn_close_fd(rest_conn *k)
{
    if (k->fd < 0)
        return;
    csg_wq_done(&k->wq);
    event_del(k->rev);
    event_free(k->rev);
    k->rev = NULL;
    event_del(k->stall_ev);
    rest_tls_close(k);
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
    (void)fd;
    ssize_t n = rest_conn_recv(k, buf, sizeof buf);
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
                     : errno == EPROTO && k->tls_why ? k->tls_why
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
    conn_fail(k, err == ECONNREFUSED              ? "model refused the connection"
                 : err == EPROTO && k->tls_why ? k->tls_why
                                               : "cannot send to the model");
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
    if (rest_tls_open(k) != 0) {
        conn_close_fd(k);
        return -1;
    }
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

void pump(rest_inst *in)
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
