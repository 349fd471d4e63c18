/*
 * fdlimit.h — the open-file limit (RLIMIT_NOFILE) the gateway runs with.
 *
 * Every client connection is a descriptor, so limits.max_connections is only
 * reachable when RLIMIT_NOFILE allows it. Soft limits are often 1024 while the
 * hard limit is far higher: the gateway raises its soft limit to the hard one
 * at start, and when even that cannot hold what the configuration allows, it
 * starts anyway with a warning naming both numbers. Out of descriptors, the
 * transports pause accepting (lib/csg_accept.h) until some close.
 */
#ifndef CSG_FDLIMIT_H
#define CSG_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

/* Descriptors the gateway keeps for itself beyond client connections: model
 * connections, Kafka, spool files, event loops, lock files. */
#define CSG_FD_RESERVE 256

typedef struct csg_fdlimit {
    uint64_t before; /* soft limit found at start */
    uint64_t soft;   /* soft limit now in force */
    uint64_t hard;
} csg_fdlimit;

/* Raise the soft RLIMIT_NOFILE to the hard limit (to fs.nr_open when the
 * hard limit is unlimited). Returns 0, or -CSG_EIO with err when the limit
 * cannot be read or raised; out then holds the limit still in force. */
int csg_fdlimit_raise(csg_fdlimit *out, csg_error *err);

/* Whether lim->soft is too small for n_transports × max_connections client
 * connections plus CSG_FD_RESERVE. If so, writes a warning naming the limit,
 * max_connections and what to change into msg (cap bytes) and returns true. */
bool csg_fdlimit_short(const csg_fdlimit *lim, size_t n_transports, uint64_t max_connections,
                       char *msg, size_t cap);

#endif /* CSG_FDLIMIT_H */
