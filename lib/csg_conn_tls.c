/*
 * csg_conn_tls.c — the TLS csg_conn_io (see csg_conn_tls.h).
 */
#include "csg_conn_tls.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "csg_tls.h"

#define TLS_RECORD_MAX 16384 /* plaintext bytes in one TLS record */
#define TLS_HANDSHAKE_RECORD 0x16

typedef struct tls_state {
    SSL *ssl;
    bool ready; /* handshake done */
    bool checked; /* first byte seen to be a handshake record */
} tls_state;

static int tls_open(csg_conn *c)
{
    tls_state *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    SSL_CTX *ctx = csg_tls_server_ctx(c->w->cfg->io_arg);
    t->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    if (!t->ssl || SSL_set_fd(t->ssl, c->fd) != 1) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(t->ssl);
    c->io_state = t;
    return 0;
}

static void tls_close(csg_conn *c)
{
    tls_state *t = c->io_state;
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
    c->io_state = NULL;
    ERR_clear_error(); /* the worker thread's error queue must not grow */
}

static bool tls_handshaking(const csg_conn *c)
{
    const tls_state *t = c->io_state;
    return t && !t->ready;
}

/* -1 with errno: EAGAIN (retry on the next event) or ECONNRESET (close). */
static ssize_t fail_with(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = ECONNRESET;
    return -1;
}

/* 1 when done, else what recv returns (-1 EAGAIN: not yet). */
static ssize_t handshake(csg_conn *c, tls_state *t)
{
    if (!t->checked) {
        unsigned char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n <= 0)
            return n;
        if (b != TLS_HANDSHAKE_RECORD) { /* plaintext on a TLS port: no reply at all */
            errno = ECONNRESET;
            return -1;
        }
        t->checked = true;
    }
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->ready = true;
        return 1;
    }
    ssize_t rc = fail_with(t->ssl, r);
    if (rc == 0) { /* close_notify during the handshake */
        errno = ECONNRESET;
        rc = -1;
    }
    return rc;
}

/* Whole records only (at least TLS_RECORD_MAX free in buf for each read), so
 * nothing decrypted waits inside OpenSSL while the socket looks empty to the
 * event loop. */
static ssize_t tls_recv(csg_conn *c, void *buf, size_t n)
{
    tls_state *t = c->io_state;
    if (!t->ready) {
        ssize_t h = handshake(c, t);
        if (h != 1)
            return h;
    }
    size_t got = 0;
    while (n - got >= TLS_RECORD_MAX || (got == 0 && n > 0)) {
        size_t want = n - got > INT_MAX ? INT_MAX : n - got;
        int r = SSL_read(t->ssl, (char *)buf + got, (int)want);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (got) { /* the error or end shows again on the next event */
            ERR_clear_error();
            break;
        }
        return fail_with(t->ssl, r);
    }
    return (ssize_t)got;
}

static ssize_t tls_send(csg_conn *c, const void *buf, size_t n)
{
    tls_state *t = c->io_state;
    if (!t->ready) { /* nothing is written before a request was read */
        errno = EAGAIN;
        return -1;
    }
    int r = SSL_write(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    ssize_t rc = fail_with(t->ssl, r);
    if (rc == 0) {
        errno = EPIPE;
        rc = -1;
    }
    return rc;
}

static void tls_shutdown_wr(csg_conn *c)
{
    tls_state *t = c->io_state;
    if (t->ready)
        SSL_shutdown(t->ssl); /* close_notify: our last reply is complete */
    ERR_clear_error();
    shutdown(c->fd, SHUT_WR);
}

const csg_conn_io csg_conn_tls_io = {tls_recv, tls_send, tls_shutdown_wr,
                                     tls_open, tls_close, tls_handshaking};
