/*
 * csg_tls.c — server and client OpenSSL contexts (see csg_tls.h).
 */
#include "csg_tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

struct csg_tls_server {
    pthread_mutex_t mu;
    SSL_CTX *ctx;
    csg_tls_config *files;
    int min_version;
};

/* The first queued OpenSSL error as text (the queue is cleared). */
static const char *ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "%s", errno ? strerror(errno) : "unknown error");
    ERR_clear_error();
    return buf;
}

static int parse_min_version(const char *v)
{
    if (!v || !strcmp(v, "1.2"))
        return TLS1_2_VERSION;
    if (!strcmp(v, "1.3"))
        return TLS1_3_VERSION;
    return 0;
}

/* Readable, and for a key: not readable by every user. */
static int check_file(const char *what, const char *path, bool secret, char *msg, size_t cap)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(msg, cap, "%s %s cannot be read: %s", what, path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    if (secret && (st.st_mode & S_IROTH)) {
        snprintf(msg, cap, "%s %s is readable by every user (mode %03o): chmod 600 it", what, path,
                 (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

/* A server context from the files; NULL with msg filled. */
static SSL_CTX *server_ctx_load(const char *cert, const char *key, const char *client_ca,
                                int min_version, char *msg, size_t cap)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(msg, cap, "cannot create a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, min_version);
    /* No renegotiation (a CPU sink with nothing to gain); a client that
     * drops the socket without close_notify is an ordinary end of stream. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* The write queue retries from a buffer that may have grown (moved). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"csg", 3);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(msg, cap, "cert %s is not a PEM certificate: %s", cert, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
            snprintf(msg, cap, "key %s is not a PEM private key: %s", key,
                     ssl_reason(why, sizeof why));
            goto fail;
        }
        ERR_clear_error(); /* loading checks the pair already: say it as below */
        snprintf(msg, cap, "key %s does not match cert %s", key, cert);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(msg, cap, "key %s does not match cert %s", key, cert);
        ERR_clear_error();
        goto fail;
    }
    if (client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(msg, cap, "client_ca %s holds no PEM CA certificate: %s", client_ca,
                     ssl_reason(why, sizeof why));
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int csg_tls_check(const csg_tls_config *t, char *msg, size_t cap)
{
    int minv = parse_min_version(t->min_version);
    if (!minv) {
        snprintf(msg, cap, "min_version must be \"1.2\" or \"1.3\", got \"%s\"", t->min_version);
        return -1;
    }
    if (!t->cert || !t->key) {
        snprintf(msg, cap, "tls needs both cert and key");
        return -1;
    }
    if (check_file("cert", t->cert, false, msg, cap) || check_file("key", t->key, true, msg, cap) ||
        (t->client_ca && check_file("client_ca", t->client_ca, false, msg, cap)))
        return -1;
    SSL_CTX *ctx = server_ctx_load(t->cert, t->key, t->client_ca, minv, msg, cap);
    if (!ctx)
        return -1;
    X509 *x = SSL_CTX_get0_certificate(ctx);
    int rc = 0;
    if (x && X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        snprintf(msg, cap, "cert %s has expired", t->cert);
        rc = -1;
    }
    SSL_CTX_free(ctx);
    return rc;
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;
    *oom |= s && !d;
    return d;
}

csg_tls_config *csg_tls_config_dup(const csg_tls_config *t)
{
    csg_tls_config *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    bool oom = false;
    d->size = sizeof *d;
    d->cert = dup_or_null(t->cert, &oom);
    d->key = dup_or_null(t->key, &oom);
    d->client_ca = dup_or_null(t->client_ca, &oom);
    d->min_version = dup_or_null(t->min_version, &oom);
    if (oom) {
        csg_tls_config_free(d);
        return NULL;
    }
    return d;
}

void csg_tls_config_free(csg_tls_config *t)
{
    if (!t)
        return;
    free((char *)t->cert);
    free((char *)t->key);
    free((char *)t->client_ca);
    free((char *)t->min_version);
    free(t);
}

csg_tls_server *csg_tls_server_new(const csg_tls_config *t, char *msg, size_t cap)
{
    int minv = parse_min_version(t->min_version);
    if (!minv || !t->cert || !t->key) {
        snprintf(msg, cap, "tls: cert, key and a min_version of \"1.2\" or \"1.3\" are required");
        return NULL;
    }
    csg_tls_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, cap, "tls: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->min_version = minv;
    if (!(s->files = csg_tls_config_dup(t)))
        snprintf(msg, cap, "tls: out of memory");
    else
        s->ctx = server_ctx_load(s->files->cert, s->files->key, s->files->client_ca, minv, msg,
                                 cap);
    if (!s->ctx) {
        csg_tls_server_free(s);
        return NULL;
    }
    return s;
}

int csg_tls_server_reload(csg_tls_server *s, char *msg, size_t cap)
{
    const csg_tls_config *f = s->files;
    if (check_file("key", f->key, true, msg, cap))
        return -1;
    SSL_CTX *ctx = server_ctx_load(f->cert, f->key, f->client_ca, s->min_version, msg, cap);
    if (!ctx)
        return -1;
    pthread_mutex_lock(&s->mu);
    SSL_CTX *old = s->ctx;
    s->ctx = ctx;
    pthread_mutex_unlock(&s->mu);
    SSL_CTX_free(old); /* open connections hold their own references */
    return 0;
}

SSL_CTX *csg_tls_server_ctx(csg_tls_server *s)
{
    pthread_mutex_lock(&s->mu);
    SSL_CTX *ctx = s->ctx;
    SSL_CTX_up_ref(ctx);
    pthread_mutex_unlock(&s->mu);
    return ctx;
}

void csg_tls_server_free(csg_tls_server *s)
{
    if (!s)
        return;
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    csg_tls_config_free(s->files);
    free(s);
}

SSL_CTX *csg_tls_client_ctx_new(const char *ca_file, const char *cert, const char *key, char *msg,
                                size_t cap)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(msg, cap, "cannot create a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        snprintf(msg, cap, "ca_file %s holds no PEM CA certificate: %s", ca_file ? ca_file : "(system)",
                 ssl_reason(why, sizeof why));
        goto fail;
    }
    if (cert || key) {
        if (!cert || !key) {
            snprintf(msg, cap, "client_cert and client_key go together");
            goto fail;
        }
        if (check_file("client_key", key, true, msg, cap))
            goto fail;
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(msg, cap, "client_cert %s / client_key %s: %s", cert, key,
                     ssl_reason(why, sizeof why));
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
