/*
 * baseline_jobs.h — POST /baselines as a job (DESIGN §7). Storing a baseline rebuilds the
 * feature-bin rollups whose bins it changes, from every stored row: a minute at a million
 * events. So the store runs on a thread of its own with its own connection, one job at a
 * time in arrival order, and the API's thread goes on answering. A POST waits for its job
 * up to its `wait` (then 200, as a small database always answered), else it is answered
 * 202 and the job goes on; GET /baselines lists the jobs with their outcome.
 *
 * Everything but the worker runs on the REST server's thread (httpd.c), which owns the
 * waiting requests and their timers; the worker only changes a job's state, under the
 * lock, and wakes that thread.
 */
#ifndef CSGP_BASELINE_JOBS_H
#define CSGP_BASELINE_JOBS_H

#include <event2/http.h>
#include <jansson.h>

#include "baseline.h"
#include "util.h"

#define CSGP_BASELINE_JOBS_QUEUED_MAX 8    /* queued or running; more: 429 */
#define CSGP_BASELINE_JOBS_KEPT 16         /* finished jobs GET /baselines still shows */
#define CSGP_BASELINE_WAIT_DEFAULT_S 20    /* under the usual 30 s client read timeouts */
#define CSGP_BASELINE_WAIT_MAX_S 25

typedef struct csgp_baseline_jobs csgp_baseline_jobs;

/* Open the worker's connection to db_url and start it. on_stored(arg) runs on the server's
 * thread after each job that stored its baseline (the stability gauges are then stale). */
int csgp_baseline_jobs_start(const char *db_url, void (*on_stored)(void *arg), void *arg,
                             csgp_baseline_jobs **out, csg_error *err);

/* Queue the store of *b (moved into the job: *b is left empty) for req, which is answered
 * when the job ends or after wait_s seconds (202, the job goes on), whichever is first.
 * false when CSGP_BASELINE_JOBS_QUEUED_MAX jobs are waiting (req not answered, *b kept). */
bool csgp_baseline_jobs_submit(csgp_baseline_jobs *j, csgp_baseline *b,
                               struct evhttp_request *req, int wait_s);

/* The queued, running and last finished jobs, newest first (GET /baselines "jobs"). */
json_t *csgp_baseline_jobs_json(csgp_baseline_jobs *j);

/* Stop the worker (a running store is abandoned and rolled back on PostgreSQL; SQLite
 * finishes it) and free the jobs. After the server's loop has stopped and before its
 * event base is freed; waiting requests are left to the server, unanswered. NULL is fine. */
void csgp_baseline_jobs_stop(csgp_baseline_jobs *j);

#endif /* CSGP_BASELINE_JOBS_H */
