/*
 * csg_wq.h — batched socket writes for connections driven directly by a
 * worker's event loop.
 *
 * Why: the measured cost of an HTTP gateway here is syscalls (see
 * docs/plugins.md and ../shared/notes/bench-anchors.md). Replies and
 * upstream requests produced during one loop turn are appended to each
 * connection's out buffer and written with ONE send() per connection at the
 * end of the turn (a per-worker "flusher" event activated once). The write
 * watch (EV_WRITE) is only added when the kernel buffer is full, never
 * toggled per message.
 *
 * Threads: a flusher and its queues belong to one event_base and are used
 * only on that base's thread.
 */
#ifndef CSG_WQ_H
#define CSG_WQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "csg_buf.h"

struct event_base;
struct event;

typedef struct csg_flusher csg_flusher;
typedef struct csg_wq csg_wq;

enum csg_wq_event {
    CSG_WQ_DRAINED = 1, /* everything queued was written (only if notify_drained) */
    CSG_WQ_ERROR = 2,   /* send failed (err = errno); the owner should close */
};

/* Called from the flusher or the write watch. The owner may call
 * csg_wq_done(q) (and free q) inside the callback; q is not touched after. */
typedef void (*csg_wq_cb)(csg_wq *q, int what, int err);

struct csg_wq {
    int fd;
    csg_buf out;         /* append here, then csg_wq_mark() */
    bool notify_drained; /* owner wants CSG_WQ_DRAINED */
    void *owner;
    /* How bytes leave (the connection layer's I/O seam, e.g. TLS); NULL:
     * send(2). Same contract as send(2), plus -1 with errno EINPROGRESS: the
     * seam waits for the peer (a TLS handshake wants to read), so no write
     * watch is armed; the owner calls csg_wq_mark() once it can go on. Set
     * after csg_wq_init. */
    ssize_t (*send)(csg_wq *q, const void *p, size_t n);
    uint64_t sent_ms; /* when the peer last took bytes (csg_mono_ms), 0 = never */
    /* private */
    csg_wq_cb cb;
    csg_flusher *f;
    struct event *wev;
    csg_wq *next, **pprev;
    bool queued, blocked;
    uint64_t stall_ms; /* while blocked: when the peer last took bytes
                          (csg_mono_ms), so an owner can cut a peer that stopped reading */
};

/* NULL on allocation failure. */
csg_flusher *csg_flusher_new(struct event_base *base);
/* Every queue must be csg_wq_done() first. */
void csg_flusher_free(csg_flusher *f);

/* out_max caps the out buffer (bytes) so a client that never reads cannot
 * make us buffer without bound. */
void csg_wq_init(csg_wq *q, csg_flusher *f, int fd, size_t out_max, csg_wq_cb cb, void *owner);
/* Schedule a send of q->out at the end of this loop turn (idempotent). */
void csg_wq_mark(csg_wq *q);
/* Write now (e.g. just before a close). Same callbacks as the flusher. */
void csg_wq_flush(csg_wq *q);
/* Unschedule, free the write watch and the buffer; does not close fd. */
void csg_wq_done(csg_wq *q);
/* Nothing left to write. */
static inline bool csg_wq_idle(const csg_wq *q) { return csg_buf_size(&q->out) == 0; }

#endif /* CSG_WQ_H */
