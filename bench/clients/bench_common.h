/* Small helpers shared by the bench load clients (header-only: each client is one .c
 * file built by bench/run with cc, no CMake target). Timing, sockets, percentiles and
 * a minimal HTTP/1.1 response framer: enough for fixed-answer stubs, nginx and CSG,
 * which all answer with Content-Length. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Raise the soft fd limit to the hard one: the hold test needs > 10,000 sockets. */
static inline void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Non-blocking TCP connect to 127.0.0.1-style IPv4 host:port; returns fd or -1. The
 * connect is usually still in progress (EINPROGRESS): wait for EPOLLOUT. */
static inline int bench_connect(const char *host, int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array (p in [0,100]). */
static inline uint64_t bench_pct(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Print p50/p90/p99/p999/max in microseconds as key=value pairs (sorts in place). */
static inline void bench_print_pcts(uint64_t *lat_ns, size_t n)
{
    qsort(lat_ns, n, sizeof *lat_ns, bench_cmp_u64);
    printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f",
           (double)bench_pct(lat_ns, n, 50) / 1e3, (double)bench_pct(lat_ns, n, 90) / 1e3,
           (double)bench_pct(lat_ns, n, 99) / 1e3, (double)bench_pct(lat_ns, n, 99.9) / 1e3,
           n ? (double)lat_ns[n - 1] / 1e3 : 0.0);
}

/* Frame one HTTP/1.1 response at the start of buf. Returns its total length when complete,
 * 0 when more bytes are needed, -1 when it cannot be framed (no Content-Length, garbage).
 * *status gets the status code, *close_after whether the server said Connection: close. */
static inline long bench_http_frame(const char *buf, size_t len, int *status, int *close_after)
{
    const char *end = NULL;
    for (size_t i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    }
    if (!end)
        return len > 65536 ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(buf + 9);
    *close_after = 0;
    long clen = -1;
    const char *p = memchr(buf, '\n', (size_t)(end - buf));
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && strncasecmp(line, "content-length:", 15) == 0)
            clen = strtol(line + 15, NULL, 10);
        else if (ll > 11 && strncasecmp(line, "connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ')
                v++;
            if (strncasecmp(v, "close", 5) == 0)
                *close_after = 1;
        }
        p = eol;
    }
    if (clen < 0)
        return -1;
    size_t total = (size_t)(end - buf) + (size_t)clen;
    return len >= total ? (long)total : 0;
}

/* ------------------------------------------------------------------ the application */

/* What every bench path sends (issue 16 item 8): the shipped schema's 13 features
 * (DESIGN §9), every one present, values of a realistic credit_data row. This table is
 * the one copy: httpload and tcpload build their JSON from it, grpcload its protobuf
 * map, and bench/run asks `httpload --print-features` for wrk's body. Only the applicant
 * id varies from request to request (hash assignment spreads applicants over the arms).
 * The first BENCH_BRIEF_FEATURES are the brief's application (with the id: 4 fields),
 * kept to measure what the wider payload costs (`--payload brief`). */
struct bench_feature {
    const char *name;
    const char *category; /* NULL: a number */
    double number;
};

static const struct bench_feature bench_features[] = {
    {"income", NULL, 131},        {"loan_amount", NULL, 1000}, {"credit_history", NULL, 1},
    {"seniority_years", NULL, 9}, {"home", "rent", 0},         {"term_months", NULL, 60},
    {"age", NULL, 30},            {"marital", "married", 0},   {"job", "freelance", 0},
    {"expenses", NULL, 73},       {"assets", NULL, 0},         {"debt", NULL, 0},
    {"purchase_price", NULL, 1200},
};
#define BENCH_FEATURES (sizeof bench_features / sizeof bench_features[0])
#define BENCH_BRIEF_FEATURES 3

/* "full" (the 13 features, the default) or "brief" (the brief's three): how many of
 * bench_features to send, or 0 for an unknown name. */
static inline size_t bench_payload_features(const char *name)
{
    if (strcmp(name, "full") == 0)
        return BENCH_FEATURES;
    if (strcmp(name, "brief") == 0)
        return BENCH_BRIEF_FEATURES;
    return 0;
}

/* The first n features as JSON members, `"income":131,"loan_amount":1000,…` (no braces),
 * into out; returns the length, or 0 when cap is too small. */
static inline size_t bench_features_json(size_t n, char *out, size_t cap)
{
    size_t pos = 0;
    for (size_t i = 0; i < n && i < BENCH_FEATURES; i++) {
        const struct bench_feature *f = &bench_features[i];
        int w = f->category
                    ? snprintf(out + pos, cap - pos, "%s\"%s\":\"%s\"", i ? "," : "", f->name,
                               f->category)
                    : snprintf(out + pos, cap - pos, "%s\"%s\":%.17g", i ? "," : "", f->name,
                               f->number);
        if (w < 0 || (size_t)w >= cap - pos)
            return 0;
        pos += (size_t)w;
    }
    return pos;
}

#endif
