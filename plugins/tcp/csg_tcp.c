/*
 * tcp.so — the newline-delimited JSON transport (DESIGN §5 "TCP").
 *
 * Owns: one SO_REUSEPORT listening socket per worker; connections driven
 * directly by the worker's event loop (plain read/send on non-blocking fds,
 * no bufferevent); line framing with a bounded input buffer; replies written
 * in request order with batched writes; back-pressure; idle timeout;
 * half-close; drain on SIGTERM.
 *
 * Life of a line: read → framed at '\n' → api->parse_application → a slot
 * appended to the connection's reply queue → api->submit. Error lines get a
 * slot that is complete at once. A reply callback completes its slot; the
 * complete prefix of the queue is moved into the output buffer, and the
 * connection is put on the worker's "dirty" list. One activated event per
 * worker then writes every dirty connection once, so replies that finish in
 * the same loop iteration leave in one send().
 *
 * Timeouts: one periodic sweep per worker (no timer per connection) closes
 * idle connections (limits.idle_timeout_ms) and cuts off a line that is not
 * complete read_timeout_ms after its first byte (limits.read_timeout_ms,
 * slowloris): a `request_timeout` error line, then close. The sweep only
 * compares timestamps that reads already take from libevent's cached clock,
 * so the hot path makes no extra syscall.
 *
 * Back-pressure: a connection stops being read while its reply queue holds
 * max_pipeline slots or its output buffer holds more than max_output_bytes
 * (a client that does not read its replies); reading resumes when both are
 * below half. So memory per connection is bounded no matter what the client
 * does, and the kernel's socket buffers push back on the client.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "csg/plugin.h"
#include "csg_accept.h"
#include "csg_clock.h"
#include "csg_net.h"

#define TCP_NAME "tcp"
#define TCP_READ_CHUNK 16384   /* bytes asked of one read() */
#define TCP_REPLY_STACK 1024   /* most replies fit; longer ones go to the heap */
#define TCP_IN_KEEP_MAX 65536  /* free a larger idle input buffer */
#define TCP_READ_TIMEOUT_DEFAULT 10000 /* ms, when the host's api predates ABI 1.2 */
#define TCP_LINGER_MS 2000     /* read-and-discard after a last error line, before close */
#define TCP_LINGER_BYTES (1u << 20)

enum { OPT_MAX_PIPELINE, OPT_MAX_OUTPUT_BYTES, OPT_COUNT };

static const csg_option tcp_options[] = {
    [OPT_MAX_PIPELINE] = {CSG_OPT_INT, "max_pipeline", "256", false, 1, 65536,
                          "lines per connection awaiting their reply before reading pauses", 0},
    [OPT_MAX_OUTPUT_BYTES] = {CSG_OPT_INT, "max_output_bytes", "262144", false, 4096, 67108864,
                              "unsent reply bytes per connection before reading pauses", 0},
    {0},
};

typedef struct tcp_server tcp_server;
typedef struct tcp_worker tcp_worker;
typedef struct tcp_conn tcp_conn;
typedef struct tcp_slot tcp_slot;

/* One line's place in the reply order. */
struct tcp_slot {
    tcp_slot *next;
    tcp_conn *conn;
    bool done;   /* reply (or error) known */
    size_t len;  /* of data, newline included */
    char *data;  /* heap copy when done before the slots ahead of it */
};

struct tcp_conn {
    tcp_worker *tw;
    tcp_conn *prev, *next; /* tw->conns, or tw->zombies once closed */
    tcp_conn *dirty_next;
    bool dirty;  /* on tw's dirty list: do not free */
    bool closed; /* fd closed; struct lives until refs == 0 and !dirty */
    bool rd_paused, rd_eof, wr_armed, discarding;
    bool finishing; /* read timeout: no more lines; linger once the error line is out */
    bool lingering; /* write side shut, discarding input until EOF or TCP_LINGER_MS */
    int fd;
    unsigned refs;   /* submitted requests whose reply has not come back */
    unsigned queued; /* slots in the reply queue */
    struct event *rd_ev, *wr_ev;
    char *in;
    size_t in_len, in_cap, scanned; /* scanned: prefix of in known to hold no '\n' */
    char *out;
    size_t out_off, out_len, out_cap;
    tcp_slot *head, *tail;
    uint64_t last_ms;       /* last byte read or written (idle timeout) */
    uint64_t line_start_ms; /* first byte of the unfinished line; 0 = none */
    size_t discarded;       /* bytes dropped while lingering */
};

