/*
 * csg_accept.h — the accept loop every socket transport shares (http.so, tcp.so).
 *
 * One acceptor per worker and listening socket, used only on that worker's
 * thread. On each wake-up of the (level-triggered) listen event it accepts a
 * bounded batch and, for each connection:
 *  - admits it against the transport-wide count (limits.max_connections is
 *    per transport, all workers together), or refuses it: the transport's
 *    canned refusal is sent once (best effort), the socket closed, and the
 *    refusal counted as csg_requests_total{transport,status="overloaded"};
 *  - hands an admitted one to the transport's callback.
 *
 * Why it is shared: the two transports had diverged copies of this loop, and
 * one of them spun at 100% CPU when the process ran out of descriptors.
 * When accept() fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 * the connection stays in the backlog, so the listen event would fire again at
 * once, forever: the acceptor disables it and re-arms it after
 * CSG_ACCEPT_BACKOFF_MS, and logs at most one warning per CSG_ACCEPT_LOG_MS
 * (with how many failures it did not log) plus one line when accepting works
 * again. An unexpected error backs off the same way; EINVAL (the socket was
 * shut down by the transport's stop()) disarms the listener for good.
 */
#ifndef CSG_ACCEPT_H
#define CSG_ACCEPT_H

#include <stdatomic.h>
#include <stddef.h>

#include "csg/plugin.h"

#define CSG_ACCEPT_BACKOFF_MS 100 /* accepts paused after a resource failure */
#define CSG_ACCEPT_LOG_MS 5000    /* at most one warning per acceptor this often */

typedef struct csg_acceptor csg_acceptor;

/* An admitted connection: fd is non-blocking and close-on-exec, and now the
 * callee's. It already counts in *conns; the transport decrements *conns when
 * it closes the connection (also when it fails to set it up). */
typedef void (*csg_accept_fn)(void *arg, int fd);

typedef struct csg_acceptor_config {
    const csg_core_api *api;  /* log and count_request */
    csg_worker *worker;       /* whose event_base and metrics */
    const char *transport;    /* log component and the metrics' transport label */
    int lfd;                  /* listening socket; the transport keeps and closes it */
    atomic_uint *conns;       /* open connections of the whole transport */
    unsigned max_conns;       /* limits.max_connections */
    const char *refusal;      /* sent to a connection refused at max_conns; must  */
    size_t refusal_len;       /* outlive the acceptor (static or instance storage) */
    csg_accept_fn on_accept;
    void *arg;
} csg_acceptor_config;

/* Create the acceptor and arm its listen event on the worker's event_base
 * (worker thread). cfg is copied. NULL when out of memory or the event cannot
 * be added. */
csg_acceptor *csg_acceptor_new(const csg_acceptor_config *cfg);

/* Disarm and free (worker thread, or main thread once the worker's loop has
 * exited). Does not close the listening socket. NULL is a no-op. */
void csg_acceptor_free(csg_acceptor *a);

#endif /* CSG_ACCEPT_H */
