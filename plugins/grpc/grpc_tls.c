/*
 * grpc_tls.c — grpc.so's TLS (see grpc_tls.h).
 */
#include "grpc_tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_tls.h"

#define PEM_MAX (1u << 20) /* a certificate chain or CA bundle larger than this is a mistake */

struct grpc_tls {
    pthread_mutex_t mu;
    grpc_ssl_server_certificate_config *pending; /* handed to the core at its next fetch */
    csg_tls_config *files;
};

/* The whole file as a string; NULL with err filled. */
static char *read_pem(const char *what, const char *path, csg_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        csg_fail(err, CSG_EIO, "grpc: tls %s %s cannot be read: %s", what, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    bool bad = ferror(f) || n > PEM_MAX;
    fclose(f);
    if (!buf || bad) {
        csg_fail(err, CSG_EIO, "grpc: tls %s %s: %s", what, path,
                 !buf ? "out of memory" : bad && n > PEM_MAX ? "larger than 1 MiB" : "read error");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* A certificate config from the files, after the same check as --check-config. */
static grpc_ssl_server_certificate_config *load(const grpc_tls *g, csg_error *err)
{
    const csg_tls_config *f = g->files;
    char msg[480];
    if (csg_tls_check(f, msg, sizeof msg) != 0) {
        csg_fail(err, CSG_EINVAL, "grpc: tls: %s", msg);
        return NULL;
    }
    char *cert = read_pem("cert", f->cert, err);
    char *key = cert ? read_pem("key", f->key, err) : NULL;
    char *ca = key && f->client_ca ? read_pem("client_ca", f->client_ca, err) : NULL;
    grpc_ssl_server_certificate_config *cfg = NULL;
    if (key && (ca || !f->client_ca)) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        /* gRPC 1.51 asserts root certificates in a fetched config even when it
         * asks clients for none: without client_ca, the chain stands in, unused. */
        cfg = grpc_ssl_server_certificate_config_create(ca ? ca : cert, &pair, 1); /* copies */
    }
    if (key)
        memset(key, 0, strlen(key)); /* no key material left in freed memory */
    free(cert);
    free(key);
    free(ca);
    return cfg;
}

static grpc_ssl_certificate_config_reload_status fetch(void *user_data,
                                                       grpc_ssl_server_certificate_config **config)
{
    grpc_tls *g = user_data;
    pthread_mutex_lock(&g->mu);
    grpc_ssl_server_certificate_config *next = g->pending;
    g->pending = NULL;
    pthread_mutex_unlock(&g->mu);
    if (!next)
        return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    *config = next; /* the core takes it */
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

/* gRPC 1.51's SSL credentials have no minimum-version setting, but the core reads its
 * TLS <= 1.2 cipher list from GRPC_SSL_CIPHER_SUITES, once per process. For "1.3" that
 * list is a single PSK suite: a client offers it only with a pre-shared key, and the
 * server has none, so every TLS 1.2 handshake ends in "no shared cipher" while the TLS 1.3
 * suites (set apart in OpenSSL) stay as they are. Because the core reads the list once,
 * the first TLS listener fixes the policy for the process (recorded in CSG_GRPC_TLS_MIN);
 * another min_version later needs a restart. Set before any handshaker exists: the core
 * reads the variable when it builds the first one. */
#define TLS13_ONLY_SUITES "PSK-AES128-GCM-SHA256"

static int pin_min_version(const char *want, csg_error *err)
{
    const char *had = getenv("CSG_GRPC_TLS_MIN");
    if (had) {
        if (strcmp(had, want) == 0)
            return 0;
        csg_fail(err, CSG_EINVAL, "grpc: tls min_version %s differs from this process's %s "
                 "(gRPC reads it once per process: one for every grpc.so, or a restart)", want, had);
        return -1;
    }
    if ((strcmp(want, "1.3") == 0 && setenv("GRPC_SSL_CIPHER_SUITES", TLS13_ONLY_SUITES, 1) != 0) ||
        setenv("CSG_GRPC_TLS_MIN", want, 1) != 0) {
        csg_fail(err, CSG_ENOMEM, "grpc: setenv: %s", strerror(errno));
        return -1;
    }
    return 0;
}

grpc_tls *grpc_tls_new(const csg_tls_config *t, grpc_server_credentials **creds, csg_error *err)
{
    grpc_tls *g = calloc(1, sizeof *g);
    if (!g) {
        csg_fail(err, CSG_ENOMEM, "grpc: out of memory");
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    if (!(g->files = csg_tls_config_dup(t))) {
        csg_fail(err, CSG_ENOMEM, "grpc: out of memory");
        grpc_tls_free(g);
        return NULL;
    }
    if (!(g->pending = load(g, err)) || /* load checked min_version */
        pin_min_version(t->min_version ? t->min_version : "1.2", err) != 0) {
        grpc_tls_free(g);
        return NULL;
    }
    grpc_ssl_server_credentials_options *o =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            g->files->client_ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                         : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            fetch, g);
    *creds = o ? grpc_ssl_server_credentials_create_with_options(o) : NULL;
    if (!*creds) {
        csg_fail(err, CSG_EPLUGIN, "grpc: cannot create the SSL server credentials");
        grpc_tls_free(g);
        return NULL;
    }
    return g;
}

int grpc_tls_reload(grpc_tls *g, csg_error *err)
{
    grpc_ssl_server_certificate_config *cfg = load(g, err);
    if (!cfg)
        return -1;
    pthread_mutex_lock(&g->mu);
    grpc_ssl_server_certificate_config *old = g->pending;
    g->pending = cfg;
    pthread_mutex_unlock(&g->mu);
    if (old)
        grpc_ssl_server_certificate_config_destroy(old);
    return 0;
}

void grpc_tls_free(grpc_tls *g)
{
    if (!g)
        return;
    if (g->pending)
        grpc_ssl_server_certificate_config_destroy(g->pending);
    pthread_mutex_destroy(&g->mu);
    csg_tls_config_free(g->files);
    free(g);
}
