/* tcpload — closed-loop, pipelining NDJSON client for CSG's tcp.so (DESIGN §5).
 *
 * --conns C connections, each keeping --depth D application lines in flight: every reply
 * line read is answered by one new line, all lines produced by one read go out in one
 * write (the batching a real pipelining client does). Counts replies and error lines in
 * the measured window (after --warmup), samples closed-loop latencies (send → reply,
 * informative only: closed-loop latencies hide queueing). One line of key=value output.
 * Lines: the 13-feature application of bench_common.h (--payload brief: the brief's 4
 * fields), only the applicant id varying. */
#include "bench_common.h"

#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>

#define INBUF 65536
#define OUTBUF 65536
#define MAXSAMPLES 4000000

struct conn {
    int fd, up;
    size_t inlen, outlen, outoff;
    uint64_t *sent; /* ring of send times, depth entries */
    unsigned sh, st;
    char in[INBUF];
    char out[OUTBUF];
};

static const char *host = "127.0.0.1";
static int port, nconns = 64, depth = 1, ids = 100000, ep;
static double duration = 5, warmup = 1;
static uint64_t seq;
static char features[1024]; /* the application's feature members, built once */

static void add_line(struct conn *c, uint64_t now)
{
    uint64_t i = seq++;
    int n = snprintf(c->out + c->outlen, OUTBUF - c->outlen, "{\"applicant_id\":\"t%08llu\",%s}\n",
                     (unsigned long long)(i % (uint64_t)ids), features);
    if (n > 0 && (size_t)n < OUTBUF - c->outlen) {
        c->outlen += (size_t)n;
        c->sent[c->st++ % (unsigned)depth] = now;
    }
}

static int flush_out(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0) {
            if (errno == EAGAIN) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                return 0;
            }
            return -1;
        }
        c->outoff += (size_t)w;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"host", 1, 0, 'h'},  {"port", 1, 0, 'p'},
                                         {"conns", 1, 0, 'c'}, {"depth", 1, 0, 'D'},
                                         {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
                                         {"ids", 1, 0, 'i'},   {"payload", 1, 0, 'b'},
                                         {0, 0, 0, 0}};
    size_t nfeat = BENCH_FEATURES;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'D': depth = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'i': ids = atoi(optarg); break;
        case 'b': nfeat = bench_payload_features(optarg); break;
        default: return 2;
        }
    }
    if (port <= 0 || nconns <= 0 || nconns > 4096 || depth <= 0 || depth > 256 || ids <= 0 ||
        !nfeat || !bench_features_json(nfeat, features, sizeof features)) {
        fprintf(stderr, "usage: tcpload --port P [--conns 64] [--depth 1] [--duration S] "
                        "[--warmup S] [--payload full|brief]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bench_raise_nofile();
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    uint64_t *samples = malloc(MAXSAMPLES * sizeof *samples);
    if (!conns || !samples)
        return 2;
    for (int k = 0; k < nconns; k++) {
        struct conn *c = &conns[k];
        c->sent = calloc((size_t)depth, sizeof *c->sent);
        c->fd = bench_connect(host, port);
        if (c->fd < 0 || !c->sent) {
            fprintf(stderr, "tcpload: connect: %s\n", strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    uint64_t start = bench_now_ns();
    uint64_t mstart = start + (uint64_t)(warmup * 1e9);
    uint64_t end = mstart + (uint64_t)(duration * 1e9);
    long replies = 0, errlines = 0, dead = 0;
    size_t ns = 0;
    struct epoll_event evs[512];
    while (dead < nconns) {
        uint64_t now = bench_now_ns();
        if (now >= end)
            break;
        int n = epoll_wait(ep, evs, 512, 100);
        now = bench_now_ns();
        int in_window = now >= mstart && now < end;
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (c->fd < 0)
                continue;
            if (!c->up) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    fprintf(stderr, "tcpload: connect failed: %s\n", strerror(err));
                    return 1;
                }
                c->up = 1;
                for (int d = 0; d < depth; d++)
                    add_line(c, now);
                if (flush_out(c) < 0)
                    goto dead;
                if (c->outlen == 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            if (evs[k].events & EPOLLOUT) {
                if (flush_out(c) < 0)
                    goto dead;
                if (c->outlen == 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            {
                ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
                if (r == 0 || (r < 0 && errno != EAGAIN))
                    goto dead;
                if (r < 0)
                    continue;
                c->inlen += (size_t)r;
                size_t off = 0;
                char *nl;
                int got = 0;
                while ((nl = memchr(c->in + off, '\n', c->inlen - off)) != NULL) {
                    if (in_window) {
                        replies++;
                        if (strncmp(c->in + off, "{\"error\"", 8) == 0)
                            errlines++;
                        if (ns < MAXSAMPLES)
                            samples[ns++] = now - c->sent[c->sh % (unsigned)depth];
                    }
                    c->sh++;
                    off = (size_t)(nl - c->in) + 1;
                    got++;
                }
                memmove(c->in, c->in + off, c->inlen - off);
                c->inlen -= off;
                if (c->inlen == INBUF)
                    goto dead; /* a reply line longer than our buffer: give up on it */
                /* Only refill when our output buffer is drained, so it stays bounded. */
                for (int g = 0; g < got; g++)
                    add_line(c, now);
                if (c->outoff == 0 && flush_out(c) < 0)
                    goto dead;
            }
            continue;
        dead:
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            dead++;
        }
    }
    double secs = duration;
    printf("mode=tcp conns=%d depth=%d replies=%ld errors=%ld dead_conns=%ld rate=%.1f", nconns,
           depth, replies, errlines, dead, (double)replies / secs);
    bench_print_pcts(samples, ns);
    printf("\n");
    fflush(stdout);
    for (int k = 0; k < nconns; k++)
        free(conns[k].sent);
    free(conns);
    free(samples);
    return dead ? 1 : 0;
}
