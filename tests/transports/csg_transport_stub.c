/*
 * csg-transport-stub — a stand-in for csg-gateway that loads transport plugins
 * through the public ABI (core/include/csg/plugin.h) and answers every
 * request itself, deterministically, so transport behaviour can be tested
 * without models: pipelining, back-pressure, half-close, drain, deadlines.
 *
 * It follows the gateway's lifecycle: create (main thread) → start_worker (each
 * worker thread, before its loop) → start (main) → SIGTERM → stop (main) →
 * drain_worker (each worker until 0) → destroy (main, workers gone).
 *
 * The stub "champion" answers on the next loop iteration with
 *   score = FNV-1a(applicant_id) / 2^64, decision approve when score >= 0.5,
 * except for applicant ids starting with: "fail-error" (CHAMPION_ERROR),
 * "fail-timeout" (CHAMPION_TIMEOUT), "overloaded" (OVERLOADED), "fallback" (OK
 * with is_fallback, decision review, score NaN and the FALLBACK reason as the
 * core sends them), "reasons" (a decline with STUB_REASONS, as the core passes
 * a champion's reasons on),
 * "slow" (answers after 300 ms),
 * "hang" (after 5 s). A request whose deadline_ms passed is answered
 * CSG_REPLY_DEADLINE. At exit, count_request totals are written to --counts.
 *
 * Usage: csg-transport-stub --transport PLUGIN.so=HOST:PORT [--transport …]
 *        [--workers N] [--max-line B] [--max-body B] [--max-conns N]
 *        [--idle-ms MS] [--opt NAME=VALUE] [--counts FILE] [--trace]
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "application.h"
#include "options.h"
#include "csg/plugin.h"

#define MAX_TRANSPORTS 4
#define MAX_WORKERS 16
#define MAX_OPTS 16
#define MAX_COUNTS 64

struct csg_worker {
    unsigned index;
    struct event_base *base;
    pthread_t thread;
    struct event *drain_ev;
    unsigned long seq;
    struct {
        char transport[16], status[32];
        unsigned long n;
    } counts[MAX_COUNTS];
    int start_rc;
};

typedef struct transport {
    const char *path, *listen;
    void *dl;
    const csg_transport_plugin *plugin;
    csg_option_value *values;
    void *instance;
} transport;

static csg_worker g_workers[MAX_WORKERS];
static unsigned g_nworkers = 2;
static transport g_transports[MAX_TRANSPORTS];
static unsigned g_ntransports;
static const char *g_opts[MAX_OPTS];
static unsigned g_nopts;
static pthread_barrier_t g_started;
static int64_t g_drain_deadline_ms;
static bool g_trace; /* --trace: log each submit, so tests can wait for it */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The stub core API                                                         */

static void stub_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "{\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"%s\"}\n",
            names[level <= CSG_LOG_DEBUG ? level : 0], component, msg);
}

static struct event_base *stub_worker_base(csg_worker *w) { return w->base; }
static unsigned stub_worker_index(csg_worker *w) { return w->index; }
static unsigned stub_worker_count(void) { return g_nworkers; }

typedef struct pending {
    csg_worker *w;
    csg_request req;
    csg_reply_cb cb;
    void *ctx;
} pending;

static double stub_score(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (double)(h >> 11) / 9007199254740992.0; /* 53 bits → [0, 1) */
}

/* What a "reasons…" applicant gets: two reasons, one with text that needs
 * escaping in JSON and bytes beyond ASCII. */
static const csg_reason STUB_REASONS[] = {
    {"INCOME", "income", "Income insufficient for amount of credit requested"},
    {"DEBT", "debt", "Debt \"too high\" \xe2\x80\x94 r\xc3\xa9" "duire"},
};
static const csg_reason STUB_FALLBACK = {
    "FALLBACK", NULL, "No model answer; the configured fallback decision was applied"};

