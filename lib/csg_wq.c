/*
 * csg_wq.c — one send() per connection per loop turn (see csg_wq.h).
 */
#include "csg_wq.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "csg_clock.h"

struct csg_flusher {
    struct event_base *base;
    struct event *ev; /* activated when the first queue of a turn is marked */
    csg_wq *head;
    bool active;
};

static void unlink_q(csg_wq *q)
{
    if (!q->queued)
        return;
    if (q->next)
        q->next->pprev = q->pprev;
    *q->pprev = q->next;
    q->next = NULL;
    q->pprev = NULL;
    q->queued = false;
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* Try to send everything; returns after at most one callback, which may free q. */
static void write_out(csg_wq *q)
{
    size_t n = csg_buf_size(&q->out);
    while (n > 0) {
        ssize_t w = q->send ? q->send(q, csg_buf_ptr(&q->out), n)
                            : send(q->fd, csg_buf_ptr(&q->out), n, MSG_NOSIGNAL);
        if (w > 0) {
            csg_buf_consume(&q->out, (size_t)w);
            n -= (size_t)w;
            q->sent_ms = csg_mono_ms();
            if (q->blocked)
                q->stall_ms = q->sent_ms;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EINPROGRESS)
            return; /* the owner marks q again (csg_wq.h) */
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!q->blocked) {
                if (!q->wev) {
                    q->wev = event_new(event_get_base(q->f->ev), q->fd, EV_WRITE | EV_PERSIST,
                                       on_writable, q);
                    if (!q->wev) {
                        q->cb(q, CSG_WQ_ERROR, ENOMEM);
                        return;
                    }
                }
                if (event_add(q->wev, NULL) != 0) {
                    q->cb(q, CSG_WQ_ERROR, EIO);
                    return;
                }
                q->blocked = true;
                q->stall_ms = csg_mono_ms();
            }
            return;
        }
        q->cb(q, CSG_WQ_ERROR, w < 0 ? errno : EPIPE);
        return;
    }
    if (q->blocked) {
        event_del(q->wev);
        q->blocked = false;
    }
    if (q->notify_drained)
        q->cb(q, CSG_WQ_DRAINED, 0);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    write_out(arg);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_flusher *f = arg;
    f->active = false;
    /* Pop one at a time: a callback may close (unlink) any other queue. */
    csg_wq *q;
    while ((q = f->head) != NULL) {
        unlink_q(q);
        write_out(q);
    }
}

csg_flusher *csg_flusher_new(struct event_base *base)
{
    csg_flusher *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->base = base;
    f->ev = event_new(base, -1, 0, on_flush, f);
    if (!f->ev) {
        free(f);
        return NULL;
    }
    return f;
}

void csg_flusher_free(csg_flusher *f)
{
    if (!f)
        return;
    event_free(f->ev);
    free(f);
}

void csg_wq_init(csg_wq *q, csg_flusher *f, int fd, size_t out_max, csg_wq_cb cb, void *owner)
{
    q->fd = fd;
    csg_buf_init(&q->out, out_max);
    q->notify_drained = false;
    q->owner = owner;
    q->send = NULL;
    q->sent_ms = 0;
    q->cb = cb;
    q->f = f;
    q->wev = NULL;
    q->next = NULL;
    q->pprev = NULL;
    q->queued = q->blocked = false;
}

void csg_wq_mark(csg_wq *q)
{
    if (q->queued || q->blocked)
        return; /* already scheduled, or the write watch will take it */
    csg_flusher *f = q->f;
    q->next = f->head;
    if (f->head)
        f->head->pprev = &q->next;
    f->head = q;
    q->pprev = &f->head;
    q->queued = true;
    if (!f->active) {
        /* Runs after the callbacks already active in this turn. */
        event_active(f->ev, EV_WRITE, 0);
        f->active = true;
    }
}

void csg_wq_flush(csg_wq *q)
{
    unlink_q(q);
    write_out(q);
}

void csg_wq_done(csg_wq *q)
{
    unlink_q(q);
    if (q->wev) {
        event_free(q->wev);
        q->wev = NULL;
    }
    q->blocked = false;
    csg_buf_free(&q->out);
}
