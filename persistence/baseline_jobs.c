/* baseline_jobs.c — POST /baselines as a job on a worker thread (see baseline_jobs.h). */
#include "baseline_jobs.h"

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_clock.h"
#include "db.h"
#include "httpd.h"

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED } job_state;
static const char *const state_names[] = {"queued", "running", "done", "failed"};

typedef struct job {
    uint64_t id;
    job_state state;
    char model[128];
    int score_bins, features;
    int64_t submitted_ms, started_ms, finished_ms; /* wall clock; 0: not yet */
    char error[256];
    csgp_baseline b;                /* the worker's until it is done */
    struct evhttp_request *waiter;  /* the POST still waiting (server thread only) */
    struct event *timer;            /* its wait (server thread only) */
    bool seen;                      /* its end handled by the server thread */
    struct csgp_baseline_jobs *owner;
    struct job *next;               /* oldest first */
} job;

struct csgp_baseline_jobs {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    csgp_db *db;
    job *head, *tail;
    uint64_t last_id;
    struct event *ended; /* made active by the worker when a job ends; server thread */
    void (*on_stored)(void *arg);
    void *arg;
};

static bool finished(const job *x) { return x->state == JOB_DONE || x->state == JOB_FAILED; }

/* How long a finished job ran. */
static double seconds(const job *x) { return (double)(x->finished_ms - x->started_ms) / 1e3; }

static void put_ts(json_t *o, const char *key, int64_t ms)
{
    char ts[CSGP_TS_SIZE];
    if (!ms) {
        json_object_set_new(o, key, json_null());
        return;
    }
    csgp_format_ms(ms, ts);
    json_object_set_new(o, key, json_string(ts));
}

/* A job as GET /baselines lists it. Under the lock. */
static json_t *job_json(const job *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "job", json_integer((json_int_t)x->id));
    json_object_set_new(o, "model", json_string(x->model));
    json_object_set_new(o, "status", json_string(state_names[x->state]));
    put_ts(o, "submitted_at", x->submitted_ms);
    put_ts(o, "started_at", x->started_ms);
    put_ts(o, "finished_at", x->finished_ms);
    json_object_set_new(o, "seconds", finished(x) ? json_real(seconds(x)) : json_null());
    if (x->state == JOB_FAILED)
        json_object_set_new(o, "error", json_string(x->error));
    return o;
}

/* The POST's answer: 200 once stored, 503 when the store failed, else 202. Under the lock. */
static void answer(job *x)
{
    struct evhttp_request *req = x->waiter;
    x->waiter = NULL;
    if (x->timer) {
        event_free(x->timer);
        x->timer = NULL;
    }
    if (x->state == JOB_FAILED) {
        csgp_httpd_send_error(req, 503, "db_unavailable", NULL,
                              "the database did not answer; try again");
        return;
    }
    json_t *out = json_object();
    json_object_set_new(out, "model", json_string(x->model));
    json_object_set_new(out, "score_bins", json_integer(x->score_bins));
    json_object_set_new(out, "features", json_integer(x->features));
    json_object_set_new(out, "job", json_integer((json_int_t)x->id));
    json_object_set_new(out, "status", json_string(state_names[x->state]));
    if (x->state == JOB_DONE) {
        json_object_set_new(out, "seconds", json_real(seconds(x)));
        csgp_httpd_send_json(req, 200, out);
        return;
    }
    json_object_set_new(out, "message",
                        json_string("stored when its rollup rebuild ends: GET /baselines shows "
                                    "the job; stability uses the earlier baseline until then"));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/baselines");
    csgp_httpd_send_json(req, 202, out);
}

/* The oldest jobs past CSGP_BASELINE_JOBS_KEPT finished ones, handled, go. Under the lock. */
static void trim(csgp_baseline_jobs *j)
{
    int kept = 0;
    for (job *x = j->head; x; x = x->next)
        kept += finished(x) && x->seen;
    while (kept > CSGP_BASELINE_JOBS_KEPT && j->head && finished(j->head) && j->head->seen) {
        job *x = j->head;
        j->head = x->next;
        if (!j->head)
            j->tail = NULL;
        free(x);
        kept--;
    }
}

/* Server thread: answer the waiting POSTs of ended jobs, tell the API a baseline changed. */
static void on_ended(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    csgp_baseline_jobs *j = arg;
    bool stored = false;
    pthread_mutex_lock(&j->lock);
    for (job *x = j->head; x; x = x->next) {
        if (!finished(x) || x->seen)
            continue;
        x->seen = true;
        stored |= x->state == JOB_DONE;
        if (x->waiter)
            answer(x);
    }
    trim(j);
    pthread_mutex_unlock(&j->lock);
    if (stored && j->on_stored)
        j->on_stored(j->arg);
}

/* Server thread: a POST's wait is over before its job. */
static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    job *x = arg;
    csgp_baseline_jobs *j = x->owner;
    pthread_mutex_lock(&j->lock);
    if (x->waiter)
        answer(x);
    pthread_mutex_unlock(&j->lock);
}

