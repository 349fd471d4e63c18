/*
 * transport_tls.c — see transport_tls.h.
 */
#include "transport_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define FZ_TLS_TURNS 200 /* event-loop turns a handshake may take */

static struct {
    bool init, on;
    char dir[64], cert[96], key[96];
    csg_tls_config cfg;
    SSL_CTX *ctx;
    SSL *ssl; /* the current connection's, or NULL */
} t;

/* A P-256 key and a self-signed certificate for "localhost" in a temp dir. */
static void make_cert(void)
{
    snprintf(t.dir, sizeof t.dir, "/tmp/csg-fuzz-tls-XXXXXX");
    if (!mkdtemp(t.dir))
        abort();
    snprintf(t.cert, sizeof t.cert, "%s/cert.pem", t.dir);
    snprintf(t.key, sizeof t.key, "%s/key.pem", t.dir);
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!pk || !x)
        abort();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    if (!X509_sign(x, pk, EVP_sha256()))
        abort();
    FILE *f = fopen(t.cert, "w");
    if (!f || !PEM_write_X509(f, x))
        abort();
    fclose(f);
    int fd = open(t.key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || !PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL))
        abort();
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void remove_cert(void)
{
    unlink(t.cert);
    unlink(t.key);
    rmdir(t.dir);
}

static void init(void)
{
    if (t.init)
        return;
    t.init = true;
    const char *v = getenv("CSG_FUZZ_TLS");
    t.on = v && !strcmp(v, "1");
    if (!t.on)
        return;
    make_cert();
    atexit(remove_cert);
    t.cfg = (csg_tls_config){sizeof t.cfg, t.cert, t.key, NULL, "1.2"};
    t.ctx = SSL_CTX_new(TLS_client_method());
    if (!t.ctx)
        abort();
    SSL_CTX_set_verify(t.ctx, SSL_VERIFY_NONE, NULL); /* our own throw-away certificate */
    SSL_CTX_set_mode(t.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

const csg_tls_config *fz_tls_config(void)
{
    init();
    return t.on ? &t.cfg : NULL;
}

bool fz_tls_connect(int fd, void (*pump)(void))
{
    init();
    if (!t.on)
        return true;
    t.ssl = SSL_new(t.ctx);
    if (!t.ssl || SSL_set_fd(t.ssl, fd) != 1)
        abort();
    SSL_set_connect_state(t.ssl);
    for (int i = 0; i < FZ_TLS_TURNS; i++) {
        int r = SSL_do_handshake(t.ssl);
        if (r == 1)
            return true;
        int e = SSL_get_error(t.ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        pump();
    }
    ERR_clear_error();
    return false;
}

/* -1 with errno EAGAIN (retry) or ECONNRESET/EPIPE; 0 at close_notify. */
static ssize_t fail(int r, int hard)
{
    int e = SSL_get_error(t.ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN && hard == ECONNRESET)
        return 0;
    errno = hard;
    return -1;
}

ssize_t fz_tls_send(int fd, const void *p, size_t n)
{
    if (!t.ssl)
        return send(fd, p, n, MSG_NOSIGNAL);
    int r = SSL_write(t.ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : fail(r, EPIPE);
}

ssize_t fz_tls_recv(int fd, void *p, size_t n)
{
    if (!t.ssl)
        return recv(fd, p, n, 0);
    int r = SSL_read(t.ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : fail(r, ECONNRESET);
}

void fz_tls_shutdown_wr(int fd)
{
    if (t.ssl)
        SSL_shutdown(t.ssl);
    ERR_clear_error();
    shutdown(fd, SHUT_WR);
}

void fz_tls_close(void)
{
    SSL_free(t.ssl);
    t.ssl = NULL;
    ERR_clear_error();
}
