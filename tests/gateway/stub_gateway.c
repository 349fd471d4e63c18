/*
 * stub_gateway.c — a minimal host for the transport and adapter plugins,
 * with a stub csg_core_api: unit-level tests of http.so, rest.so and
 * challenger-scorecard.so through dlopen, independent of csg-gateway's
 * router, config and event pipeline.
 *
 *   csg-stub-gateway --http PLUGIN.so --listen ADDR --champion ADAPTER.so
 *                    [--url URL] [--timeout-ms N] [--workers N] [--pool N] [--max-queue N]
 *                    [--pipeline] [--challenger ADAPTER.so [--challenger-url URL]]
 *                    [--max-body N] [--max-conns N] [--idle-ms N] [--not-ready]
 *
 * The champion answers every request; a challenger, when given, is called
 * for every request in shadow (its answers are only counted). SIGTERM
 * drains through drain_worker and exits 0. Only loads what it is told to.
 */
#include <dlfcn.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "application.h"
#include "options.h"
#include "csg/plugin.h"

#define MAX_WORKERS 16

typedef struct worker {
    unsigned idx;
    struct event_base *base;
    pthread_t thread;
    void *champion;
    void *challenger;
    int start_rc;
} worker;

static worker workers[MAX_WORKERS];
static unsigned nworkers = 2;
static const csg_transport_plugin *http;
static void *http_inst;
static const csg_model_adapter *champ_ad, *chall_ad;
static bool not_ready;
/* csg_requests_total{status}: the transport's labels ("ok", "not_found", …). */
#define MAX_LABELS 64
static pthread_mutex_t counts_mu = PTHREAD_MUTEX_INITIALIZER;
static char count_labels[MAX_LABELS][40];
static unsigned long counts[MAX_LABELS];
static unsigned n_labels;
static atomic_ulong challenger_answers;
static atomic_long inflight; /* submitted, champion not answered yet */

static void stub_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "{\"level\":%d,\"component\":\"%s\",\"msg\":\"%s\"}\n", (int)level, component,
            msg);
}

static struct event_base *stub_worker_base(csg_worker *w) { return ((worker *)w)->base; }
static unsigned stub_worker_index(csg_worker *w) { return ((worker *)w)->idx; }
static unsigned stub_worker_count(void) { return nworkers; }

typedef struct job {
    csg_request req;
    csg_reply_cb cb;
    void *ctx;
} job;

static const char *decision_name(csg_decision d)
{
    switch (d) {
    case CSG_DECISION_APPROVE: return "approve";
    case CSG_DECISION_DECLINE: return "decline";
    case CSG_DECISION_REVIEW: return "review";
    default: return "none";
    }
}

static size_t stub_format_reply(const csg_reply *r, char *buf, size_t cap)
{
    if (r->status != CSG_REPLY_OK) {
        static const char *codes[] = {"", "champion_error", "champion_timeout", "overloaded",
                                      "not_ready", "deadline_exceeded"};
        return csg_json_error(codes[r->status], r->error_message ? r->error_message : "error",
                                NULL, buf, cap);
    }
    char tmp[256];
    size_t pos = 0;
    csg_json_escape(r->applicant_id, strlen(r->applicant_id), tmp, sizeof tmp, &pos);
    size_t pos2 = 0;
    char rid[200];
    csg_json_escape(r->request_id, strlen(r->request_id), rid, sizeof rid, &pos2);
    /* The adapter's reasons as it handed them over (rest.so's reading of a
     * model's reply), in the core's reply format. */
    char rs[2048];
    size_t rp = 0;
    for (unsigned i = 0; i < r->reason_count && r->reasons; i++) {
        const csg_reason *x = &r->reasons[i];
        const char *parts[] = {i ? ",{\"code\":" : "{\"code\":", ",\"feature\":", ",\"text\":"};
        const char *vals[] = {x->code, x->feature, x->text};
        for (int k = 0; k < 3; k++) {
            for (const char *q = parts[k]; *q; q++)
                if (rp + 1 < sizeof rs)
                    rs[rp++] = *q;
            if (vals[k])
                csg_json_escape(vals[k], strlen(vals[k]), rs, sizeof rs, &rp);
            else if (rp + 5 < sizeof rs)
                memcpy(rs + rp, "null", 4), rp += 4;
        }
        if (rp + 1 < sizeof rs)
            rs[rp++] = '}';
    }
    if (rp >= sizeof rs)
        rp = 0; /* cannot happen within the ABI's bounds */
    return (size_t)snprintf(buf, cap,
                            "{\"applicant_id\":%.*s,\"score\":%.17g,\"decision\":\"%s\","
                            "\"model\":\"%s\",\"experiment_id\":\"%s\",\"request_id\":%.*s,"
                            "\"reasons\":[%.*s]}",
                            (int)pos, tmp, r->score, decision_name(r->decision), r->model,
                            r->experiment_id, (int)pos2, rid, (int)rp, rs);
}

