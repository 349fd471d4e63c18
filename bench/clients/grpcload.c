/* grpcload — closed-loop unary gRPC client for CSG's grpc.so (csg.v1.CreditScoring/Score)
 * on the gRPC C core: one channel (one HTTP/2 connection, like ghz's default), --outstanding
 * N calls always in flight, each finished call immediately replaced. The ScoreRequest is
 * encoded by hand (four fields, proto3 wire format), so no generated code is needed.
 * Counts OK and non-OK statuses in the measured window (after --warmup), samples
 * closed-loop latencies. One line of key=value output. */
#include "bench_common.h"

#include <getopt.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#define MAXSAMPLES 4000000

struct slot {
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    uint64_t t;
};

static grpc_channel *ch;
static grpc_completion_queue *cq;
static uint64_t seq;
static int ids = 100000;

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static size_t put_double(unsigned char *p, unsigned char tag, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    p[0] = tag;
    for (int i = 0; i < 8; i++)
        p[1 + i] = (unsigned char)(u >> (8 * i));
    return 9;
}

static grpc_byte_buffer *encode_request(uint64_t i)
{
    unsigned char buf[96];
    char id[24];
    int idl = snprintf(id, sizeof id, "g%08llu", (unsigned long long)(i % (uint64_t)ids));
    size_t n = 0;
    buf[n++] = 0x0a; /* field 1, length-delimited: applicant_id */
    buf[n++] = (unsigned char)idl;
    memcpy(buf + n, id, (size_t)idl);
    n += (size_t)idl;
    n += put_double(buf + n, 0x11, (double)(20000 + (i * 7919) % 90000)); /* income */
    n += put_double(buf + n, 0x19, (double)(1000 + (i * 104729) % 20000)); /* loan_amount */
    buf[n++] = 0x20; /* field 4, varint: credit_history */
    n += put_varint(buf + n, i % 2);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, n);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static int start_call(struct slot *s)
{
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(5000, GPR_TIMESPAN));
    s->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                       grpc_slice_from_static_string("/csg.v1.CreditScoring/Score"),
                                       NULL, deadline, NULL);
    if (!s->call)
        return -1;
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trail_md);
    s->send = encode_request(seq++);
    s->recv = NULL;
    s->t = bench_now_ns();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trail_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    return grpc_call_start_batch(s->call, ops, 6, s, NULL) == GRPC_CALL_OK ? 0 : -1;
}

static void finish_call(struct slot *s)
{
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trail_md);
    grpc_byte_buffer_destroy(s->send);
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    grpc_slice_unref(s->details);
    grpc_call_unref(s->call);
    s->call = NULL;
}

int main(int argc, char **argv)
{
    const char *target = NULL;
    int outstanding = 64;
    double duration = 5, warmup = 1;
    static const struct option opts[] = {{"target", 1, 0, 't'},   {"outstanding", 1, 0, 'n'},
                                         {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
                                         {"ids", 1, 0, 'i'},      {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': target = optarg; break;
        case 'n': outstanding = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'i': ids = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!target || outstanding <= 0 || outstanding > 4096 || ids <= 0) {
        fprintf(stderr, "usage: grpcload --target 127.0.0.1:P [--outstanding 64] "
                        "[--duration S] [--warmup S]\n");
        return 2;
    }
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    cq = grpc_completion_queue_create_for_next(NULL);
    struct slot *slots = calloc((size_t)outstanding, sizeof *slots);
    uint64_t *samples = malloc(MAXSAMPLES * sizeof *samples);
    if (!ch || !cq || !slots || !samples)
        return 2;
    for (int k = 0; k < outstanding; k++)
        if (start_call(&slots[k]) < 0) {
            fprintf(stderr, "grpcload: cannot start call\n");
            return 1;
        }
    uint64_t start = bench_now_ns();
    uint64_t mstart = start + (uint64_t)(warmup * 1e9);
    uint64_t end = mstart + (uint64_t)(duration * 1e9);
    long okc = 0, bad = 0, first_bad_status = -1;
    size_t ns = 0;
    for (;;) {
        uint64_t now = bench_now_ns();
        if (now >= end)
            break;
        grpc_event ev = grpc_completion_queue_next(
            cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
            NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct slot *s = ev.tag;
        now = bench_now_ns();
        if (now >= mstart && now < end) {
            if (ev.success && s->status == GRPC_STATUS_OK && s->recv) {
                okc++;
                if (ns < MAXSAMPLES)
                    samples[ns++] = now - s->t;
            } else {
                bad++;
                if (first_bad_status < 0)
                    first_bad_status = s->status;
            }
        }
        finish_call(s);
        if (start_call(s) < 0) {
            fprintf(stderr, "grpcload: cannot start call\n");
            return 1;
        }
    }
    printf("mode=grpc outstanding=%d ok=%ld errors=%ld first_error_status=%ld rate=%.1f",
           outstanding, okc, bad, first_bad_status, (double)okc / duration);
    bench_print_pcts(samples, ns);
    printf("\n");
    fflush(stdout);
    /* In-flight calls are abandoned on purpose: the process exits, the server sees resets. */
    _exit(0);
}
