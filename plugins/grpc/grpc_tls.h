/*
 * grpc_tls.h — grpc.so's `tls:` through the gRPC C core's own SSL server
 * credentials (not lib/csg_conn: the core owns its sockets). The files are
 * served through a certificate-config fetcher, which the core asks before
 * each new handshake, so a SIGHUP reload reaches new connections without a
 * restart. min_version "1.3" is enforced through the core's TLS 1.2 cipher list
 * (grpc_tls.c says how); one min_version per process. Private to plugins/grpc/.
 */
#ifndef CSG_GRPC_TLS_H
#define CSG_GRPC_TLS_H

#include <grpc/grpc_security.h>

#include "csg/plugin.h"

typedef struct grpc_tls grpc_tls;

/* Load t's files (copied) into server credentials for grpc_server_add_http2_port
 * (*creds, the caller releases them). NULL with err filled on failure. */
grpc_tls *grpc_tls_new(const csg_tls_config *t, grpc_server_credentials **creds, csg_error *err);
/* Read the files again; the next handshake uses them. 0 or -1 with err. */
int grpc_tls_reload(grpc_tls *g, csg_error *err);
/* After the server is destroyed (the fetcher is not called any more). */
void grpc_tls_free(grpc_tls *g);

#endif /* CSG_GRPC_TLS_H */