static void fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending *p = arg;
    char rid[CSG_REQUEST_ID_MAX + 1];
    if (p->req.request_id[0])
        snprintf(rid, sizeof rid, "%s", p->req.request_id);
    else
        snprintf(rid, sizeof rid, "stub-%u-%lu", p->w->index, ++p->w->seq);
    const char *id = csg_app_applicant_id(p->req.app);
    csg_reply r = {.size = sizeof r,
                   .status = CSG_REPLY_OK, .applicant_id = id, .model = "stub-champion",
                   .experiment_id = "exp-stub", .request_id = rid};
    if (p->req.deadline_ms && now_ms() > p->req.deadline_ms) {
        r.status = CSG_REPLY_DEADLINE;
        r.error_message = "client deadline passed";
    } else if (strncmp(id, "fail-error", 10) == 0) {
        r.status = CSG_REPLY_CHAMPION_ERROR;
        r.error_message = "champion failed (stub)";
    } else if (strncmp(id, "fail-timeout", 12) == 0) {
        r.status = CSG_REPLY_CHAMPION_TIMEOUT;
        r.error_message = "champion timed out (stub)";
    } else if (strncmp(id, "overloaded", 10) == 0) {
        r.status = CSG_REPLY_OVERLOADED;
        r.error_message = "model queue full (stub)";
    } else if (strncmp(id, "fallback", 8) == 0) {
        r.score = NAN;
        r.decision = CSG_DECISION_REVIEW;
        r.is_fallback = true;
        r.reason_count = 1;
        r.reasons = &STUB_FALLBACK;
    } else if (strncmp(id, "reasons", 7) == 0) {
        r.score = 0.125;
        r.decision = CSG_DECISION_DECLINE;
        r.reason_count = 2;
        r.reasons = STUB_REASONS;
    } else {
        r.score = stub_score(id);
        r.decision = r.score >= 0.5 ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    }
    p->cb(p->ctx, &r);
    csg_app_free(p->req.app); /* the core owns a submitted application */
    free(p);
}

static void stub_submit(csg_worker *w, const csg_request *req, csg_reply_cb cb, void *ctx)
{
    pending *p = malloc(sizeof *p);
    if (!p)
        abort();
    if (g_trace)
        fprintf(stderr, "stub: submit %s\n", csg_app_applicant_id(req->app));
    p->w = w;
    p->req = *req;
    p->cb = cb;
    p->ctx = ctx;
    struct timeval tv = {0, 0};
    const char *id = csg_app_applicant_id(req->app);
    if (strncmp(id, "slow", 4) == 0)
        tv.tv_usec = 300000;
    else if (strncmp(id, "hang", 4) == 0)
        tv.tv_sec = 5;
    /* Never from inside submit: a zero timer runs on a later loop pass. */
    if (event_base_once(w->base, -1, EV_TIMEOUT, fire, p, &tv) < 0)
        abort();
}

static size_t stub_format_reply(const csg_reply *r, char *buf, size_t cap)
{
    static const char *decisions[] = {"none", "approve", "decline", "review"};
    char score[40];
    snprintf(score, sizeof score, "%.17g", r->score);
    size_t pos = 0;
    const char *parts[] = {"{\"applicant_id\":", ",\"score\":", ",\"decision\":\"",
                           "\",\"model\":", ",\"experiment_id\":", ",\"request_id\":",
                           ",\"reasons\":[", "]}"};
#define PUT_STR(s)                                                                    \
    do {                                                                              \
        for (const char *q = (s); *q; q++, pos++)                                     \
            if (pos + 1 < cap)                                                        \
                buf[pos] = *q;                                                        \
    } while (0)
    PUT_STR(parts[0]);
    csg_json_escape(r->applicant_id, strlen(r->applicant_id), buf, cap, &pos);
    PUT_STR(parts[1]);
    PUT_STR(score);
    PUT_STR(parts[2]);
    PUT_STR(decisions[r->decision <= CSG_DECISION_REVIEW ? r->decision : 0]);
    PUT_STR(parts[3]);
    csg_json_escape(r->model, strlen(r->model), buf, cap, &pos);
    PUT_STR(parts[4]);
    csg_json_escape(r->experiment_id, strlen(r->experiment_id), buf, cap, &pos);
    PUT_STR(parts[5]);
    csg_json_escape(r->request_id, strlen(r->request_id), buf, cap, &pos);
    PUT_STR(parts[6]);
    for (unsigned i = 0; i < r->reason_count; i++) {
        PUT_STR(i ? ",{\"code\":" : "{\"code\":");
        csg_json_escape(r->reasons[i].code, strlen(r->reasons[i].code), buf, cap, &pos);
        PUT_STR(",\"feature\":");
        if (r->reasons[i].feature)
            csg_json_escape(r->reasons[i].feature, strlen(r->reasons[i].feature), buf, cap, &pos);
        else
            PUT_STR("null");
        PUT_STR(",\"text\":");
        csg_json_escape(r->reasons[i].text, strlen(r->reasons[i].text), buf, cap, &pos);
        PUT_STR("}");
    }
    PUT_STR(parts[7]);
#undef PUT_STR
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

static void stub_count(csg_worker *w, const char *transport_name, const char *status)
{
    for (int i = 0; i < MAX_COUNTS; i++) {
        if (!w->counts[i].transport[0]) {
            snprintf(w->counts[i].transport, sizeof w->counts[i].transport, "%s",
                     transport_name);
            snprintf(w->counts[i].status, sizeof w->counts[i].status, "%s", status);
        }
        if (strcmp(w->counts[i].transport, transport_name) == 0 &&
            strcmp(w->counts[i].status, status) == 0) {
            w->counts[i].n++;
            return;
        }
    }
}

static char *stub_render_metrics(size_t *len)
{
    char *s = strdup("# stub gateway: no metrics\n");
    if (len)
        *len = s ? strlen(s) : 0;
    return s;
}

static bool stub_is_ready(void) { return true; }

static csg_core_api g_api = {
    .size = sizeof(csg_core_api),
    .abi_major = CSG_ABI_MAJOR,
    .abi_minor = CSG_ABI_MINOR,
    .log = stub_log,
    .worker_base = stub_worker_base,
    .worker_index = stub_worker_index,
    .worker_count = stub_worker_count,
    .submit = stub_submit,
    .parse_application = csg_app_parse_default, /* the default schema */
    .options_apply = csg_options_apply,
    .valid_request_id = csg_valid_request_id,
    .format_reply = stub_format_reply,
    .format_error = csg_json_error,
    .count_request = stub_count,
    .render_metrics = stub_render_metrics,
    .is_ready = stub_is_ready,
    .max_body_bytes = 65536,
    .max_line_bytes = 16384,
    .max_connections = 20000,
    .idle_timeout_ms = 60000,
};

/* ------------------------------------------------------------------------ */
/* Plugin loading                                                            */

static int fill_options(transport *t)
{
    const csg_option *opts = t->plugin->options;
    size_t n = 0;
    while (opts && opts[n].name)
        n++;
    t->values = calloc(n + 1, sizeof *t->values);
    if (!t->values)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *text = opts[i].default_value;
        size_t name_len = strlen(opts[i].name);
        for (unsigned k = 0; k < g_nopts; k++)
            if (strncmp(g_opts[k], opts[i].name, name_len) == 0 && g_opts[k][name_len] == '=') {
                text = g_opts[k] + name_len + 1;
                t->values[i].is_set = true;
            }
        if (!text)
            continue;
        t->values[i].str = text;
        t->values[i].i = strtoll(text, NULL, 10);
        t->values[i].d = strtod(text, NULL);
        t->values[i].b = strcmp(text, "true") == 0;
        if (opts[i].type == CSG_OPT_BOOL)
            t->values[i].i = t->values[i].b;
    }
    return 0;
}

