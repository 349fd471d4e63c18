/*
 * api_ops.c — the REST API's endpoints beside the analytics GETs (api.c): /healthz,
 * /metrics (Prometheus, csgp_ prefix, with the stability and SRM gauges), POST /outcomes,
 * POST /baselines, GET /metrics/stability (stability.c) and GET /experiments (audit.h).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "audit.h"
#include "baseline.h"
#include "outcomes.h"
#include "srm.h"
#include "stability.h"

void csgp_api_h_healthz(request *r)
{
    json_t *out = json_object();
    bool db_ok = csgp_db_ping(r->api->db);
    json_object_set_new(out, "status", json_string("ok"));
    json_object_set_new(out, "db", json_string(db_ok ? "ok" : "unreachable"));
    csgp_metrics *m = r->api->m;
    json_object_set_new(out, "consumer",
                        json_string(!atomic_load(&m->consuming) ? "off"
                                    : atomic_load(&m->paused)   ? "paused"
                                                                : "running"));
    csgp_api_send_json(r, 200, out);
}

void csgp_api_h_prometheus(request *r)
{
    csgp_metrics *m = r->api->m;
    struct evbuffer *b = evbuffer_new();
#define COUNTER(name, help, v)                                                                 \
    evbuffer_add_printf(b, "# HELP " name " " help "\n# TYPE " name " counter\n" name " %llu\n", \
                        (unsigned long long)(v))
#define GAUGE(name, help, v)                                                                   \
    evbuffer_add_printf(b, "# HELP " name " " help "\n# TYPE " name " gauge\n" name " %lld\n",  \
                        (long long)(v))
    COUNTER("csgp_messages_consumed_total", "Kafka messages consumed.", atomic_load(&m->consumed));
    COUNTER("csgp_rows_inserted_total", "Rows inserted into credit_score_metrics.", atomic_load(&m->inserted));
    COUNTER("csgp_duplicates_total", "Valid events whose event_id was already stored.", atomic_load(&m->duplicates));
    evbuffer_add_printf(b, "# HELP csgp_dlq_total Messages sent to the dead-letter topic, by reason.\n"
                           "# TYPE csgp_dlq_total counter\n");
    for (int i = 0; i < CSGP_DLQ_KINDS; i++)
        evbuffer_add_printf(b, "csgp_dlq_total{reason=\"%s\"} %llu\n", csgp_dlq_kind_names[i],
                            (unsigned long long)atomic_load(&m->dlq[i]));
    COUNTER("csgp_dlq_errors_total", "Failed dead-letter deliveries (retried).", atomic_load(&m->dlq_failed));
    COUNTER("csgp_db_errors_total", "Failed batch transactions (retried with back-off).", atomic_load(&m->db_errors));
    COUNTER("csgp_batches_total", "Batches committed to the database and Kafka.", atomic_load(&m->batches));
    COUNTER("csgp_offset_commit_errors_total", "Failed Kafka offset commits.", atomic_load(&m->commit_errors));
    COUNTER("csgp_rebalances_total", "Consumer group rebalances seen.", atomic_load(&m->rebalances));
    COUNTER("csgp_http_requests_total", "REST requests served.", atomic_load(&m->http_requests));
    GAUGE("csgp_consumer_lag", "Messages behind the high watermark on assigned partitions.", atomic_load(&m->lag));
    GAUGE("csgp_ingest_paused", "1 while consumption is paused (database or DLQ unavailable).", atomic_load(&m->paused));
    GAUGE("csgp_assigned_partitions", "Partitions assigned to this consumer.", atomic_load(&m->assigned));
    GAUGE("csgp_db_up", "1 when the REST connection's database answers.", csgp_db_ping(r->api->db) ? 1 : 0);
    evbuffer_add_printf(b, "# HELP csgp_last_batch_timestamp_seconds Wall clock of the last committed batch.\n"
                           "# TYPE csgp_last_batch_timestamp_seconds gauge\n"
                           "csgp_last_batch_timestamp_seconds %.3f\n",
                        (double)atomic_load(&m->last_batch_ms) / 1000.0);
#undef COUNTER
#undef GAUGE
    csg_error err;
    const char *stability = NULL;
    if (csgp_stability_gauges_text(r->api->db, csg_wall_ms(), &r->api->gauges, &stability, &err))
        csgp_log("warn", "api: stability gauges left out: %s", err.message);
    else
        evbuffer_add(b, stability, strlen(stability));
    char *srm = NULL;
    if (csgp_srm_gauges(r->api->db, &srm, &err) == 0)
        evbuffer_add(b, srm, strlen(srm));
    free(srm);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(r->req, 200, "OK", b);
    evbuffer_free(b);
}

/* POST /outcomes: a JSON array or NDJSON of {"applicant_id","defaulted","observed_at"?}. */
void csgp_api_h_outcomes(request *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in); /* at most CSGP_OUTCOMES_MAX_BYTES (httpd.c) */
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    json_t *rejected = json_array();
    csgp_outcome *items = NULL;
    size_t n = 0, stored = 0;
    csg_error err = {{0}};
    int rc = csgp_outcomes_parse(body, len, csg_wall_ms(), &items, &n, rejected, &err);
    if (rc) {
        json_decref(rejected);
        if (rc == -CSG_EINVAL)
            return csgp_api_send_error(r, 400, "invalid_json", NULL, err.message);
        return csgp_api_send_db_error(r, &err);
    }
    for (size_t i = 0; i < n; i++)
        csgp_api_pseudonymize(r->api, items[i].applicant_id);
    if (n && csgp_outcomes_store(r->api->db, items, n, &stored, &err) != 0) {
        free(items);
        json_decref(rejected);
        return csgp_api_send_db_error(r, &err);
    }
    free(items);
    json_t *out = json_object();
    json_object_set_new(out, "accepted", json_integer((json_int_t)n));
    json_object_set_new(out, "stored", json_integer((json_int_t)stored));
    json_object_set_new(out, "rejected", rejected);
    csgp_api_send_json(r, 200, out);
}

