/*
 * csg_tls.h — OpenSSL contexts for every TLS hop of the gateway: the server
 * side of the socket transports (a reloadable context per transport, and the
 * --check-config check of its files) and the client side of rest.so (CA,
 * optional client certificate, host name verification).
 *
 * Why here: DESIGN §2 puts the connection layer in lib/ once; the core's
 * config check and the plugins use the same loading code, so a file that
 * passes --check-config is exactly what the transport then serves.
 *
 * Threads: csg_tls_server_ctx and csg_tls_server_reload may run on any
 * thread at once (a mutex guards the swap; SSL_CTX is reference counted, so
 * a reload never pulls a context from under an open connection).
 */
#ifndef CSG_TLS_H
#define CSG_TLS_H

#include <stddef.h>

#include "csg/plugin.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct csg_tls_server csg_tls_server;

/* Check a `tls:` block the way a transport will load it: cert and key
 * readable PEM, the key matches the certificate, the key file is not
 * readable by every user, the certificate has not expired, client_ca (if
 * set) readable PEM, min_version "1.2" or "1.3". 0, or -1 with msg filled
 * ("key /x/k.pem is readable by every user (mode 644): chmod 600 it"). */
int csg_tls_check(const csg_tls_config *t, char *msg, size_t cap);

/* A deep copy of t (NULL without memory); free with csg_tls_config_free. */
csg_tls_config *csg_tls_config_dup(const csg_tls_config *t);
void csg_tls_config_free(csg_tls_config *t);

/* A server context from t (copied). NULL with msg filled on failure. */
csg_tls_server *csg_tls_server_new(const csg_tls_config *t, char *msg, size_t cap);
/* Load the files again; on success new connections get the new context. 0,
 * or -1 with msg filled (the old context stays). */
int csg_tls_server_reload(csg_tls_server *s, char *msg, size_t cap);
/* The current context with a reference the caller drops (SSL_CTX_free). */
SSL_CTX *csg_tls_server_ctx(csg_tls_server *s);
void csg_tls_server_free(csg_tls_server *s);

/* A client context that verifies the peer against ca_file (NULL: the
 * system's default CAs) and presents cert/key when both are given. NULL
 * with msg filled on failure. Free with SSL_CTX_free. */
SSL_CTX *csg_tls_client_ctx_new(const char *ca_file, const char *cert, const char *key, char *msg,
                                size_t cap);

#endif /* CSG_TLS_H */
