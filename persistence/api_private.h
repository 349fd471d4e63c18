/*
 * api_private.h — what the REST API's two files share (api.c: the analytics GETs, routing,
 * start/stop; api_ops.c: health, Prometheus, the POST endpoints, stability, experiments):
 * the API's state, one request, and the reply and query helpers every handler uses.
 */
#ifndef CSGP_API_PRIVATE_H
#define CSGP_API_PRIVATE_H

#include <stdbool.h>

#include <event2/http.h>
#include <jansson.h>

#include "api.h"
#include "baseline_jobs.h"
#include "db.h"
#include "httpd.h"
#include "query.h"
#include "stability.h"

struct csgp_api {
    csgp_httpd *http;
    csgp_db *db;
    csgp_baseline_jobs *jobs; /* POST /baselines' stores (baseline_jobs.h) */
    csgp_metrics *m;
    csgp_stability_gauges gauges;       /* csgp_psi / csgp_csi, cached per hour */
    const csg_pseudonym_key *pseudonym; /* NULL: applicant ids as given */
};

typedef struct request {
    struct evhttp_request *req;
    csgp_api *api;
    csgp_query q; /* the validated query string (query.c) */
} request;

/* Parse the query string for this endpoint into r->q; false after answering 400. */
bool csgp_api_parse_query(request *r, csgp_query_kind kind);
/* With --pseudonymize-key-file, id (NUL-terminated, room for CSG_PSEUDONYM_HEX + 1)
 * becomes the gateway's HMAC of it, the form the rows hold. */
void csgp_api_pseudonymize(const csgp_api *api, char *id);
void csgp_api_send_json(request *r, int code, json_t *body);
void csgp_api_send_error(request *r, int code, const char *ecode, const char *param_name,
                         const char *message);
/* 503 db_unavailable, the failure logged. */
void csgp_api_send_db_error(request *r, const csg_error *err);

/* api_ops.c */
void csgp_api_h_healthz(request *r);
void csgp_api_h_prometheus(request *r);
void csgp_api_h_outcomes(request *r);
void csgp_api_h_baselines(request *r);
/* A job stored a baseline: the cached stability gauges are stale (server thread). */
void csgp_api_baseline_stored(void *api);
void csgp_api_h_stability(request *r);
void csgp_api_h_experiments(request *r);

#endif /* CSGP_API_PRIVATE_H */
