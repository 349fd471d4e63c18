/* delaystub — fixed-answer HTTP/1.1 model stub that answers every request after a fixed
 * delay (the "20 ms challenger"). Debian's nginx-light has no echo module, so
 * `echo_sleep 0.020` is not available; this stub plays that part for nginx and CSG alike.
 *
 * Keep-alive and pipelining: each complete request (headers + Content-Length body) gets
 * its reply due at arrival + delay; since the delay is constant, due times are monotone,
 * so one global FIFO and one timerfd suffice. Single thread, epoll. Bounded: at most
 * MAXPEND replies pending, connections up to MAXCONN. */
#include "bench_common.h"

#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#define MAXCONN 8192
#define MAXPEND (1 << 20)
#define INBUF 16384

struct conn {
    int fd;
    unsigned gen; /* bumps on close, so stale pending replies are dropped */
    size_t inlen;
    char in[INBUF];
};

struct pend {
    uint64_t due;
    int slot;
    unsigned gen;
};

static struct conn *conns[MAXCONN];
static struct pend *q;
static size_t qh, qt; /* ring head/tail */
static char reply[512];
static size_t reply_len;

static void conn_close(int ep, int slot)
{
    struct conn *c = conns[slot];
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->gen++;
}

/* Count complete requests at the start of c->in, consume them, return how many (-1 bad). */
static int take_requests(struct conn *c)
{
    int n = 0;
    size_t off = 0;
    for (;;) {
        const char *b = c->in + off;
        size_t len = c->inlen - off, hdr = 0;
        for (size_t i = 3; i < len; i++)
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                hdr = i + 1;
                break;
            }
        if (!hdr)
            break;
        long clen = 0;
        for (size_t i = 0; i + 15 < hdr; i++)
            if ((b[i] == '\n') && strncasecmp(b + i + 1, "content-length:", 15) == 0) {
                clen = strtol(b + i + 16, NULL, 10);
                break;
            }
        if (clen < 0 || clen > INBUF / 2)
            return -1;
        if (len < hdr + (size_t)clen)
            break;
        off += hdr + (size_t)clen;
        n++;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    return n;
}

int main(int argc, char **argv)
{
    int port = 0;
    double delay_ms = 20;
    const char *body = "{\"score\":0.68,\"decision\":\"approve\"}";
    int o;
    static const struct option opts[] = {
        {"port", 1, 0, 'p'}, {"delay-ms", 1, 0, 'd'}, {"body", 1, 0, 'b'}, {0, 0, 0, 0}};
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'p')
            port = atoi(optarg);
        else if (o == 'd')
            delay_ms = atof(optarg);
        else if (o == 'b')
            body = optarg;
        else
            return 2;
    }
    if (port <= 0) {
        fprintf(stderr, "usage: delaystub --port P [--delay-ms 20] [--body JSON]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bench_raise_nofile();
    reply_len = (size_t)snprintf(reply, sizeof reply,
                                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\n\r\n%s",
                                 strlen(body), body);
    q = calloc(MAXPEND, sizeof *q);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!q || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
        perror("delaystub: bind/listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)-1};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = (uint64_t)-2;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    uint64_t delay_ns = (uint64_t)(delay_ms * 1e6);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        uint64_t now = bench_now_ns();
        for (int k = 0; k < n; k++) {
            uint64_t id = evs[k].data.u64;
            if (id == (uint64_t)-1) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    int slot = -1;
                    for (int s = 0; s < MAXCONN; s++)
                        if (!conns[s] || conns[s]->fd < 0) {
                            slot = s;
                            break;
                        }
                    if (slot < 0) {
                        close(fd);
                        continue;
                    }
                    if (!conns[slot] && !(conns[slot] = calloc(1, sizeof(struct conn)))) {
                        close(fd);
                        continue;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[slot]->fd = fd;
                    conns[slot]->inlen = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.u64 = (uint64_t)slot};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            if (id == (uint64_t)-2)
                continue; /* timer: handled below */
            struct conn *c = conns[id];
            if (c->fd < 0)
                continue;
            ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                conn_close(ep, (int)id);
                continue;
            }
            if (r < 0)
                continue;
            c->inlen += (size_t)r;
            int reqs = take_requests(c);
            if (reqs < 0 || (reqs == 0 && c->inlen == INBUF)) {
                conn_close(ep, (int)id);
                continue;
            }
            for (int i = 0; i < reqs; i++) {
                if (qt - qh >= MAXPEND) {
                    conn_close(ep, (int)id); /* overloaded beyond bounds: shed */
                    break;
                }
                q[qt % MAXPEND] = (struct pend){now + delay_ns, (int)id, c->gen};
                qt++;
            }
        }
        /* Send every reply that is due; re-arm the timer for the next one. */
        now = bench_now_ns();
        uint64_t x;
        (void)!read(tfd, &x, sizeof x);
        while (qh < qt && q[qh % MAXPEND].due <= now) {
            struct pend *p = &q[qh % MAXPEND];
            struct conn *c = conns[p->slot];
            if (c->fd >= 0 && c->gen == p->gen) {
                ssize_t w = write(c->fd, reply, reply_len);
                if (w != (ssize_t)reply_len)
                    conn_close(ep, p->slot); /* a stub reply never blocks: drop the conn */
            }
            qh++;
        }
        if (qh < qt) {
            uint64_t at = q[qh % MAXPEND].due;
            struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000000ull),
                                                  .tv_nsec = (long)(at % 1000000000ull)}};
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
    }
}
