/*
 * rest_tls.c — rest.so to https:// models: one client context per instance
 * (lib/csg_tls.h: the CA, an optional client certificate), and per
 * connection an SSL that verifies the model's certificate against the URL's
 * host name (or IP address). The handshake runs non-blocking inside the
 * connection's reads and the write queue's sends, in the worker's loop;
 * requests queued meanwhile go out once it is done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "csg_tls.h"
#include "rest.h"

int rest_tls_setup(rest_inst *in, const char *ca_file, const char *cert, const char *key,
                   char *msg, size_t cap)
{
    if (!in->url.tls) {
        if (ca_file || cert || key) {
            snprintf(msg, cap, "ca_file, client_cert and client_key are only for https:// URLs");
            return -1;
        }
        return 0;
    }
    in->tls_ctx = csg_tls_client_ctx_new(ca_file, cert, key, msg, cap);
    if (!in->tls_ctx)
        return -1;
    SSL_CTX_set_options(in->tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* EOF reads as a close */
    return 0;
}

static ssize_t tls_send(csg_wq *q, const void *p, size_t n);

int rest_tls_open(rest_conn *k)
{
    rest_inst *in = k->in;
    if (!in->tls_ctx)
        return 0;
    SSL *ssl = SSL_new(in->tls_ctx);
    if (!ssl || SSL_set_fd(ssl, k->fd) != 1)
        goto fail;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, in->url.host, ip) == 1 || inet_pton(AF_INET6, in->url.host, ip) == 1;
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), in->url.host) != 1
              : SSL_set1_host(ssl, in->url.host) != 1 ||
                    SSL_set_tlsext_host_name(ssl, in->url.host) != 1)
        goto fail;
    SSL_set_connect_state(ssl);
    k->ssl = ssl;
    k->tls_ready = false;
    k->tls_why = NULL;
    k->wq.send = tls_send;
    return 0;
fail:
    SSL_free(ssl);
    ERR_clear_error();
    return -1;
}

void rest_tls_close(rest_conn *k)
{
    if (!k->ssl)
        return;
    SSL_free(k->ssl);
    k->ssl = NULL;
    k->tls_ready = false;
    ERR_clear_error();
}

/* A failed handshake or read: a fixed reason for the calls (it outlives this
 * frame), the details in the log once per instance. -1 with errno set. */
static ssize_t tls_failed(rest_conn *k, int r)
{
    int e = SSL_get_error(k->ssl, r);
    int sys = errno;
    long verify = SSL_get_verify_result(k->ssl);
    char detail[256] = "";
    if (verify != X509_V_OK) {
        k->tls_why = "the model's TLS certificate did not verify (CA or host name)";
        snprintf(detail, sizeof detail, "%s", X509_verify_cert_error_string(verify));
    } else if (e == SSL_ERROR_SYSCALL && sys) {
        ERR_clear_error();
        errno = sys; /* ECONNREFUSED and friends: the caller's usual reasons */
        return -1;
    } else {
        k->tls_why = k->tls_ready ? "TLS error on the model connection"
                                  : "TLS handshake with the model failed";
        unsigned long ec = ERR_peek_last_error();
        if (ec)
            ERR_error_string_n(ec, detail, sizeof detail);
    }
    ERR_clear_error();
    rest_inst *in = k->in;
    if (!in->tls_logged && detail[0]) {
        in->api->log(CSG_LOG_WARN, "rest", "model %s (%s): %s: %s", in->model, in->url.hostport,
                     k->tls_why, detail);
        in->tls_logged = true;
    }
    errno = EPROTO;
    return -1;
}

/* 1 done; else -1 with errno: EAGAIN/EINPROGRESS (waiting) or a failure. */
static int handshake(rest_conn *k, int want_read_errno)
{
    int r = SSL_do_handshake(k->ssl);
    if (r == 1) {
        k->tls_ready = true;
        k->in->tls_logged = false;
        csg_wq_mark(&k->wq); /* requests queued during the handshake */
        return 1;
    }
    int e = SSL_get_error(k->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        errno = e == SSL_ERROR_WANT_READ ? want_read_errno : EAGAIN;
        return -1;
    }
    return (int)tls_failed(k, r);
}

ssize_t rest_conn_recv(rest_conn *k, void *buf, size_t n)
{
    if (!k->ssl)
        return recv(k->fd, buf, n, 0);
    if (!k->tls_ready && handshake(k, EAGAIN) != 1)
        return -1;
    int r = SSL_read(k->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(k->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return 0;
    }
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        errno = EAGAIN;
        return -1;
    }
    return tls_failed(k, r);
}

/* The write queue's seam: while the handshake waits for the model, no write
 * watch (EINPROGRESS); the read side marks the queue when it is done. */
static ssize_t tls_send(csg_wq *q, const void *p, size_t n)
{
    rest_conn *k = q->owner;
    if (!k->tls_ready && handshake(k, EINPROGRESS) != 1)
        return -1;
    int r = SSL_write(k->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(k->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        errno = EAGAIN;
        return -1;
    }
    return tls_failed(k, r);
}
