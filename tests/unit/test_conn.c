/*
 * test_conn.c — lib/csg_conn.c, the connection layer of http.so and tcp.so,
 * through a toy transport ("echo": one reply line per request line; a line
 * starting with "later" is submitted and answered when the test says) over
 * loopback on one event_base. Checked: replies in request order whatever order
 * they complete in, back-pressure pauses and resumes reading, the read timeout,
 * idle and linger clocks of the one sweep, refusal at max connections,
 * half-close, drain, a client that leaves with a reply owed, and that every byte
 * goes through the I/O seam. Waits are conditions with a deadline.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "csg_clock.h"
#include "csg_conn.h"

/* ------------------------------------------------------------------------ */
/* A fake host: one worker, counters for csg_requests_total                  */

static struct event_base *g_base;
static int g_worker_token;
#define WORKER ((csg_worker *)&g_worker_token)
static unsigned g_overloaded;

static void fake_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    (void)level;
    (void)component;
    (void)fmt;
}
static struct event_base *fake_base(csg_worker *w) { return w == WORKER ? g_base : NULL; }
static unsigned fake_index(csg_worker *w) { return w == WORKER ? 0 : 99; }
static unsigned fake_count(void) { return 1; }
static void fake_count_request(csg_worker *w, const char *transport, const char *status)
{
    (void)w;
    (void)transport;
    if (strcmp(status, "overloaded") == 0)
        g_overloaded++;
}

static const csg_core_api fake_api = {
    .size = sizeof(csg_core_api),
    .log = fake_log,
    .worker_base = fake_base,
    .worker_index = fake_index,
    .worker_count = fake_count,
    .count_request = fake_count_request,
};

/* ------------------------------------------------------------------------ */
/* The echo transport                                                        */

typedef struct echo_conn {
    csg_conn conn;
    char in[256];
    size_t in_len;
} echo_conn;

static csg_slot *g_later[32]; /* submitted, answered by complete() */
static unsigned g_nlater;
static unsigned g_io_recv, g_io_send;

static void echo_process(echo_conn *e)
{
    csg_conn *c = &e->conn;
    while (!c->closed) {
        char *nl = memchr(e->in, '\n', e->in_len);
        if (!nl)
            break;
        if (csg_conn_must_pause(c)) {
            csg_conn_pause(c);
            return;
        }
        size_t n = (size_t)(nl - e->in) + 1;
        csg_slot *s = csg_conn_slot_new(c);
        assert_non_null(s);
        if (n > 5 && memcmp(e->in, "later", 5) == 0) {
            csg_conn_slot_submitted(s);
            g_later[g_nlater++] = s;
        } else {
            assert_int_equal(csg_buf_append(csg_conn_slot_out(c, s), e->in, n), 0);
            csg_conn_slot_commit(c, s);
        }
        memmove(e->in, e->in + n, e->in_len - n);
        e->in_len -= n;
    }
    if (c->closed)
        return;
    if (!e->in_len)
        c->req_start_ms = 0;
    else if (!c->req_start_ms)
        c->req_start_ms = csg_mono_ms();
    if (!c->paused && !c->read_eof)
        csg_conn_read_start(c);
}

static int echo_open(csg_conn *c)
{
    (void)c;
    return 0;
}
static void echo_data(csg_conn *c, const char *p, size_t n)
{
    echo_conn *e = (echo_conn *)c;
    assert_true(e->in_len + n <= sizeof e->in);
    memcpy(e->in + e->in_len, p, n);
    e->in_len += n;
    echo_process(e);
}
static void echo_resume(csg_conn *c) { echo_process((echo_conn *)c); }
static void echo_read_timeout(csg_conn *c)
{
    csg_slot *s = csg_conn_slot_new(c);
    assert_non_null(s);
    csg_buf_puts(csg_conn_slot_out(c, s), "timeout\n");
    csg_conn_slot_commit(c, s);
    csg_conn_finish(c);
}
static void echo_release(csg_conn *c) { (void)c; }

static const csg_conn_ops echo_ops = {
    .open = echo_open, .data = echo_data, .resume = echo_resume,
    .read_timeout = echo_read_timeout, .release = echo_release,
};

/* The I/O seam, counting: plain sockets underneath. */
static ssize_t count_recv(csg_conn *c, void *buf, size_t n)
{
    g_io_recv++;
    return recv(c->fd, buf, n, 0);
}
static ssize_t count_send(csg_conn *c, const void *buf, size_t n)
{
    g_io_send++;
    return send(c->fd, buf, n, MSG_NOSIGNAL);
}
static void count_shutdown(csg_conn *c) { shutdown(c->fd, SHUT_WR); }
static const csg_conn_io count_io = {.recv = count_recv, .send = count_send, .shutdown_wr = count_shutdown};

