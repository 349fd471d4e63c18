/*
 * csg_net.h — addresses, URLs and sockets for the plugins' lean HTTP layer.
 *
 * Name resolution (getaddrinfo) blocks, so csg_net_resolve and
 * csg_net_parse_url are for the main thread only (plugin create());
 * everything a worker does afterwards uses the resolved sockaddr.
 */
#ifndef CSG_NET_H
#define CSG_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct csg_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} csg_sockaddr;

typedef struct csg_url {
    char host[256];   /* as written, without brackets */
    unsigned port;    /* 80 (https: 443) when absent */
    bool tls;         /* https:// */
    char path[1024];  /* "/score"; "/" when absent; query kept */
    char hostport[300]; /* for the Host header: "host:port" or "[v6]:port" */
    csg_sockaddr addr;
} csg_url;

/* "host:port" or "[v6]:port" (port 0–65535) → address. Resolves names with
 * getaddrinfo (main thread only). 0 or -1 with a message in err. */
int csg_net_resolve(const char *hostport, csg_sockaddr *out, char *err, size_t errlen);

/* "http[s]://host[:port][/path]" → parts + resolved address (main thread only). */
int csg_net_parse_url(const char *url, csg_url *out, char *err, size_t errlen);

/* A non-blocking, close-on-exec listening socket bound to addr, with
 * SO_REUSEADDR and (when reuseport) SO_REUSEPORT. Returns the fd or -1 with
 * a message naming the address. */
int csg_net_listen(const csg_sockaddr *addr, bool reuseport, int backlog, char *err, size_t errlen);

/* Start a non-blocking connect; returns the fd (connection may still be in
 * progress) or -1 with errno set. TCP_NODELAY is set. */
int csg_net_connect(const csg_sockaddr *addr);

/* Port of a bound socket (0 on error). */
unsigned csg_net_local_port(int fd);
void csg_net_set_port(csg_sockaddr *addr, unsigned port);
void csg_net_nodelay(int fd);

#endif /* CSG_NET_H */