struct tcp_worker {
    tcp_server *srv;
    csg_worker *w;
    struct event_base *base;
    int lfd;
    csg_acceptor *acceptor;
    struct event *flush_ev, *sweep_ev;
    tcp_conn *conns;   /* open connections */
    tcp_conn *zombies; /* closed, waiting for replies still owed by the core */
    tcp_conn *dirty;   /* connections with output to write this iteration */
    unsigned nconns;
    bool draining;
};

struct tcp_server {
    const csg_core_api *api;
    unsigned nworkers;
    tcp_worker *workers;
    size_t max_line;
    size_t max_out;
    unsigned max_pipeline;
    unsigned max_conns;
    unsigned idle_ms;       /* 0 = no idle timeout */
    unsigned read_ms;       /* a line must be complete this long after its first byte */
    atomic_uint nconns;     /* all workers: limits.max_connections is per transport */
    atomic_bool stopping;   /* stop() ran: listeners are shut down */
    char listen[128];
    char overloaded[160];   /* error line for a connection refused at max_conns */
    size_t overloaded_len;
};

static void conn_close(tcp_conn *c);
static void conn_process(tcp_conn *c);
static void conn_mark_dirty(tcp_conn *c);

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static void set_err(csg_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(csg_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static tcp_worker *worker_of(tcp_server *srv, csg_worker *w)
{
    unsigned i = srv->api->worker_index(w);
    return i < srv->nworkers ? &srv->workers[i] : NULL;
}

static bool out_reserve(tcp_conn *c, size_t more)
{
    if (c->out_len + more <= c->out_cap)
        return true;
    if (c->out_off > 0) { /* reclaim what was already sent */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + more <= c->out_cap)
            return true;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + more)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return false;
    c->out = p;
    c->out_cap = cap;
    return true;
}

static void out_append(tcp_conn *c, const char *data, size_t len)
{
    if (!out_reserve(c, len)) {
        /* Losing one reply would silently shift every later one. */
        c->tw->srv->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
        conn_close(c);
        return;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static size_t out_pending(const tcp_conn *c) { return c->out_len - c->out_off; }

/* ------------------------------------------------------------------------ */
/* Reply queue                                                               */

static void slot_unlink_head(tcp_conn *c)
{
    tcp_slot *s = c->head;
    c->head = s->next;
    if (!c->head)
        c->tail = NULL;
    c->queued--;
}

/* Move the complete prefix of the reply queue into the output buffer. */
static void conn_flush_ready(tcp_conn *c)
{
    bool moved = false;
    while (!c->closed && c->head && c->head->done) {
        tcp_slot *s = c->head;
        slot_unlink_head(c);
        out_append(c, s->data, s->len);
        free(s->data);
        free(s);
        moved = true;
    }
    if (moved && !c->closed)
        conn_mark_dirty(c);
}

static tcp_slot *slot_push(tcp_conn *c)
{
    tcp_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->conn = c;
    if (c->tail)
        c->tail->next = s;
    else
        c->head = s;
    c->tail = s;
    c->queued++;
    return s;
}

/* Complete slot s with line[0..len) + "\n". */
static void slot_complete(tcp_conn *c, tcp_slot *s, const char *line, size_t len)
{
    if (s == c->head) { /* the common case: nothing ahead of it, no copy */
        slot_unlink_head(c);
        free(s);
        if (out_reserve(c, len + 1)) {
            memcpy(c->out + c->out_len, line, len);
            c->out[c->out_len + len] = '\n';
            c->out_len += len + 1;
            conn_mark_dirty(c);
        } else {
            c->tw->srv->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
            conn_close(c);
            return;
        }
        conn_flush_ready(c);
        return;
    }
    s->data = malloc(len + 1);
    if (!s->data) {
        c->tw->srv->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
        conn_close(c);
        return;
    }
    memcpy(s->data, line, len);
    s->data[len] = '\n';
    s->len = len + 1;
    s->done = true;
}

/* {"error":{"code","message"[,"field"][,"request_id"]}}: the core's error
 * object with the request id spliced in before its closing braces, so a
 * client matching replies by id can match error lines too. rid may be NULL
 * or "". snprintf semantics. */
static size_t format_error_rid(const csg_core_api *api, const char *code, const char *message,
                               const char *field, const char *rid, char *buf, size_t cap)
{
    size_t n = api->format_error(code, message, field, buf, cap);
    if (!rid || !rid[0] || n < 2)
        return n;
    /* A valid id is printable ASCII: only '"' and '\\' need escaping. */
    char tail[2 * CSG_REQUEST_ID_MAX + 32];
    size_t t = 0;
    static const char key[] = ",\"request_id\":\"";
    memcpy(tail, key, sizeof key - 1);
    t = sizeof key - 1;
    for (size_t i = 0; rid[i] && i < CSG_REQUEST_ID_MAX; i++) {
        if (rid[i] == '"' || rid[i] == '\\')
            tail[t++] = '\\';
        tail[t++] = rid[i];
    }
    memcpy(tail + t, "\"}}", 3);
    t += 3;
    size_t total = n - 2 + t;
    if (total < cap) {
        memcpy(buf + n - 2, tail, t);
        buf[total] = '\0';
    }
    return total;
}

/* Queue an error line in order (its own slot, complete at once). rid: the
 * request id to echo, or NULL. */
static void conn_error(tcp_conn *c, const char *code, const char *message, const char *field,
                       const char *rid)
{
    const csg_core_api *api = c->tw->srv->api;
    char stackbuf[TCP_REPLY_STACK];
    char *buf = stackbuf;
    size_t n = format_error_rid(api, code, message, field, rid, stackbuf, sizeof stackbuf);
    if (n >= sizeof stackbuf) {
        buf = malloc(n + 1);
        if (!buf) {
            conn_close(c);
            return;
        }
        format_error_rid(api, code, message, field, rid, buf, n + 1);
    }
    api->count_request(c->tw->w, TCP_NAME, code);
    tcp_slot *s = slot_push(c);
    if (!s)
        conn_close(c);
    else
        slot_complete(c, s, buf, n);
    if (buf != stackbuf)
        free(buf);
}

static const char *reply_error_code(csg_reply_status st)
{
    switch (st) {
    case CSG_REPLY_CHAMPION_ERROR:
        return "champion_error";
    case CSG_REPLY_CHAMPION_TIMEOUT:
        return "champion_timeout";
    case CSG_REPLY_OVERLOADED:
        return "overloaded";
    case CSG_REPLY_NOT_READY:
        return "not_ready";
    case CSG_REPLY_DEADLINE:
        return "deadline_exceeded";
    default:
        return "internal";
    }
}

static void conn_release(tcp_conn *c);

static void on_reply(void *ctx, const csg_reply *reply)
{
    tcp_slot *s = ctx;
    tcp_conn *c = s->conn;
    tcp_worker *tw = c->tw;
    const csg_core_api *api = tw->srv->api;
    c->refs--;
    if (c->closed) { /* the client went away; the slot was left for us */
        free(s);
        conn_release(c);
        return;
    }
    char stackbuf[TCP_REPLY_STACK];
    char *buf = stackbuf;
    size_t n;
    const char *label;
    if (reply->status == CSG_REPLY_OK) {
        label = "ok";
        n = api->format_reply(reply, stackbuf, sizeof stackbuf);
        if (n >= sizeof stackbuf && (buf = malloc(n + 1)) != NULL)
            api->format_reply(reply, buf, n + 1);
    } else {
        label = reply_error_code(reply->status);
        const char *msg = reply->error_message ? reply->error_message : label;
        n = format_error_rid(api, label, msg, NULL, reply->request_id, stackbuf,
                             sizeof stackbuf);
        if (n >= sizeof stackbuf && (buf = malloc(n + 1)) != NULL)
            format_error_rid(api, label, msg, NULL, reply->request_id, buf, n + 1);
    }
    api->count_request(tw->w, TCP_NAME, label);
    if (!buf) { /* the reply order cannot be kept any more: the connection must go */
        conn_close(c);
        free(s);
        return;
    }
    slot_complete(c, s, buf, n);
    if (buf != stackbuf)
        free(buf);
    if (!c->closed && c->rd_paused)
        conn_process(c); /* a slot freed up: buffered lines may go on */
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

static void handle_line(tcp_conn *c, char *line, size_t len)
{
    tcp_server *srv = c->tw->srv;
    const csg_core_api *api = srv->api;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return; /* blank line (e.g. a keep-alive from nc/telnet): nothing to answer */
    if (len > srv->max_line) {
        char msg[96];
        snprintf(msg, sizeof msg, "line longer than %zu bytes", srv->max_line);
        conn_error(c, "payload_too_large", msg, NULL, NULL);
        return;
    }
    csg_request req;
    csg_parse_error perr;
    memset(&perr, 0, sizeof perr);
    memset(&req, 0, sizeof req);
    req.size = sizeof req;
    csg_parse_status st =
        api->parse_application(c->tw->w, line, len, &req.app, req.request_id, &perr);
    if (st != CSG_PARSE_OK) {
        conn_error(c, st == CSG_PARSE_INVALID_JSON ? "invalid_json" : "invalid_field",
                   perr.message[0] ? perr.message : "invalid application",
                   st == CSG_PARSE_INVALID_FIELD && perr.field[0] ? perr.field : NULL,
                   st == CSG_PARSE_INVALID_FIELD ? req.request_id : NULL);
        return;
    }
    if (req.request_id[0] && !api->valid_request_id(req.request_id, strlen(req.request_id))) {
        api->application_free(req.app);
        conn_error(c, "invalid_field", "request_id must be 1-64 printable ASCII characters",
                   "request_id", NULL);
        return;
    }
    req.transport = TCP_NAME;
    req.deadline_ms = 0;
    tcp_slot *s = slot_push(c);
    if (!s) {
        api->application_free(req.app);
        conn_close(c);
        return;
    }
    c->refs++;
    api->submit(c->tw->w, &req, on_reply, s);
}

static bool conn_must_pause(const tcp_conn *c)
{
    const tcp_server *srv = c->tw->srv;
    return c->queued >= srv->max_pipeline || out_pending(c) > srv->max_out;
}

static bool conn_may_resume(const tcp_conn *c)
{
    const tcp_server *srv = c->tw->srv;
    return c->queued <= srv->max_pipeline / 2 && out_pending(c) <= srv->max_out / 2;
}

static void conn_pause(tcp_conn *c)
{
    if (!c->rd_paused) {
        c->rd_paused = true;
        event_del(c->rd_ev);
    }
}

/* Frame and handle every complete line in the input buffer, unless
 * back-pressure says stop; keep a partial line for the next read. */
static void conn_process(tcp_conn *c)
{
    tcp_server *srv = c->tw->srv;
    if (c->finishing)
        return; /* timed out: nothing more is parsed */
    if (c->rd_paused) {
        if (c->tw->draining || !conn_may_resume(c))
            return;
        c->rd_paused = false;
        /* The pause was ours: a line begun before it gets the whole read
         * timeout from now. */
        if (c->line_start_ms)
            c->line_start_ms = csg_mono_ms();
    }
    size_t start = 0;
    bool ended = false; /* a line ended here: what is left is a newer line */
    while (!c->closed && start < c->in_len) {
        if (conn_must_pause(c)) {
            conn_pause(c);
            break;
        }
        size_t from = start > c->scanned ? start : c->scanned;
        char *nl = memchr(c->in + from, '\n', c->in_len - from);
        if (!nl) {
            c->scanned = c->in_len;
            size_t partial = c->in_len - start;
            if (c->discarding) {
                start = c->in_len; /* still inside an overlong line */
            } else if (partial > srv->max_line) {
                char msg[96];
                snprintf(msg, sizeof msg, "line longer than %zu bytes", srv->max_line);
                conn_error(c, "payload_too_large", msg, NULL, NULL);
                c->discarding = true;
                start = c->in_len;
            }
            break;
        }
        size_t end = (size_t)(nl - c->in);
        ended = true;
        if (c->discarding)
            c->discarding = false; /* the overlong line ends here; its error is queued */
        else
            handle_line(c, c->in + start, end - start);
        start = end + 1;
    }
    if (c->closed)
        return;
    if (start > 0) {
        memmove(c->in, c->in + start, c->in_len - start);
        c->in_len -= start;
        c->scanned = c->scanned > start ? c->scanned - start : 0;
    }
    if (c->in_len == 0 && c->in_cap > TCP_IN_KEEP_MAX) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    /* Read timeout clock: runs from the first byte of an unfinished line
     * (an overlong line being discarded is still the same line). A line
     * left over after one ended started in this read, or while reading was
     * paused: "now" is close enough, and errs on the client's side. */
    if (c->in_len == 0 && !c->discarding)
        c->line_start_ms = 0;
    else if (ended || c->line_start_ms == 0)
        c->line_start_ms = csg_mono_ms();
    if (!c->rd_paused && !c->rd_eof && !c->tw->draining)
        event_add(c->rd_ev, NULL);
}

/* The client will send nothing more and every owed reply has gone out. */
static void conn_maybe_finish(tcp_conn *c)
{
    if (c->closed || c->lingering || !(c->rd_eof || c->tw->draining || c->finishing))
        return;
    if (c->head || out_pending(c))
        return;
    if (c->rd_eof && c->rd_paused && c->in_len)
        return;
    if (c->finishing && !c->rd_eof) {
        /* The client is still sending (it timed out mid-line): closing now
         * with its bytes unread would send a RST that can destroy our error
         * line before the client reads it. Shut our side and discard what
         * comes until it closes too, or TCP_LINGER_MS. */
        shutdown(c->fd, SHUT_WR);
        c->lingering = true;
        c->last_ms = csg_mono_ms();
        event_add(c->rd_ev, NULL);
        return;
    }
    conn_close(c);
}

static void conn_on_eof(tcp_conn *c)
{
    c->rd_eof = true;
    event_del(c->rd_ev);
    /* A last line without its newline is still a line. */
    if (c->in_len && !c->discarding && !c->rd_paused) {
        size_t len = c->in_len;
        c->in_len = 0;
        c->scanned = 0;
        if (len > c->tw->srv->max_line) {
            char msg[96];
            snprintf(msg, sizeof msg, "line longer than %zu bytes", c->tw->srv->max_line);
            conn_error(c, "payload_too_large", msg, NULL, NULL);
        } else {
            handle_line(c, c->in, len);
        }
    }
    conn_maybe_finish(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tcp_conn *c = arg;
    tcp_server *srv = c->tw->srv;
    if (c->lingering) {
        char sink[4096];
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n > 0) {
            c->discarded += (size_t)n;
            if (c->discarded > TCP_LINGER_BYTES)
                conn_close(c);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            conn_close(c);
        }
        return;
    }
    size_t limit = srv->max_line + 1 + TCP_READ_CHUNK;
    if (c->in_cap - c->in_len < TCP_READ_CHUNK && c->in_cap < limit) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
        while (cap < c->in_len + TCP_READ_CHUNK)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        char *p = realloc(c->in, cap);
        if (!p) {
            srv->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory; closing connection");
            conn_close(c);
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        c->last_ms = csg_mono_ms();
        conn_process(c);
        return;
    }
    if (n == 0) {
        conn_on_eof(c);
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return;
    conn_close(c); /* reset by peer etc.: nobody is left to read replies */
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

static void conn_write(tcp_conn *c)
{
    while (out_pending(c)) {
        ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c), MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->last_ms = csg_mono_ms();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->wr_armed) {
                c->wr_armed = true;
                event_add(c->wr_ev, NULL);
            }
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        conn_close(c);
        return;
    }
    c->out_off = c->out_len = 0;
    if (c->wr_armed) {
        c->wr_armed = false;
        event_del(c->wr_ev);
    }
    if (c->rd_paused)
        conn_process(c);
    if (!c->closed)
        conn_maybe_finish(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_write(arg);
}

static void dirty_push(tcp_conn *c)
{
    tcp_worker *tw = c->tw;
    if (c->dirty)
        return;
    if (!tw->dirty)
        event_active(tw->flush_ev, EV_WRITE, 0);
    c->dirty = true;
    c->dirty_next = tw->dirty;
    tw->dirty = c;
}

static void conn_mark_dirty(tcp_conn *c)
{
    if (!c->wr_armed) /* when armed, the write event sends it as soon as it can */
        dirty_push(c);
}

/* Runs once per loop iteration in which replies were produced. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tcp_worker *tw = arg;
    tcp_conn *list = tw->dirty;
    tw->dirty = NULL;
    while (list) {
        tcp_conn *c = list;
        list = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        if (c->closed)
            conn_release(c);
        else
            conn_write(c);
    }
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static void list_remove(tcp_conn **list, tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void list_push(tcp_conn **list, tcp_conn *c)
{
    c->prev = NULL;
    c->next = *list;
    if (*list)
        (*list)->prev = c;
    *list = c;
}

static void conn_free_events(tcp_conn *c)
{
    if (c->rd_ev)
        event_free(c->rd_ev);
    if (c->wr_ev)
        event_free(c->wr_ev);
    c->rd_ev = c->wr_ev = NULL;
}

/* Free a closed connection once nothing refers to it any more. */
static void conn_release(tcp_conn *c)
{
    if (!c->closed || c->refs || c->dirty)
        return;
    list_remove(&c->tw->zombies, c);
    free(c);
}

static void conn_close(tcp_conn *c)
{
    if (c->closed)
        return;
    tcp_worker *tw = c->tw;
    c->closed = true;
    conn_free_events(c);
    close(c->fd);
    c->fd = -1;
    list_remove(&tw->conns, c);
    tw->nconns--;
    atomic_fetch_sub(&tw->srv->nconns, 1);
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    /* Complete slots are ours to free; pending ones are freed by on_reply. */
    tcp_slot *s = c->head;
    while (s) {
        tcp_slot *next = s->next;
        if (s->done) {
            free(s->data);
            free(s);
        }
        s = next;
    }
    c->head = c->tail = NULL;
    c->queued = 0;
    list_push(&tw->zombies, c);
    /* Never free here: callers up the stack may still hold c. The flush
     * event (or the last on_reply) releases it. */
    dirty_push(c);
}

/* The line has not been completed read_ms after its first byte: answer it
 * with a request_timeout error line (in order, after the replies still owed)
 * and close once that is written. */
static void conn_read_timeout(tcp_conn *c)
{
    tcp_server *srv = c->tw->srv;
    c->finishing = true;
    c->line_start_ms = 0;
    c->in_len = c->scanned = 0; /* the partial line is dropped */
    c->discarding = false;
    event_del(c->rd_ev);
    char msg[96];
    snprintf(msg, sizeof msg, "line not complete within %u ms of its first byte", srv->read_ms);
    conn_error(c, "request_timeout", msg, NULL, NULL);
    conn_maybe_finish(c);
}

/* Every sweep period: lingering connections past TCP_LINGER_MS, lines past
 * read_ms (slowloris), idle connections past idle_ms, and connections whose
 * client has taken none of its pending replies for idle_ms. Connections whose
 * reading is paused by back-pressure are waiting for us, not for the
 * client, so their line clock does not count. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tcp_worker *tw = arg;
    tcp_server *srv = tw->srv;
    uint64_t now = csg_mono_ms();
    tcp_conn *c = tw->conns;
    while (c) {
        tcp_conn *next = c->next; /* c may move to the zombie list */
        if (c->lingering) {
            if (now - c->last_ms >= TCP_LINGER_MS)
                conn_close(c);
        } else if (c->line_start_ms && !c->finishing && !c->rd_paused && !c->rd_eof &&
                   now - c->line_start_ms >= srv->read_ms) {
            conn_read_timeout(c);
        } else if (srv->idle_ms && (c->wr_armed || (!c->head && !out_pending(c))) &&
                   now - c->last_ms >= srv->idle_ms) {
            conn_close(c); /* idle, or the client stopped reading its replies */
        }
        c = next;
    }
}

/* An admitted connection (csg_accept.h): it already counts in srv->nconns. */
static void conn_open(void *arg, int fd)
{
    tcp_worker *tw = arg;
    tcp_server *srv = tw->srv;
    tcp_conn *c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->tw = tw;
    c->fd = fd;
    c->rd_ev = event_new(tw->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wr_ev = event_new(tw->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    if (!c->rd_ev || !c->wr_ev)
        goto fail;
    c->last_ms = csg_mono_ms();
    csg_net_nodelay(fd); /* we batch ourselves */
    event_add(c->rd_ev, NULL);
    list_push(&tw->conns, c);
    tw->nconns++;
    return;
fail:
    srv->api->log(CSG_LOG_ERROR, TCP_NAME, "out of memory accepting a connection");
    if (c)
        conn_free_events(c);
    free(c);
    close(fd);
    atomic_fetch_sub(&srv->nconns, 1);
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                       */

static void tcp_destroy(void *instance);

static int tcp_create(const csg_transport_config *cfg, const csg_core_api *api, void **instance,
                      csg_error *err)
{
    tcp_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        set_err(err, "tcp: out of memory");
        return -CSG_ENOMEM;
    }
    int rc = -CSG_EINVAL;
    srv->api = api;
    snprintf(srv->listen, sizeof srv->listen, "%s", cfg->listen ? cfg->listen : "");
    srv->max_line = api->max_line_bytes ? api->max_line_bytes : 16384;
    srv->max_conns = api->max_connections ? api->max_connections : 20000;
    size_t n = api->format_error("overloaded", "too many connections", NULL, srv->overloaded,
                                 sizeof srv->overloaded - 1);
    if (n < sizeof srv->overloaded - 1) {
        srv->overloaded[n++] = '\n';
        srv->overloaded_len = n;
    }
    srv->idle_ms = api->idle_timeout_ms;
    /* read_timeout_ms arrived with ABI 1.2: an older host's table ends before it. */
    srv->read_ms = TCP_READ_TIMEOUT_DEFAULT;
    if (api->read_timeout_ms)
        srv->read_ms = api->read_timeout_ms;
    srv->max_pipeline = 256;
    srv->max_out = 262144;
    if (cfg->options) {
        srv->max_pipeline = (unsigned)cfg->options[OPT_MAX_PIPELINE].i;
        srv->max_out = (size_t)cfg->options[OPT_MAX_OUTPUT_BYTES].i;
    }
    srv->nworkers = api->worker_count();
    srv->workers = calloc(srv->nworkers ? srv->nworkers : 1, sizeof *srv->workers);
    if (!srv->workers) {
        set_err(err, "tcp: out of memory");
        rc = -CSG_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        srv->workers[i].srv = srv;
        srv->workers[i].lfd = -1;
    }

    /* The same address handling as http.so (lib/csg_net.c). */
    char msg[300];
    csg_sockaddr addr;
    if (csg_net_resolve(srv->listen, &addr, msg, sizeof msg) != 0) {
        set_err(err, "tcp: bad listen address %.480s", msg);
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        srv->workers[i].lfd = csg_net_listen(&addr, true, 1024, msg, sizeof msg);
        if (srv->workers[i].lfd < 0) {
            set_err(err, "tcp: cannot listen on %.200s: %.250s", srv->listen, msg);
            rc = -CSG_EIO;
            goto fail;
        }
        if (i == 0) /* port 0: every worker must share the port the kernel chose */
            csg_net_set_port(&addr, csg_net_local_port(srv->workers[0].lfd));
    }
    *instance = srv;
    return 0;
fail:
    tcp_destroy(srv);
    return rc;
}

static int tcp_start_worker(void *instance, csg_worker *w, csg_error *err)
{
    tcp_server *srv = instance;
    tcp_worker *tw = worker_of(srv, w);
    if (!tw) {
        set_err(err, "tcp: worker index out of range");
        return -CSG_EINVAL;
    }
    tw->w = w;
    tw->base = srv->api->worker_base(w);
    tw->flush_ev = event_new(tw->base, -1, 0, on_flush, tw);
    tw->sweep_ev = event_new(tw->base, -1, EV_PERSIST, on_sweep, tw);
    /* Half the shortest timeout, within [20 ms, 1 s]: a connection is cut
     * between 1x and 1.5x its timeout, and 10k connections cost one list
     * walk per period. */
    unsigned every = srv->read_ms;
    if (srv->idle_ms && srv->idle_ms < every)
        every = srv->idle_ms;
    every /= 2;
    every = every > 1000 ? 1000 : every < 20 ? 20 : every;
    struct timeval tv = {every / 1000, (every % 1000) * 1000};
    if (!tw->flush_ev || !tw->sweep_ev || event_add(tw->sweep_ev, &tv) < 0) {
        set_err(err, "tcp: cannot add listener events");
        return -CSG_ENOMEM;
    }
    csg_acceptor_config ac = {
        .api = srv->api,
        .worker = w,
        .transport = TCP_NAME,
        .lfd = tw->lfd,
        .conns = &srv->nconns,
        .max_conns = srv->max_conns,
        .refusal = srv->overloaded,
        .refusal_len = srv->overloaded_len,
        .on_accept = conn_open,
        .arg = tw,
    };
    tw->acceptor = csg_acceptor_new(&ac);
    if (!tw->acceptor) {
        set_err(err, "tcp: cannot add listener events");
        return -CSG_ENOMEM;
    }
    return 0;
}

/* Main thread. shutdown() of a listening socket is safe from any thread: it
 * leaves the SO_REUSEPORT group at once and wakes the worker, whose accept
 * then fails with EINVAL and removes the event. The fd is closed by its own
 * worker in drain_worker. */
static void tcp_stop(void *instance)
{
    tcp_server *srv = instance;
    atomic_store(&srv->stopping, true);
    for (unsigned i = 0; i < srv->nworkers; i++)
        if (srv->workers[i].lfd >= 0)
            shutdown(srv->workers[i].lfd, SHUT_RDWR);
}

static unsigned tcp_drain_worker(void *instance, csg_worker *w)
{
    tcp_server *srv = instance;
    tcp_worker *tw = worker_of(srv, w);
    if (!tw)
        return 0;
    if (!tw->draining) {
        tw->draining = true;
        csg_acceptor_free(tw->acceptor);
        tw->acceptor = NULL;
        if (tw->lfd >= 0) {
            close(tw->lfd);
            tw->lfd = -1;
        }
        /* No new lines: what is buffered but not yet submitted is dropped
         * with the connection; what was submitted gets its reply. */
        tcp_conn *c = tw->conns;
        while (c) {
            tcp_conn *next = c->next;
            conn_pause(c);
            conn_maybe_finish(c);
            c = next;
        }
    }
    unsigned pending = 0;
    for (tcp_conn *c = tw->conns; c; c = c->next)
        pending += c->queued + (out_pending(c) ? 1u : 0u);
    for (tcp_conn *c = tw->zombies; c; c = c->next)
        pending += c->refs;
    return pending;
}

static void tcp_destroy(void *instance)
{
    tcp_server *srv = instance;
    if (!srv)
        return;
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
        tcp_worker *tw = &srv->workers[i];
        while (tw->conns) {
            tcp_conn *c = tw->conns;
            /* Replies the core still owes will never come: the workers are gone. */
            for (tcp_slot *sl = c->head, *next; sl; sl = next) {
                next = sl->next;
                free(sl->data);
                free(sl);
            }
            c->head = c->tail = NULL;
            c->refs = 0;
            conn_close(c);
        }
        while (tw->zombies) { /* slots still owed by the core are lost with it */
            tcp_conn *z = tw->zombies;
            list_remove(&tw->zombies, z);
            free(z);
        }
        tw->dirty = NULL;
        csg_acceptor_free(tw->acceptor);
        if (tw->flush_ev)
            event_free(tw->flush_ev);
        if (tw->sweep_ev)
            event_free(tw->sweep_ev);
        if (tw->lfd >= 0)
            close(tw->lfd);
    }
    free(srv->workers);
    free(srv);
}

static const csg_transport_plugin tcp_plugin = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_TRANSPORT, csg_transport_plugin, "tcp", "1.0.0"),
    .options = tcp_options,
    .create = tcp_create,
    .start_worker = tcp_start_worker,
    .start = NULL,
    .stop = tcp_stop,
    .drain_worker = tcp_drain_worker,
    .destroy = tcp_destroy,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &tcp_plugin.header;
}