/* Answer the i-th "later" line. */
static void complete(unsigned i, const char *text)
{
    csg_conn *c = csg_conn_slot_returned(g_later[i]);
    if (!c->closed) {
        csg_buf_puts(csg_conn_slot_out(c, g_later[i]), text);
        csg_conn_slot_commit(c, g_later[i]);
    }
    csg_conn_unhold(c);
    g_later[i] = NULL;
}

/* ------------------------------------------------------------------------ */
/* Harness                                                                   */

typedef struct limits {
    unsigned max_conns, idle_ms, read_ms, max_pipeline;
    size_t pause_out;
} limits;

static csg_conn_server *g_srv;
static unsigned g_port;

static void start(limits l)
{
    g_base = event_base_new();
    assert_non_null(g_base);
    g_nlater = 0;
    g_overloaded = 0;
    g_io_recv = g_io_send = 0;
    static const char refusal[] = "overloaded\n";
    csg_conn_config cfg = {
        .api = &fake_api,
        .transport = "echo",
        .listen = "127.0.0.1:0",
        .conn_size = sizeof(echo_conn),
        .ops = &echo_ops,
        .io = &count_io,
        .max_conns = l.max_conns ? l.max_conns : 100,
        .idle_ms = l.idle_ms,
        .read_ms = l.read_ms ? l.read_ms : 10000,
        .max_pipeline = l.max_pipeline ? l.max_pipeline : 16,
        .pause_out = l.pause_out ? l.pause_out : 65536,
        .out_max = 1 << 20,
        .refusal = refusal,
        .refusal_len = sizeof refusal - 1,
    };
    csg_error err = {{0}};
    assert_int_equal(csg_conn_server_new(&cfg, &g_srv, &err), 0);
    assert_int_equal(csg_conn_server_start_worker(g_srv, WORKER, &err), 0);
    /* The port the kernel chose: the one listener is the newest socket. */
    g_port = 0;
    for (int fd = 3; fd < 1024 && !g_port; fd++) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        int listening = 0;
        socklen_t ol = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) == 0 && listening &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.sin_family == AF_INET)
            g_port = ntohs(a.sin_port);
    }
    assert_true(g_port > 0);
}

