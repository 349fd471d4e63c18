/*
 * http.c — the HTTP/1.1 transport plugin (http.so), DESIGN §5 "HTTP".
 *
 * Owns: one SO_REUSEPORT listening socket per worker, the client
 * connections accepted on it, request parsing (llhttp, strict and
 * incremental; what is kept of a request's head, and its routing, is in
 * request_head.c), the six endpoints, and the replies.
 *
 * Why it looks like this (DESIGN §3 "Hot path HTTP"): evhttp measured 0.59×
 * nginx here because of bufferevent watch toggling and one request per
 * upstream connection. So each socket is read directly from the worker's
 * event loop with a permanently armed read event; replies produced in one
 * loop turn are written with one send() per connection (csg_wq); the write
 * watch is only armed when the kernel buffer is full. Keep-alive and
 * pipelining are supported: replies leave in request order through a small
 * per-connection ring of slots, and reading pauses while the ring is full.
 *
 * Timeouts: one periodic sweep per worker (no timer per connection) closes
 * idle connections (limits.idle_timeout_ms) and answers 408 to a request
 * whose head and body are not complete read_timeout_ms after its first byte
 * (limits.read_timeout_ms, slowloris), then closes. The request's start is
 * stamped from libevent's cached loop time: no syscall on the hot path.
 *
 * Threads: create/start/stop/destroy on the main thread; start_worker,
 * drain_worker and every event callback on the worker that owns the
 * connection. Nothing here is shared between workers except the
 * connection counter (atomic) and read-only configuration.
 */
#include <errno.h>
#include <event2/event.h>
#include <llhttp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csg/plugin.h"
#include "csg_accept.h"
#include "csg_buf.h"
#include "csg_clock.h"
#include "csg_net.h"
#include "csg_wq.h"
#include "request_head.h"

#define HTTP_VERSION "1.0.0"
#define HTTP_MAX_PIPELINE 16      /* requests in flight per connection before reading pauses */
#define HTTP_READ_CHUNK 65536     /* one recv per readable event */
#define HTTP_OUT_MAX (8u << 20)   /* unsent bytes per connection before we give up on it */
#define HTTP_OUT_PAUSE (256u << 10) /* unsent bytes at which parsing pauses (back-pressure) */
#define HTTP_STASH_MAX (1u << 20) /* unparsed pipelined bytes kept while paused */
#define HTTP_LINGER_MS 2000       /* read-and-discard after our last reply, before close */
#define HTTP_LINGER_BYTES (1u << 20)
#define HTTP_SCRATCH 4096
#define HTTP_HEADER_MAX 32768     /* request line + headers; more is answered 431 */
#define HTTP_READ_TIMEOUT_DEFAULT 10000 /* ms, when the host's api predates ABI 1.2 */

typedef struct http_inst http_inst;
typedef struct http_worker http_worker;
typedef struct http_conn http_conn;

typedef struct http_slot {
    http_conn *conn;
    bool ready;       /* reply stored in buf (finished out of order) */
    bool submitted;   /* waiting for the core's reply callback */
    bool close_after; /* last reply on this connection */
    bool head;        /* answer to HEAD: headers only (RFC 9110 §9.3.2) */
    csg_buf buf;
} http_slot;

struct http_conn {
    http_worker *wk;
    int fd;
    struct event *rev;
    csg_wq wq;
    llhttp_t parser;
    http_conn *prev, *next; /* worker's list, for the idle sweep and drain */
    uint64_t last_ms;
    uint64_t req_start_ms; /* first byte of the request being parsed; 0 = between requests */
    unsigned pending; /* submitted requests not yet answered by the core */

    /* The request being parsed. */
    request_head rq;
    bool is_head; /* the request being parsed is a HEAD */
    bool body_over;
    size_t head_bytes; /* request line + headers seen so far */
    csg_buf body;

    /* Replies in request order. */
    http_slot slots[HTTP_MAX_PIPELINE];
    unsigned head, count;
    csg_buf stash; /* bytes after a pause point, parsed on resume */

    bool paused;      /* parser paused: ring full */
    bool reading;     /* rev armed */
    bool closing;     /* no more requests: close once every reply is written */
    bool lingering;   /* write side shut, discarding input until EOF */
    bool read_eof;
    bool closed;      /* socket gone; struct lives until pending == 0 */
    unsigned busy;    /* callbacks on the stack that still use this struct */
    size_t discarded;
};

struct http_worker {
    http_inst *inst;
    csg_worker *w;
    struct event_base *base;
    int lfd;
    csg_acceptor *acceptor;
    struct event *sweep_ev;
    csg_flusher *flusher;
    http_conn *conns;
    unsigned nconns;
    unsigned pending; /* for drain_worker */
    bool draining;
    bool started;
    char rbuf[HTTP_READ_CHUNK];
    char scratch[HTTP_SCRATCH];
};

