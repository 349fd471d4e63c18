/*
 * csg_net.c — address parsing, listening and connecting sockets.
 */
#include "csg_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* default_port: used when s has no ":port" (0: the port is required). */
static int split_hostport(const char *s, char *host, size_t hostcap, unsigned *port,
                          unsigned default_port, char *err, size_t errlen)
{
    const char *h = s, *colon;
    size_t hlen;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end) {
            snprintf(err, errlen, "\"%s\": missing ']' after IPv6 address", s);
            return -1;
        }
        h = s + 1;
        hlen = (size_t)(end - h);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (!colon && end[1] != '\0') {
            snprintf(err, errlen, "\"%s\": expected ':port' after ']'", s);
            return -1;
        }
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) {
            snprintf(err, errlen, "\"%s\": write IPv6 addresses as [addr]:port", s);
            return -1;
        }
        hlen = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hlen == 0 || hlen >= hostcap) {
        snprintf(err, errlen, "\"%s\": missing or too long host", s);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (!colon) {
        if (!default_port) {
            snprintf(err, errlen, "\"%s\": missing ':port'", s);
            return -1;
        }
        *port = default_port;
        return 0;
    }
    char *endp;
    errno = 0;
    long p = strtol(colon + 1, &endp, 10);
    if (colon[1] == '\0' || *endp != '\0' || errno || p < 0 || p > 65535) {
        snprintf(err, errlen, "\"%s\": port must be a number 0-65535", s);
        return -1;
    }
    *port = (unsigned)p;
    return 0;
}

static int resolve(const char *host, unsigned port, csg_sockaddr *out, const char *what,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    char ports[8];
    snprintf(ports, sizeof ports, "%u", port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, ports, &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
        /* AI_ADDRCONFIG hides loopback-only setups; retry without it. */
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, ports, &hints, &res);
    }
    if (rc != 0 || !res) {
        snprintf(err, errlen, "\"%s\": cannot resolve host \"%s\": %s", what, host,
                 rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int csg_net_resolve(const char *hostport, csg_sockaddr *out, char *err, size_t errlen)
{
    char host[256];
    unsigned port;
    if (split_hostport(hostport, host, sizeof host, &port, 0, err, errlen) != 0)
        return -1;
    return resolve(host, port, out, hostport, err, errlen);
}

int csg_net_parse_url(const char *url, csg_url *out, char *err, size_t errlen)
{
    out->tls = strncmp(url, "https://", 8) == 0;
    if (!out->tls && strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "\"%s\": only http:// and https:// URLs are supported", url);
        return -1;
    }
    const char *auth = url + (out->tls ? 8 : 7);
    const char *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    char hostport[300];
    if (alen == 0 || alen >= sizeof hostport) {
        snprintf(err, errlen, "\"%s\": missing or too long host", url);
        return -1;
    }
    memcpy(hostport, auth, alen);
    hostport[alen] = '\0';
    if (strchr(hostport, '@')) {
        snprintf(err, errlen, "\"%s\": credentials in URLs are not supported", url);
        return -1;
    }
    if (split_hostport(hostport, out->host, sizeof out->host, &out->port, out->tls ? 443 : 80, err,
                       errlen) != 0)
        return -1;
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof out->path) {
        snprintf(err, errlen, "\"%s\": path too long", url);
        return -1;
    }
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            snprintf(err, errlen, "\"%s\": spaces or control characters in the path", url);
            return -1;
        }
    memcpy(out->path, path, strlen(path) + 1); /* length checked above */
    if (strchr(out->host, ':'))
        snprintf(out->hostport, sizeof out->hostport, "[%s]:%u", out->host, out->port);
    else
        snprintf(out->hostport, sizeof out->hostport, "%s:%u", out->host, out->port);
    return resolve(out->host, out->port, &out->addr, url, err, errlen);
}

int csg_net_listen(const csg_sockaddr *addr, bool reuseport, int backlog, char *err, size_t errlen)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)) {
        snprintf(err, errlen, "setsockopt: %s", strerror(errno));
        goto fail;
    }
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
        snprintf(err, errlen, "bind: %s", strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) != 0) {
        snprintf(err, errlen, "listen: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

void csg_net_nodelay(int fd)
{
    int one = 1;
    /* Replies are written whole in one send; Nagle would only add delay. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int csg_net_connect(const csg_sockaddr *addr)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    csg_net_nodelay(fd);
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

unsigned csg_net_local_port(int fd)
{
    struct sockaddr_storage ss = {0}; /* zeroed: the analyzer does not model getsockname */
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

void csg_net_set_port(csg_sockaddr *addr, unsigned port)
{
    if (addr->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&addr->ss)->sin_port = htons((uint16_t)port);
    else if (addr->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&addr->ss)->sin6_port = htons((uint16_t)port);
}
