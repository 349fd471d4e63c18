/*
 * csg_conn_tls.h — TLS on the connection layer's I/O seam (csg_conn_io).
 *
 * A transport with `tls:` sets cfg.io = &csg_conn_tls_io and cfg.io_arg = a
 * csg_tls_server (csg_tls.h); the protocol code does not change. The
 * handshake runs non-blocking inside the first reads, in the worker's loop;
 * it must end within read_ms of the accept (the sweep closes it silently
 * otherwise). A client whose first byte is not a TLS handshake record (a
 * plaintext request on a TLS port) is closed without a byte in reply.
 */
#ifndef CSG_CONN_TLS_H
#define CSG_CONN_TLS_H

#include "csg_conn.h"

extern const csg_conn_io csg_conn_tls_io;

#endif /* CSG_CONN_TLS_H */
