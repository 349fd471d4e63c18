/*
 * csg_conn.h — the connection layer of the socket transports (http.so, tcp.so).
 *
 * Owns everything about a client connection that is not its protocol:
 *  - the listeners: one SO_REUSEPORT socket per worker, opened at create (port 0:
 *    every worker shares the port the kernel chose), accepted through csg_accept
 *    (max connections per transport, the EMFILE back-off, the canned refusal);
 *  - the connection list of each worker with ONE periodic sweep for the three
 *    clocks: linger (CSG_CONN_LINGER_MS after our last reply), read timeout (a
 *    request not complete read_ms after its first byte: the transport answers it)
 *    and idle (nothing owed, or a client that stopped taking its replies);
 *  - reading (one recv per readable event into the worker's buffer, handed to the
 *    transport), half-close, and the linger that keeps a last reply from being
 *    destroyed by a RST: our write side is shut and the client's bytes discarded;
 *  - the write queue (csg_wq: one send per connection per loop turn) and the
 *    back-pressure: reading pauses while max_pipeline replies are owed or
 *    pause_out bytes wait to be written, and resumes at half of both;
 *  - the reply ring for pipelining: a slot per request in arrival order; a reply
 *    that completes at the head goes straight to the write queue, one that
 *    overtakes waits in its slot;
 *  - drain: no new connections, idle ones closed, busy ones closed after their
 *    last reply.
 * The transport owns parsing, framing, routing and what a reply says.
 *
 * Why one layer: http.so and tcp.so each had their own copy of all this and the
 * copies drifted into a bug (issue 18). The I/O seam (csg_conn_io) is where TLS
 * plugs in (csg_conn_tls.h): every byte of a connection goes through it.
 *
 * Threads: create/stop/free on the main thread; everything else on the worker
 * that owns the connection.
 */
#ifndef CSG_CONN_H
#define CSG_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "csg/plugin.h"
#include "csg_buf.h"
#include "csg_wq.h"

#define CSG_CONN_LINGER_MS 2000        /* read-and-discard after our last reply, before close */
#define CSG_CONN_LINGER_BYTES (1u << 20) /* ... or until the client sent this much more */
#define CSG_CONN_READ_CHUNK 65536      /* bytes asked of one recv */

typedef struct csg_conn csg_conn;
typedef struct csg_conn_worker csg_conn_worker;
typedef struct csg_conn_server csg_conn_server;
typedef struct csg_slot csg_slot;

/* The I/O seam: how a connection's bytes move (plain sockets by default; TLS:
 * csg_conn_tls.h). recv/send follow recv(2)/send(2): > 0 bytes, 0 end of
 * stream (recv), -1 with errno (EAGAIN when it would block; any other errno
 * closes the connection). shutdown_wr ends our side. The optional hooks: open
 * sets up c->io_state at accept (non-zero refuses c), close frees it, and
 * handshaking says c has not finished its handshake: such a connection is
 * closed without a word once read_ms have passed since its accept. */
typedef struct csg_conn_io {
    ssize_t (*recv)(csg_conn *c, void *buf, size_t n);
    ssize_t (*send)(csg_conn *c, const void *buf, size_t n);
    void (*shutdown_wr)(csg_conn *c);
    int (*open)(csg_conn *c);
    void (*close)(csg_conn *c);
    bool (*handshaking)(const csg_conn *c);
} csg_conn_io;

/* What the transport does; every callback runs on the connection's worker and
 * may close c (the layer holds it across the call). */
typedef struct csg_conn_ops {
    /* A new connection: c is zeroed past the layer's part; set up the protocol.
     * Non-zero refuses it (the layer closes it). */
    int (*open)(csg_conn *c);
    /* Bytes read from the client (not called while closing or lingering). */
    void (*data)(csg_conn *c, const char *p, size_t n);
    /* The client half-closed (c->read_eof is set; optional). */
    void (*eof)(csg_conn *c);
    /* Back-pressure lifted (c->paused was cleared by the layer): go on with the
     * buffered input, then csg_conn_read_start() unless paused again. */
    void (*resume)(csg_conn *c);
    /* The request begun at c->req_start_ms is not complete after read_ms. */
    void (*read_timeout)(csg_conn *c);
    /* Optional: the worker drains and c still owes replies. */
    void (*drain)(csg_conn *c);
    /* Optional: input buffered that must still be answered (keeps c open at EOF). */
    bool (*has_input)(const csg_conn *c);
    /* Free what open() allocated (the layer frees c itself). */
    void (*release)(csg_conn *c);
} csg_conn_ops;

typedef struct csg_conn_config {
    const csg_core_api *api;
    const char *transport;  /* "http", "tcp": log component and metrics label */
    const char *listen;     /* "host:port" */
    size_t conn_size;       /* the transport's struct, which starts with a csg_conn */
    const csg_conn_ops *ops;
    const csg_conn_io *io;  /* NULL: plain sockets (or TLS when tls is set) */
    void *io_arg;           /* the io's own (TLS: the csg_tls_server) */
    const csg_tls_config *tls; /* the transport's `tls:` (NULL: none): TLS on every connection */
    unsigned max_conns;     /* limits.max_connections (whole transport); 0: the api's */
    unsigned idle_ms;       /* 0: no idle timeout */
    unsigned read_ms;       /* read timeout; 0: the api's limits.read_timeout_ms */
    unsigned max_pipeline;  /* replies owed before reading pauses */
    size_t pause_out;       /* unsent bytes before reading pauses */
    size_t out_max;         /* hard cap of unsent bytes (and of one waiting reply) */
    const char *refusal;    /* sent to a connection refused at max_conns; copied */
    size_t refusal_len;
    void *arg;              /* the transport's instance (c->w->arg) */
} csg_conn_config;

