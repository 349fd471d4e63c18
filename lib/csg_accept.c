/*
 * csg_accept.c — accept loop, admission at max_connections, and the back-off
 * when the process is out of descriptors (see csg_accept.h for why).
 */
#include "csg_accept.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "csg_clock.h"

#define ACCEPT_BATCH 64 /* accepts per wake-up, so other events get their turn */

struct csg_acceptor {
    csg_acceptor_config cfg;
    struct event *listen_ev;
    struct event *resume_ev; /* re-arms listen_ev after a back-off */
    bool stopped;            /* listener shut down: never re-armed */
    bool failing;            /* backing off; no accept has succeeded since */
    bool failing_logged;     /* a warning was logged during this failing spell */
    bool logged;             /* any line logged yet (last_log_ms is valid) */
    uint64_t last_log_ms;
    uint64_t failing_since_ms;
    unsigned long unlogged; /* failed accepts since the last line */
};

/* Errors that belong to one connection, not to the listener: Linux passes a
 * new connection's pending network error up through accept() (accept(2),
 * "Error handling"); the next one in the backlog may be fine. */
static bool connection_error(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPERM: /* refused by a firewall rule */
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

/* Out of descriptors or memory (or an error we do not expect): the connection
 * stays in the backlog and the level-triggered event would fire again at
 * once. Pause, and say so at most once per CSG_ACCEPT_LOG_MS. */
static void back_off(csg_acceptor *a, int e)
{
    uint64_t now = csg_mono_ms();
    a->unlogged++;
    if (!a->failing) {
        a->failing = true;
        a->failing_logged = false;
        a->failing_since_ms = now;
    }
    if (!a->logged || now - a->last_log_ms >= CSG_ACCEPT_LOG_MS) {
        char limit[64] = "";
        struct rlimit rl;
        if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
            snprintf(limit, sizeof limit, " (open-file limit %llu)",
                     (unsigned long long)rl.rlim_cur);
        a->cfg.api->log(CSG_LOG_WARN, a->cfg.transport,
                        "accept: %s%s; pausing accepts for %d ms at a time (%lu failure(s) "
                        "since the last report; at most one report per %d s)",
                        strerror(e), limit, CSG_ACCEPT_BACKOFF_MS, a->unlogged,
                        CSG_ACCEPT_LOG_MS / 1000);
        a->unlogged = 0;
        a->last_log_ms = now;
        a->logged = a->failing_logged = true;
    }
    event_del(a->listen_ev);
    struct timeval tv = {0, CSG_ACCEPT_BACKOFF_MS * 1000};
    event_add(a->resume_ev, &tv);
}

/* The first accept after a failing spell. Logged only when the spell's
 * warning was, so the lines stay bounded by the warnings' rate. */
static void recovered(csg_acceptor *a)
{
    a->failing = false;
    if (!a->failing_logged)
        return;
    uint64_t now = csg_mono_ms();
    a->cfg.api->log(CSG_LOG_INFO, a->cfg.transport,
                    "accepting again after %llu ms (%lu failure(s) since the last report)",
                    (unsigned long long)(now - a->failing_since_ms), a->unlogged);
    a->unlogged = 0;
    a->last_log_ms = now;
}

static bool admit(csg_acceptor *a)
{
    if (!a->cfg.conns)
        return true;
    if (atomic_fetch_add(a->cfg.conns, 1) < a->cfg.max_conns)
        return true;
    atomic_fetch_sub(a->cfg.conns, 1);
    return false;
}

static void refuse(csg_acceptor *a, int fd)
{
    if (a->cfg.refusal_len) {
        ssize_t ignored =
            send(fd, a->cfg.refusal, a->cfg.refusal_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored; /* best effort: the client learns why, or sees a close */
    }
    a->cfg.api->count_request(a->cfg.worker, a->cfg.transport, "overloaded");
    close(fd);
}

static void on_listen(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    csg_acceptor *a = arg;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK)
                return;
            if (connection_error(e))
                continue;
            if (e == EINVAL) { /* shut down by the transport's stop() */
                a->stopped = true;
                event_del(a->listen_ev);
                return;
            }
            back_off(a, e);
            return;
        }
        if (a->failing)
            recovered(a);
        if (!admit(a)) {
            refuse(a, fd);
            continue;
        }
        a->cfg.on_accept(a->cfg.arg, fd);
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_acceptor *a = arg;
    if (!a->stopped)
        event_add(a->listen_ev, NULL);
}

csg_acceptor *csg_acceptor_new(const csg_acceptor_config *cfg)
{
    csg_acceptor *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cfg = *cfg;
    struct event_base *base = cfg->api->worker_base(cfg->worker);
    a->listen_ev = event_new(base, cfg->lfd, EV_READ | EV_PERSIST, on_listen, a);
    a->resume_ev = evtimer_new(base, on_resume, a);
    if (!a->listen_ev || !a->resume_ev || event_add(a->listen_ev, NULL) != 0) {
        csg_acceptor_free(a);
        return NULL;
    }
    return a;
}

void csg_acceptor_free(csg_acceptor *a)
{
    if (!a)
        return;
    if (a->listen_ev)
        event_free(a->listen_ev);
    if (a->resume_ev)
        event_free(a->resume_ev);
    free(a);
}
