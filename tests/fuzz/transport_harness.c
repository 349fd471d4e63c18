/*
 * transport_harness.c — see transport_harness.h. The test host (one worker,
 * its loop turned here: manual_loop) loads the plugin and provides the
 * core's application parser, reply and error writers; this file is the
 * submit handler and a loopback client that feeds one fuzz input per
 * connection.
 *
 * The handler answers submitted requests later, from the worker's event
 * loop (as the ABI requires), in an order chosen by the input's flags, so
 * out-of-order completion, pipelining limits and back-pressure are reached.
 * The reply status is derived from the applicant id (OK, champion error,
 * timeout, overloaded, fallback), so every reply shape is written.
 *
 * Every connection ends with an RST (SO_LINGER 0) from the client: no
 * TIME_WAIT, so millions of inputs never exhaust loopback ports.
 */
#include "transport_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "application.h"
#include "csg_test_host.h"

#define FZ_MAX_FD 4096
#define FZ_SEND_TURNS 4000  /* event-loop turns spent sending one input */
#define FZ_SETTLE_TURNS 400 /* turns waiting for the replies afterwards */
#define FZ_OUT_CAP (1u << 20)

#ifndef CSG_FUZZ_PLUGIN_DIR
#define CSG_FUZZ_PLUGIN_DIR "build/lib/csg"
#endif

typedef struct fz_pending {
    csg_request req;
    csg_reply_cb cb;
    void *ctx;
    unsigned due;  /* turn at which mode 2 delivers it */
    uint32_t hash; /* of the applicant id: picks the reply status */
} fz_pending;

static struct {
    bool ready;
    csg_test_host *host;
    struct event_base *base;
    struct sockaddr_in addr;
    struct event *deliver_ev;
    fz_pending *pending;
    size_t npending, cap;
    unsigned turn;
    unsigned mode;
    bool release; /* mode 3: input fully sent, answer everything */
} g;

/* ------------------------------------------------------------------------ */
/* The submit handler                                                        */

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void fz_submit(void *user, csg_worker *w, const csg_request *req, csg_reply_cb cb,
                      void *ctx)
{
    (void)user;
    (void)w;
    /* The transport promised a validated application: check it did. */
    double income, loan;
    int64_t history;
    if (!req->app || req->size != sizeof *req)
        __builtin_trap();
    size_t idlen = strlen(csg_app_applicant_id(req->app));
    if (idlen == 0 || idlen > CSG_APPLICANT_ID_MAX || !csg_app_number(req->app, 0, &income) ||
        !(income >= 0) || !csg_app_number(req->app, 1, &loan) || !(loan > 0) ||
        !csg_app_integer(req->app, 2, &history) || history < 0 || !req->transport)
        __builtin_trap();
    size_t ridlen = strnlen(req->request_id, sizeof req->request_id);
    if (ridlen > CSG_REQUEST_ID_MAX || (ridlen && !csg_valid_request_id(req->request_id, ridlen)))
        __builtin_trap();
    if (g.npending == g.cap) {
        size_t ncap = g.cap ? g.cap * 2 : 64;
        fz_pending *np = realloc(g.pending, ncap * sizeof *np);
        if (!np)
            abort();
        g.pending = np;
        g.cap = ncap;
    }
    fz_pending *p = &g.pending[g.npending++];
    p->req = *req;
    p->cb = cb;
    p->ctx = ctx;
    p->hash = fnv(csg_app_applicant_id(req->app));
    p->due = g.turn + 1 + (g.mode == 2 ? p->hash % 5 : 0);
}

/* ------------------------------------------------------------------------ */
/* Reply delivery                                                            */

