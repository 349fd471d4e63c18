/*
 * test_gateway.c — dispatch through core/gateway.c with the fixture
 * in-process adapter (tests/fixtures good_adapter.so): when the reply comes
 * in after_champion vs after_all, model timeouts and errors, the fallback
 * decision, client deadlines, request ids, the MetricEvent written by the
 * file sink, a routing-table swap, and reasons (ABI 2.1): the champion's in
 * the reply, FALLBACK for a fallback decision, both models' codes in the
 * event, a bad list a model error.
 *
 * Requests are submitted on a worker thread (event_base_once on its base),
 * as a transport would; the test thread waits on a condition variable with
 * a deadline. No assertion reads a clock: what a reply waited for is told by
 * order — a model with `hold: true` answers only when the test calls the
 * fixture's fixture_release(), and fixture_answers(model) says how many
 * answers each model had given when the reply came.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway.h"
#include "lockfile.h"
#include "test_helpers.h"
#include "util.h"

static char tmpdir[64];
static char events_path[128];

typedef struct model_spec {
    int delay_ms;
    int timeout_ms;
    bool fail;
    double score;
    const char *decision;
    bool overloaded; /* answer CSG_SCORE_OVERLOADED (load shed by the adapter) */
    const char *reasons; /* the fixture's `reasons:` option (CODE:feature:text;…), or NULL */
    bool abi_2_0_result; /* answer with a result struct as ABI 2.0 laid it out */
    bool hold;           /* answer only at fixture_release() */
} model_spec;

typedef struct gw_spec {
    const char *reply;    /* after_champion | after_all */
    const char *fallback; /* NULL or a decision */
    model_spec champ;
    double weight; /* < 0: no challenger */
    model_spec chal;
} gw_spec;

/* An `application:` block make_config adds (NULL = none: the default schema). */
static const char *g_application;

/* The fixture adapter's ABI 2.1 options for m, as YAML lines (indent: "  " or "    "). */
static const char *extra_opts(const model_spec *m, const char *indent, char *buf, size_t cap)
{
    int n = 0;
    buf[0] = '\0';
    if (m->reasons)
        n += snprintf(buf + n, cap - (size_t)n, "%sreasons: \"%s\"\n", indent, m->reasons);
    if (m->abi_2_0_result)
        n += snprintf(buf + n, cap - (size_t)n, "%sabi_2_0_result: true\n", indent);
    if (m->hold)
        snprintf(buf + n, cap - (size_t)n, "%shold: true\n", indent);
    return buf;
}

static csg_config *make_config(const gw_spec *s)
{
    char yaml[4096], champ_extra[512], chal_extra[512];
    int n = snprintf(yaml, sizeof yaml,
                     "gateway: { workers: 2, plugin_dir: \"%s\", lock_dir: \"%s\", "
                     "drain_timeout_ms: 3000 }\n"
                     "transports:\n  - { plugin: good_transport.so, listen: \"127.0.0.1:21%03d\", "
                     "banner: t }\n"
                     "experiment: { id: exp-test, salt: s, reply: %s }\n"
                     "champion:\n  name: champ\n  adapter: good_adapter.so\n  timeout_ms: %d\n"
                     "  delay_ms: %d\n  fail: %s\n  overloaded: %s\n  score: %.17g\n"
                     "  decision: %s\n%s%s%s%s"
                     "events: { sink: \"file:%s\", queue_capacity: 64 }\n",
                     fixture_dir(), tmpdir, (int)(getpid() % 1000), s->reply, s->champ.timeout_ms,
                     s->champ.delay_ms, s->champ.fail ? "true" : "false",
                     s->champ.overloaded ? "true" : "false", s->champ.score,
                     s->champ.decision, s->fallback ? "  fallback_decision: " : "",
                     s->fallback ? s->fallback : "", s->fallback ? "\n" : "",
                     extra_opts(&s->champ, "  ", champ_extra, sizeof champ_extra), events_path);
    if (s->weight >= 0)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n,
                      "challengers:\n  - name: chal\n    adapter: good_adapter.so\n"
                      "    weight: %g\n    timeout_ms: %d\n    delay_ms: %d\n    fail: %s\n"
                      "    overloaded: %s\n    score: %.17g\n    decision: %s\n%s",
                      s->weight, s->chal.timeout_ms, s->chal.delay_ms,
                      s->chal.fail ? "true" : "false", s->chal.overloaded ? "true" : "false",
                      s->chal.score, s->chal.decision,
                      extra_opts(&s->chal, "    ", chal_extra, sizeof chal_extra));
    if (g_application)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "%s\n", g_application);
    csg_config *cfg = NULL;
    csg_errlist errs = {0};
    int rc = csg_config_load_string("test.yaml", yaml, (size_t)n, test_registry(), &cfg, &errs);
    for (size_t i = 0; i < errs.count; i++)
        print_error("config: %s\n", errs.items[i]);
    csg_errlist_free(&errs);
    assert_int_equal(rc, 0);
    return cfg;
}