static bool stopping(void *arg) { return atomic_load(&((csgp_baseline_jobs *)arg)->stop); }

static void *work(void *arg)
{
    csgp_baseline_jobs *j = arg;
    pthread_mutex_lock(&j->lock);
    while (!atomic_load(&j->stop)) {
        job *x = j->head;
        while (x && x->state != JOB_QUEUED)
            x = x->next;
        if (!x) {
            pthread_cond_wait(&j->wake, &j->lock);
            continue;
        }
        x->state = JOB_RUNNING;
        x->started_ms = csg_wall_ms();
        pthread_mutex_unlock(&j->lock);
        csg_error err;
        /* An idle connection may have outlived a server restart: reconnect before BEGIN,
         * which is not retried on a dead socket. A store abandoned at shutdown closes its
         * socket, which a server notices only between statements: checking every second
         * (PostgreSQL 14+; older servers refuse the setting, ignored) ends a rebuild left
         * running, with the bands lock every batch waits for. */
        if (csgp_db_ping(j->db) && csgp_db_kind_of(j->db) == CSGP_DB_PG)
            (void)csgp_db_exec_script(j->db, "SET client_connection_check_interval = 1000",
                                      "SET", NULL);
        int rc = csgp_baseline_store(j->db, &x->b, &err);
        if (rc)
            csgp_log("warn", "baseline of %s not stored: %s", x->model, err.message);
        else
            csgp_log("info", "baseline of %s stored (job %llu)", x->model,
                     (unsigned long long)x->id);
        csgp_baseline_free(&x->b);
        pthread_mutex_lock(&j->lock);
        x->state = rc ? JOB_FAILED : JOB_DONE;
        x->finished_ms = csg_wall_ms();
        if (rc)
            snprintf(x->error, sizeof x->error, "%.255s", err.message);
        if (j->ended)
            event_active(j->ended, EV_READ, 0);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int csgp_baseline_jobs_start(const char *db_url, void (*on_stored)(void *arg), void *arg,
                             csgp_baseline_jobs **out, csg_error *err)
{
    csgp_baseline_jobs *j = calloc(1, sizeof *j);
    if (!j)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    j->on_stored = on_stored;
    j->arg = arg;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    int rc = csgp_db_open(db_url, "baselines", &j->db, err);
    if (!rc) {
        csgp_db_set_interrupt(j->db, stopping, j);
        if (pthread_create(&j->thread, NULL, work, j) != 0)
            rc = csg_fail(err, CSG_EIO, "cannot start the baseline thread");
        else
            j->started = true;
    }
    if (rc) {
        csgp_baseline_jobs_stop(j);
        return rc;
    }
    *out = j;
    return 0;
}

bool csgp_baseline_jobs_submit(csgp_baseline_jobs *j, csgp_baseline *b,
                               struct evhttp_request *req, int wait_s)
{
    struct event_base *base = evhttp_connection_get_base(evhttp_request_get_connection(req));
    job *x = calloc(1, sizeof *x);
    if (!x)
        return false;
    pthread_mutex_lock(&j->lock);
    int waiting = 0;
    for (job *y = j->head; y; y = y->next)
        waiting += !finished(y);
    if (!j->ended)
        j->ended = event_new(base, -1, 0, on_ended, j);
    x->timer = evtimer_new(base, on_wait_over, x);
    if (waiting >= CSGP_BASELINE_JOBS_QUEUED_MAX || !j->ended || !x->timer) {
        pthread_mutex_unlock(&j->lock);
        if (x->timer)
            event_free(x->timer);
        free(x);
        return false;
    }
    x->owner = j;
    x->id = ++j->last_id;
    x->state = JOB_QUEUED;
    snprintf(x->model, sizeof x->model, "%s", b->model);
    x->score_bins = b->nscore_bins;
    x->features = b->nfeatures;
    x->submitted_ms = csg_wall_ms();
    x->b = *b;
    memset(b, 0, sizeof *b);
    x->waiter = req;
    struct timeval tv = {.tv_sec = wait_s};
    evtimer_add(x->timer, &tv);
    if (j->tail)
        j->tail->next = x;
    else
        j->head = x;
    j->tail = x;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    return true;
}

json_t *csgp_baseline_jobs_json(csgp_baseline_jobs *j)
{
    json_t *a = json_array();
    pthread_mutex_lock(&j->lock);
    for (const job *x = j->head; x; x = x->next)
        json_array_insert_new(a, 0, job_json(x));
    pthread_mutex_unlock(&j->lock);
    return a;
}

void csgp_baseline_jobs_stop(csgp_baseline_jobs *j)
{
    if (!j)
        return;
    if (j->started) {
        pthread_mutex_lock(&j->lock);
        atomic_store(&j->stop, true);
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->thread, NULL);
    }
    for (job *x = j->head, *next; x; x = next) {
        next = x->next;
        if (x->timer)
            event_free(x->timer);
        if (x->state == JOB_QUEUED) /* a running job's store was abandoned and freed */
            csgp_baseline_free(&x->b);
        free(x);
    }
    if (j->ended)
        event_free(j->ended);
    csgp_db_close(j->db);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
