/*
 * test_metrics.c — core/metrics.c: per-worker counters are summed per label
 * set, the latency histogram is cumulative with +Inf = count, and every
 * DESIGN §3 metric name is rendered; the overhead histogram per transport,
 * merged across workers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static csg_worker_metrics *new_worker(void)
{
    csg_worker_metrics *m = aligned_alloc(64, ((sizeof *m + 63) / 64) * 64);
    memset(m, 0, sizeof *m);
    return m;
}

/* Every line of want[0..n) is in the rendered text. */
static void expect_lines(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing: %s\n--- got:\n%s", want[i], text);
}

static void test_render(void **state)
{
    (void)state;
    csg_worker_metrics *w[2] = {new_worker(), new_worker()};
    static const struct {
        int worker;
        const char *transport, *status;
        int times;
    } reqs[] = {{0, "http", "200", 3}, {1, "http", "200", 4}, {1, "tcp", "OK", 2},
                {0, "http", "400", 1}, {1, "grpc", "UNAVAILABLE", 5}};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
        for (int k = 0; k < reqs[i].times; k++)
            csg_metrics_count_request(w[reqs[i].worker], reqs[i].transport, reqs[i].status);
    static const struct {
        int worker;
        const char *model;
        double ms;
    } lat[] = {{0, "champ", 0.3}, {1, "champ", 0.9}, {1, "champ", 7}, {0, "chal", 300},
               {1, "chal", 9000}};
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        csg_metrics_observe_latency(csg_metrics_model(w[lat[i].worker], lat[i].model), lat[i].ms);
    csg_model_stats *c0 = csg_metrics_model(w[0], "chal"), *c1 = csg_metrics_model(w[1], "chal");
    atomic_store(&c0->is_challenger, true);
    csg_bump(&c0->assignments, 2);
    csg_bump(&c1->assignments, 3);
    csg_bump(&w[0]->events_queued, 10);
    csg_bump(&w[1]->events_dropped, 4);
    csg_bump_signed(&w[1]->events_waiting, 2);

    csg_sink_stats sink;
    memset(&sink, 0, sizeof sink);
    atomic_store(&sink.delivered, 7);
    atomic_store(&sink.unacked, 1);
    atomic_store(&sink.spool_bytes, 4096);
    atomic_store(&sink.dropped, 1);
    csg_metrics_globals g = {.sink = &sink, .queue_depth = 3, .reloads_ok = 2, .reloads_failed = 1};
    size_t len = 0;
    char *text = csg_metrics_render(w, 2, &g, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    static const char *const want[] = {
        "csg_requests_total{transport=\"http\",status=\"200\"} 7\n",
        "csg_requests_total{transport=\"http\",status=\"400\"} 1\n",
        "csg_requests_total{transport=\"tcp\",status=\"OK\"} 2\n",
        "csg_requests_total{transport=\"grpc\",status=\"UNAVAILABLE\"} 5\n",
        "csg_model_latency_seconds_bucket{model=\"champ\",le=\"0.0005\"} 1\n",
        "csg_model_latency_seconds_bucket{model=\"champ\",le=\"0.001\"} 2\n",
        "csg_model_latency_seconds_bucket{model=\"champ\",le=\"0.01\"} 3\n",
        "csg_model_latency_seconds_bucket{model=\"champ\",le=\"+Inf\"} 3\n",
        "csg_model_latency_seconds_count{model=\"champ\"} 3\n",
        "csg_model_latency_seconds_sum{model=\"champ\"} 0.008200\n",
        "csg_model_latency_seconds_bucket{model=\"chal\",le=\"5\"} 1\n",
        "csg_model_latency_seconds_bucket{model=\"chal\",le=\"+Inf\"} 2\n",
        "csg_challenger_assignments_total{model=\"chal\"} 5\n",
        "csg_events_total{outcome=\"queued\"} 10\n",
        "csg_events_total{outcome=\"delivered\"} 7\n",
        "csg_events_total{outcome=\"dropped\"} 5\n",
        "csg_events_total{outcome=\"spooled\"} 0\n",
        "csg_events_total{outcome=\"replayed\"} 0\n",
        "csg_events_total{outcome=\"failed\"} 0\n",
        "csg_event_queue_depth 3\n",
        "csg_events_unacked 6\n", /* 2 waiting + 3 queued + 1 in the sink */
        "csg_spool_bytes 4096\n",
        "csg_config_reloads_total{result=\"ok\"} 2\n",
        "csg_config_reloads_total{result=\"error\"} 1\n",
        "# TYPE csg_model_latency_seconds histogram\n",
    };
    expect_lines(text, want, sizeof want / sizeof want[0]);
    /* the champion is not a challenger */
    assert_null(strstr(text, "csg_challenger_assignments_total{model=\"champ\"}"));
    /* each label set once */
    const char *first = strstr(text, "status=\"200\"");
    assert_null(strstr(first + 1, "status=\"200\""));
    free(text);
    free(w[0]);
    free(w[1]);
}

static void test_overhead(void **state)
{
    (void)state;
    csg_worker_metrics *w[2] = {new_worker(), new_worker()};
    csg_metrics_observe_overhead(w[0], "http", 0.000008);  /* le 1e-05 */
    csg_metrics_observe_overhead(w[1], "http", 0.000095);  /* le 0.0001 */
    csg_metrics_observe_overhead(w[1], "http", 0.0001);    /* on the bound: le 0.0001 */
    csg_metrics_observe_overhead(w[0], "tcp", 0.003);      /* le 0.005 */
    csg_metrics_observe_overhead(w[1], "tcp", 5.0);        /* +Inf only */
    char *text = csg_metrics_render(w, 2, NULL, NULL);
    assert_non_null(text);
    static const char *const want[] = {
        "# TYPE csg_gateway_overhead_seconds histogram\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"http\",le=\"1e-05\"} 1\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"http\",le=\"9e-05\"} 1\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"http\",le=\"0.0001\"} 3\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"http\",le=\"+Inf\"} 3\n",
        "csg_gateway_overhead_seconds_count{transport=\"http\"} 3\n",
        "csg_gateway_overhead_seconds_sum{transport=\"http\"} 0.000203000\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"tcp\",le=\"0.0025\"} 0\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"tcp\",le=\"0.005\"} 1\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"tcp\",le=\"0.1\"} 1\n",
        "csg_gateway_overhead_seconds_bucket{transport=\"tcp\",le=\"+Inf\"} 2\n",
    };
    expect_lines(text, want, sizeof want / sizeof want[0]);
    /* one histogram per transport, not per worker */
    const char *first = strstr(text, "_count{transport=\"http\"}");
    assert_null(strstr(first + 1, "_count{transport=\"http\"}"));
    free(text);
    free(w[0]);
    free(w[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_render),
                                       cmocka_unit_test(test_overhead)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
