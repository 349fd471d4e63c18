/*
 * sink_driver.c — drives the Kafka sink (core/sink_kafka.c) the way the
 * gateway's publisher thread does, without the rest of the gateway: for the
 * Kafka integration tests and to measure what the sink sustains.
 *
 *   csg-sink-driver --brokers H:P --topic T --spool DIR [--count N] [--rate R]
 *                   [--prefix P] [--start I] [--wait-ms MS] [--close-ms MS]
 *                   [--spool-max BYTES]
 *
 * Writes N MetricEvent-shaped JSON records (event_id = P-<i>, key =
 * applicant_id) at R events/s (0 = as fast as possible), polling the sink
 * like the publisher (after every 1024 writes and every 100 ms). Then it
 * keeps polling until every event is confirmed (delivered + replayed ≥ what
 * was written and the spool is empty) or --wait-ms passes, and closes the
 * sink. SIGTERM/SIGINT stop the writing early and go straight to close (what
 * the gateway does on SIGTERM). Prints one JSON line with the counters.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_sink.h"
#include "log.h"
#include "util.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !g_stop) {
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: csg-sink-driver --brokers H:P --topic T --spool DIR [--count N] "
                    "[--rate R] [--prefix P] [--start I] [--wait-ms MS] [--close-ms MS] "
                    "[--spool-max BYTES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *spool = NULL, *prefix = "drv";
    long long count = 0, start = 0, rate = 0, wait_ms = 60000, close_ms = 10000;
    unsigned long long spool_max = 1ull << 30;
    for (int i = 1; i < argc; i += 2) { /* --flag value pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--brokers"))
            brokers = v;
        else if (!strcmp(a, "--topic"))
            topic = v;
        else if (!strcmp(a, "--spool"))
            spool = v;
        else if (!strcmp(a, "--prefix"))
            prefix = v;
        else if (!strcmp(a, "--count"))
            count = atoll(v);
        else if (!strcmp(a, "--start"))
            start = atoll(v);
        else if (!strcmp(a, "--rate"))
            rate = atoll(v);
        else if (!strcmp(a, "--wait-ms"))
            wait_ms = atoll(v);
        else if (!strcmp(a, "--close-ms"))
            close_ms = atoll(v);
        else if (!strcmp(a, "--spool-max"))
            spool_max = strtoull(v, NULL, 10);
        else
            usage();
    }
    if (!brokers || !topic || !spool)
        usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    csg_sink_stats stats;
    memset(&stats, 0, sizeof stats);
    csg_sink_config cfg = {.sink = "kafka", .brokers = brokers, .topic = topic,
                           .spool_dir = spool, .spool_max_bytes = spool_max};
    csg_sink *sink = NULL;
    csg_error err = {{0}};
    const csg_sink_ops *ops = &csg_sink_kafka_ops;
    if (ops->open(&cfg, &stats, &sink, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    /* Replays from an earlier run count towards "done" too. */
    double t0 = csg_now_ms();
    long long written = 0;
    double last_poll = t0;
    char buf[1024], key[32];
    for (long long i = start; i < start + count && !g_stop; i++) {
        if (rate > 0) {
            double due = t0 + (double)(i - start) * 1000.0 / (double)rate;
            while (csg_now_ms() < due && !g_stop) {
                ops->poll(sink, 0);
                double d = due - csg_now_ms();
                if (d > 1)
                    sleep_ms(d > 100 ? 100 : (int)d);
            }
        }
        int kl = snprintf(key, sizeof key, "app-%lld", i % 5000);
        char ts[25];
        csg_format_rfc3339_ms(csg_wall_ms(), ts);
        int n = snprintf(buf, sizeof buf,
                         "{\"event_id\":\"%s-%lld\",\"experiment_id\":\"exp-drv\","
                         "\"applicant_id\":\"%s\",\"transport\":\"http\","
                         "\"champion_model\":\"champion-lr-v1\",\"challenger_model\":null,"
                         "\"champion_score\":0.73,\"challenger_score\":null,"
                         "\"champion_decision\":\"approve\",\"challenger_decision\":null,"
                         "\"decision_match\":null,\"latency_champion_ms\":1.84,"
                         "\"latency_challenger_ms\":null,\"decision_diff\":null,"
                         "\"income\":60000,\"loan_amount\":25000,\"credit_history\":4,"
                         "\"timestamp\":\"%s\",\"status\":\"OK\"}",
                         prefix, i, key, ts);
        ops->write(sink, buf, (size_t)n, key, (size_t)kl);
        written++;
        double now = csg_now_ms();
        if (written % 1024 == 0 || now - last_poll >= 100) {
            ops->poll(sink, 0);
            last_poll = now;
        }
    }
    double t_written = csg_now_ms();
    /* Wait for confirmation: what we wrote plus anything found in the spool. */
    double deadline = t_written + (double)wait_ms;
    while (!g_stop && csg_now_ms() < deadline) {
        ops->poll(sink, 0);
        uint64_t done = atomic_load(&stats.delivered) + atomic_load(&stats.failed) +
                        atomic_load(&stats.dropped);
        int64_t unacked = atomic_load(&stats.unacked);
        int64_t spooled_bytes = atomic_load(&stats.spool_bytes);
        if (unacked == 0 && spooled_bytes == 0 &&
            done + atomic_load(&stats.spooled) >= (uint64_t)written)
            break;
        sleep_ms(5);
    }
    double t_done = csg_now_ms();
    ops->close(sink, (int)close_ms);
    double t_closed = csg_now_ms();
    printf("{\"written\":%lld,\"delivered\":%" PRIu64 ",\"spooled\":%" PRIu64
           ",\"replayed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64
           ",\"unacked\":%" PRId64 ",\"spool_bytes\":%" PRId64
           ",\"write_s\":%.3f,\"confirm_s\":%.3f,\"close_s\":%.3f,\"events_per_s\":%.0f}\n",
           written, atomic_load(&stats.delivered), atomic_load(&stats.spooled),
           atomic_load(&stats.replayed), atomic_load(&stats.failed),
           atomic_load(&stats.dropped), atomic_load(&stats.unacked),
           atomic_load(&stats.spool_bytes), (t_written - t0) / 1000.0,
           (t_done - t0) / 1000.0, (t_closed - t_done) / 1000.0,
           written > 0 ? (double)written * 1000.0 / (t_done - t0) : 0.0);
    return 0;
}