/* One request's place in the reply order. */
struct csg_slot {
    csg_slot *next;
    csg_conn *conn;
    bool ready;       /* reply stored in buf, waiting for the slots ahead */
    bool submitted;   /* the core owes a reply callback */
    bool close_after; /* last reply on this connection */
    bool flag;        /* the transport's (http: a HEAD request) */
    csg_buf buf;
};

/* Fields are read-only for the transport except where a function says. */
struct csg_conn {
    csg_conn_worker *w;
    int fd;
    csg_wq wq;
    struct event *rev;
    csg_conn *prev, *next; /* the worker's open list, or its zombies once closed */
    uint64_t last_ms;      /* last byte read or written */
    uint64_t req_start_ms; /* first byte of an unfinished request; 0 = none (transport sets) */
    csg_slot *head, *tail; /* reply ring, request order */
    csg_slot *orphans;     /* submitted slots of a closed connection */
    unsigned count;        /* slots in the ring */
    unsigned pending;      /* submitted, reply not yet back */
    unsigned busy;         /* holds (csg_conn_hold) */
    size_t discarded;      /* bytes dropped while lingering */
    void *io_state;        /* the io's per connection (TLS: its SSL) */
    uint64_t open_ms;      /* accepted at */
    bool reading, paused, closing, lingering, read_eof, closed;
};

struct csg_conn_worker {
    csg_conn_server *srv;
    const csg_conn_config *cfg;
    void *arg;            /* cfg->arg */
    csg_worker *w;
    struct event_base *base;
    csg_flusher *flusher;
    struct csg_acceptor *acceptor;
    struct event *sweep_ev;
    unsigned index;
    csg_conn *conns, *zombies;
    unsigned nconns, pending; /* open connections; submitted requests not answered yet */
    bool draining;
    char rbuf[CSG_CONN_READ_CHUNK];
};

/* Resolve cfg->listen and open one listening socket per worker (main thread).
 * cfg is copied (strings too). 0, or -CSG_E… with err filled (named after
 * cfg->transport). err is required. */
int csg_conn_server_new(const csg_conn_config *cfg, csg_conn_server **out, csg_error *err);
/* SIGHUP: load the `tls:` files again for new connections (main thread).
 * 0 (also without tls), or -CSG_EIO with err filled; the old ones stay. */
int csg_conn_server_tls_reload(csg_conn_server *s, csg_error *err);
/* Arm worker w's listener and sweep (worker thread). */
int csg_conn_server_start_worker(csg_conn_server *s, csg_worker *w, csg_error *err);
/* Shut every listener down (main thread): leaves the SO_REUSEPORT group at
 * once; the workers' accepts then end. Optional: without it the listener closes
 * at drain. */
void csg_conn_server_stop(csg_conn_server *s);
/* Drain worker w: returns what it still owes (0 = done). */
unsigned csg_conn_server_drain_worker(csg_conn_server *s, csg_worker *w);
/* Close everything (main thread, worker loops gone). NULL is a no-op. */
void csg_conn_server_free(csg_conn_server *s);

/* Close the socket now; the struct lives on while held or owed replies. */
void csg_conn_close(csg_conn *c);
static inline void csg_conn_hold(csg_conn *c) { c->busy++; }
void csg_conn_unhold(csg_conn *c);
void csg_conn_read_start(csg_conn *c);
void csg_conn_read_stop(csg_conn *c);
/* Stop reading until the ring and the out buffer drain (then ops->resume). */
void csg_conn_pause(csg_conn *c);
bool csg_conn_must_pause(const csg_conn *c);
bool csg_conn_may_resume(const csg_conn *c);
/* No more requests: stop reading, close (lingering) once every reply is out. */
void csg_conn_finish(csg_conn *c);
/* Close when nothing more is owed and the client or we are done. */
void csg_conn_maybe_finish(csg_conn *c);
static inline bool csg_conn_draining(const csg_conn *c) { return c->w->draining; }
static inline void *csg_conn_arg(const csg_conn *c) { return c->w->arg; }
static inline const csg_core_api *csg_conn_api(const csg_conn *c) { return c->w->cfg->api; }
static inline unsigned csg_conn_read_ms(const csg_conn *c) { return c->w->cfg->read_ms; }

/* A new slot at the tail of the ring (NULL: no memory; the caller closes). */
csg_slot *csg_conn_slot_new(csg_conn *c);
/* Where slot s's reply goes: the write queue when s is at the head, else s->buf. */
csg_buf *csg_conn_slot_out(csg_conn *c, csg_slot *s);
/* The reply was written to csg_conn_slot_out(): pass it on in order. */
void csg_conn_slot_commit(csg_conn *c, csg_slot *s);
/* s goes to the core (whose callback gets s as its context). */
void csg_conn_slot_submitted(csg_slot *s);
/* The core's callback for s: returns its connection, held (csg_conn_unhold
 * after). When c->closed, s is already freed. */
csg_conn *csg_conn_slot_returned(csg_slot *s);

#endif /* CSG_CONN_H */