static int load(transport *t)
{
    t->dl = dlopen(t->path, RTLD_NOW | RTLD_LOCAL);
    if (!t->dl) {
        fprintf(stderr, "stub: cannot open %s: %s\n", t->path, dlerror());
        return -1;
    }
    csg_plugin_entry_fn entry = (csg_plugin_entry_fn)dlsym(t->dl, CSG_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(stderr, "stub: %s: no entry point\n", t->path);
        return -1;
    }
    const csg_plugin_header *h = entry();
    if (h->magic != CSG_PLUGIN_MAGIC || h->abi_major != CSG_ABI_MAJOR ||
        h->kind != CSG_PLUGIN_TRANSPORT || h->struct_size < sizeof(csg_transport_plugin)) {
        fprintf(stderr, "stub: %s: not a transport plugin of ABI %d\n", t->path, CSG_ABI_MAJOR);
        return -1;
    }
    t->plugin = (const csg_transport_plugin *)h;
    return fill_options(t);
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_worker *w = arg;
    unsigned pending_total = 0;
    for (unsigned i = 0; i < g_ntransports; i++)
        if (g_transports[i].plugin->drain_worker)
            pending_total += g_transports[i].plugin->drain_worker(g_transports[i].instance, w);
    if (pending_total == 0 || now_ms() > g_drain_deadline_ms) {
        if (pending_total)
            fprintf(stderr, "stub: worker %u: drain deadline passed with %u pending\n",
                    w->index, pending_total);
        event_base_loopbreak(w->base);
        return;
    }
    struct timeval tv = {0, 5000};
    event_add(w->drain_ev, &tv);
}

