/*
 * fetch.c — see fetch.h. Blocking sockets are fine here: csg-replay is a batch tool and
 * fetches one page at a time between scoring rounds.
 */
#include "fetch.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BODY_MAX ((size_t)64 << 20)
#define IO_TIMEOUT_S 60

struct rp_api {
    bool tls;
    char host[256], port[8], prefix[512];
    char *token;
    SSL_CTX *ctx;
};

int rp_api_open(const char *url, const char *ca_file, const char *token, rp_api **out,
                csg_error *err)
{
    rp_api *a = calloc(1, sizeof *a);
    if (!a)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    const char *p;
    if (!strncmp(url, "http://", 7)) {
        p = url + 7;
    } else if (!strncmp(url, "https://", 8)) {
        p = url + 8;
        a->tls = true;
    } else {
        free(a);
        return csg_fail(err, CSG_EINVAL, "--api %s: must start with http:// or https://", url);
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof a->host) {
        free(a);
        return csg_fail(err, CSG_EINVAL, "--api %s: no host", url);
    }
    memcpy(a->host, p, hl);
    p += hl;
    snprintf(a->port, sizeof a->port, "%s", a->tls ? "443" : "80");
    if (*p == ':') {
        size_t pl = strspn(p + 1, "0123456789");
        long port = strtol(p + 1, NULL, 10);
        if (pl == 0 || pl > 5 || port < 1 || port > 65535) {
            free(a);
            return csg_fail(err, CSG_EINVAL, "--api %s: bad port", url);
        }
        snprintf(a->port, sizeof a->port, "%ld", port);
        p += 1 + pl;
    }
    if (*p && *p != '/') {
        free(a);
        return csg_fail(err, CSG_EINVAL, "--api %s: expected a path after the host", url);
    }
    snprintf(a->prefix, sizeof a->prefix, "%s", p);
    size_t n = strlen(a->prefix);
    if (n && a->prefix[n - 1] == '/')
        a->prefix[n - 1] = '\0';
    if (token && *token)
        a->token = strdup(token);
    if (a->tls) {
        a->ctx = SSL_CTX_new(TLS_client_method());
        if (!a->ctx ||
            (ca_file ? SSL_CTX_load_verify_locations(a->ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(a->ctx)) != 1) {
            rp_api_close(a);
            return csg_fail(err, CSG_EINVAL, "--ca-file %s: cannot load the CA certificates",
                            ca_file ? ca_file : "(system)");
        }
        SSL_CTX_set_verify(a->ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(a->ctx, TLS1_2_VERSION);
    } else if (ca_file) {
        rp_api_close(a);
        return csg_fail(err, CSG_EINVAL, "--ca-file needs an https:// --api URL");
    }
    *out = a;
    return 0;
}

void rp_api_close(rp_api *a)
{
    if (!a)
        return;
    if (a->ctx)
        SSL_CTX_free(a->ctx);
    free(a->token);
    free(a);
}

size_t rp_url_encode(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("-._~", ch);
        if (plain) {
            if (n + 1 < cap)
                buf[n] = (char)ch;
            n++;
        } else {
            if (n + 3 < cap) {
                buf[n] = '%';
                buf[n + 1] = hex[ch >> 4];
                buf[n + 2] = hex[ch & 15];
            }
            n += 3;
        }
    }
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

static int dial(const rp_api *a, csg_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc)
        return csg_fail(err, CSG_EIO, "%s:%s: %s", a->host, a->port, gai_strerror(rc));
    int fd = -1, e = 0;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return csg_fail(err, CSG_EIO, "cannot connect to csg-persist at %s:%s: %s", a->host,
                        a->port, strerror(e));
    return fd;
}

/* The transport of one request: plain socket or TLS on it. */
typedef struct conn {
    int fd;
    SSL *ssl;
} conn;

static ssize_t conn_write(conn *c, const char *p, size_t n)
{
    return c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
}

static ssize_t conn_read(conn *c, char *p, size_t n)
{
    if (!c->ssl)
        return read(c->fd, p, n);
    int r = SSL_read(c->ssl, p, (int)n);
    if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
        return 0;
    return r;
}

static int parse_response(char *buf, size_t n, int *status, char **body, size_t *len,
                          csg_error *err)
{
    char *end = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4)) {
            end = buf + i;
            break;
        }
    int code = 0;
    if (!end || sscanf(buf, "HTTP/%*d.%*d %d", &code) != 1)
        return csg_fail(err, CSG_EIO, "csg-persist sent a malformed HTTP response");
    *end = '\0';
    char *te = strcasestr(buf, "\r\ntransfer-encoding:");
    if (te && strcasestr(te, "chunked"))
        return csg_fail(err, CSG_EIO, "csg-persist sent a chunked response to HTTP/1.0");
    size_t blen = n - (size_t)(end + 4 - buf);
    char *b = malloc(blen + 1);
    if (!b)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    memcpy(b, end + 4, blen);
    b[blen] = '\0';
    *status = code;
    *body = b;
    *len = blen;
    return 0;
}

int rp_api_get(rp_api *a, const char *target, int *status, char **body, size_t *len,
               csg_error *err)
{
    int fd = dial(a, err);
    if (fd < 0)
        return fd;
    conn c = {.fd = fd};
    char *buf = NULL, *req = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (a->tls) {
        c.ssl = SSL_new(a->ctx);
        if (!c.ssl || !SSL_set_fd(c.ssl, fd) || !SSL_set_tlsext_host_name(c.ssl, a->host) ||
            !SSL_set1_host(c.ssl, a->host) || SSL_connect(c.ssl) != 1) {
            unsigned long e = ERR_get_error();
            rc = csg_fail(err, CSG_EIO, "TLS to %s:%s failed: %s", a->host, a->port,
                          e ? ERR_reason_error_string(e) : "handshake refused");
            goto done;
        }
    }
    int rl = asprintf(&req,
                      "GET %s%s HTTP/1.0\r\nHost: %s:%s\r\nAccept: application/x-ndjson, "
                      "application/json\r\nUser-Agent: csg-replay\r\n%s%s%s\r\n",
                      a->prefix, target, a->host, a->port, a->token ? "Authorization: Bearer " : "",
                      a->token ? a->token : "", a->token ? "\r\n" : "");
    if (rl < 0) {
        req = NULL;
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t off = 0; off < (size_t)rl;) {
        ssize_t w = conn_write(&c, req + off, (size_t)rl - off);
        if (w <= 0) {
            rc = csg_fail(err, CSG_EIO, "writing to csg-persist failed: %s", strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    for (;;) { /* HTTP/1.0: the body ends when the server closes */
        if (n + 65536 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 262144;
            char *nb = nc <= BODY_MAX ? realloc(buf, nc) : NULL;
            if (!nb) {
                rc = csg_fail(err, CSG_EIO, "csg-persist's response is over %zu bytes", BODY_MAX);
                goto done;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t r = conn_read(&c, buf + n, cap - n - 1);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = csg_fail(err, CSG_EIO, "reading from csg-persist failed: %s", strerror(errno));
            goto done;
        }
        n += (size_t)r;
    }
    rc = parse_response(buf ? buf : (char[]){0}, n, status, body, len, err);
done:
    free(req);
    free(buf);
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    close(fd);
    return rc;
}