/* GET /metrics/stability: PSI/CSI per bucket against the baselines (stability.c). */
void csgp_api_h_stability(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_STABILITY))
        return;
    json_t *out;
    csg_error err;
    if (csgp_stability_json(r->api->db, &r->q, &out, &err))
        return csgp_api_send_db_error(r, &err);
    csgp_api_send_json(r, 200, out);
}

/* GET /experiments: the applied config versions with their metrics (audit.h). */
void csgp_api_h_experiments(request *r)
{
    if (!csgp_api_parse_query(r, CSGP_Q_SUMMARY))
        return;
    json_t *out = NULL;
    csg_error err;
    if (csgp_experiments_json(r->api->db, r->q.experiment_id, &out, &err))
        return csgp_api_send_db_error(r, &err);
    csgp_api_send_json(r, 200, out);
}

/* POST /baselines: one baseline document (models/baseline.py's format). */
void csgp_api_h_baselines(request *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    csgp_baseline b;
    csg_error err;
    int rc = csgp_baseline_parse(body, len, &b, &err);
    if (rc)
        return csgp_api_send_error(r, 400, "invalid_baseline", NULL, err.message);
    rc = csgp_baseline_store(r->api->db, &b, &err);
    if (rc) {
        csgp_baseline_free(&b);
        return csgp_api_send_db_error(r, &err);
    }
    csgp_stability_gauges_reset(&r->api->gauges);
    json_t *out = json_object();
    json_object_set_new(out, "model", json_string(b.model));
    json_object_set_new(out, "score_bins", json_integer(b.nscore_bins));
    json_object_set_new(out, "features", json_integer(b.nfeatures));
    csgp_baseline_free(&b);
    csgp_api_send_json(r, 200, out);
}