/* The fixture adapter's barrier and answer counter (fixture_plugin.c), from
 * the object the gateway loaded (the registry's). */
static unsigned (*fx_answers)(const char *model);
static void (*fx_release)(void);

static void bind_fixture(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/good_adapter.so", fixture_dir());
    const csg_plugin *pl = NULL;
    csg_error err = {{0}};
    if (csg_registry_get(test_registry(), path, CSG_PLUGIN_MODEL_ADAPTER, &pl, &err) != 0)
        fail_msg("%s", err.message);
    void *a = dlsym(pl->handle, "fixture_answers"), *r = dlsym(pl->handle, "fixture_release");
    assert_non_null(a);
    assert_non_null(r);
    memcpy(&fx_answers, &a, sizeof a);
    memcpy(&fx_release, &r, sizeof r);
}

static csg_gateway *start(const gw_spec *s)
{
    unlink(events_path);
    csg_config *cfg = make_config(s);
    csg_gateway *gw = NULL;
    csg_error err = {{0}};
    int rc = csg_gateway_start(cfg, "test.yaml", &gw, &err);
    if (rc != 0)
        fail_msg("start: %s", err.message);
    csg_config_unref(cfg);
    return gw;
}

/* ---- one request ------------------------------------------------------ */

typedef struct job {
    csg_worker *w;
    csg_request req;
    char json[256]; /* the application, parsed on the worker (ABI 2.0) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    bool in_submit;
    bool reply_inside_submit;
    unsigned champ_before, chal_before; /* fixture_answers() at submit */
    int champ_at_reply, chal_at_reply;  /* answers given since, when the reply came */
    csg_reply_status status;
    double score;
    csg_decision decision;
    bool is_fallback;
    char request_id[CSG_REQUEST_ID_MAX + 1];
    char model[65];
    char reasons[1024]; /* the reply's reasons as code|feature|text;… (feature "-" = none) */
    char error[256];
} job;

static void on_reply(void *ctx, const csg_reply *r)
{
    job *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->reply_inside_submit = j->in_submit;
    j->champ_at_reply = (int)(fx_answers("champ") - j->champ_before);
    j->chal_at_reply = (int)(fx_answers("chal") - j->chal_before);
    j->status = r->status;
    j->score = r->score;
    j->decision = r->decision;
    j->is_fallback = r->is_fallback;
    snprintf(j->request_id, sizeof j->request_id, "%s", r->request_id ? r->request_id : "");
    snprintf(j->model, sizeof j->model, "%s", r->model ? r->model : "");
    snprintf(j->error, sizeof j->error, "%s", r->error_message ? r->error_message : "");
    j->reasons[0] = '\0';
    assert_true(r->size >= offsetof(csg_reply, reasons) + sizeof r->reasons); // NOLINT(bugprone-sizeof-expression): the pointer field's size on purpose
    for (unsigned i = 0; i < r->reason_count; i++) {
        size_t n = strlen(j->reasons);
        snprintf(j->reasons + n, sizeof j->reasons - n, "%s%s|%s|%s", i ? ";" : "",
                 r->reasons[i].code, r->reasons[i].feature ? r->reasons[i].feature : "-",
                 r->reasons[i].text);
    }
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void do_submit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job *j = arg;
    const csg_core_api *api = csg_gateway_api();
    j->req.size = sizeof j->req;
    if (!j->req.app) /* else parsed earlier (test_schema_swap) */
        assert_int_equal(api->parse_application(j->w, j->json, strlen(j->json), &j->req.app,
                                                NULL, NULL),
                         CSG_PARSE_OK);
    j->in_submit = true;
    j->champ_before = fx_answers("champ");
    j->chal_before = fx_answers("chal");
    api->submit(j->w, &j->req, on_reply, j);
    j->in_submit = false;
}

