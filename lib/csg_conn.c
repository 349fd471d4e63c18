/*
 * csg_conn.c — listeners, connection list, sweep, linger, write queue,
 * back-pressure and reply ring of the socket transports (see csg_conn.h).
 */
#include "csg_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "csg_accept.h"
#include "csg_clock.h"
#include "csg_conn_tls.h"
#include "csg_net.h"
#include "csg_tls.h"

#define CONN_MAX_DEFAULT 20000      /* when the host's api leaves max_connections 0 */
#define CONN_READ_MS_DEFAULT 10000  /* when the host's api predates ABI 1.2 */

struct csg_conn_server {
    csg_conn_config cfg;
    unsigned nworkers;
    int *lfds;                  /* per worker; closed by its drain, or at free */
    csg_conn_worker **workers;  /* per worker, once started */
    atomic_uint nconns;         /* all workers: max_conns is per transport */
    char listen[300];
    char *refusal;
    csg_tls_server *tls; /* when cfg.tls */
};

/* err is required by the plugin ABI (create and start_worker always get one). */
#define SET_ERR(err, ...) snprintf((err)->message, sizeof (err)->message, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* The I/O seam: plain sockets                                               */

static ssize_t plain_recv(csg_conn *c, void *buf, size_t n) { return recv(c->fd, buf, n, 0); }
static ssize_t plain_send(csg_conn *c, const void *buf, size_t n)
{
    return send(c->fd, buf, n, MSG_NOSIGNAL);
}
static void plain_shutdown_wr(csg_conn *c) { shutdown(c->fd, SHUT_WR); }
static const csg_conn_io plain_io = {plain_recv, plain_send, plain_shutdown_wr, NULL, NULL, NULL};

static const csg_conn_io *io_of(const csg_conn *c)
{
    return c->w->cfg->io ? c->w->cfg->io : &plain_io;
}

static ssize_t wq_send_io(csg_wq *q, const void *p, size_t n)
{
    csg_conn *c = q->owner;
    return c->w->cfg->io->send(c, p, n);
}

/* ------------------------------------------------------------------------ */
/* Lists and lifetime                                                        */

