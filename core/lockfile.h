/*
 * lockfile.h — one gateway per listening port on this machine.
 *
 * SO_REUSEPORT would let a second gateway silently share a port (and split
 * its traffic); so before binding, each transport's port is claimed with an
 * flock()ed file <lock_dir>/csg-gateway-port-<port>.lock holding the owner's
 * pid. The kernel drops the lock when the process dies, even on SIGKILL.
 */
#ifndef CSG_LOCKFILE_H
#define CSG_LOCKFILE_H

#include "csg/plugin.h"

/* Claim listen ("host:port"). Returns an fd to keep open, or -CSG_E… with
 * err naming the address, the lock file and the holder's pid. */
int csg_lockfile_claim(const char *lock_dir, const char *listen, csg_error *err);
void csg_lockfile_release(int fd);

#endif /* CSG_LOCKFILE_H */
