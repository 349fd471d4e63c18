/* httpload — open-loop HTTP/1.1 load client for bench/run.
 *
 * Open loop (--rate R): request i is *scheduled* at start + i/R, whatever happened
 * before; it goes out on an idle keep-alive connection (one request in flight per
 * connection, up to --conns) and its latency is measured from its scheduled time, so
 * time spent waiting for a free connection counts (no coordinated omission, unlike wrk's
 * back-filled percentiles). Raw per-request latencies, nearest-rank percentiles.
 *
 * Hold (--hold N): opens N keep-alive connections, makes one request on each, prints
 * "READY held=N" and keeps them idle for --hold-seconds (the driver reads the server's
 * RSS meanwhile), then reports how many the server closed.
 *
 * Body: the 13-feature application of bench_common.h (--payload brief: the brief's
 * 4 fields), only the applicant id varying. --print-features prints its members
 * (`"income":131,…`, no braces) and exits: bench/run builds wrk's body from it.
 *
 * Output: one line of key=value pairs on stdout. Single thread, epoll, timerfd. */
#include "bench_common.h"

#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

enum { C_CONNECTING, C_IDLE, C_BUSY, C_DEAD };
#define INBUF 4096
#define DONE_NONE UINT64_MAX

struct conn {
    int fd, state;
    size_t inlen, woff, wlen;
    uint64_t req;
    char in[INBUF];
    char out[1536];
};

static const char *host = "127.0.0.1", *path = "/v1/score";
static int port, nconns = 64, ids = 100000, use_get;
static double rate, duration = 5, warmup = 1, hold_seconds = 5, drain_s = 2;
static long hold_n;
static int ep;
static struct conn *conns;
static int *idle;
static int idle_top;
static uint64_t *lat; /* per request: latency ns, DONE_NONE until answered */
static uint64_t t0;
static long ok, non2xx, errors, reconnects;
static int first_non2xx; /* status of the first non-2xx answer, to say what went wrong */
static char features[1024]; /* the application's feature members, built once */

