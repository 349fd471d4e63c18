/*
 * api_ops.c — the REST API's endpoints beside the analytics GETs (api.c): /healthz,
 * /metrics (Prometheus, csgp_ prefix, with the stability and SRM gauges), POST /outcomes,
 * POST /baselines, GET /metrics/stability (stability.c) and GET /experiments (audit.h).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

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

/* POST /baselines?wait=S: "wait" in whole seconds, 0 to CSGP_BASELINE_WAIT_MAX_S (the
 * only parameter). true, or false after answering 400. */
static bool baseline_wait(request *r, int *wait_s)
{
    *wait_s = CSGP_BASELINE_WAIT_DEFAULT_S;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (query && evhttp_parse_query_str(query, &params) != 0) {
        csgp_api_send_error(r, 400, "invalid_parameter", NULL, "malformed query string");
        return false;
    }
    bool ok = true;
    for (struct evkeyval *kv = params.tqh_first; kv && ok; kv = kv->next.tqe_next) {
        int64_t v;
        if (strcmp(kv->key, "wait") != 0) {
            csgp_api_send_error(r, 400, "invalid_parameter", kv->key, "unknown parameter");
            ok = false;
        } else if (!csgp_parse_int64(kv->value, &v) || v < 0 || v > CSGP_BASELINE_WAIT_MAX_S) {
            char msg[96];
            snprintf(msg, sizeof msg, "must be whole seconds from 0 to %d",
                     CSGP_BASELINE_WAIT_MAX_S);
            csgp_api_send_error(r, 400, "invalid_parameter", "wait", msg);
            ok = false;
        } else {
            *wait_s = (int)v;
        }
    }
    evhttp_clear_headers(&params);
    return ok;
}

/* POST /baselines: one baseline document (models/baseline.py's format), stored by a job
 * (baseline_jobs.h); GET /baselines: the stored baselines and the jobs. */
void csgp_api_h_baselines(request *r)
{
    csg_error err;
    if (evhttp_request_get_command(r->req) != EVHTTP_REQ_POST) {
        json_t *stored;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
        const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
        if (query && *query)
            return csgp_api_send_error(r, 400, "invalid_parameter", NULL,
                                       "GET /baselines takes no parameters");
        if (csgp_baseline_list_json(r->api->db, &stored, &err))
            return csgp_api_send_db_error(r, &err);
        json_t *out = json_object();
        json_object_set_new(out, "baselines", stored);
        json_object_set_new(out, "jobs", csgp_baseline_jobs_json(r->api->jobs));
        return csgp_api_send_json(r, 200, out);
    }
    int wait_s;
    if (!baseline_wait(r, &wait_s))
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    csgp_baseline b;
    if (csgp_baseline_parse(body, len, &b, &err))
        return csgp_api_send_error(r, 400, "invalid_baseline", NULL, err.message);
    if (!csgp_baseline_jobs_submit(r->api->jobs, &b, r->req, wait_s)) {
        csgp_baseline_free(&b);
        char msg[128];
        snprintf(msg, sizeof msg, "%d baseline jobs are waiting: try again when GET /baselines "
                 "shows fewer", CSGP_BASELINE_JOBS_QUEUED_MAX);
        return csgp_api_send_error(r, 429, "too_many_jobs", NULL, msg);
    }
    /* answered by the job (baseline_jobs.c) */
}

void csgp_api_baseline_stored(void *api)
{
    csgp_stability_gauges_reset(&((csgp_api *)api)->gauges);
}