static void list_remove(csg_conn **list, csg_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void list_push(csg_conn **list, csg_conn *c)
{
    c->prev = NULL;
    c->next = *list;
    if (*list)
        (*list)->prev = c;
    *list = c;
}

static void slot_free(csg_slot *s)
{
    csg_buf_free(&s->buf);
    free(s);
}

static void conn_free(csg_conn *c)
{
    list_remove(&c->w->zombies, c);
    while (c->orphans) { /* only at server free: replies the core will never send */
        csg_slot *s = c->orphans;
        c->orphans = s->next;
        slot_free(s);
    }
    c->w->cfg->ops->release(c);
    free(c);
}

static void conn_maybe_free(csg_conn *c)
{
    if (c->closed && c->pending == 0 && c->busy == 0)
        conn_free(c);
}

void csg_conn_unhold(csg_conn *c)
{
    c->busy--;
    conn_maybe_free(c);
}

/* The socket goes now. The struct waits on the zombie list while a caller up
 * the stack holds it or the core owes replies (their callbacks point at it). */
void csg_conn_close(csg_conn *c)
{
    if (c->closed)
        return;
    csg_conn_worker *w = c->w;
    c->closed = true;
    csg_wq_done(&c->wq);
    if (c->rev)
        event_free(c->rev);
    c->rev = NULL;
    c->reading = false;
    if (c->w->cfg->io && c->w->cfg->io->close)
        c->w->cfg->io->close(c);
    close(c->fd);
    c->fd = -1;
    list_remove(&w->conns, c);
    w->nconns--;
    atomic_fetch_sub(&w->srv->nconns, 1);
    /* Finished slots are ours; submitted ones wait for the core's callback. */
    for (csg_slot *s = c->head, *next; s; s = next) {
        next = s->next;
        if (s->submitted) {
            s->next = c->orphans;
            c->orphans = s;
        } else {
            slot_free(s);
        }
    }
    c->head = c->tail = NULL;
    c->count = 0;
    list_push(&w->zombies, c);
    conn_maybe_free(c);
}

/* ------------------------------------------------------------------------ */
/* Reading, back-pressure, finishing                                         */

void csg_conn_read_start(csg_conn *c)
{
    if (!c->reading && !c->closed && event_add(c->rev, NULL) == 0)
        c->reading = true;
}

void csg_conn_read_stop(csg_conn *c)
{
    if (c->reading) {
        event_del(c->rev);
        c->reading = false;
    }
}

bool csg_conn_must_pause(const csg_conn *c)
{
    const csg_conn_config *cfg = c->w->cfg;
    return c->count >= cfg->max_pipeline || csg_buf_size(&c->wq.out) >= cfg->pause_out;
}

bool csg_conn_may_resume(const csg_conn *c)
{
    const csg_conn_config *cfg = c->w->cfg;
    return c->count <= cfg->max_pipeline / 2 && csg_buf_size(&c->wq.out) <= cfg->pause_out / 2;
}

void csg_conn_pause(csg_conn *c)
{
    c->paused = true;
    c->wq.notify_drained = true; /* on_wq resumes once the replies are written */
    csg_conn_read_stop(c);
}

static void try_resume(csg_conn *c)
{
    if (c->paused && !c->closed && !c->closing && csg_conn_may_resume(c)) {
        c->paused = false;
        c->w->cfg->ops->resume(c);
    }
}

/* Everything owed is written and no more requests will be read: close, or
 * shut our side and discard what the client still sends, so the kernel does
 * not answer its unread bytes with a RST that would destroy our last reply in
 * flight. */
void csg_conn_maybe_finish(csg_conn *c)
{
    if (c->closed || c->lingering || !(c->closing || c->read_eof || c->w->draining))
        return;
    if (c->count || !csg_wq_idle(&c->wq)) {
        c->wq.notify_drained = true; /* on_wq comes back here once written */
        return;
    }
    const csg_conn_ops *ops = c->w->cfg->ops;
    if (ops->has_input && ops->has_input(c))
        return;
    if (c->read_eof) {
        csg_conn_close(c);
        return;
    }
    io_of(c)->shutdown_wr(c);
    c->lingering = true;
    c->last_ms = csg_mono_ms();
    csg_conn_read_start(c);
}

void csg_conn_finish(csg_conn *c)
{
    c->closing = true;
    csg_conn_read_stop(c);
    csg_conn_maybe_finish(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_conn *c = arg;
    csg_conn_worker *w = c->w;
    ssize_t n = io_of(c)->recv(c, w->rbuf, sizeof w->rbuf);
    if (n > 0) {
        if (c->lingering || c->closing) {
            /* Late bytes do not extend the linger: it ends CSG_CONN_LINGER_MS
             * after it began, however slowly the client keeps sending. */
            c->discarded += (size_t)n;
            if (c->lingering && c->discarded > CSG_CONN_LINGER_BYTES)
                csg_conn_close(c);
            return;
        }
        c->last_ms = csg_mono_ms();
        csg_conn_hold(c);
        w->cfg->ops->data(c, w->rbuf, (size_t)n);
        csg_conn_unhold(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && !c->lingering) {
        /* Half-close: the client may still want the replies it asked for. */
        c->read_eof = true;
        csg_conn_read_stop(c);
        c->wq.notify_drained = true;
        csg_conn_hold(c);
        if (w->cfg->ops->eof)
            w->cfg->ops->eof(c);
        csg_conn_maybe_finish(c);
        csg_conn_unhold(c);
        return;
    }
    csg_conn_close(c); /* reset by peer etc., or the end of a linger */
}

static void on_wq(csg_wq *q, int what, int err)
{
    (void)err;
    csg_conn *c = q->owner;
    if (what == CSG_WQ_ERROR) {
        csg_conn_close(c);
        return;
    }
    csg_conn_hold(c);
    try_resume(c); /* drained: parsing paused on the out buffer may go on */
    csg_conn_maybe_finish(c);
    csg_conn_unhold(c);
}

/* ------------------------------------------------------------------------ */
/* Reply ring                                                                */

csg_slot *csg_conn_slot_new(csg_conn *c)
{
    csg_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->conn = c;
    csg_buf_init(&s->buf, c->w->cfg->out_max);
    if (c->tail)
        c->tail->next = s;
    else
        c->head = s;
    c->tail = s;
    c->count++;
    return s;
}

csg_buf *csg_conn_slot_out(csg_conn *c, csg_slot *s)
{
    return s == c->head ? &c->wq.out : &s->buf;
}

static void pop_head(csg_conn *c)
{
    csg_slot *s = c->head;
    c->head = s->next;
    if (!c->head)
        c->tail = NULL;
    c->count--;
    if (s->close_after)
        c->closing = true;
    slot_free(s);
}

void csg_conn_slot_commit(csg_conn *c, csg_slot *s)
{
    if (s != c->head) {
        s->ready = true; /* overtook the slots ahead: waits in s->buf */
        return;
    }
    pop_head(c);
    while (c->head && c->head->ready) {
        csg_slot *h = c->head;
        if (csg_buf_append(&c->wq.out, csg_buf_ptr(&h->buf), csg_buf_size(&h->buf)) != 0) {
            /* Losing one reply would silently shift every later one. */
            c->w->cfg->api->log(CSG_LOG_WARN, c->w->cfg->transport,
                                "reply dropped: output buffer full or no memory; closing");
            csg_conn_close(c);
            return;
        }
        pop_head(c);
    }
    c->wq.notify_drained = c->closing || c->read_eof || c->w->draining || c->paused;
    csg_wq_mark(&c->wq);
    if (c->closing)
        csg_conn_read_stop(c);
    else
        try_resume(c);
}

void csg_conn_slot_submitted(csg_slot *s)
{
    s->submitted = true;
    s->conn->pending++;
    s->conn->w->pending++;
}

csg_conn *csg_conn_slot_returned(csg_slot *s)
{
    csg_conn *c = s->conn;
    s->submitted = false;
    c->pending--;
    c->w->pending--;
    csg_conn_hold(c);
    if (c->closed) { /* the client went away: s was left for us */
        for (csg_slot **pp = &c->orphans; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        slot_free(s);
    }
    return c;
}

/* ------------------------------------------------------------------------ */
/* Accepting and the sweep                                                   */

/* An admitted connection (csg_accept.h): it already counts in srv->nconns. */
static void on_accept(void *arg, int fd)
{
    csg_conn_worker *w = arg;
    const csg_conn_config *cfg = w->cfg;
    csg_net_nodelay(fd); /* we batch ourselves */
    csg_conn *c = calloc(1, cfg->conn_size);
    if (!c)
        goto fail;
    c->w = w;
    c->fd = fd;
    csg_wq_init(&c->wq, w->flusher, fd, cfg->out_max, on_wq, c);
    if (cfg->io)
        c->wq.send = wq_send_io;
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    if (!c->rev || (cfg->io && cfg->io->open && cfg->io->open(c) != 0) || cfg->ops->open(c) != 0 ||
        event_add(c->rev, NULL) != 0)
        goto fail;
    c->reading = true;
    c->last_ms = c->open_ms = csg_mono_ms();
    list_push(&w->conns, c);
    w->nconns++;
    return;
fail:
    cfg->api->log(CSG_LOG_ERROR, cfg->transport, "out of memory accepting a connection");
    if (c) {
        if (c->rev)
            event_free(c->rev);
        csg_wq_done(&c->wq);
        if (cfg->io && cfg->io->close)
            cfg->io->close(c);
        cfg->ops->release(c);
        free(c);
    }
    close(fd);
    atomic_fetch_sub(&w->srv->nconns, 1);
}

/* Every sweep period, one walk for the three clocks: lingering connections
 * past CSG_CONN_LINGER_MS; requests past read_ms (slowloris: a request
 * trickled in); connections with nothing owed past idle_ms since their last
 * byte either way, and connections whose client has taken none of its replies
 * for idle_ms (a full socket buffer that does not move). A paused connection
 * waits for its replies to drain, not for its client: its read clock does
 * not run. Only timestamps the I/O already took are compared. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_conn_worker *w = arg;
    const csg_conn_config *cfg = w->cfg;
    uint64_t now = csg_mono_ms();
    for (csg_conn *c = w->conns, *next; c; c = next) {
        next = c->next; /* c may move to the zombie list */
        uint64_t last = c->last_ms > c->wq.sent_ms ? c->last_ms : c->wq.sent_ms;
        if (c->lingering) {
            if (now - c->last_ms >= CSG_CONN_LINGER_MS)
                csg_conn_close(c);
        } else if (cfg->io && cfg->io->handshaking && cfg->io->handshaking(c)) {
            /* The handshake counts against the read timeout; nothing to answer yet. */
            if (now - c->open_ms >= cfg->read_ms)
                csg_conn_close(c);
        } else if (c->req_start_ms && !c->closing && !c->paused &&
                   !c->read_eof && now - c->req_start_ms >= cfg->read_ms) {
            csg_conn_hold(c);
            cfg->ops->read_timeout(c);
            csg_conn_unhold(c);
        } else if (cfg->idle_ms && c->count == 0 && csg_wq_idle(&c->wq) &&
                   now - last >= cfg->idle_ms) {
            csg_conn_close(c);
        } else if (cfg->idle_ms && c->wq.blocked && now - c->wq.stall_ms >= cfg->idle_ms) {
            csg_conn_close(c); /* the client stopped reading its replies */
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Server                                                                    */

int csg_conn_server_new(const csg_conn_config *cfg, csg_conn_server **out, csg_error *err)
{
    const char *t = cfg->transport;
    int rc = -CSG_ENOMEM;
    csg_conn_server *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->cfg = *cfg;
    const csg_core_api *api = cfg->api;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = api->max_connections ? api->max_connections : CONN_MAX_DEFAULT;
    /* read_timeout_ms arrived with ABI 1.2: an older host's table ends before it. */
    if (!s->cfg.read_ms)
        s->cfg.read_ms = api->read_timeout_ms ? api->read_timeout_ms : CONN_READ_MS_DEFAULT;
    snprintf(s->listen, sizeof s->listen, "%s", cfg->listen ? cfg->listen : "");
    s->cfg.listen = s->listen;
    if (cfg->refusal_len) {
        if (!(s->refusal = malloc(cfg->refusal_len)))
            goto nomem;
        memcpy(s->refusal, cfg->refusal, cfg->refusal_len);
    }
    s->cfg.refusal = s->refusal;
    s->cfg.tls = NULL; /* not kept: the paths live in s->tls */
    if (cfg->tls) {
        char msg[600];
        if (!(s->tls = csg_tls_server_new(cfg->tls, msg, sizeof msg))) {
            SET_ERR(err, "%s: %.480s", t, msg);
            rc = -CSG_EINVAL;
            goto fail;
        }
        s->cfg.io = &csg_conn_tls_io;
        s->cfg.io_arg = s->tls;
    }
    if (s->cfg.io && s->cfg.io->open) /* a plaintext refusal means nothing to a TLS client */
        s->cfg.refusal_len = 0;
    s->nworkers = api->worker_count();
    if (s->nworkers == 0)
        s->nworkers = 1;
    s->lfds = malloc(s->nworkers * sizeof *s->lfds);
    /* -1 before anything can fail: csg_conn_server_free closes every lfds[i] >= 0. */
    for (unsigned i = 0; s->lfds && i < s->nworkers; i++)
        s->lfds[i] = -1;
    s->workers = calloc(s->nworkers, sizeof *s->workers); // NOLINT(bugprone-sizeof-expression): an array of pointers
    if (!s->lfds || !s->workers)
        goto nomem;
    char msg[300];
    csg_sockaddr addr;
    if (csg_net_resolve(s->listen, &addr, msg, sizeof msg) != 0) {
        SET_ERR(err, "%s: bad listen address %.480s", t, msg);
        rc = -CSG_EINVAL;
        goto fail;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        s->lfds[i] = csg_net_listen(&addr, true, 1024, msg, sizeof msg);
        if (s->lfds[i] < 0) {
            SET_ERR(err, "%s: cannot listen on %.200s: %.250s", t, s->listen, msg);
            rc = -CSG_EIO;
            goto fail;
        }
        if (i == 0) /* port 0: every worker must share the port the kernel chose */
            csg_net_set_port(&addr, csg_net_local_port(s->lfds[0]));
    }
    *out = s;
    return 0;
nomem:
    SET_ERR(err, "%s: out of memory", t);
fail:
    csg_conn_server_free(s);
    return rc;
}

static csg_conn_worker *worker_of(csg_conn_server *s, csg_worker *w)
{
    unsigned i = s->cfg.api->worker_index(w);
    return i < s->nworkers ? s->workers[i] : NULL;
}

static void worker_close_listener(csg_conn_worker *cw)
{
    csg_acceptor_free(cw->acceptor);
    cw->acceptor = NULL;
    csg_conn_server *s = cw->srv;
    if (s->lfds[cw->index] >= 0) {
        close(s->lfds[cw->index]);
        s->lfds[cw->index] = -1;
    }
}

static void worker_free(csg_conn_worker *cw)
{
    worker_close_listener(cw);
    while (cw->conns)
        csg_conn_close(cw->conns);
    while (cw->zombies) /* the workers are gone: owed replies never come */
        conn_free(cw->zombies);
    if (cw->sweep_ev)
        event_free(cw->sweep_ev);
    csg_flusher_free(cw->flusher);
    free(cw);
}

int csg_conn_server_start_worker(csg_conn_server *s, csg_worker *w, csg_error *err)
{
    const csg_conn_config *cfg = &s->cfg;
    unsigned idx = cfg->api->worker_index(w);
    if (idx >= s->nworkers) {
        SET_ERR(err, "%s: worker %u started but only %u were announced at create",
                cfg->transport, idx, s->nworkers);
        return -CSG_EINVAL;
    }
    csg_conn_worker *cw = calloc(1, sizeof *cw);
    if (!cw)
        goto nomem;
    cw->srv = s;
    cw->cfg = cfg;
    cw->arg = cfg->arg;
    cw->w = w;
    cw->index = idx;
    cw->base = cfg->api->worker_base(w);
    cw->flusher = csg_flusher_new(cw->base);
    cw->sweep_ev = event_new(cw->base, -1, EV_PERSIST, on_sweep, cw);
    if (!cw->flusher || !cw->sweep_ev)
        goto nomem;
    /* Half the shortest timeout, within [20 ms, 1 s]: a connection is cut
     * between 1x and 1.5x its timeout, for one list walk per period. */
    unsigned every = cfg->read_ms;
    if (cfg->idle_ms && cfg->idle_ms < every)
        every = cfg->idle_ms;
    every /= 2;
    every = every > 1000 ? 1000 : every < 20 ? 20 : every;
    struct timeval tv = {every / 1000, (every % 1000) * 1000};
    if (event_add(cw->sweep_ev, &tv) != 0)
        goto nomem;
    csg_acceptor_config ac = {
        .api = cfg->api,
        .worker = w,
        .transport = cfg->transport,
        .lfd = s->lfds[idx],
        .conns = &s->nconns,
        .max_conns = cfg->max_conns,
        .refusal = cfg->refusal,
        .refusal_len = cfg->refusal_len,
        .on_accept = on_accept,
        .arg = cw,
    };
    cw->acceptor = csg_acceptor_new(&ac);
    if (!cw->acceptor)
        goto nomem;
    s->workers[idx] = cw;
    return 0;
nomem:
    SET_ERR(err, "%s: cannot add listener events (out of memory)", cfg->transport);
    if (cw) {
        if (cw->sweep_ev)
            event_free(cw->sweep_ev);
        csg_flusher_free(cw->flusher);
        free(cw);
    }
    return -CSG_ENOMEM;
}

/* shutdown() of a listening socket is safe from any thread: it leaves the
 * SO_REUSEPORT group at once and wakes the worker, whose accept then fails
 * with EINVAL and disarms. The fd is closed by its own worker at drain. */
void csg_conn_server_stop(csg_conn_server *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        if (s->lfds[i] >= 0)
            shutdown(s->lfds[i], SHUT_RDWR);
}

unsigned csg_conn_server_drain_worker(csg_conn_server *s, csg_worker *w)
{
    csg_conn_worker *cw = worker_of(s, w);
    if (!cw)
        return 0;
    if (!cw->draining) {
        cw->draining = true;
        worker_close_listener(cw);
        /* Idle connections go now; busy ones after their last reply. */
        const csg_conn_ops *ops = cw->cfg->ops;
        for (csg_conn *c = cw->conns, *next; c; c = next) {
            next = c->next;
            if (c->closed) /* never true (a closed connection sits on the zombie list);
                            * says so to the analyzer, which otherwise frees it below */
                continue;
            if (c->count == 0 && csg_wq_idle(&c->wq) && !(ops->has_input && ops->has_input(c))) {
                csg_conn_close(c);
                continue;
            }
            c->wq.notify_drained = true;
            csg_conn_hold(c);
            if (ops->drain)
                ops->drain(c);
            csg_conn_maybe_finish(c);
            // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the hold above keeps busy > 0, so a close inside maybe_finish cannot free c
            csg_conn_unhold(c);
        }
    }
    /* Replies still owed by the core, and replies not yet written (bounded by
     * the core's drain deadline). */
    unsigned pending = cw->pending;
    for (csg_conn *c = cw->conns; c; c = c->next) {
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a connection freed above left cw->conns in csg_conn_close; the analyzer loses that across ops->drain
        if (c->closed)
            continue; /* never on this list, as above */
        pending += csg_wq_idle(&c->wq) ? 0u : 1u;
    }
    return pending;
}

void csg_conn_server_free(csg_conn_server *s)
{
    if (!s)
        return;
    for (unsigned i = 0; s->workers && i < s->nworkers; i++)
        if (s->workers[i])
            worker_free(s->workers[i]);
    for (unsigned i = 0; s->lfds && i < s->nworkers; i++)
        if (s->lfds[i] >= 0)
            close(s->lfds[i]);
    free(s->lfds);
    free(s->workers);
    free(s->refusal);
    csg_tls_server_free(s->tls);
    free(s);
}

int csg_conn_server_tls_reload(csg_conn_server *s, csg_error *err)
{
    char msg[600];
    if (s->tls && csg_tls_server_reload(s->tls, msg, sizeof msg) != 0) {
        SET_ERR(err, "%s: %.480s", s->cfg.transport, msg);
        return -CSG_EIO;
    }
    return 0;
}