/* Jobs stay allocated until the gateway is gone: the worker may still be
 * inside pthread_mutex_unlock() of a job the test thread already saw done. */
static job *jobs[64];
static int n_jobs;

static void free_jobs(void)
{
    for (int i = 0; i < n_jobs; i++)
        free(jobs[i]);
    n_jobs = 0;
}

static void shutdown_gw(csg_gateway *gw)
{
    csg_gateway_shutdown(gw);
    free_jobs();
}

static job *run_job(csg_gateway *gw, const char *applicant, const char *request_id,
                    int deadline_in_ms)
{
    assert_true(n_jobs < 64);
    job *j = calloc(1, sizeof *j);
    jobs[n_jobs++] = j;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->w = csg_gateway_worker(gw, 0);
    snprintf(j->json, sizeof j->json,
             "{\"applicant_id\":\"%s\",\"income\":60000,\"loan_amount\":25000,"
             "\"credit_history\":4}",
             applicant);
    j->req.transport = "test";
    if (request_id)
        snprintf(j->req.request_id, sizeof j->req.request_id, "%s", request_id);
    if (deadline_in_ms)
        j->req.deadline_ms = csg_now_ms_int() + deadline_in_ms;
    struct timeval zero = {0, 0};
    struct event_base *base = csg_gateway_api()->worker_base(j->w);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, do_submit, j, &zero), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&j->mu);
    while (!j->done)
        if (pthread_cond_timedwait(&j->cv, &j->mu, &until) != 0)
            break;
    pthread_mutex_unlock(&j->mu);
    assert_true(j->done);
    assert_false(j->reply_inside_submit);
    return j;
}