static void stop(void)
{
    csg_conn_server_free(g_srv);
    g_srv = NULL;
    event_base_free(g_base);
    g_base = NULL;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void put(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* What a client received, and whether the server closed its side. */
typedef struct rx {
    char buf[4096];
    size_t len;
    bool eof;
} rx;

static void turn(void)
{
    event_base_loop(g_base, EVLOOP_NONBLOCK);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

static void take(int fd, rx *r)
{
    for (;;) {
        ssize_t n = recv(fd, r->buf + r->len, sizeof r->buf - 1 - r->len, MSG_DONTWAIT);
        if (n > 0) {
            r->len += (size_t)n;
            r->buf[r->len] = '\0';
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            r->eof = true;
        return;
    }
}

/* Run the loop until the client has received want (and EOF when eof), or 3 s. */
static void expect(int fd, rx *r, const char *want, bool eof)
{
    uint64_t end = csg_mono_ms() + 3000;
    while (csg_mono_ms() < end) {
        turn();
        take(fd, r);
        if (r->len >= strlen(want) && (!eof || r->eof))
            break;
    }
    assert_string_equal(r->buf, want);
    assert_int_equal(r->eof, eof);
}

static csg_conn *the_conn(void)
{
    csg_conn_worker *w = NULL;
    uint64_t end = csg_mono_ms() + 3000;
    /* The worker struct is reachable through any accepted connection only:
     * wait for the accept. */
    while (csg_mono_ms() < end) {
        turn();
        for (unsigned i = 0; i < g_nlater; i++)
            if (g_later[i])
                w = g_later[i]->conn->w;
        if (w && w->conns)
            return w->conns;
    }
    fail_msg("no connection");
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

/* Replies leave in request order, whatever order they complete in. */
static void test_order(void **state)
{
    (void)state;
    static const struct {
        const char *send;
        unsigned order[3]; /* which "later" to complete first, second, third */
        const char *want;
    } cases[] = {
        {"later1\nnow\nlater2\n", {1, 0, 9}, "A\nnow\nB\n"},
        {"later1\nlater2\nlater3\n", {2, 1, 0}, "A\nB\nC\n"},
        {"now1\nlater1\nnow2\n", {0, 9, 9}, "now1\nA\nnow2\n"},
    };
    static const char *text[] = {"A\n", "B\n", "C\n"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        start((limits){0});
        int fd = dial();
        rx r = {0};
        put(fd, cases[k].send);
        uint64_t end = csg_mono_ms() + 3000;
        unsigned nl = 0;
        for (const char *p = cases[k].send; (p = strstr(p, "later")); p++)
            nl++;
        while (g_nlater < nl && csg_mono_ms() < end)
            turn();
        assert_int_equal(g_nlater, nl);
        for (unsigned j = 0; j < 3 && cases[k].order[j] != 9; j++)
            complete(cases[k].order[j], text[cases[k].order[j]]);
        expect(fd, &r, cases[k].want, false);
        assert_true(g_io_recv > 0 && g_io_send > 0); /* through the I/O seam */
        close(fd);
        stop();
    }
}

/* At max_pipeline owed replies reading pauses; it resumes at half. */
static void test_back_pressure(void **state)
{
    (void)state;
    start((limits){.max_pipeline = 2});
    int fd = dial();
    rx r = {0};
    put(fd, "later\nlater\nnow\n");
    csg_conn *c = the_conn();
    uint64_t end = csg_mono_ms() + 3000;
    while (!c->paused && csg_mono_ms() < end)
        turn();
    assert_true(c->paused);
    assert_false(c->reading);
    assert_int_equal(g_nlater, 2);
    complete(0, "A\n"); /* one owed: half of 2, resume */
    expect(fd, &r, "A\n", false);
    complete(1, "B\n");
    expect(fd, &r, "A\nB\nnow\n", false);
    assert_false(c->paused);
    close(fd);
    stop();
}

/* The sweep: a request not complete read_ms after its first byte is answered
 * by the transport and the connection closes; an idle one closes silently;
 * one that owes a reply does not go idle. */
static void test_sweep(void **state)
{
    (void)state;
    static const struct {
        limits l;
        const char *send;
        const char *want;
    } cases[] = {
        {{.read_ms = 100, .idle_ms = 0}, "partial", "timeout\n"},
        {{.read_ms = 10000, .idle_ms = 100}, "", ""},
        {{.read_ms = 10000, .idle_ms = 100}, "ok\n", "ok\n"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        start(cases[k].l);
        int fd = dial();
        rx r = {0};
        if (cases[k].send[0])
            put(fd, cases[k].send);
        expect(fd, &r, cases[k].want, true);
        close(fd);
        stop();
    }
    /* A reply owed: the idle clock does not run. */
    start((limits){.idle_ms = 50});
    int fd = dial();
    rx r = {0};
    put(fd, "later\n");
    uint64_t end = csg_mono_ms() + 300;
    while (csg_mono_ms() < end)
        turn();
    take(fd, &r);
    assert_false(r.eof);
    complete(0, "late\n");
    expect(fd, &r, "late\n", true); /* then idle */
    close(fd);
    stop();
}

/* Past max_conns a connection gets the canned refusal and is closed. */
static void test_refusal(void **state)
{
    (void)state;
    start((limits){.max_conns = 1});
    int a = dial();
    rx ra = {0};
    put(a, "one\n");
    expect(a, &ra, "one\n", false);
    int b = dial();
    rx rb = {0};
    expect(b, &rb, "overloaded\n", true);
    assert_int_equal(g_overloaded, 1);
    close(a);
    close(b);
    stop();
}

/* Half-close: the client still gets what it asked for, then EOF. */
static void test_half_close(void **state)
{
    (void)state;
    start((limits){0});
    int fd = dial();
    rx r = {0};
    put(fd, "later\n");
    shutdown(fd, SHUT_WR);
    csg_conn *c = the_conn();
    uint64_t end = csg_mono_ms() + 3000;
    while (!c->read_eof && csg_mono_ms() < end)
        turn();
    assert_true(c->read_eof);
    complete(0, "still\n");
    expect(fd, &r, "still\n", true);
    close(fd);
    stop();
}

/* Drain: owed replies count until written, then the connection closes. A client
 * that reset its connection with a reply owed is no trouble: the slot waits for
 * the core's callback and is freed then (ASan checks). */
static void test_drain(void **state)
{
    (void)state;
    start((limits){0});
    int a = dial(), b = dial();
    rx r = {0};
    put(a, "later\n");
    uint64_t end = csg_mono_ms() + 3000;
    while (g_nlater < 1 && csg_mono_ms() < end)
        turn();
    put(b, "later\n");
    while (g_nlater < 2 && csg_mono_ms() < end)
        turn();
    assert_int_equal(g_nlater, 2);
    csg_conn *ca = g_later[0]->conn;
    struct linger lg = {1, 0}; /* close with a RST */
    setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(a);
    while (!ca->closed && csg_mono_ms() < end)
        turn();
    assert_true(ca->closed);
    assert_int_equal(csg_conn_server_drain_worker(g_srv, WORKER), 2);
    complete(0, "gone\n");
    complete(1, "bye\n");
    expect(b, &r, "bye\n", true);
    while (csg_conn_server_drain_worker(g_srv, WORKER) && csg_mono_ms() < end)
        turn();
    assert_int_equal(csg_conn_server_drain_worker(g_srv, WORKER), 0);
    close(b);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),       cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_sweep),       cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_half_close),  cmocka_unit_test(test_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