static void answer(fz_pending *p)
{
    csg_reply r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.applicant_id = csg_app_applicant_id(p->req.app);
    r.model = "champion-fuzz";
    r.experiment_id = "exp-fuzz";
    r.request_id = p->req.request_id; /* the host set one when the client did not */
    r.score = (double)(p->hash >> 8) / (double)(1u << 24);
    r.decision = r.score >= 0.5 ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    switch (p->hash % 10) {
    case 6: r.status = CSG_REPLY_CHAMPION_ERROR, r.error_message = "champion said 500"; break;
    case 7: r.status = CSG_REPLY_CHAMPION_TIMEOUT, r.error_message = "champion too slow"; break;
    case 8: r.status = CSG_REPLY_OVERLOADED, r.error_message = "queue full"; break;
    case 9: r.is_fallback = true, r.decision = CSG_DECISION_REVIEW; break;
    default: r.status = CSG_REPLY_OK; break;
    }
    p->cb(p->ctx, &r);
    csg_app_free(p->req.app); /* the core owns a submitted application */
}

/* Take the due requests out of the list first: a reply may make the
 * transport parse (and submit) more. */
static void deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    size_t n = 0;
    fz_pending *due = malloc((g.npending ? g.npending : 1) * sizeof *due);
    if (!due)
        abort();
    size_t keep = 0;
    for (size_t i = 0; i < g.npending; i++) {
        fz_pending *p = &g.pending[i];
        bool now = g.release || (g.mode == 0 || g.mode == 1) ||
                   (g.mode == 2 && p->due <= g.turn);
        if (now)
            due[n++] = *p;
        else
            g.pending[keep++] = *p;
    }
    g.npending = keep;
    bool reverse = g.mode == 1 || g.mode == 3;
    for (size_t i = 0; i < n; i++)
        answer(&due[reverse ? n - 1 - i : i]);
    free(due);
}