/* Wait (bounded) until the events file has n lines; return line n (1-based) parsed. */
static json_t *event_line(int n)
{
    for (int tries = 0; tries < 500; tries++) {
        char *text = slurp(events_path, NULL);
        if (text) {
            int count = 0;
            char *line = text, *nl;
            while ((nl = strchr(line, '\n'))) {
                if (++count == n) {
                    *nl = '\0';
                    json_t *j = json_loads(line, 0, NULL);
                    free(text);
                    assert_non_null(j);
                    return j;
                }
                line = nl + 1;
            }
            free(text);
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("events file %s never got %d line(s)", events_path, n);
    return NULL;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- cases ------------------------------------------------------------ */

#define FAST(score_, dec_) {0, 1000, false, score_, dec_, false, NULL, false, false}
/* a model_spec that answers (not overloaded) */
#define M(delay_, timeout_, fail_, score_, dec_) \
    {delay_, timeout_, fail_, score_, dec_, false, NULL, false, false}
/* a model that answers only when the test releases it */
#define HELD(timeout_, score_, dec_) {0, timeout_, false, score_, dec_, false, NULL, false, true}
#define ANY (-1) /* any number of answers */

static const struct case_ {
    const char *name;
    gw_spec spec;
    int deadline_ms;
    csg_reply_status status;
    csg_decision decision;
    bool fallback;
    /* answers each model had given when the reply came (ANY: not checked) */
    int champ_at_reply, chal_at_reply;
    bool release_first; /* the event needs the held answer: release before reading it */
    const char *event_status;
    bool chal_in_event, chal_score_null;
} cases[] = {
    {"after_champion: a challenger that has not answered does not delay the reply",
     {"after_champion", NULL, FAST(0.7, "approve"), 1.0, HELD(5000, 0.4, "decline")}, 0,
     CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, 0, true, "OK", true, false},
    /* the challenger answers 20 ms after the champion (timer order): a reply
     * that did not wait would see 0 challenger answers */
    {"after_all: the reply waits for the challenger",
     {"after_all", NULL, FAST(0.7, "approve"), 1.0, M(20, 2000, false, 0.4, "decline")}, 0,
     CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, 1, false, "OK", true, false},
    {"after_all: bounded by the challenger's timeout",
     {"after_all", NULL, FAST(0.7, "approve"), 1.0, HELD(100, 0.4, "decline")}, 0,
     CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, 0, false, "CHALLENGER_TIMEOUT", true, true},
    {"challenger timeout: event says so, reply unaffected",
     {"after_champion", NULL, FAST(0.7, "approve"), 1.0, HELD(100, 0.4, "decline")}, 0,
     CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, 0, false, "CHALLENGER_TIMEOUT", true, true},
    {"challenger error",
     {"after_champion", NULL, FAST(0.7, "approve"), 1.0, M(0, 1000, true, 0.4, "decline")}, 0,
     CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, ANY, false, "CHALLENGER_ERROR", true, true},
    {"no challenger (weight 0)",
     {"after_champion", NULL, FAST(0.2, "decline"), 0.0, FAST(0.4, "decline")}, 0, CSG_REPLY_OK,
     CSG_DECISION_DECLINE, false, ANY, 0, false, "OK", false, true},
    {"champion timeout → 504",
     {"after_champion", NULL, HELD(50, 0.7, "approve"), -1, FAST(0, "approve")}, 0,
     CSG_REPLY_CHAMPION_TIMEOUT, CSG_DECISION_NONE, false, 0, ANY, false, "CHAMPION_TIMEOUT",
     false, true},
    {"champion error → 502",
     {"after_champion", NULL, M(0, 1000, true, 0.7, "approve"), 1.0, FAST(0.4, "decline")}, 0,
     CSG_REPLY_CHAMPION_ERROR, CSG_DECISION_NONE, false, ANY, ANY, false, "CHAMPION_ERROR", true,
     false},
    {"champion error with fallback_decision",
     {"after_champion", "review", M(0, 1000, true, 0.7, "approve"), -1, FAST(0, "approve")}, 0,
     CSG_REPLY_OK, CSG_DECISION_REVIEW, true, ANY, ANY, false, "CHAMPION_ERROR", false, true},
    {"champion timeout with fallback_decision",
     {"after_champion", "decline", HELD(50, 0.7, "approve"), -1, FAST(0, "approve")}, 0,
     CSG_REPLY_OK, CSG_DECISION_DECLINE, true, 0, ANY, false, "CHAMPION_TIMEOUT", false, true},
    /* Load shed by the adapter (full queue): 503 overloaded, even with a
     * fallback; the event still says CHAMPION_ERROR / CHALLENGER_ERROR. */
    {"champion overloaded → 503 overloaded",
     {"after_champion", NULL, {0, 1000, false, 0.7, "approve", true, NULL, false, false}, 1.0,
      FAST(0.4, "decline")},
     0, CSG_REPLY_OVERLOADED, CSG_DECISION_NONE, false, ANY, ANY, false, "CHAMPION_ERROR", true,
     false},
    {"champion overloaded with fallback_decision → still 503 overloaded",
     {"after_champion", "review", {0, 1000, false, 0.7, "approve", true, NULL, false, false}, -1,
      FAST(0, "approve")},
     0, CSG_REPLY_OVERLOADED, CSG_DECISION_NONE, false, ANY, ANY, false, "CHAMPION_ERROR", false,
     true},
    {"challenger overloaded: reply unaffected",
     {"after_champion", NULL, FAST(0.7, "approve"), 1.0,
      {0, 1000, false, 0.4, "decline", true, NULL, false, false}},
     0, CSG_REPLY_OK, CSG_DECISION_APPROVE, false, ANY, ANY, false, "CHALLENGER_ERROR", true,
     true},
    /* the champion answers (OK) only after the deadline's reply */
    {"client deadline passes first",
     {"after_champion", NULL, HELD(5000, 0.7, "approve"), -1, FAST(0, "approve")}, 30,
     CSG_REPLY_DEADLINE, CSG_DECISION_NONE, false, 0, ANY, true, "OK", false, true},
};

static void test_dispatch(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct case_ *k = &cases[c];
        print_message("-- %s\n", k->name);
        csg_gateway *gw = start(&k->spec);
        job *j = run_job(gw, "12345", "req-1", k->deadline_ms);
        if (j->status != k->status)
            fail_msg("%s: status %d, want %d", k->name, j->status, k->status);
        assert_int_equal(j->decision, k->decision);
        assert_int_equal(j->is_fallback, k->fallback);
        assert_string_equal(j->request_id, "req-1");
        assert_string_equal(j->model, "champ");
        if (k->status == CSG_REPLY_OK && !k->fallback)
            assert_true(j->score == k->spec.champ.score);
        if ((k->champ_at_reply != ANY && j->champ_at_reply != k->champ_at_reply) ||
            (k->chal_at_reply != ANY && j->chal_at_reply != k->chal_at_reply))
            fail_msg("%s: answers when the reply came: champion %d, challenger %d; want %d, %d",
                     k->name, j->champ_at_reply, j->chal_at_reply, k->champ_at_reply,
                     k->chal_at_reply);
        if (k->release_first)
            fx_release();
        json_t *e = event_line(1);
        assert_string_equal(jstr(e, "status"), k->event_status);
        assert_string_equal(jstr(e, "event_id"), "req-1");
        assert_string_equal(jstr(e, "transport"), "test");
        assert_string_equal(jstr(e, "experiment_id"), "exp-test");
        assert_string_equal(jstr(e, "champion_model"), "champ");
        if (k->chal_in_event)
            assert_string_equal(jstr(e, "challenger_model"), "chal");
        else
            assert_true(json_is_null(json_object_get(e, "challenger_model")));
        assert_int_equal(json_is_null(json_object_get(e, "challenger_score")), k->chal_score_null);
        if (!strcmp(k->event_status, "CHALLENGER_TIMEOUT"))
            /* the latency is the time until the gateway gave up */
            if (!(jnum(e, "latency_challenger_ms") >= k->spec.chal.timeout_ms - 1))
                fail_msg("%s: latency_challenger_ms %g < timeout %d", k->name,
                         jnum(e, "latency_challenger_ms"), k->spec.chal.timeout_ms);
        if (!strcmp(k->event_status, "CHAMPION_TIMEOUT"))
            if (!(jnum(e, "latency_champion_ms") >= k->spec.champ.timeout_ms - 1))
                fail_msg("%s: latency_champion_ms %g < timeout %d", k->name,
                         jnum(e, "latency_champion_ms"), k->spec.champ.timeout_ms);
        json_decref(e);
        /* shutdown waits for the late adapter answers (contexts kept) */
        fx_release();
        shutdown_gw(gw);
    }
}

/* Reasons through the core (ABI 2.1). */
#define R2 "INCOME:income:Income too low;DEBT:debt:Debt \\\"high\\\": r\u00e9duire"
#define RM(dec_, reasons_) {0, 1000, false, 0.3, dec_, false, reasons_, false, false}

static const struct reason_case {
    const char *name;
    gw_spec spec;
    csg_reply_status status;
    const char *reply_reasons; /* code|feature|text;… */
    const char *error;         /* substring of the reply's error message */
    const char *event_status;
    const char *champion_codes, *challenger_codes; /* compact JSON */
} reason_cases[] = {
    {"champion's reasons in the reply, both models' codes in the event",
     {"after_all", NULL, RM("decline", R2), 1.0, RM("decline", "DEBT:debt:x;AGE:age:y;JOB:-:z")},
     CSG_REPLY_OK, "INCOME|income|Income too low;DEBT|debt|Debt \"high\": r\xc3\xa9" "duire", NULL, "OK",
     "[\"INCOME\",\"DEBT\"]", "[\"DEBT\",\"AGE\",\"JOB\"]"},
    {"approve: no reasons anywhere",
     {"after_all", NULL, RM("approve", NULL), 1.0, RM("approve", NULL)}, CSG_REPLY_OK, "", NULL,
     "OK", "[]", "[]"},
    {"an adapter built against ABI 2.0: its reasons are not there to read",
     {"after_all", NULL, {0, 1000, false, 0.3, "decline", false, R2, true, false}, -1,
      FAST(0, "approve")},
     CSG_REPLY_OK, "", NULL, "OK", "[]", "null"},
    {"champion with a bad code: a model error, 502",
     {"after_all", NULL, RM("decline", "income:income:t"), 1.0, RM("decline", "DEBT:debt:x")},
     CSG_REPLY_CHAMPION_ERROR, "", "invalid reasons: code must be", "CHAMPION_ERROR", "null",
     "[\"DEBT\"]"},
    {"champion with five reasons",
     {"after_all", NULL, RM("decline", "A:a:t;B:b:t;C:c:t;D:d:t;E:e:t"), -1, FAST(0, "approve")},
     CSG_REPLY_CHAMPION_ERROR, "", "invalid reasons: more than 4", "CHAMPION_ERROR", "null",
     "null"},
    {"champion with reasons on an approve",
     {"after_all", NULL, RM("approve", "A:a:t"), -1, FAST(0, "approve")},
     CSG_REPLY_CHAMPION_ERROR, "", "an approve carries none", "CHAMPION_ERROR", "null", "null"},
    {"champion with a code twice",
     {"after_all", NULL, RM("decline", "A:a:t;A:b:t"), -1, FAST(0, "approve")},
     CSG_REPLY_CHAMPION_ERROR, "", "a code appears twice", "CHAMPION_ERROR", "null", "null"},
    {"challenger with a bad feature: CHALLENGER_ERROR, its codes null, reply unaffected",
     {"after_all", NULL, RM("decline", R2), 1.0, RM("decline", "DEBT:Debt:x")}, CSG_REPLY_OK,
     "INCOME|income|Income too low;DEBT|debt|Debt \"high\": r\xc3\xa9" "duire", NULL,
     "CHALLENGER_ERROR", "[\"INCOME\",\"DEBT\"]", "null"},
    {"fallback decision: the FALLBACK reason, champion codes null",
     {"after_all", "review", M(0, 1000, true, 0.7, "approve"), 1.0, RM("decline", "DEBT:debt:x")},
     CSG_REPLY_OK,
     "FALLBACK|-|No model answer; the configured fallback decision was applied", NULL,
     "CHAMPION_ERROR", "null", "[\"DEBT\"]"},
};

static void test_reasons(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof reason_cases / sizeof reason_cases[0]; c++) {
        const struct reason_case *k = &reason_cases[c];
        print_message("-- %s\n", k->name);
        csg_gateway *gw = start(&k->spec);
        job *j = run_job(gw, "12345", "req-r", 0);
        if (j->status != k->status)
            fail_msg("%s: status %d, want %d (%s)", k->name, j->status, k->status, j->error);
        assert_string_equal(j->reasons, k->reply_reasons);
        if (k->error && !strstr(j->error, k->error))
            fail_msg("%s: error \"%s\", want \"%s\"", k->name, j->error, k->error);
        json_t *e = event_line(1);
        assert_string_equal(jstr(e, "status"), k->event_status);
        char *cr = json_dumps(json_object_get(e, "champion_reasons"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *hr = json_dumps(json_object_get(e, "challenger_reasons"), JSON_COMPACT | JSON_ENCODE_ANY);
        assert_string_equal(cr, k->champion_codes);
        assert_string_equal(hr, k->challenger_codes);
        free(cr);
        free(hr);
        json_decref(e);
        shutdown_gw(gw);
    }
}

/* Request ids: generated UUIDv4 when absent; assignment is sticky. */
static void test_request_ids_and_stickiness(void **state)
{
    (void)state;
    gw_spec s = {"after_champion", NULL, FAST(0.7, "approve"), 0.5, FAST(0.4, "decline")};
    csg_gateway *gw = start(&s);
    job *j = run_job(gw, "a-1", NULL, 0);
    assert_int_equal(strlen(j->request_id), 36);
    assert_int_equal(j->request_id[14], '4');
    char first[CSG_REQUEST_ID_MAX + 1];
    snprintf(first, sizeof first, "%s", j->request_id);
    j = run_job(gw, "a-1", "", 0);
    assert_string_not_equal(first, j->request_id);
    /* the same applicant lands in the same arm every time */
    json_t *e1 = event_line(1), *e2 = event_line(2);
    assert_int_equal(json_is_null(json_object_get(e1, "challenger_model")),
                     json_is_null(json_object_get(e2, "challenger_model")));
    assert_string_equal(jstr(e1, "event_id"), first);
    json_decref(e1);
    json_decref(e2);
    size_t len = 0;
    char *m = csg_gateway_api()->render_metrics(&len);
    assert_non_null(m);
    assert_non_null(strstr(m, "csg_events_total{outcome=\"queued\"} 2\n"));
    assert_non_null(strstr(m, "csg_model_latency_seconds_count{model=\"champ\"}"));
    free(m);
    shutdown_gw(gw);
}

/* Reload gw with s and wait (bounded) until every worker has adopted it. */
static void swap_to(csg_gateway *gw, const gw_spec *s)
{
    csg_config *c = make_config(s);
    csg_error err;
    assert_int_equal(csg_gateway_reload_config(gw, c, &err), 0);
    csg_config_unref(c);
    WAIT_UNTIL(csg_gateway_swapped(gw), 1000);
    assert_true(csg_gateway_swapped(gw));
}

/* A new routing table is adopted by every worker; in-flight requests finish
 * on the old one. */
static void test_swap(void **state)
{
    (void)state;
    gw_spec s1 = {"after_champion", NULL, FAST(0.7, "approve"), 1.0, HELD(5000, 0.4, "decline")};
    csg_gateway *gw = start(&s1);
    job *j1 = run_job(gw, "x", "before", 0);
    assert_int_equal(j1->chal_at_reply, 0); /* its challenger is held: in flight over the swap */
    gw_spec s2 = {"after_champion", NULL, FAST(0.1, "decline"), -1, FAST(0, "approve")};
    swap_to(gw, &s2);
    job *j2 = run_job(gw, "x", "after", 0);
    assert_int_equal(j2->decision, CSG_DECISION_DECLINE);
    assert_true(j2->score == 0.1);
    fx_release(); /* "before" finishes now, on the old table */
    /* "after" needed no challenger: its event was queued before the release */
    json_t *after = event_line(1), *before = event_line(2);
    assert_string_equal(jstr(after, "event_id"), "after");
    assert_string_equal(jstr(before, "event_id"), "before");
    assert_string_equal(jstr(before, "challenger_model"), "chal"); /* finished on the old table */
    assert_string_equal(jstr(before, "status"), "OK");
    assert_true(json_is_null(json_object_get(after, "challenger_model")));
    json_decref(after);
    json_decref(before);
    shutdown_gw(gw);
}


static void do_parse_only(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job *j = arg;
    csg_parse_status st = csg_gateway_api()->parse_application(j->w, j->json, strlen(j->json),
                                                               &j->req.app, NULL, NULL);
    pthread_mutex_lock(&j->mu);
    j->status = st == CSG_PARSE_OK ? CSG_REPLY_OK : CSG_REPLY_CHAMPION_ERROR;
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* A SIGHUP between a transport's parse and its submit: the application,
 * parsed under the old schema, reaches the new snapshot mapped onto the new
 * schema (reordered, one optional feature added), and its event lists the
 * features in the new order with the new config_version. */
static void test_schema_swap(void **state)
{
    (void)state;
    gw_spec s1 = {"after_champion", NULL, FAST(0.7, "approve"), -1, FAST(0, "approve")};
    csg_gateway *gw = start(&s1);
    job *j = calloc(1, sizeof *j);
    jobs[n_jobs++] = j;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->w = csg_gateway_worker(gw, 0);
    snprintf(j->json, sizeof j->json, "{\"applicant_id\":\"swap\",\"income\":60000,"
                                      "\"loan_amount\":25000,\"credit_history\":4}");
    struct timeval zero = {0, 0};
    struct event_base *base = csg_gateway_api()->worker_base(j->w);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, do_parse_only, j, &zero), 0);
    WAIT_UNTIL(j->done, 1000);
    pthread_mutex_lock(&j->mu);
    assert_true(j->done && j->status == CSG_REPLY_OK);
    j->done = false;
    pthread_mutex_unlock(&j->mu);
    g_application = "application:\n  features:\n"
                    "    - { name: age, type: integer }\n"
                    "    - { name: credit_history, type: integer, required: true }\n"
                    "    - { name: loan_amount, type: number, required: true }\n"
                    "    - { name: income, type: number, required: true }";
    swap_to(gw, &s1);
    g_application = NULL;
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, do_submit, j, &zero), 0);
    WAIT_UNTIL(j->done, 1000);
    assert_true(j->done);
    assert_int_equal(j->status, CSG_REPLY_OK);
    json_t *e = event_line(1);
    char *features = json_dumps(json_object_get(e, "features"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(features, "{\"credit_history\":4,\"loan_amount\":25000,\"income\":60000}");
    free(features);
    assert_int_equal(strlen(jstr(e, "config_version")), 16);
    assert_true(jnum(e, "income") == 60000);
    json_decref(e);
    shutdown_gw(gw);
}

/* Readiness: the idle probe makes a healthy champion ready; 3 failures in a
 * row make it not ready; one good answer makes it ready again. */
static void test_readiness(void **state)
{
    (void)state;
    const csg_core_api *api = csg_gateway_api();
    gw_spec ok = {"after_champion", NULL, FAST(0.7, "approve"), -1, FAST(0, "approve")};
    gw_spec bad = {"after_champion", NULL, M(0, 1000, true, 0.7, "approve"), -1,
                   FAST(0, "approve")};
    csg_gateway *gw = start(&ok);
    WAIT_UNTIL(api->is_ready(), 3000);
    assert_true(api->is_ready()); /* no request sent: the probe did it */
    swap_to(gw, &bad);
    job *j = run_job(gw, "r", NULL, 0);
    assert_int_equal(j->status, CSG_REPLY_CHAMPION_ERROR);
    j = run_job(gw, "r", NULL, 0);
    assert_int_equal(j->status, CSG_REPLY_CHAMPION_ERROR);
    assert_true(api->is_ready()); /* two failures are not enough */
    j = run_job(gw, "r", NULL, 0);
    assert_int_equal(j->status, CSG_REPLY_CHAMPION_ERROR);
    assert_false(api->is_ready());
    swap_to(gw, &ok);
    j = run_job(gw, "r", NULL, 0);
    assert_int_equal(j->status, CSG_REPLY_OK);
    assert_true(api->is_ready());
    /* Shed load says nothing about the champion: never not-ready (DESIGN §5). */
    gw_spec shed = {"after_champion", NULL, {0, 1000, false, 0.7, "approve", true, NULL, false, false}, -1,
                    FAST(0, "approve")};
    swap_to(gw, &shed);
    for (int i = 0; i < 5; i++) {
        j = run_job(gw, "r", NULL, 0);
        assert_int_equal(j->status, CSG_REPLY_OVERLOADED);
        assert_true(api->is_ready());
    }
    shutdown_gw(gw);
}

/* A second gateway on the same port is refused (lock file). */
static void test_port_lock(void **state)
{
    (void)state;
    gw_spec s = {"after_champion", NULL, FAST(0.7, "approve"), -1, FAST(0, "approve")};
    csg_gateway *gw = start(&s);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:21%03d", (int)(getpid() % 1000));
    pid_t pid = fork();
    if (pid == 0) {
        /* another process (flock is per open file description) */
        csg_error err = {{0}};
        int fd = csg_lockfile_claim(tmpdir, listen, &err);
        _exit(fd < 0 && strstr(err.message, "another csg-gateway (pid ") &&
                      strstr(err.message, "already listens on port")
                  ? 0
                  : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    shutdown_gw(gw);
    /* released at exit: the port can be claimed again */
    csg_error err = {{0}};
    int fd = csg_lockfile_claim(tmpdir, listen, &err);
    assert_true(fd >= 0);
    csg_lockfile_release(fd);
}

/* A plugin whose create() fails stops the start with a message naming it;
 * nothing is left behind (a normal gateway starts right after). */
static void test_failing_init(void **state)
{
    (void)state;
    char yaml[2048];
    int n = snprintf(yaml, sizeof yaml,
                     "gateway: { workers: 2, plugin_dir: \"%s\", lock_dir: \"%s\" }\n"
                     "transports:\n  - { plugin: failing_init.so, listen: \"127.0.0.1:21999\", "
                     "banner: t }\n"
                     "experiment: { id: e }\n"
                     "champion: { name: c, adapter: good_adapter.so }\n"
                     "events: { sink: \"file:%s\" }\n",
                     fixture_dir(), tmpdir, events_path);
    csg_config *cfg = NULL;
    csg_errlist errs = {0};
    assert_int_equal(csg_config_load_string("t.yaml", yaml, (size_t)n, test_registry(), &cfg, &errs), 0);
    csg_gateway *gw = NULL;
    csg_error err = {{0}};
    assert_int_not_equal(csg_gateway_start(cfg, "t.yaml", &gw, &err), 0);
    assert_null(gw);
    char want[1200];
    snprintf(want, sizeof want, "%s/failing_init.so (127.0.0.1:21999): init failed: fixture: create always fails",
             fixture_dir());
    if (!strstr(err.message, want))
        fail_msg("got: %s\nwant: %s", err.message, want);
    csg_config_unref(cfg);
    /* the port lock was released */
    gw_spec s = {"after_champion", NULL, FAST(0.7, "approve"), -1, FAST(0, "approve")};
    gw = start(&s);
    shutdown_gw(gw);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/csg-gw-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(events_path, sizeof events_path, "%s/events.ndjson", tmpdir);
    bind_fixture();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_request_ids_and_stickiness),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_schema_swap),
        cmocka_unit_test(test_port_lock),
        cmocka_unit_test(test_failing_init),
        cmocka_unit_test(test_readiness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