static void on_champion(void *ctx, const csg_score_result *res)
{
    job *j = ctx;
    csg_reply r = {
        .status = res->status == CSG_SCORE_OK           ? CSG_REPLY_OK
                  : res->status == CSG_SCORE_TIMEOUT    ? CSG_REPLY_CHAMPION_TIMEOUT
                  : res->status == CSG_SCORE_OVERLOADED ? CSG_REPLY_OVERLOADED
                                                        : CSG_REPLY_CHAMPION_ERROR,
        .size = sizeof r,
        .applicant_id = csg_app_applicant_id(j->req.app),
        .score = res->score,
        .decision = res->decision,
        .model = "stub-champion",
        .experiment_id = "stub-exp",
        .request_id = j->req.request_id,
        .error_message = res->error,
    };
    if (res->status == CSG_SCORE_OK && CSG_STRUCT_HAS(res, csg_score_result, reasons)) {
        r.reason_count = res->reason_count;
        r.reasons = res->reasons;
    }
    j->cb(j->ctx, &r);
    csg_app_free(j->req.app); /* the core owns a submitted application */
    free(j);
    atomic_fetch_sub(&inflight, 1);
}

static void on_challenger(void *ctx, const csg_score_result *res)
{
    (void)ctx;
    if (res->status == CSG_SCORE_OK)
        atomic_fetch_add(&challenger_answers, 1);
}

static void stub_submit(csg_worker *w, const csg_request *req, csg_reply_cb cb, void *ctx)
{
    worker *wk = (worker *)w;
    job *j = malloc(sizeof *j);
    if (!j)
        abort();
    j->req = *req;
    j->cb = cb;
    j->ctx = ctx;
    if (!j->req.request_id[0]) {
        unsigned char b[16];
        if (getrandom(b, sizeof b, 0) != sizeof b)
            abort();
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(j->req.request_id, sizeof j->req.request_id,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                 b[14], b[15]);
    }
    atomic_fetch_add(&inflight, 1);
    if (chall_ad)
        chall_ad->score_async(wk->challenger, req->app, on_challenger, NULL);
    champ_ad->score_async(wk->champion, j->req.app, on_champion, j);
}

static void stub_count(csg_worker *w, const char *transport, const char *status)
{
    (void)w;
    (void)transport;
    pthread_mutex_lock(&counts_mu);
    unsigned i = 0;
    while (i < n_labels && strcmp(count_labels[i], status) != 0)
        i++;
    if (i == n_labels && n_labels < MAX_LABELS)
        snprintf(count_labels[n_labels++], sizeof count_labels[0], "%s", status);
    if (i < n_labels)
        counts[i]++;
    pthread_mutex_unlock(&counts_mu);
}

