/*
 * transport_tls.h — the TLS side of the transport harness: with CSG_FUZZ_TLS=1
 * the plugin gets a `tls:` block (a throw-away self-signed certificate made in
 * process) and the harness's client speaks TLS, so the same inputs and oracle
 * run through lib/csg_conn_tls.c. Kept apart from transport_harness.c so the
 * harness only gains a few hook lines.
 */
#ifndef CSG_FUZZ_TRANSPORT_TLS_H
#define CSG_FUZZ_TRANSPORT_TLS_H

#include <stdbool.h>
#include <sys/types.h>

#include "csg/plugin.h"

/* NULL unless CSG_FUZZ_TLS=1; then the plugin's tls block (made once). */
const csg_tls_config *fz_tls_config(void);
/* A TLS client on connected fd; pump() runs the server's loop between steps.
 * Returns false when the handshake does not finish. */
bool fz_tls_connect(int fd, void (*pump)(void));
/* send/recv semantics of the client connection (plain when not TLS). */
ssize_t fz_tls_send(int fd, const void *p, size_t n);
ssize_t fz_tls_recv(int fd, void *p, size_t n);
/* close_notify, then SHUT_WR (plain: SHUT_WR only). */
void fz_tls_shutdown_wr(int fd);
/* Forget the connection's TLS state (before close). */
void fz_tls_close(void);

#endif
