/*
 * csg-test-host — csg_test_host.h as a program: the transports and model
 * adapters under test, loaded as csg-gateway loads them, in front of a
 * champion that is either a real adapter or a fake one. The Python transport
 * and plugin tests start it (tests/transports, tests/gateway); it is also
 * installed as build/tests/csg-transport-stub and build/tests/csg-stub-gateway,
 * the names those tests use.
 *
 *   csg-test-host --transport PLUGIN.so=HOST:PORT [--transport …]
 *                 [--opt NAME=VALUE]…   a transport option, for every transport that has it
 *                 [--champion ADAPTER.so [--url URL] [--pool N] [--pipeline] [--max-queue N]
 *                  [--champion-opt NAME=VALUE]…]
 *                 [--challenger ADAPTER.so [--challenger-url URL] [--challenger-opt N=V]…]
 *                 [--timeout-ms N] [--workers N] [--max-body B] [--max-line B]
 *                 [--max-conns N] [--idle-ms MS] [--read-timeout-ms MS]
 *                 [--not-ready] [--counts FILE] [--trace]
 *   (--http PLUGIN.so --listen HOST:PORT is --transport PLUGIN.so=HOST:PORT)
 *
 * Without --champion the fake champion answers each request on a later loop
 * turn with score = FNV-1a(applicant_id) / 2^64 (approve when >= 0.5), except
 * for applicant ids starting with "fail-error" (CHAMPION_ERROR), "fail-timeout"
 * (CHAMPION_TIMEOUT), "overloaded" (OVERLOADED), "fallback" (the core's
 * fallback reply: review, FALLBACK reason), "reasons" (a decline with two
 * reasons), "slow" (answers after 300 ms) and "hang" (after 5 s); a request
 * whose deadline_ms passed gets DEADLINE. With --champion the adapter answers
 * (--url, --pool, --pipeline, --max-queue are rest.so's url, pool_size,
 * pipeline, max_queue); a --challenger adapter is called for every request in
 * shadow and its OK answers counted (csg_stub_challenger_answers_total).
 *
 * Prints READY on stdout once every worker runs. SIGTERM/SIGINT: the
 * gateway's drain (bounded by 10 s), then the count_request totals go to
 * --counts ("transport status n" lines) and it exits 0; 1 when a plugin fails
 * to load, create or start, 2 on a usage error.
 */
#include <event2/event.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "csg_clock.h"
#include "csg_test_host.h"
#include "options.h"

#define MAX_OPTS 16

static bool g_trace; /* --trace: log each submit, so tests can wait for it */
static int g_champion = -1, g_challenger = -1;
static atomic_ulong g_challenger_answers;
static csg_test_host *g_h;

/* ------------------------------------------------------------------------ */
/* The fake champion                                                         */

typedef struct pending {
    csg_request req;
    csg_reply_cb cb;
    void *ctx;
    csg_worker *w;
    int refs; /* the reply, and the shadow call if any: the application lives until both end */
} pending;

static double fnv_score(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (double)(h >> 11) / 9007199254740992.0; /* 53 bits → [0, 1) */
}

/* What a "reasons…" applicant gets: text that needs escaping in JSON and
 * bytes beyond ASCII. */
static const csg_reason FAKE_REASONS[] = {
    {"INCOME", "income", "Income insufficient for amount of credit requested"},
    {"DEBT", "debt", "Debt \"too high\" \xe2\x80\x94 r\xc3\xa9" "duire"},
};
static const csg_reason FAKE_FALLBACK = {
    "FALLBACK", NULL, "No model answer; the configured fallback decision was applied"};

static void unref(pending *p)
{
    if (--p->refs > 0)
        return;
    csg_app_free(p->req.app); /* the core owns a submitted application */
    free(p);
}

static void reply_and_unref(pending *p, csg_reply *r)
{
    p->cb(p->ctx, r);
    unref(p);
}

