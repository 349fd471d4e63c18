/*
 * csg-transport-load — closed-loop load for the three transports: C
 * connections (or gRPC channels), one request outstanding on each, for S
 * seconds; prints requests/s and raw (not back-filled) latency percentiles as
 * one JSON line. Applications cycle through 1,000 distinct applicant ids so a
 * share of them gets a challenger, as in production.
 *
 *   csg-transport-load --proto tcp|http|grpc --port P [--conns 64] [--seconds 5]
 *
 * TCP and HTTP run on one epoll thread (plain sockets); gRPC uses the C core
 * client with one completion queue and one channel per "connection".
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "csg/v1/credit_score.pb-c.h"

#define MAX_CONNS 1024
#define N_APPS 1000
#define MAX_SAMPLES 4000000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t *g_lat_us; /* one sample per finished request */
static size_t g_n;
static unsigned long g_errors;

static void record(int64_t t0)
{
    if (g_n < MAX_SAMPLES)
        g_lat_us[g_n++] = (uint32_t)((now_ns() - t0) / 1000);
}

static void app_json(unsigned k, char *buf, size_t cap, size_t *len)
{
    int n = snprintf(buf, cap,
                     "{\"applicant_id\":\"load-%u\",\"income\":%u,\"loan_amount\":%u,"
                     "\"credit_history\":%u}",
                     k, 50 + k % 300, 500 + (k * 37) % 4000, k % 2);
    *len = (size_t)n;
}

/* ------------------------------------------------------------------------ */
/* TCP and HTTP: one epoll loop                                              */

typedef struct sconn {
    int fd;
    int64_t t0;
    unsigned k;
    char in[65536];
    size_t in_len;
} sconn;

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_req(sconn *c, bool http)
{
    char body[256], msg[512];
    size_t blen, mlen;
    app_json(c->k++ % N_APPS, body, sizeof body, &blen);
    if (http)
        mlen = (size_t)snprintf(msg, sizeof msg,
                                "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                blen, body);
    else
        mlen = (size_t)snprintf(msg, sizeof msg, "%s\n", body);
    c->t0 = now_ns();
    if (send(c->fd, msg, mlen, MSG_NOSIGNAL) != (ssize_t)mlen) {
        perror("send");
        exit(1);
    }
}

/* Length of one complete reply at the start of c->in, or 0. */
static size_t reply_len(sconn *c, bool http, bool *ok)
{
    if (!http) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (!nl)
            return 0;
        *ok = c->in[2] == 'a'; /* {"applicant_id" vs {"error" */
        return (size_t)(nl - c->in) + 1;
    }
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    char *cl = memmem(c->in, (size_t)(end - c->in), "Content-Length:", 15);
    if (!cl)
        cl = memmem(c->in, (size_t)(end - c->in), "content-length:", 15);
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t total = (size_t)(end - c->in) + 4 + body;
    if (c->in_len < total)
        return 0;
    *ok = memcmp(c->in, "HTTP/1.1 200", 12) == 0;
    return total;
}

static void run_sockets(int port, unsigned nconns, double seconds, bool http)
{
    static sconn conns[MAX_CONNS];
    int ep = epoll_create1(0);
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].fd = connect_to(port);
        conns[i].k = i * 7;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    int64_t end = now_ns() + (int64_t)(seconds * 1e9);
    for (unsigned i = 0; i < nconns; i++)
        send_req(&conns[i], http);
    struct epoll_event evs[256];
    while (now_ns() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            sconn *c = evs[i].data.ptr;
            ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
            if (r <= 0) {
                fprintf(stderr, "connection closed by the server\n");
                exit(1);
            }
            c->in_len += (size_t)r;
            bool ok = false;
            size_t len;
            while ((len = reply_len(c, http, &ok)) > 0) {
                record(c->t0);
                g_errors += !ok;
                memmove(c->in, c->in + len, c->in_len - len);
                c->in_len -= len;
                send_req(c, http);
            }
        }
    }
    for (unsigned i = 0; i < nconns; i++)
        close(conns[i].fd);
    close(ep);
}

/* ------------------------------------------------------------------------ */
/* gRPC                                                                      */

typedef struct gslot {
    grpc_channel *ch;
    grpc_call *call;
    int64_t t0;
    unsigned k;
    grpc_metadata_array md_init, md_trail;
    grpc_byte_buffer *req, *resp;
    grpc_status_code status;
    grpc_slice details;
} gslot;

static grpc_completion_queue *g_cq;