static char *stub_render(size_t *len)
{
    size_t cap = 8192, pos = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    pos += (size_t)snprintf(s + pos, cap - pos, "# TYPE csg_requests_total counter\n");
    pthread_mutex_lock(&counts_mu);
    for (unsigned i = 0; i < n_labels; i++) {
        if (pos < cap - 100)
            pos += (size_t)snprintf(s + pos, cap - pos,
                                    "csg_requests_total{transport=\"http\",status=\"%s\"} %lu\n",
                                    count_labels[i], counts[i]);
    }
    pthread_mutex_unlock(&counts_mu);
    pos += (size_t)snprintf(s + pos, cap - pos,
                            "csg_stub_challenger_answers_total %lu\ncsg_stub_inflight %ld\n",
                            atomic_load(&challenger_answers), atomic_load(&inflight));
    *len = pos;
    return s;
}

static bool stub_ready(void) { return !not_ready; }

static csg_core_api api = {
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
    .render_metrics = stub_render,
    .is_ready = stub_ready,
    .max_body_bytes = 65536,
    .max_line_bytes = 16384,
    .max_connections = 20000,
    .idle_timeout_ms = 60000,
};

static const csg_plugin_header *load(const char *path, uint32_t kind)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s: cannot open: %s\n", path, dlerror());
        exit(2);
    }
    csg_plugin_entry_fn fn;
    *(void **)&fn = dlsym(h, CSG_PLUGIN_ENTRY_SYMBOL);
    if (!fn) {
        fprintf(stderr, "%s: no entry point\n", path);
        exit(2);
    }
    const csg_plugin_header *hd = fn();
    if (hd->magic != CSG_PLUGIN_MAGIC || hd->abi_major != CSG_ABI_MAJOR || hd->kind != kind) {
        fprintf(stderr, "%s: bad header\n", path);
        exit(2);
    }
    return hd;
}

static void drain_step(evutil_socket_t fd, short what, void *arg);