static void fake_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending *p = arg;
    const char *id = csg_app_applicant_id(p->req.app);
    csg_reply r = {.size = sizeof r, .status = CSG_REPLY_OK, .applicant_id = id,
                   .model = "stub-champion", .experiment_id = "exp-stub",
                   .request_id = p->req.request_id};
    static const struct {
        const char *prefix;
        csg_reply_status status;
        const char *message;
    } failures[] = {{"fail-error", CSG_REPLY_CHAMPION_ERROR, "champion failed (fake)"},
                    {"fail-timeout", CSG_REPLY_CHAMPION_TIMEOUT, "champion timed out (fake)"},
                    {"overloaded", CSG_REPLY_OVERLOADED, "model queue full (fake)"}};
    if (p->req.deadline_ms && csg_now_ms_int() > p->req.deadline_ms) {
        r.status = CSG_REPLY_DEADLINE;
        r.error_message = "client deadline passed";
    } else if (strncmp(id, "fallback", 8) == 0) {
        r.score = NAN;
        r.decision = CSG_DECISION_REVIEW;
        r.is_fallback = true;
        r.reason_count = 1;
        r.reasons = &FAKE_FALLBACK;
    } else if (strncmp(id, "reasons", 7) == 0) {
        r.score = 0.125;
        r.decision = CSG_DECISION_DECLINE;
        r.reason_count = 2;
        r.reasons = FAKE_REASONS;
    } else {
        r.score = fnv_score(id);
        r.decision = r.score >= 0.5 ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
        for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
            if (strncmp(id, failures[i].prefix, strlen(failures[i].prefix)) == 0) {
                r.status = failures[i].status;
                r.error_message = failures[i].message;
            }
    }
    reply_and_unref(p, &r);
}

/* ------------------------------------------------------------------------ */
/* The adapter champion and shadow challenger                                */

static void on_champion(void *ctx, const csg_score_result *res)
{
    pending *p = ctx;
    csg_reply r = {
        .size = sizeof r,
        .status = res->status == CSG_SCORE_OK           ? CSG_REPLY_OK
                  : res->status == CSG_SCORE_TIMEOUT    ? CSG_REPLY_CHAMPION_TIMEOUT
                  : res->status == CSG_SCORE_OVERLOADED ? CSG_REPLY_OVERLOADED
                                                        : CSG_REPLY_CHAMPION_ERROR,
        .applicant_id = csg_app_applicant_id(p->req.app),
        .score = res->score,
        .decision = res->decision,
        .model = "stub-champion",
        .experiment_id = "exp-stub",
        .request_id = p->req.request_id,
        .error_message = res->error,
    };
    if (res->status == CSG_SCORE_OK && CSG_STRUCT_HAS(res, csg_score_result, reasons)) { // NOLINT(bugprone-sizeof-expression): sizes a pointer field on purpose
        r.reason_count = res->reason_count;
        r.reasons = res->reasons;
    }
    reply_and_unref(p, &r);
}

static void on_challenger(void *ctx, const csg_score_result *res)
{
    pending *p = ctx;
    if (res->status == CSG_SCORE_OK)
        atomic_fetch_add(&g_challenger_answers, 1);
    csg_th_busy(p->w, -1);
    unref(p);
}

static void submit(void *user, csg_worker *w, const csg_request *req, csg_reply_cb cb, void *ctx)
{
    (void)user;
    pending *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->req = *req;
    p->cb = cb;
    p->ctx = ctx;
    p->w = w;
    p->refs = 1;
    const char *id = csg_app_applicant_id(req->app);
    if (g_trace)
        fprintf(stderr, "stub: submit %s\n", id);
    if (g_champion >= 0) {
        if (g_challenger >= 0) {
            csg_th_busy(w, 1);
            p->refs++;
            csg_th_adapter(g_h, g_challenger)
                ->score_async(csg_th_adapter_instance(g_h, g_challenger, w), req->app,
                              on_challenger, p);
        }
        csg_th_adapter(g_h, g_champion)
            ->score_async(csg_th_adapter_instance(g_h, g_champion, w), req->app, on_champion, p);
        return;
    }
    struct timeval tv = {0, 0};
    if (strncmp(id, "slow", 4) == 0)
        tv.tv_usec = 300000;
    else if (strncmp(id, "hang", 4) == 0)
        tv.tv_sec = 5;
    /* Never from inside submit: a zero timer runs on a later loop pass. */
    struct event_base *base = csg_th_base(g_h, csg_th_worker_index(w));
    if (event_base_once(base, -1, EV_TIMEOUT, fake_fire, p, &tv) < 0)
        abort();
}