static void grpc_start(gslot *s)
{
    Csg__V1__ScoreRequest m = CSG__V1__SCORE_REQUEST__INIT;
    char id[32];
    unsigned k = s->k++ % N_APPS;
    snprintf(id, sizeof id, "load-%u", k);
    m.applicant_id = id;
    m.income = 50 + k % 300;
    m.loan_amount = 500 + (k * 37) % 4000;
    m.credit_history = (int32_t)(k % 2);
    size_t size = csg__v1__score_request__get_packed_size(&m);
    grpc_slice slice = grpc_slice_malloc(size);
    csg__v1__score_request__pack(&m, GRPC_SLICE_START_PTR(slice));
    s->req = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    grpc_slice method = grpc_slice_from_static_string("/csg.v1.CreditScoring/Score");
    s->t0 = now_ns();
    s->call = grpc_channel_create_call(
        s->ch, NULL, GRPC_PROPAGATE_DEFAULTS, g_cq, method, NULL,
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(10, GPR_TIMESPAN)),
        NULL);
    grpc_metadata_array_init(&s->md_init);
    grpc_metadata_array_init(&s->md_trail);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md_init;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->md_trail;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    if (grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK) {
        fprintf(stderr, "start_batch failed\n");
        exit(1);
    }
}

static void grpc_finish(gslot *s)
{
    g_errors += s->status != GRPC_STATUS_OK;
    grpc_byte_buffer_destroy(s->req);
    if (s->resp)
        grpc_byte_buffer_destroy(s->resp);
    s->resp = NULL;
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->md_init);
    grpc_metadata_array_destroy(&s->md_trail);
    grpc_call_unref(s->call);
}

static void run_grpc(int port, unsigned nconns, double seconds)
{
    static gslot slots[MAX_CONNS];
    grpc_init();
    g_cq = grpc_completion_queue_create_for_next(NULL);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_arg arg = {.type = GRPC_ARG_INTEGER, .key = (char *)"grpc.use_local_subchannel_pool",
                    .value.integer = 1};
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    for (unsigned i = 0; i < nconns; i++) {
        slots[i].ch = grpc_channel_create(target, creds, &args);
        slots[i].k = i * 7;
    }
    grpc_channel_credentials_release(creds);
    int64_t end = now_ns() + (int64_t)(seconds * 1e9);
    for (unsigned i = 0; i < nconns; i++)
        grpc_start(&slots[i]);
    unsigned outstanding = nconns;
    while (outstanding) {
        grpc_event ev = grpc_completion_queue_next(
            g_cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(15, GPR_TIMESPAN)),
            NULL);
        if (ev.type != GRPC_OP_COMPLETE) {
            fprintf(stderr, "gRPC completion queue timed out\n");
            exit(1);
        }
        gslot *s = ev.tag;
        bool counted = now_ns() < end;
        if (counted)
            record(s->t0);
        grpc_finish(s);
        if (counted)
            grpc_start(s);
        else
            outstanding--;
    }
    for (unsigned i = 0; i < nconns; i++)
        grpc_channel_destroy(slots[i].ch);
    grpc_completion_queue_shutdown(g_cq);
    while (grpc_completion_queue_next(g_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(g_cq);
    grpc_shutdown();
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *proto = NULL;
    int port = 0;
    unsigned conns = 64;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proto") == 0)
            proto = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--conns") == 0)
            conns = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (!proto || !port || conns < 1 || conns > MAX_CONNS || seconds <= 0) {
        fprintf(stderr, "usage: csg-transport-load --proto tcp|http|grpc --port P "
                        "[--conns 64] [--seconds 5]\n");
        return 2;
    }
    g_lat_us = malloc(sizeof *g_lat_us * MAX_SAMPLES);
    if (!g_lat_us)
        return 1;
    int64_t t0 = now_ns();
    if (strcmp(proto, "grpc") == 0)
        run_grpc(port, conns, seconds);
    else
        run_sockets(port, conns, seconds, strcmp(proto, "http") == 0);
    double elapsed = (double)(now_ns() - t0) / 1e9;
    if (elapsed > seconds)
        elapsed = seconds; /* the gRPC tail after the deadline is not counted */
    qsort(g_lat_us, g_n, sizeof *g_lat_us, cmp_u32);
    uint32_t p50 = g_n ? g_lat_us[g_n / 2] : 0, p99 = g_n ? g_lat_us[(g_n * 99) / 100] : 0;
    printf("{\"proto\":\"%s\",\"conns\":%u,\"seconds\":%.1f,\"requests\":%zu,\"errors\":%lu,"
           "\"rps\":%.0f,\"p50_us\":%u,\"p99_us\":%u}\n",
           proto, conns, seconds, g_n, g_errors, (double)g_n / elapsed, p50, p99);
    free(g_lat_us);
    return g_errors ? 1 : 0;
}