struct http_inst {
    const csg_core_api *api;
    csg_sockaddr addr;
    char listen[300];
    unsigned nworkers;
    int *lfds;
    http_worker **workers;
    atomic_uint nconns;
    size_t max_body;
    unsigned max_conns;
    unsigned idle_ms;
    unsigned read_ms; /* a request must be complete this long after its first byte */
};

static const char *reason_phrase(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* ------------------------------------------------------------------------ */
/* Connection lifetime                                                       */

static void conn_free(http_conn *c)
{
    for (unsigned i = 0; i < HTTP_MAX_PIPELINE; i++)
        csg_buf_free(&c->slots[i].buf);
    csg_buf_free(&c->body);
    csg_buf_free(&c->stash);
    free(c);
}

/* Close the socket now. The struct stays until the core has answered every
 * submitted request (their callbacks point into it). */
static void conn_close(http_conn *c)
{
    if (c->closed)
        return;
    http_worker *wk = c->wk;
    c->closed = true;
    csg_wq_done(&c->wq);
    if (c->rev)
        event_free(c->rev);
    c->rev = NULL;
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        wk->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    wk->nconns--;
    atomic_fetch_sub(&wk->inst->nconns, 1);
    if (c->pending == 0 && c->busy == 0)
        conn_free(c);
}

/* Keep c alive across code that may close it. */
static void conn_hold(http_conn *c) { c->busy++; }
static void conn_unhold(http_conn *c)
{
    if (--c->busy == 0 && c->closed && c->pending == 0)
        conn_free(c);
}

static void stop_reading(http_conn *c)
{
    if (c->reading) {
        event_del(c->rev);
        c->reading = false;
    }
}

static void start_reading(http_conn *c)
{
    if (!c->reading && !c->closed) {
        if (event_add(c->rev, NULL) == 0)
            c->reading = true;
    }
}

/* Everything for this connection has been written: close, or shut our side
 * and discard what the client still sends so the kernel does not answer its
 * unread bytes with a RST that would destroy our last reply in flight. */
static void finish_close(http_conn *c)
{
    if (c->read_eof) {
        conn_close(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    c->last_ms = csg_mono_ms();
    start_reading(c);
}

static void maybe_finish(http_conn *c)
{
    if (c->closed || c->lingering)
        return;
    if ((c->closing || c->read_eof || c->wk->draining) && c->count == 0 && csg_wq_idle(&c->wq)) {
        if (c->closing || c->wk->draining)
            finish_close(c);
        else
            conn_close(c); /* client half-closed and got every reply */
    }
}

static void resume_parsing(http_conn *c);

/* Replies waiting in the out buffer: past HTTP_OUT_PAUSE the client is not
 * reading, so stop parsing its pipelined requests until they are written —
 * otherwise cheap requests (GET /healthz) pile up replies to HTTP_OUT_MAX
 * per connection. */
static bool out_backlog(const http_conn *c)
{
    return csg_buf_size(&c->wq.out) >= HTTP_OUT_PAUSE;
}

static void on_wq(csg_wq *q, int what, int err)
{
    (void)err;
    http_conn *c = q->owner;
    if (what == CSG_WQ_ERROR) {
        conn_close(c);
        return;
    }
    conn_hold(c);
    /* Drained: parsing paused on the out buffer (or a full ring) may go on. */
    if (c->paused && !c->closing && c->count <= HTTP_MAX_PIPELINE / 2)
        resume_parsing(c);
    maybe_finish(c);
    conn_unhold(c);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static char *put_str(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}
#define PUT_LIT(w, lit) put_str((w), (lit), sizeof(lit) - 1)

/* Serialise one complete response into b. Built with memcpy rather than
 * printf: this runs once per request and printf showed up in profiles. */
static int put_response(csg_buf *b, int code, const char *ctype, const char *body, size_t blen,
                        const char *rid, const char *extra, bool close, bool head)
{
    const char *reason = reason_phrase(code);
    size_t rlen = strlen(reason), clen = strlen(ctype), idlen = rid ? strlen(rid) : 0;
    size_t xlen = extra ? strlen(extra) : 0;
    char *w0 = csg_buf_reserve(b, blen + rlen + clen + idlen + xlen + 160);
    if (!w0)
        return -1;
    char *w = PUT_LIT(w0, "HTTP/1.1 ");
    *w++ = (char)('0' + code / 100);
    *w++ = (char)('0' + code / 10 % 10);
    *w++ = (char)('0' + code % 10);
    *w++ = ' ';
    w = put_str(w, reason, rlen);
    w = PUT_LIT(w, "\r\nContent-Type: ");
    w = put_str(w, ctype, clen);
    w = PUT_LIT(w, "\r\nContent-Length: ");
    char num[24];
    size_t nl = 0;
    size_t v = blen;
    do {
        num[sizeof num - 1 - nl++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w = put_str(w, num + sizeof num - nl, nl);
    w = PUT_LIT(w, "\r\n");
    if (rid) {
        w = PUT_LIT(w, "X-Request-Id: ");
        w = put_str(w, rid, idlen);
        w = PUT_LIT(w, "\r\n");
    }
    if (extra)
        w = put_str(w, extra, xlen);
    if (close)
        w = PUT_LIT(w, "Connection: close\r\n");
    w = PUT_LIT(w, "\r\n");
    if (!head) /* HEAD: same headers (Content-Length of the GET body), no body */
        w = put_str(w, body, blen);
    csg_buf_commit(b, (size_t)(w - w0));
    return 0;
}

/* Pop every finished slot at the head of the ring into the out buffer. */
static void emit_ready(http_conn *c)
{
    while (c->count > 0) {
        http_slot *s = &c->slots[c->head];
        if (!s->ready)
            break;
        if (csg_buf_append(&c->wq.out, csg_buf_ptr(&s->buf), csg_buf_size(&s->buf)) != 0) {
            conn_close(c);
            return;
        }
        csg_buf_free(&s->buf);
        s->ready = false;
        if (s->close_after)
            c->closing = true;
        c->head = (c->head + 1) % HTTP_MAX_PIPELINE;
        c->count--;
    }
}

/* Deliver the response for slot s (any position in the ring). label: the
 * DESIGN §5 code counted in csg_requests_total{status} ("ok", "not_found",
 * …), the same vocabulary on every transport. */
static void respond_l(http_conn *c, http_slot *s, int code, const char *label, const char *ctype,
                      const char *body, size_t blen, const char *rid, const char *extra)
{
    http_worker *wk = c->wk;
    wk->inst->api->count_request(wk->w, "http", label);
    if (c->closed)
        return;
    if (wk->draining)
        s->close_after = true;
    bool at_head = s == &c->slots[c->head];
    csg_buf *dst = at_head ? &c->wq.out : &s->buf;
    if (put_response(dst, code, ctype, body, blen, rid, extra, s->close_after, s->head) != 0) {
        wk->inst->api->log(CSG_LOG_WARN, "http", "reply dropped: output buffer full or no memory");
        conn_close(c);
        return;
    }
    if (at_head) {
        if (s->close_after)
            c->closing = true;
        c->head = (c->head + 1) % HTTP_MAX_PIPELINE;
        c->count--;
        emit_ready(c);
        if (c->closed)
            return;
        c->wq.notify_drained = c->closing || c->read_eof || wk->draining || c->paused;
        csg_wq_mark(&c->wq);
        if (c->closing) {
            stop_reading(c);
        } else if (c->paused && c->count <= HTTP_MAX_PIPELINE / 2 && !out_backlog(c)) {
            resume_parsing(c);
        }
    } else {
        s->ready = true;
    }
}

/* A successful (200) response. */
static void respond(http_conn *c, http_slot *s, int code, const char *ctype, const char *body,
                    size_t blen, const char *rid, const char *extra)
{
    respond_l(c, s, code, "ok", ctype, body, blen, rid, extra);
}

static void respond_error(http_conn *c, http_slot *s, int code, const char *ecode,
                          const char *msg, const char *field, const char *rid, const char *extra)
{
    const csg_core_api *api = c->wk->inst->api;
    char *buf = c->wk->scratch;
    size_t n = api->format_error(ecode, msg, field, buf, HTTP_SCRATCH);
    if (n >= HTTP_SCRATCH)
        n = HTTP_SCRATCH - 1;
    respond_l(c, s, code, ecode, "application/json", buf, n, rid, extra);
}

static http_slot *new_slot(http_conn *c)
{
    http_slot *s = &c->slots[(c->head + c->count) % HTTP_MAX_PIPELINE];
    c->count++;
    s->conn = c;
    s->ready = false;
    s->submitted = false;
    s->close_after = false;
    s->head = c->is_head;
    return s;
}

static void reply_to(http_conn *c, http_slot *s, const csg_reply *r);

/* The core's answer to a submitted score request. */
static void on_core_reply(void *ctx, const csg_reply *r)
{
    http_slot *s = ctx;
    http_conn *c = s->conn;
    http_worker *wk = c->wk;
    s->submitted = false;
    c->pending--;
    wk->pending--;
    if (c->closed) {
        wk->inst->api->count_request(wk->w, "http", "client_closed"); /* client went away */
        if (c->pending == 0 && c->busy == 0)
            conn_free(c);
        return;
    }
    conn_hold(c);
    reply_to(c, s, r);
    conn_unhold(c);
}

static void reply_to(http_conn *c, http_slot *s, const csg_reply *r)
{
    http_worker *wk = c->wk;
    const csg_core_api *api = wk->inst->api;
    int code;
    const char *label;
    switch (r->status) {
    case CSG_REPLY_OK: code = 200; label = "ok"; break;
    case CSG_REPLY_CHAMPION_ERROR: code = 502; label = "champion_error"; break;
    case CSG_REPLY_CHAMPION_TIMEOUT: code = 504; label = "champion_timeout"; break;
    case CSG_REPLY_OVERLOADED: code = 503; label = "overloaded"; break;
    case CSG_REPLY_NOT_READY: code = 503; label = "not_ready"; break;
    case CSG_REPLY_DEADLINE: code = 504; label = "deadline_exceeded"; break;
    default: code = 502; label = "champion_error"; break;
    }
    /* The core writes the body for every status (the error codes of DESIGN
     * §5 included), so all transports agree on it. */
    char *buf = wk->scratch;
    size_t n = api->format_reply(r, buf, HTTP_SCRATCH);
    if (n >= HTTP_SCRATCH) {
        /* Only if names were absurdly long; still answer correctly. */
        char *big = malloc(n + 1);
        if (!big) {
            respond_error(c, s, 500, "internal", "out of memory", NULL, r->request_id, NULL);
            return;
        }
        api->format_reply(r, big, n + 1);
        respond_l(c, s, code, label, "application/json", big, n, r->request_id, NULL);
        free(big);
        return;
    }
    respond_l(c, s, code, label, "application/json", buf, n, r->request_id, NULL);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */

static int cb_message_begin(llhttp_t *p)
{
    http_conn *c = p->data;
    request_head_reset(&c->rq);
    c->is_head = false;
    c->body_over = false;
    c->head_bytes = 0;
    csg_buf_clear(&c->body);
    c->req_start_ms = csg_mono_ms(); /* the read timeout runs from here */
    return 0;
}

/* Headers are streamed, not buffered, but an endless header section would
 * still tie up the connection: cap it. */
static int count_head(http_conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes <= HTTP_HEADER_MAX)
        return 0;
    http_slot *s = new_slot(c);
    s->close_after = true;
    respond_error(c, s, 431, "headers_too_large", "request line and headers exceed 32768 bytes",
                  NULL, NULL, NULL);
    c->closing = true;
    return HPE_USER;
}

static int cb_url(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_url(&c->rq, at, n);
    return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_field(&c->rq, at, n);
    return 0;
}

static int cb_header_field_complete(llhttp_t *p)
{
    request_head_field_done(&((http_conn *)p->data)->rq);
    return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (count_head(c, n))
        return HPE_USER;
    request_head_value(&c->rq, at, n);
    return 0;
}

static int cb_header_value_complete(llhttp_t *p)
{
    request_head_value_done(&((http_conn *)p->data)->rq);
    return 0;
}

static void handle_request(http_conn *c, http_slot *s);

/* The client's X-Request-Id when it is complete and valid, else NULL. */
static const char *client_rid(http_conn *c)
{
    return request_head_rid(&c->rq, c->wk->inst->api->valid_request_id);
}

/* Answer before (the rest of) the body is read, then close: the unread body
 * makes the connection unusable. The return value stops llhttp. */
static int refuse(http_conn *c, int code, const char *ecode, const char *msg)
{
    http_slot *s = new_slot(c);
    s->close_after = true;
    respond_error(c, s, code, ecode, msg, NULL, client_rid(c), NULL);
    c->closing = true;
    return HPE_USER;
}

static int too_large(http_conn *c)
{
    char msg[96];
    snprintf(msg, sizeof msg, "request body exceeds %zu bytes", c->wk->inst->max_body);
    return refuse(c, 413, "payload_too_large", msg);
}

static int cb_headers_complete(llhttp_t *p)
{
    http_conn *c = p->data;
    c->is_head = llhttp_get_method(p) == HTTP_HEAD;
    /* chunked last but another coding too ("gzip, chunked"): the body's end
     * is known, its content is not (RFC 9112 §6.1). chunked not last: llhttp
     * answers 400 itself (§6.3). */
    if ((p->flags & F_CHUNKED) && c->rq.te_other)
        return refuse(c, 501, "not_implemented", "Transfer-Encoding: only chunked is supported");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->wk->inst->max_body)
        return too_large(c);
    request_head_route(&c->rq, llhttp_get_method(p));
    if (c->rq.early && c->rq.expect_continue) {
        /* The client waits for "100 Continue" before sending the body: answer
         * the error now instead, and close, since it may send the body anyway. */
        http_slot *s = new_slot(c);
        s->close_after = true;
        handle_request(c, s);
        c->closing = true;
        return -1;
    }
    if (c->rq.route == R_SCORE && c->rq.early == 0 && c->rq.expect_continue && c->count == 0 &&
        !c->closed) {
        /* Only when nothing is queued before it: an interim response must not
         * overtake earlier replies. */
        if (csg_buf_append(&c->wq.out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
            csg_wq_mark(&c->wq);
    }
    return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (c->rq.route != R_SCORE || c->rq.early)
        return 0; /* consumed and dropped */
    if (csg_buf_size(&c->body) + n > c->wk->inst->max_body)
        return too_large(c); /* a chunked body grew past the limit */
    if (csg_buf_append(&c->body, at, n) != 0) {
        c->body_over = true;
        return HPE_USER;
    }
    return 0;
}

static void handle_request(http_conn *c, http_slot *s)
{
    http_worker *wk = c->wk;
    const csg_core_api *api = wk->inst->api;
    const char *rid = client_rid(c);
    switch (c->rq.early) {
    case 404:
        respond_error(c, s, 404, "not_found", "no such endpoint", NULL, rid, NULL);
        return;
    case 405:
        respond_error(c, s, 405, "method_not_allowed",
                      c->rq.route == R_SCORE ? "use POST" : "use GET", NULL, rid,
                      c->rq.route == R_SCORE ? "Allow: POST\r\n" : "Allow: GET\r\n");
        return;
    case 415:
        respond_error(c, s, 415, "unsupported_media_type",
                      "Content-Type must be application/json", NULL, rid, NULL);
        return;
    default: break;
    }
    switch (c->rq.route) {
    case R_HEALTHZ:
        respond(c, s, 200, "application/json", "{\"status\":\"ok\"}", 15, rid, NULL);
        return;
    case R_READYZ:
        if (api->is_ready())
            respond(c, s, 200, "application/json", "{\"status\":\"ready\"}", 18, rid, NULL);
        else
            respond_error(c, s, 503, "not_ready", "the champion model is not reachable", NULL,
                          rid, NULL);
        return;
    case R_METRICS: {
        size_t len = 0;
        char *text = api->render_metrics(&len);
        if (!text) {
            respond_error(c, s, 500, "internal", "metrics unavailable", NULL, rid, NULL);
            return;
        }
        respond(c, s, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, rid, NULL);
        free(text);
        return;
    }
    default: break;
    }

    /* POST /v1/score */
    if (c->rq.rid_seen && !rid) {
        respond_error(c, s, 400, "invalid_field",
                      "X-Request-Id must be 1-64 printable ASCII characters", "request_id", NULL,
                      NULL);
        return;
    }
    csg_request req = {.size = sizeof req};
    char body_rid[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error perr;
    memset(&perr, 0, sizeof perr);
    csg_parse_status ps = api->parse_application(
        wk->w, csg_buf_size(&c->body) ? csg_buf_ptr(&c->body) : "", csg_buf_size(&c->body),
        &req.app, body_rid, &perr);
    if (ps != CSG_PARSE_OK) {
        bool field = ps == CSG_PARSE_INVALID_FIELD;
        respond_error(c, s, 400, field ? "invalid_field" : "invalid_json",
                      perr.message[0] ? perr.message : "invalid application",
                      field && perr.field[0] ? perr.field : NULL, rid, NULL);
        return;
    }
    if (rid)
        memcpy(req.request_id, rid, c->rq.rid_len + 1);
    else
        req.request_id[0] = '\0';
    req.transport = "http";
    req.deadline_ms = 0;
    s->submitted = true;
    c->pending++;
    wk->pending++;
    api->submit(wk->w, &req, on_core_reply, s);
}

static int cb_message_complete(llhttp_t *p)
{
    http_conn *c = p->data;
    c->req_start_ms = 0;
    if (c->body_over)
        return HPE_USER;
    http_slot *s = new_slot(c);
    /* Upgrade/CONNECT: answered like any request, no protocol switch follows
     * and llhttp parses nothing after it, so it is the last one: say so. */
    if (!llhttp_should_keep_alive(p) || llhttp_get_upgrade(p) || c->wk->draining)
        s->close_after = true;
    bool last = s->close_after;
    handle_request(c, s);
    c->is_head = false;
    if (c->closed)
        return HPE_USER;
    if (last) {
        c->closing = true;
        return HPE_PAUSED; /* ignore anything after a Connection: close or Upgrade request */
    }
    if (c->count >= HTTP_MAX_PIPELINE || out_backlog(c))
        return HPE_PAUSED;
    return 0;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = cb_message_begin,
    .on_url = cb_url,
    .on_header_field = cb_header_field,
    .on_header_field_complete = cb_header_field_complete,
    .on_header_value = cb_header_value,
    .on_header_value_complete = cb_header_value_complete,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

/* Parse data; handles pauses and protocol errors. */
static void feed(http_conn *c, const char *data, size_t len)
{
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    if (c->closed)
        return;
    if (e == HPE_OK)
        return;
    if (e == HPE_PAUSED) {
        if (c->closing) {
            stop_reading(c);
            maybe_finish(c);
            return;
        }
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = pos ? (size_t)(pos - data) : len;
        if (used < len && csg_buf_append(&c->stash, data + used, len - used) != 0) {
            conn_close(c);
            return;
        }
        c->paused = true;
        c->wq.notify_drained = true; /* on_wq resumes once the replies are written */
        stop_reading(c);
        if (c->count <= HTTP_MAX_PIPELINE / 2 && !out_backlog(c)) /* every reply was immediate */
            resume_parsing(c);
        return;
    }
    if (e == HPE_PAUSED_UPGRADE) /* not seen: cb_message_complete pauses first */
        c->closing = true;
    /* Protocol error, or a callback stopped parsing (413 already queued). */
    if (!c->closing) {
        http_slot *s = new_slot(c);
        s->close_after = true;
        char msg[160];
        snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                 llhttp_get_error_reason(&c->parser) ? llhttp_get_error_reason(&c->parser)
                                                     : llhttp_errno_name(e));
        respond_error(c, s, 400, "bad_request", msg, NULL, NULL, NULL);
        if (c->closed)
            return;
        c->closing = true;
    }
    stop_reading(c);
    maybe_finish(c);
}

static void resume_parsing(http_conn *c)
{
    if (!c->paused || c->closed)
        return;
    conn_hold(c);
    c->paused = false;
    llhttp_resume(&c->parser);
    csg_buf data = c->stash; /* feed may stash again */
    csg_buf_init(&c->stash, HTTP_STASH_MAX);
    if (csg_buf_size(&data) > 0)
        feed(c, csg_buf_ptr(&data), csg_buf_size(&data));
    csg_buf_free(&data);
    if (!c->closed && !c->paused && !c->closing && !c->read_eof)
        start_reading(c);
    conn_unhold(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    http_conn *c = arg;
    http_worker *wk = c->wk;
    ssize_t n = recv(fd, wk->rbuf, sizeof wk->rbuf, 0);
    if (n > 0) {
        if (c->lingering || c->closing) {
            /* Late bytes do not extend the linger: it ends HTTP_LINGER_MS after
             * it began, however slowly the client keeps sending. */
            c->discarded += (size_t)n;
            if (c->discarded > HTTP_LINGER_BYTES && c->lingering)
                conn_close(c);
            return;
        }
        c->last_ms = csg_mono_ms();
        conn_hold(c);
        feed(c, wk->rbuf, (size_t)n);
        conn_unhold(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && !c->lingering && c->count > 0) {
        /* Half-close: the client may still want the replies it asked for. */
        c->read_eof = true;
        stop_reading(c);
        c->wq.notify_drained = true;
        return;
    }
    conn_close(c);
}

/* ------------------------------------------------------------------------ */
/* Accepting                                                                 */

#define OVERLOADED_BODY \
    "{\"error\":{\"code\":\"overloaded\",\"message\":\"too many connections, retry later\"}}"
static const char overloaded_body[] = OVERLOADED_BODY;
static char overloaded_reply[256]; /* built once: header + body */
static size_t overloaded_len;

static void build_overloaded_reply(void)
{
    int n = snprintf(overloaded_reply, sizeof overloaded_reply,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof overloaded_body - 1, overloaded_body);
    overloaded_len = n > 0 && (size_t)n < sizeof overloaded_reply ? (size_t)n : 0;
}

/* An admitted connection (csg_accept.h): it already counts in in->nconns. */
static void on_conn(void *arg, int fd)
{
    http_worker *wk = arg;
    http_inst *in = wk->inst;
    csg_net_nodelay(fd);
    http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        atomic_fetch_sub(&in->nconns, 1);
        close(fd);
        return;
    }
    c->wk = wk;
    c->fd = fd;
    csg_wq_init(&c->wq, wk->flusher, fd, HTTP_OUT_MAX, on_wq, c);
    csg_buf_init(&c->body, in->max_body + 1);
    csg_buf_init(&c->stash, HTTP_STASH_MAX);
    for (unsigned k = 0; k < HTTP_MAX_PIPELINE; k++)
        csg_buf_init(&c->slots[k].buf, HTTP_OUT_MAX);
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    c->rev = event_new(wk->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    if (!c->rev || event_add(c->rev, NULL) != 0) {
        if (c->rev)
            event_free(c->rev);
        csg_wq_done(&c->wq);
        free(c);
        close(fd);
        atomic_fetch_sub(&in->nconns, 1);
        return;
    }
    c->reading = true;
    c->last_ms = csg_mono_ms();
    c->next = wk->conns;
    if (wk->conns)
        wk->conns->prev = c;
    wk->conns = c;
    wk->nconns++;
}

/* The request being parsed was not complete read_ms after its first byte:
 * answer 408 in order (after the replies still owed) and close once it is
 * written (lingering, so the client's unread bytes cannot RST it away). */
static void request_timeout(http_conn *c)
{
    http_inst *in = c->wk->inst;
    c->req_start_ms = 0;
    if (c->count >= HTTP_MAX_PIPELINE) { /* cannot happen: parsing pauses before */
        conn_close(c);
        return;
    }
    conn_hold(c);
    http_slot *s = new_slot(c);
    s->close_after = true;
    s->head = false; /* the method may not even be known yet */
    char msg[96];
    snprintf(msg, sizeof msg, "request not complete within %u ms of its first byte", in->read_ms);
    respond_error(c, s, 408, "request_timeout", msg, NULL, client_rid(c), NULL);
    if (!c->closed) {
        c->closing = true;
        stop_reading(c);
        maybe_finish(c);
    }
    conn_unhold(c);
}

/* Every sweep period: lingering connections past HTTP_LINGER_MS, requests
 * past read_ms (slowloris: a head or body trickled in), idle connections
 * (no request in flight) past idle_timeout_ms, and connections whose client
 * has taken none of its pending replies for idle_timeout_ms (a full socket
 * buffer that does not move). A connection whose parsing is paused waits
 * for its replies to drain, so its read clock does not run. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_worker *wk = arg;
    http_inst *in = wk->inst;
    uint64_t now = csg_mono_ms();
    http_conn *c = wk->conns;
    while (c) {
        http_conn *next = c->next;
        uint64_t idle = now - c->last_ms;
        if (c->lingering) {
            if (idle >= HTTP_LINGER_MS)
                conn_close(c);
        } else if (c->req_start_ms && !c->closing && !c->paused && !c->read_eof &&
                   now - c->req_start_ms >= in->read_ms) {
            request_timeout(c);
        } else if (c->count == 0 && csg_wq_idle(&c->wq) && idle >= in->idle_ms) {
            conn_close(c);
        } else if (c->wq.blocked && now - c->wq.stall_ms >= in->idle_ms) {
            conn_close(c); /* the client stopped reading its replies */
        }
        c = next;
    }
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                       */

static void inst_free(http_inst *in)
{
    if (!in)
        return;
    if (in->lfds) {
        for (unsigned i = 0; i < in->nworkers; i++)
            if (in->lfds[i] >= 0)
                close(in->lfds[i]);
        free(in->lfds);
    }
    free(in->workers);
    free(in);
}

static int http_create(const csg_transport_config *cfg, const csg_core_api *api, void **instance,
                       csg_error *err)
{
    char msg[300];
    http_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err->message, sizeof err->message, "http: out of memory");
        return -CSG_ENOMEM;
    }
    in->api = api;
    build_overloaded_reply();
    snprintf(in->listen, sizeof in->listen, "%s", cfg->listen ? cfg->listen : "");
    in->max_body = api->max_body_bytes ? api->max_body_bytes : 65536;
    in->max_conns = api->max_connections ? api->max_connections : 20000;
    in->idle_ms = api->idle_timeout_ms ? api->idle_timeout_ms : 60000;
    /* read_timeout_ms arrived with ABI 1.2: an older host's table ends before it. */
    in->read_ms = HTTP_READ_TIMEOUT_DEFAULT;
    if (api->read_timeout_ms)
        in->read_ms = api->read_timeout_ms;
    in->nworkers = api->worker_count();
    if (in->nworkers == 0)
        in->nworkers = 1;
    if (csg_net_resolve(in->listen, &in->addr, msg, sizeof msg) != 0) {
        snprintf(err->message, sizeof err->message, "http: bad listen address %.480s", msg);
        goto fail;
    }
    in->lfds = malloc(in->nworkers * sizeof *in->lfds);
    in->workers = calloc(in->nworkers, sizeof *in->workers);
    if (!in->lfds || !in->workers) {
        snprintf(err->message, sizeof err->message, "http: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < in->nworkers; i++)
        in->lfds[i] = -1;
    for (unsigned i = 0; i < in->nworkers; i++) {
        in->lfds[i] = csg_net_listen(&in->addr, true, 1024, msg, sizeof msg);
        if (in->lfds[i] < 0) {
            snprintf(err->message, sizeof err->message, "http: cannot listen on %.200s: %.250s",
                     in->listen, msg);
            goto fail;
        }
        if (i == 0) {
            /* Port 0: every worker's socket must share the port the kernel picked. */
            unsigned port = csg_net_local_port(in->lfds[0]);
            csg_net_set_port(&in->addr, port);
        }
    }
    *instance = in;
    return 0;
fail:
    inst_free(in);
    return -CSG_EINVAL;
}

static int http_start_worker(void *instance, csg_worker *w, csg_error *err)
{
    http_inst *in = instance;
    unsigned idx = in->api->worker_index(w);
    if (idx >= in->nworkers) {
        snprintf(err->message, sizeof err->message,
                 "http: worker %u started but only %u were announced at create", idx,
                 in->nworkers);
        return -CSG_EINVAL;
    }
    http_worker *wk = calloc(1, sizeof *wk);
    if (!wk)
        goto nomem;
    wk->inst = in;
    wk->w = w;
    wk->base = in->api->worker_base(w);
    wk->lfd = in->lfds[idx];
    wk->flusher = csg_flusher_new(wk->base);
    wk->sweep_ev = event_new(wk->base, -1, EV_PERSIST, on_sweep, wk);
    if (!wk->flusher || !wk->sweep_ev)
        goto nomem;
    /* Half the shortest timeout, within [20 ms, 1 s]: a connection is cut
     * between 1x and 1.5x its timeout, for one list walk per period. */
    unsigned every = (in->read_ms < in->idle_ms ? in->read_ms : in->idle_ms) / 2;
    if (every > 1000)
        every = 1000;
    if (every < 20)
        every = 20;
    struct timeval tv = {every / 1000, (every % 1000) * 1000};
    if (event_add(wk->sweep_ev, &tv) != 0) {
        snprintf(err->message, sizeof err->message, "http: event_add failed");
        goto fail;
    }
    csg_acceptor_config ac = {
        .api = in->api,
        .worker = w,
        .transport = "http",
        .lfd = wk->lfd,
        .conns = &in->nconns,
        .max_conns = in->max_conns,
        .refusal = overloaded_reply,
        .refusal_len = overloaded_len,
        .on_accept = on_conn,
        .arg = wk,
    };
    wk->acceptor = csg_acceptor_new(&ac);
    if (!wk->acceptor)
        goto nomem;
    in->lfds[idx] = -1; /* owned by the worker now */
    wk->started = true;
    in->workers[idx] = wk;
    return 0;
nomem:
    snprintf(err->message, sizeof err->message, "http: out of memory");
fail:
    if (wk) {
        if (wk->sweep_ev)
            event_free(wk->sweep_ev);
        csg_flusher_free(wk->flusher);
        free(wk);
    }
    return -CSG_ENOMEM;
}

static void http_stop(void *instance) { (void)instance; }

static void worker_close_listener(http_worker *wk)
{
    csg_acceptor_free(wk->acceptor);
    wk->acceptor = NULL;
    if (wk->lfd >= 0) {
        close(wk->lfd);
        wk->lfd = -1;
    }
}

static void worker_free(http_worker *wk)
{
    worker_close_listener(wk);
    while (wk->conns)
        conn_close(wk->conns);
    if (wk->sweep_ev)
        event_free(wk->sweep_ev);
    wk->sweep_ev = NULL;
    csg_flusher_free(wk->flusher);
    wk->flusher = NULL;
    free(wk);
}

static unsigned http_drain_worker(void *instance, csg_worker *w)
{
    http_inst *in = instance;
    unsigned idx = in->api->worker_index(w);
    http_worker *wk = idx < in->nworkers ? in->workers[idx] : NULL;
    if (!wk)
        return 0;
    if (!wk->draining) {
        wk->draining = true;
        worker_close_listener(wk);
        /* Idle keep-alive connections go now; busy ones after their last reply. */
        http_conn *c = wk->conns;
        while (c) {
            http_conn *next = c->next;
            if (c->count == 0 && csg_wq_idle(&c->wq))
                conn_close(c);
            else
                c->wq.notify_drained = true;
            c = next;
        }
    }
    if (wk->pending > 0)
        return wk->pending;
    /* Every request is answered; replies still in output buffers count as
     * pending until written (bounded by the core's drain deadline). */
    for (http_conn *c = wk->conns; c; c = c->next)
        if (!csg_wq_idle(&c->wq))
            return 1;
    in->workers[idx] = NULL;
    worker_free(wk);
    return 0;
}

static void http_destroy(void *instance)
{
    http_inst *in = instance;
    if (!in)
        return;
    /* Workers that were never drained: their loops have exited, but their
     * event_bases still exist (the core frees them after transports). */
    for (unsigned i = 0; i < in->nworkers; i++)
        if (in->workers[i]) {
            worker_free(in->workers[i]);
            in->workers[i] = NULL;
        }
    inst_free(in);
}

static const csg_transport_plugin http_plugin = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "http", HTTP_VERSION),
    .options = NULL,
    .create = http_create,
    .start_worker = http_start_worker,
    .start = NULL,
    .stop = http_stop,
    .drain_worker = http_drain_worker,
    .destroy = http_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &http_plugin.header;
}