static char *metrics_extra(void *user)
{
    (void)user;
    char *s = NULL;
    if (asprintf(&s, "csg_stub_challenger_answers_total %lu\ncsg_stub_inflight %ld\n",
                 atomic_load(&g_challenger_answers), csg_th_inflight(g_h)) < 0)
        return NULL;
    return s;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */

typedef struct opts {
    const char *transport_path[CSG_TH_MAX_TRANSPORTS], *transport_listen[CSG_TH_MAX_TRANSPORTS];
    unsigned n_transports;
    const char *http_path, *http_listen;
    const char *topts[MAX_OPTS];
    unsigned n_topts;
    const char *champion, *challenger;
    const char *champ_opts[MAX_OPTS], *chall_opts[MAX_OPTS];
    unsigned n_champ_opts, n_chall_opts;
    const char *url, *challenger_url, *pool, *max_queue;
    bool pipeline, not_ready;
    unsigned timeout_ms;
    const char *counts;
    csg_th_config cfg;
} opts;

static bool num_arg(const char *v, unsigned long max, unsigned long *out)
{
    int64_t n;
    if (!csg_parse_int_text(v, &n) || n < 0 || (uint64_t)n > max)
        return false;
    *out = (unsigned long)n;
    return true;
}

static bool push(const char **list, unsigned *n, const char *v)
{
    if (*n == MAX_OPTS)
        return false;
    list[(*n)++] = v;
    return true;
}

/* Parse argv into o; false (and a message) on a usage error. */
static bool parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--trace") || !strcmp(a, "--pipeline") || !strcmp(a, "--not-ready")) {
            *(a[2] == 't' ? &g_trace : a[2] == 'p' ? &o->pipeline : &o->not_ready) = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        unsigned long n = 0;
        bool ok = v != NULL;
        if (!ok)
            ;
        else if (!strcmp(a, "--transport")) {
            char *eq = strchr(argv[i], '=');
            ok = eq && o->n_transports < CSG_TH_MAX_TRANSPORTS;
            if (ok) {
                *eq = '\0';
                o->transport_path[o->n_transports] = argv[i];
                o->transport_listen[o->n_transports++] = eq + 1;
            }
        } else if (!strcmp(a, "--http"))
            o->http_path = v;
        else if (!strcmp(a, "--listen"))
            o->http_listen = v;
        else if (!strcmp(a, "--opt"))
            ok = push(o->topts, &o->n_topts, v);
        else if (!strcmp(a, "--champion"))
            o->champion = v;
        else if (!strcmp(a, "--challenger"))
            o->challenger = v;
        else if (!strcmp(a, "--champion-opt"))
            ok = push(o->champ_opts, &o->n_champ_opts, v);
        else if (!strcmp(a, "--challenger-opt"))
            ok = push(o->chall_opts, &o->n_chall_opts, v);
        else if (!strcmp(a, "--url"))
            o->url = v;
        else if (!strcmp(a, "--challenger-url"))
            o->challenger_url = v;
        else if (!strcmp(a, "--pool"))
            o->pool = v;
        else if (!strcmp(a, "--max-queue"))
            o->max_queue = v;
        else if (!strcmp(a, "--counts"))
            o->counts = v;
        else if ((ok = num_arg(v, 1u << 30, &n))) {
            if (!strcmp(a, "--timeout-ms"))
                o->timeout_ms = (unsigned)n;
            else if (!strcmp(a, "--workers"))
                o->cfg.workers = (unsigned)n;
            else if (!strcmp(a, "--max-body"))
                o->cfg.max_body_bytes = n;
            else if (!strcmp(a, "--max-line"))
                o->cfg.max_line_bytes = n;
            else if (!strcmp(a, "--max-conns"))
                o->cfg.max_connections = (unsigned)n;
            else if (!strcmp(a, "--idle-ms"))
                o->cfg.idle_timeout_ms = (unsigned)n;
            else if (!strcmp(a, "--read-timeout-ms"))
                o->cfg.read_timeout_ms = (unsigned)n;
            else
                ok = false;
        }
        if (!ok) {
            fprintf(stderr, "csg-test-host: bad argument %s%s%s (see the top of "
                            "tests/lib/csg_test_host_main.c)\n", a, v ? " " : "", v ? v : "");
            return false;
        }
    }
    if (o->http_path || o->http_listen) {
        if (!o->http_path || !o->http_listen || o->n_transports == CSG_TH_MAX_TRANSPORTS) {
            fprintf(stderr, "csg-test-host: --http and --listen go together\n");
            return false;
        }
        o->transport_path[o->n_transports] = o->http_path;
        o->transport_listen[o->n_transports++] = o->http_listen;
    }
    if (!o->n_transports || (o->challenger && !o->champion)) {
        fprintf(stderr, "csg-test-host: need a --transport (a --challenger needs a --champion)\n");
        return false;
    }
    return true;
}