static void drain_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker *wk = arg;
    unsigned left = http->drain_worker(http_inst, (csg_worker *)wk);
    if (left > 0) {
        struct timeval tv = {0, 10000};
        event_base_once(wk->base, -1, EV_TIMEOUT, drain_step, wk, &tv);
        return;
    }
    champ_ad->destroy(wk->champion);
    if (chall_ad)
        chall_ad->destroy(wk->challenger);
    event_base_loopexit(wk->base, NULL);
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    csg_error err = {{0}};
    wk->start_rc = http->start_worker(http_inst, (csg_worker *)wk, &err);
    if (wk->start_rc != 0) {
        fprintf(stderr, "start_worker: %s\n", err.message);
        exit(2);
    }
    event_base_loop(wk->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static long max_queue; /* --max-queue: rest.so's max_queue, 0 = its default */

static void *make_adapter(const csg_model_adapter *ad, const char *url, unsigned timeout_ms,
                          long pool, bool pipeline, struct event_base *base, const char *name)
{
    csg_option_value vals[8];
    memset(vals, 0, sizeof vals);
    if (url) {
        vals[0].is_set = true;
        vals[0].str = url;
        vals[1].is_set = pool > 0;
        vals[1].i = pool;
        vals[1].d = (double)pool;
        vals[2].is_set = true;
        vals[2].b = pipeline;
        vals[2].i = pipeline;
        vals[4].is_set = max_queue > 0; /* rest.so's max_queue */
        vals[4].i = max_queue;
        vals[4].d = (double)max_queue;
    }
    /* Every row not given takes its table default, as the core does. */
    if (!csg_options_defaults(ad->options, vals)) {
        fprintf(stderr, "%s: a default in the option table does not parse\n", name);
        exit(2);
    }
    static csg_schema *schema; /* what parse_application validates against */
    if (!schema)
        schema = csg_schema_default();
    csg_adapter_config cfg = {.size = sizeof cfg, .model_name = name, .timeout_ms = timeout_ms,
                              .options = vals, .config_file = "(stub)", .schema = schema};
    void *inst = NULL;
    csg_error err = {{0}};
    if (ad->create(&cfg, &api, base, &inst, &err) != 0) {
        fprintf(stderr, "create %s: %s\n", name, err.message);
        exit(2);
    }
    return inst;
}

int main(int argc, char **argv)
{
    csg_app_api_fill(&api); /* the core's application accessors */
    const char *http_path = NULL, *listen_addr = NULL, *champ_path = NULL, *url = NULL;
    const char *chall_path = NULL, *chall_url = NULL;
    unsigned timeout_ms = 1000;
    long pool = 4;
    bool pipeline = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
        if (ARG("--http")) http_path = v;
        else if (ARG("--listen")) listen_addr = v;
        else if (ARG("--champion")) champ_path = v;
        else if (ARG("--url")) url = v;
        else if (ARG("--challenger")) chall_path = v;
        else if (ARG("--challenger-url")) chall_url = v;
        else if (ARG("--timeout-ms")) timeout_ms = (unsigned)atoi(v);
        else if (ARG("--workers")) nworkers = (unsigned)atoi(v);
        else if (ARG("--pool")) pool = atol(v);
        else if (ARG("--max-queue")) max_queue = atol(v);
        else if (ARG("--max-body")) api.max_body_bytes = (size_t)atol(v);
        else if (ARG("--max-conns")) api.max_connections = (unsigned)atoi(v);
        else if (ARG("--idle-ms")) api.idle_timeout_ms = (unsigned)atoi(v);
        else if (strcmp(a, "--pipeline") == 0) pipeline = true;
        else if (strcmp(a, "--not-ready") == 0) not_ready = true;
        else {
            fprintf(stderr, "usage: see the top of tests/gateway/stub_gateway.c (%s)\n", a);
            return 2;
        }
#undef ARG
    }
    if (!http_path || !listen_addr || !champ_path || nworkers < 1 || nworkers > MAX_WORKERS) {
        fprintf(stderr, "need --http, --listen, --champion; 1-16 workers\n");
        return 2;
    }
    evthread_use_pthreads();
    http = (const csg_transport_plugin *)load(http_path, CSG_PLUGIN_TRANSPORT);
    champ_ad = (const csg_model_adapter *)load(champ_path, CSG_PLUGIN_MODEL_ADAPTER);
    if (chall_path)
        chall_ad = (const csg_model_adapter *)load(chall_path, CSG_PLUGIN_MODEL_ADAPTER);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    csg_error err = {{0}};
    csg_transport_config tc = {.size = sizeof tc, .listen = listen_addr, .options = NULL,
                               .config_file = "(stub)"};
    if (http->create(&tc, &api, &http_inst, &err) != 0) {
        fprintf(stderr, "csg-stub-gateway: %s\n", err.message);
        return 1;
    }
    for (unsigned i = 0; i < nworkers; i++) {
        worker *wk = &workers[i];
        wk->idx = i;
        wk->base = event_base_new();
        wk->champion = make_adapter(champ_ad, url, timeout_ms, pool, pipeline, wk->base,
                                    "stub-champion");
        if (chall_ad)
            wk->challenger = make_adapter(chall_ad, chall_url, timeout_ms, pool, pipeline,
                                          wk->base, "stub-challenger");
    }
    for (unsigned i = 0; i < nworkers; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    fprintf(stderr, "csg-stub-gateway: listening on %s\n", listen_addr);

    sigdelset(&set, SIGPIPE);
    int sig = 0;
    sigwait(&set, &sig);
    if (http->stop)
        http->stop(http_inst);
    for (unsigned i = 0; i < nworkers; i++) {
        struct timeval zero = {0, 0};
        event_base_once(workers[i].base, -1, EV_TIMEOUT, drain_step, &workers[i], &zero);
    }
    for (unsigned i = 0; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    http->destroy(http_inst);
    for (unsigned i = 0; i < nworkers; i++)
        event_base_free(workers[i].base);
    libevent_global_shutdown();
    return 0;
}