static void *worker_main(void *arg)
{
    csg_worker *w = arg;
    csg_error err = {{0}};
    w->start_rc = 0;
    for (unsigned i = 0; i < g_ntransports; i++) {
        int rc = g_transports[i].plugin->start_worker(g_transports[i].instance, w, &err);
        if (rc < 0) {
            fprintf(stderr, "stub: start_worker %s: %s\n", g_transports[i].path, err.message);
            w->start_rc = rc;
        }
    }
    pthread_barrier_wait(&g_started);
    if (w->start_rc == 0)
        event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void write_counts(const char *path)
{
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    for (unsigned i = 0; i < g_nworkers; i++)
        for (int k = 0; k < MAX_COUNTS && g_workers[i].counts[k].transport[0]; k++)
            fprintf(f, "%s %s %lu\n", g_workers[i].counts[k].transport,
                    g_workers[i].counts[k].status, g_workers[i].counts[k].n);
    fclose(f);
}

int main(int argc, char **argv)
{
    csg_app_api_fill(&g_api); /* the core's application accessors */
    const char *counts_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--trace") == 0) {
            g_trace = true;
            continue;
        }
        if (!v)
            goto usage;
        i++;
        if (strcmp(a, "--transport") == 0 && g_ntransports < MAX_TRANSPORTS) {
            char *eq = strchr(argv[i], '=');
            if (!eq)
                goto usage;
            *eq = '\0';
            g_transports[g_ntransports].path = argv[i];
            g_transports[g_ntransports++].listen = eq + 1;
        } else if (strcmp(a, "--workers") == 0) {
            g_nworkers = (unsigned)atoi(v);
        } else if (strcmp(a, "--max-line") == 0) {
            g_api.max_line_bytes = (size_t)atol(v);
        } else if (strcmp(a, "--max-body") == 0) {
            g_api.max_body_bytes = (size_t)atol(v);
        } else if (strcmp(a, "--max-conns") == 0) {
            g_api.max_connections = (unsigned)atoi(v);
        } else if (strcmp(a, "--idle-ms") == 0) {
            g_api.idle_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--opt") == 0 && g_nopts < MAX_OPTS) {
            g_opts[g_nopts++] = v;
        } else if (strcmp(a, "--counts") == 0) {
            counts_path = v;
        } else {
            goto usage;
        }
    }
    if (!g_ntransports || g_nworkers < 1 || g_nworkers > MAX_WORKERS)
        goto usage;

    /* Every thread created from here on (ours and the plugins') inherits this. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();

    for (unsigned i = 0; i < g_nworkers; i++) {
        g_workers[i].index = i;
        g_workers[i].base = event_base_new();
        g_workers[i].drain_ev = evtimer_new(g_workers[i].base, on_drain, &g_workers[i]);
    }
    for (unsigned i = 0; i < g_ntransports; i++) {
        transport *t = &g_transports[i];
        if (load(t) < 0)
            return 1;
        csg_error err = {{0}};
        csg_transport_config cfg = {.size = sizeof cfg, .listen = t->listen,
                                    .options = t->values, .config_file = "stub"};
        if (t->plugin->create(&cfg, &g_api, &t->instance, &err) < 0) {
            fprintf(stderr, "stub: create %s: %s\n", t->path, err.message);
            return 1;
        }
    }
    pthread_barrier_init(&g_started, NULL, g_nworkers + 1);
    for (unsigned i = 0; i < g_nworkers; i++)
        pthread_create(&g_workers[i].thread, NULL, worker_main, &g_workers[i]);
    pthread_barrier_wait(&g_started);
    int rc = 0;
    for (unsigned i = 0; i < g_nworkers; i++)
        if (g_workers[i].start_rc)
            rc = 1;
    for (unsigned i = 0; !rc && i < g_ntransports; i++) {
        csg_error err = {{0}};
        if (g_transports[i].plugin->start &&
            g_transports[i].plugin->start(g_transports[i].instance, &err) < 0) {
            fprintf(stderr, "stub: start %s: %s\n", g_transports[i].path, err.message);
            rc = 1;
        }
    }
    if (!rc) {
        printf("READY\n");
        fflush(stdout);
        int sig = 0;
        sigwait(&sigs, &sig);
    }
    for (unsigned i = 0; i < g_ntransports; i++)
        if (g_transports[i].plugin->stop)
            g_transports[i].plugin->stop(g_transports[i].instance);
    g_drain_deadline_ms = now_ms() + 10000;
    for (unsigned i = 0; i < g_nworkers; i++)
        event_active(g_workers[i].drain_ev, EV_TIMEOUT, 0);
    for (unsigned i = 0; i < g_nworkers; i++)
        pthread_join(g_workers[i].thread, NULL);
    for (unsigned i = 0; i < g_ntransports; i++) {
        g_transports[i].plugin->destroy(g_transports[i].instance);
        free(g_transports[i].values);
    }
    write_counts(counts_path);
    for (unsigned i = 0; i < g_nworkers; i++) {
        event_free(g_workers[i].drain_ev);
        event_base_free(g_workers[i].base);
    }
    /* Plugins are not dlclosed: gRPC keeps process-lifetime state. */
    fprintf(stderr, "stub: exited cleanly\n");
    return rc;
usage:
    fprintf(stderr, "usage: csg-transport-stub --transport PLUGIN=HOST:PORT [--workers N] "
                    "[--max-line B] [--max-body B] [--max-conns N] [--idle-ms MS] "
                    "[--opt NAME=VALUE] [--counts FILE]\n");
    return 2;
}