/* rest.so's options from the legacy flags, given with a url only. */
static void adapter_flags(opts *o, const char *url, const char **list, unsigned *n,
                          char (*buf)[64])
{
    if (!url)
        return;
    snprintf(buf[0], 64, "pipeline=%s", o->pipeline ? "true" : "false");
    push(list, n, buf[0]);
    if (o->pool) {
        snprintf(buf[1], 64, "pool_size=%s", o->pool);
        push(list, n, buf[1]);
    }
    if (o->max_queue) {
        snprintf(buf[2], 64, "max_queue=%s", o->max_queue);
        push(list, n, buf[2]);
    }
}

/* Every transport, with each --opt whose name its table has; a name no
 * transport has is an error, as an unknown key in a config file is. */
static int load_transports(const opts *o, csg_error *err)
{
    bool used[MAX_OPTS] = {false};
    for (unsigned i = 0; i < o->n_transports; i++) {
        const char *mine[MAX_OPTS];
        size_t n = 0;
        for (unsigned k = 0; k < o->n_topts; k++) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(o->topts[k], "="), o->topts[k]);
            if (csg_th_has_option(g_h, o->transport_path[i], CSG_PLUGIN_TRANSPORT, name)) {
                mine[n++] = o->topts[k];
                used[k] = true;
            }
        }
        int rc = csg_th_add_transport(g_h, o->transport_path[i], o->transport_listen[i], mine,
                                      n, err);
        if (rc)
            return rc;
    }
    for (unsigned k = 0; k < o->n_topts; k++)
        if (!used[k])
            return csg_fail(err, CSG_EINVAL, "--opt %s: no transport has this option",
                            o->topts[k]);
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.timeout_ms = 1000, .cfg = {.workers = 2, .submit = submit}};
    if (!parse_args(argc, argv, &o))
        return 2;

    /* Every thread created from here on (ours and the plugins') inherits this. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    csg_error err = {{0}};
    g_h = csg_th_new(&o.cfg, &err);
    if (!g_h) {
        fprintf(stderr, "csg-test-host: %s\n", err.message);
        return 2;
    }
    csg_th_set_metrics_extra(g_h, metrics_extra, NULL);
    csg_th_set_ready(g_h, !o.not_ready);
    int rc = load_transports(&o, &err);
    char champ_buf[3][64], chall_buf[3][64];
    if (!rc && o.url) {
        static char url_opt[1100];
        snprintf(url_opt, sizeof url_opt, "url=%s", o.url);
        push(o.champ_opts, &o.n_champ_opts, url_opt);
    }
    if (!rc && o.challenger_url) {
        static char url_opt[1100];
        snprintf(url_opt, sizeof url_opt, "url=%s", o.challenger_url);
        push(o.chall_opts, &o.n_chall_opts, url_opt);
    }
    adapter_flags(&o, o.url, o.champ_opts, &o.n_champ_opts, champ_buf);
    adapter_flags(&o, o.challenger_url, o.chall_opts, &o.n_chall_opts, chall_buf);
    if (!rc && o.champion) {
        g_champion = csg_th_add_adapter(g_h, o.champion, "stub-champion", o.timeout_ms,
                                        o.champ_opts, o.n_champ_opts, &err);
        rc = g_champion < 0 ? g_champion : 0;
    }
    if (!rc && o.challenger) {
        g_challenger = csg_th_add_adapter(g_h, o.challenger, "stub-challenger", o.timeout_ms,
                                          o.chall_opts, o.n_chall_opts, &err);
        rc = g_challenger < 0 ? g_challenger : 0;
    }
    if (!rc)
        rc = csg_th_start(g_h, &err);
    if (!rc) {
        fprintf(stderr, "csg-test-host: listening\n");
        printf("READY\n");
        fflush(stdout);
        int sig = 0;
        sigwait(&sigs, &sig);
    } else {
        fprintf(stderr, "csg-test-host: %s\n", err.message);
    }
    unsigned missed = csg_th_stop(g_h, 10000);
    FILE *f = o.counts ? fopen(o.counts, "w") : NULL;
    if (f) {
        csg_th_write_counts(g_h, f);
        fclose(f);
    }
    csg_th_free(g_h);
    libevent_global_shutdown();
    if (!rc)
        fprintf(stderr, "csg-test-host: exited %s\n", missed ? "after the drain deadline"
                                                              : "cleanly");
    return rc ? 1 : 0;
}