static size_t build_request(char *out, size_t cap, uint64_t i)
{
    if (use_get)
        return (size_t)snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    char body[1200];
    /* Varying applicant ids so hash assignment spreads applicants across arms. */
    int bl = snprintf(body, sizeof body, "{\"applicant_id\":\"b%08llu\",%s}",
                      (unsigned long long)(i % (uint64_t)ids), features);
    return (size_t)snprintf(out, cap,
                            "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            path, host, bl, body);
}

static int conn_open(struct conn *c)
{
    c->fd = bench_connect(host, port);
    if (c->fd < 0)
        return -1;
    c->state = C_CONNECTING;
    c->inlen = c->woff = c->wlen = 0;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void set_events(struct conn *c, uint32_t evs)
{
    struct epoll_event ev = {.events = evs, .data.ptr = c};
    (void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int flush_out(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t w = write(c->fd, c->out + c->woff, c->wlen - c->woff);
        if (w < 0) {
            if (errno == EAGAIN) {
                set_events(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
                return 0;
            }
            return -1;
        }
        c->woff += (size_t)w;
    }
    return 0;
}

static int send_req(struct conn *c, uint64_t i)
{
    c->req = i;
    c->wlen = build_request(c->out, sizeof c->out, i);
    c->woff = 0;
    c->state = C_BUSY;
    return flush_out(c);
}

/* Connection broke: fail its request, open a new one (bounded). */
static void conn_fail(struct conn *c, int reopen)
{
    if (c->state == C_BUSY)
        errors++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_DEAD;
    if (reopen && ++reconnects < 100000 && conn_open(c) < 0)
        c->state = C_DEAD;
}

/* Read; returns 1 when a whole response was consumed, 0 when none yet, -1 on error. */
static int read_resp(struct conn *c, uint64_t now, int *closed_after)
{
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EAGAIN)
                break;
            return -1;
        }
        c->inlen += (size_t)r;
        if (c->inlen == INBUF)
            break;
    }
    int status = 0;
    long n = bench_http_frame(c->in, c->inlen, &status, closed_after);
    if (n < 0)
        return -1;
    if (n == 0)
        return c->inlen == INBUF ? -1 : 0;
    if (c->state != C_BUSY)
        return -1; /* unsolicited bytes */
    memmove(c->in, c->in + n, c->inlen - (size_t)n);
    c->inlen -= (size_t)n;
    uint64_t sched = t0 + (uint64_t)((double)c->req * 1e9 / (rate > 0 ? rate : 1));
    if (lat)
        lat[c->req] = now > sched ? now - sched : 0;
    if (status >= 200 && status < 300)
        ok++;
    else {
        non2xx++;
        if (!first_non2xx)
            first_non2xx = status;
    }
    return 1;
}

static int run_open_loop(void)
{
    uint64_t total = (uint64_t)(rate * (warmup + duration));
    uint64_t first = (uint64_t)(rate * warmup);
    if (total == 0 || total > 100000000ull) {
        fprintf(stderr, "httpload: bad rate/duration\n");
        return 2;
    }
    lat = malloc(total * sizeof *lat);
    conns = calloc((size_t)nconns, sizeof *conns);
    idle = calloc((size_t)nconns, sizeof *idle);
    if (!lat || !conns || !idle)
        return 2;
    for (uint64_t i = 0; i < total; i++)
        lat[i] = DONE_NONE;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    for (int k = 0; k < nconns; k++)
        if (conn_open(&conns[k]) < 0) {
            fprintf(stderr, "httpload: connect %s:%d failed: %s\n", host, port, strerror(errno));
            return 1;
        }
    /* Wait (bounded) until every connection is up before the clock starts. */
    int up = 0;
    uint64_t cdl = bench_now_ns() + 5000000000ull;
    struct epoll_event evs[512];
    while (up < nconns && bench_now_ns() < cdl) {
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (!c || c->state != C_CONNECTING)
                continue;
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err || (evs[k].events & (EPOLLERR | EPOLLHUP))) {
                fprintf(stderr, "httpload: connect failed: %s\n", strerror(err));
                return 1;
            }
            c->state = C_IDLE;
            set_events(c, EPOLLIN | EPOLLRDHUP);
            idle[idle_top++] = (int)(c - conns);
            up++;
        }
    }
    if (up < nconns) {
        fprintf(stderr, "httpload: only %d/%d connections came up\n", up, nconns);
        return 1;
    }
    t0 = bench_now_ns() + 1000000; /* 1 ms from now */
    uint64_t next = 0, issued = 0, armed = UINT64_MAX, max_backlog = 0;
    uint64_t end_sched = t0 + (uint64_t)((warmup + duration) * 1e9);
    uint64_t hard_end = end_sched + (uint64_t)(drain_s * 1e9);
    long inflight = 0;
    for (;;) {
        uint64_t now = bench_now_ns();
        while (next < total && t0 + (uint64_t)((double)next * 1e9 / rate) <= now)
            next++;
        while (issued < next && idle_top > 0) {
            struct conn *c = &conns[idle[--idle_top]];
            inflight++;
            if (send_req(c, issued++) < 0) {
                inflight--;
                conn_fail(c, 1);
            }
        }
        if (next - issued > max_backlog)
            max_backlog = next - issued;
        if (next >= total && issued == next && inflight == 0)
            break;
        if (now > hard_end)
            break;
        if (next < total && armed != next) {
            uint64_t at = t0 + (uint64_t)((double)next * 1e9 / rate);
            struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000000ull),
                                                  .tv_nsec = (long)(at % 1000000000ull)}};
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = next;
        }
        int n = epoll_wait(ep, evs, 512, next >= total ? 20 : 1000);
        now = bench_now_ns();
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (!c) {
                uint64_t x;
                (void)!read(tfd, &x, sizeof x);
                armed = UINT64_MAX;
                continue;
            }
            if (c->state == C_DEAD)
                continue;
            if (c->state == C_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    conn_fail(c, 1);
                    continue;
                }
                c->state = C_IDLE;
                set_events(c, EPOLLIN | EPOLLRDHUP);
                idle[idle_top++] = (int)(c - conns);
                continue;
            }
            if ((evs[k].events & EPOLLOUT) && c->state == C_BUSY) {
                if (flush_out(c) < 0) {
                    inflight--;
                    conn_fail(c, 1);
                    continue;
                }
                if (c->woff == c->wlen)
                    set_events(c, EPOLLIN | EPOLLRDHUP);
            }
            if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                int closed_after = 0;
                int r = read_resp(c, now, &closed_after);
                if (r < 0) {
                    if (c->state == C_BUSY)
                        inflight--;
                    conn_fail(c, 1);
                } else if (r == 1) {
                    inflight--;
                    c->state = C_IDLE;
                    if (closed_after) {
                        conn_fail(c, 1);
                    } else {
                        idle[idle_top++] = (int)(c - conns);
                    }
                }
            }
        }
    }
    /* Only requests scheduled after the warm-up count; unanswered ones are +inf. */
    size_t m = 0;
    long timeouts = 0, measured_ok = 0;
    uint64_t *sample = malloc((total - first + 1) * sizeof *sample);
    if (!sample)
        return 2;
    for (uint64_t i = first; i < total; i++) {
        if (lat[i] == DONE_NONE)
            timeouts++;
        else
            measured_ok++;
        sample[m++] = lat[i];
    }
    printf("mode=open rate_target=%.0f sent=%llu measured=%zu answered=%ld ok=%ld non2xx=%ld "
           "first_non2xx=%d errors=%ld unanswered=%ld reconnects=%ld backlog_max=%llu",
           rate, (unsigned long long)issued, m, measured_ok, ok, non2xx, first_non2xx, errors,
           timeouts, reconnects, (unsigned long long)max_backlog);
    bench_print_pcts(sample, m);
    printf("\n");
    fflush(stdout);
    free(sample);
    free(lat);
    free(idle);
    free(conns);
    return 0;
}