/* One turn of the worker's loop, with replies that are due. */
static void pump(void)
{
    g.turn++;
    if (g.npending)
        event_active(g.deliver_ev, EV_TIMEOUT, 0);
    event_base_loop(g.base, EVLOOP_NONBLOCK);
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                    */

static bool is_listener(int fd)
{
    int v = 0;
    socklen_t l = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

static void setup(const fz_transport *t)
{
    static bool before[FZ_MAX_FD];
    for (int fd = 0; fd < FZ_MAX_FD; fd++)
        before[fd] = is_listener(fd);

    csg_th_config cfg = {.workers = 1, .manual_loop = true, .quiet = true,
                         .submit = fz_submit,
                         .max_body_bytes = t->max_body_bytes,
                         .max_line_bytes = t->max_line_bytes,
                         .max_connections = t->max_connections};
    csg_error err = {{0}};
    char path[1024];
    const char *dir = getenv("CSG_PLUGIN_DIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : CSG_FUZZ_PLUGIN_DIR,
             t->plugin_file);
    g.host = csg_th_new(&cfg, &err);
    if (!g.host || csg_th_add_transport(g.host, path, "127.0.0.1:0", t->opts, t->n_opts, &err) ||
        csg_th_start(g.host, &err)) {
        fprintf(stderr, "fuzz harness: plugin start failed: %s\n", err.message);
        abort();
    }
    g.base = csg_th_base(g.host, 0);
    g.deliver_ev = event_new(g.base, -1, 0, deliver, NULL);
    if (!g.deliver_ev)
        abort();
    /* The plugin bound port 0: find the listener it opened. */
    for (int fd = 0; fd < FZ_MAX_FD; fd++) {
        if (before[fd] || !is_listener(fd))
            continue;
        socklen_t l = sizeof g.addr;
        if (getsockname(fd, (struct sockaddr *)&g.addr, &l) == 0 && g.addr.sin_family == AF_INET)
            break;
        g.addr.sin_family = 0;
    }
    if (g.addr.sin_family != AF_INET) {
        fprintf(stderr, "fuzz harness: no listening socket found\n");
        abort();
    }
    g.ready = true;
}

/* ------------------------------------------------------------------------ */
/* One input                                                                 */

typedef struct fz_out {
    char *buf;
    size_t len;
    bool truncated, eof;
    bool reset; /* ECONNRESET: the kernel may have discarded unread bytes */
} fz_out;

/* Read what the server sent; returns bytes read this call. */
static size_t drain_client(int fd, fz_out *o)
{
    size_t got = 0;
    char tmp[65536];
    for (int i = 0; i < 64; i++) {
        ssize_t k = recv(fd, tmp, sizeof tmp, 0);
        if (k > 0) {
            size_t room = FZ_OUT_CAP - o->len;
            size_t take = (size_t)k < room ? (size_t)k : room;
            memcpy(o->buf + o->len, tmp, take);
            o->len += take;
            if (take < (size_t)k)
                o->truncated = true;
            got += (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            o->eof = true;
            o->reset = k < 0;
        }
        break;
    }
    return got;
}

int fz_transport_run(const fz_transport *t, const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!g.ready)
        setup(t);
    uint8_t flags = data[0];
    size_t chunk = data[1] < 128 ? (size_t)data[1] + 1 : (size_t)(data[1] - 127) * 512;
    data += 2;
    size -= 2;
    g.mode = flags & FZ_REPLY_MODE;
    g.release = false;
    csg_th_set_ready(g.host, !(flags & FZ_NOT_READY));
    bool read_slowly = flags & FZ_READ_SLOWLY;

    static char outbuf[FZ_OUT_CAP];
    fz_out o = {outbuf, 0, false, false, false};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        abort();
    /* Each send leaves at once: Nagle would hold small chunks back for the
     * server's delayed ACK, longer than the harness waits for replies. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&g.addr, sizeof g.addr) != 0 && errno != EINPROGRESS)
        abort();
    pump(); /* accept */

    size_t off = 0;
    bool peer_gone = false;
    unsigned stalled = 0;
    for (unsigned turns = 0; off < size && turns < FZ_SEND_TURNS && !peer_gone; turns++) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t k = send(fd, data + off, n, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
            stalled = 0;
        } else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            peer_gone = true;
        } else if (++stalled == 32) {
            /* The server pushes back (held replies, unread output): let go of
             * both, as a real core and client eventually would. */
            g.release = true;
            read_slowly = false;
        } else if (stalled > 64) {
            break;
        }
        pump();
        if (!read_slowly)
            drain_client(fd, &o);
        if (o.eof)
            peer_gone = true;
    }
    bool sent_all = off == size;
    if (sent_all && (flags & FZ_HALF_CLOSE))
        shutdown(fd, SHUT_WR);
    g.release = true;

    /* Settle: every reply answered and nothing more arriving. */
    unsigned quiet = 0;
    bool settled = false;
    for (unsigned turns = 0; turns < FZ_SETTLE_TURNS && !o.eof; turns++) {
        pump();
        size_t got = drain_client(fd, &o);
        quiet = got == 0 && g.npending == 0 ? quiet + 1 : 0;
        if (quiet >= 3) {
            settled = true;
            break;
        }
    }
    if (getenv("CSG_FUZZ_DEBUG")) /* replay a file and see what the server said */
        fprintf(stderr, "--- %zu bytes out (eof=%d reset=%d settled=%d sent=%zu/%zu)\n%.*s\n",
                o.len, o.eof, o.reset, settled, off, size, (int)(o.len > 4000 ? 4000 : o.len),
                o.buf);
    if (t->check)
        t->check(o.buf, o.len, (o.eof || settled) && !o.truncated && !o.reset);

    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    for (unsigned turns = 0; turns < 50 && (turns < 3 || g.npending); turns++)
        pump();
    if (getenv("CSG_FUZZ_DEBUG")) {
        unsigned nfd = 0;
        for (int i = 0; i < FZ_MAX_FD; i++)
            nfd += fcntl(i, F_GETFD) != -1;
        fprintf(stderr, "--- open fds after the run: %u, pending %zu\n", nfd, g.npending);
    }
    return 0;
}