static int run_hold(void)
{
    conns = calloc((size_t)hold_n, sizeof *conns);
    if (!conns)
        return 2;
    long opened = 0, connecting = 0, held = 0, failed = 0, dropped = 0;
    uint64_t deadline = bench_now_ns() + 60000000000ull;
    struct epoll_event evs[512];
    rate = 1;
    while (held + failed < hold_n && bench_now_ns() < deadline) {
        /* Bounded number of connects in flight so the listen backlog never overflows. */
        while (opened < hold_n && connecting < 200) {
            struct conn *c = &conns[opened++];
            if (conn_open(c) < 0) {
                fprintf(stderr, "httpload: socket/connect: %s\n", strerror(errno));
                failed++;
                c->state = C_DEAD;
                continue;
            }
            connecting++;
        }
        int n = epoll_wait(ep, evs, 512, 100);
        uint64_t now = bench_now_ns();
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (c->state == C_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || send_req(c, (uint64_t)(c - conns)) < 0) {
                    connecting--;
                    failed++;
                    conn_fail(c, 0);
                    continue;
                }
                set_events(c, EPOLLIN | EPOLLRDHUP);
                continue;
            }
            if (c->state != C_BUSY)
                continue;
            int closed_after = 0;
            int r = read_resp(c, now, &closed_after);
            if (r < 0 || (r == 1 && closed_after)) {
                connecting--;
                failed++;
                conn_fail(c, 0);
            } else if (r == 1) {
                connecting--;
                held++;
                c->state = C_IDLE;
            }
        }
    }
    printf("READY held=%ld failed=%ld ok=%ld non2xx=%ld\n", held, failed, ok, non2xx);
    fflush(stdout);
    uint64_t until = bench_now_ns() + (uint64_t)(hold_seconds * 1e9);
    while (bench_now_ns() < until) {
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (c->state == C_IDLE && (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
                dropped++;
                conn_fail(c, 0);
            }
        }
    }
    printf("mode=hold held=%ld failed=%ld dropped_by_server=%ld\n", held, failed, dropped);
    return held == hold_n ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: httpload --port P [--host H] [--path /v1/score] [--get]\n"
            "         --rate R [--duration S] [--warmup S] [--conns C] [--ids N] [--drain S]\n"
            "         [--payload full|brief]\n"
            "       httpload --port P --hold N [--hold-seconds S]\n"
            "       httpload --print-features [--payload full|brief]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'h'},     {"port", 1, 0, 'p'},    {"path", 1, 0, 'P'},
        {"rate", 1, 0, 'r'},     {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
        {"conns", 1, 0, 'c'},    {"ids", 1, 0, 'i'},      {"hold", 1, 0, 'H'},
        {"hold-seconds", 1, 0, 'S'}, {"drain", 1, 0, 'D'}, {"get", 0, 0, 'g'},
        {"payload", 1, 0, 'b'},  {"print-features", 0, 0, 'F'}, {0, 0, 0, 0}};
    size_t nfeat = BENCH_FEATURES;
    int print_features = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'P': path = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'i': ids = atoi(optarg); break;
        case 'H': hold_n = atol(optarg); break;
        case 'S': hold_seconds = atof(optarg); break;
        case 'D': drain_s = atof(optarg); break;
        case 'g': use_get = 1; break;
        case 'b':
            if (!(nfeat = bench_payload_features(optarg)))
                usage();
            break;
        case 'F': print_features = 1; break;
        default: usage();
        }
    }
    if (!bench_features_json(nfeat, features, sizeof features))
        usage();
    if (print_features) {
        printf("%s\n", features);
        return 0;
    }
    if (port <= 0 || (rate <= 0 && hold_n <= 0) || nconns <= 0 || nconns > 4096 || ids <= 0)
        usage();
    signal(SIGPIPE, SIG_IGN);
    bench_raise_nofile();
    ep = epoll_create1(EPOLL_CLOEXEC);
    return hold_n > 0 ? run_hold() : run_open_loop();
}
