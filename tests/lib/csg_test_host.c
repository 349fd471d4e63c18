/*
 * csg_test_host.c — see csg_test_host.h. Loading and options are the core's
 * (registry.c, plugin_loader.c, options.c); only dispatch is the test's.
 */
#include "csg_test_host.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "csg_clock.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "registry.h"
#include "reply.h"
#include "schema.h"
#include "util.h"

struct csg_worker {
    unsigned index;
    csg_test_host *h;
    struct event_base *base;
    struct event *drain_ev;
    pthread_t thread;
    bool thread_started;
    int start_rc;
    csg_rng rng;
    csg_worker_metrics *metrics;
    atomic_long inflight; /* replies not given yet */
    atomic_long busy;     /* csg_th_busy marks */
    bool drained;
};

typedef struct th_plugin {
    const csg_plugin *plugin; /* the registry's */
    csg_option_value *values;
    size_t n_values;
} th_plugin;

typedef struct th_transport {
    th_plugin p;
    char *listen;
    void *instance;
} th_transport;

typedef struct th_adapter {
    th_plugin p;
    char *model_name;
    void *inst[CSG_TH_MAX_WORKERS];
} th_adapter;

struct csg_test_host {
    csg_th_config cfg;
    csg_registry *registry;
    csg_schema *schema; /* the default schema adapters are created against */
    csg_core_api api;
    csg_worker workers[CSG_TH_MAX_WORKERS];
    th_transport transports[CSG_TH_MAX_TRANSPORTS];
    size_t n_transports;
    th_adapter adapters[CSG_TH_MAX_ADAPTERS];
    size_t n_adapters;
    atomic_bool ready;
    csg_th_metrics_fn metrics_extra;
    void *metrics_user;
    pthread_barrier_t started;
    bool barrier_made;
    double drain_deadline_ms;
    bool stopped;
};

static csg_test_host *g_host; /* for the ABI's context-free functions */
/* Process-wide, never freed: plugins stay mapped (gRPC keeps process-lifetime
 * state, and a plugin's threads may outlive destroy by a moment). */
static csg_registry *g_registry;

/* ------------------------------------------------------------------------ */
/* The core_api table                                                        */

static void th_log(csg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void th_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (g_host && g_host->cfg.quiet) {
        char sink[512]; /* still formatted: the arguments must be valid */
        vsnprintf(sink, sizeof sink, fmt, ap);
    } else {
        csg_vlog(level, component, fmt, ap);
    }
    va_end(ap);
}

static struct event_base *th_worker_base(csg_worker *w) { return w->base; }
static unsigned th_worker_index(csg_worker *w) { return w->index; }
static unsigned th_worker_count(void) { return g_host ? g_host->cfg.workers : 0; }
static bool th_is_ready(void) { return g_host && atomic_load(&g_host->ready); }

static void th_count_request(csg_worker *w, const char *transport, const char *status)
{
    csg_metrics_count_request(w->metrics, transport ? transport : "?", status ? status : "?");
}

static char *th_render_metrics(size_t *len)
{
    csg_test_host *h = g_host;
    if (!h)
        return NULL;
    csg_worker_metrics *m[CSG_TH_MAX_WORKERS];
    for (unsigned i = 0; i < h->cfg.workers; i++)
        m[i] = h->workers[i].metrics;
    csg_metrics_globals g = {0};
    size_t n = 0;
    char *text = csg_metrics_render(m, h->cfg.workers, &g, &n);
    char *extra = text && h->metrics_extra ? h->metrics_extra(h->metrics_user) : NULL;
    if (extra) {
        size_t e = strlen(extra);
        char *both = realloc(text, n + e + 1);
        if (both) {
            memcpy(both + n, extra, e + 1);
            text = both;
            n += e;
        }
        free(extra);
    }
    if (len)
        *len = n;
    return text;
}

typedef struct th_reply {
    csg_worker *w;
    csg_reply_cb cb;
    void *ctx;
} th_reply;

static void th_on_reply(void *ctx, const csg_reply *r)
{
    th_reply *t = ctx;
    csg_worker *w = t->w;
    t->cb(t->ctx, r);
    free(t);
    atomic_fetch_sub(&w->inflight, 1);
}

/* The core's part of submit: a request id when the client gave none, and
 * the count of replies owed (drain waits for them). */
static void th_submit(csg_worker *w, const csg_request *in, csg_reply_cb cb, void *ctx)
{
    csg_request req = *in;
    if (!req.request_id[0])
        csg_uuid4(&w->rng, req.request_id);
    th_reply *t = malloc(sizeof *t);
    if (!t)
        abort(); /* test code: no reply owed can be lost quietly */
    *t = (th_reply){w, cb, ctx};
    atomic_fetch_add(&w->inflight, 1);
    w->h->cfg.submit(w->h->cfg.user, w, &req, th_on_reply, t);
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                    */

csg_test_host *csg_th_new(const csg_th_config *cfg, csg_error *err)
{
    if (g_host) {
        csg_fail(err, CSG_EINVAL, "test host: one host per process");
        return NULL;
    }
    if (cfg->workers < 1 || cfg->workers > CSG_TH_MAX_WORKERS || !cfg->submit ||
        (cfg->manual_loop && cfg->workers != 1)) {
        csg_fail(err, CSG_EINVAL, "test host: 1-%d workers (1 with manual_loop) and a submit "
                                  "handler are required", CSG_TH_MAX_WORKERS);
        return NULL;
    }
    csg_test_host *h = calloc(1, sizeof *h);
    if (!h) {
        csg_fail(err, CSG_ENOMEM, "test host: out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    atomic_init(&h->ready, true);
    evthread_use_pthreads(); /* the main thread wakes worker loops (stop, drain) */
    if (!g_registry)
        g_registry = csg_registry_new();
    h->registry = g_registry;
    h->schema = csg_schema_default();
    h->api = (csg_core_api){
        .size = sizeof(csg_core_api),
        .abi_major = CSG_ABI_MAJOR,
        .abi_minor = CSG_ABI_MINOR,
        .log = th_log,
        .worker_base = th_worker_base,
        .worker_index = th_worker_index,
        .worker_count = th_worker_count,
        .submit = th_submit,
        .parse_application = csg_app_parse_default,
        .options_apply = csg_options_apply,
        .valid_request_id = csg_valid_request_id,
        .format_reply = csg_format_reply,
        .format_error = csg_json_error,
        .count_request = th_count_request,
        .render_metrics = th_render_metrics,
        .is_ready = th_is_ready,
        .max_body_bytes = cfg->max_body_bytes ? cfg->max_body_bytes : 65536,
        .max_line_bytes = cfg->max_line_bytes ? cfg->max_line_bytes : 16384,
        .max_connections = cfg->max_connections ? cfg->max_connections : 20000,
        .idle_timeout_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : 60000,
        .read_timeout_ms = cfg->read_timeout_ms,
    };
    csg_app_api_fill(&h->api);
    bool ok = h->registry && h->schema;
    for (unsigned i = 0; ok && i < cfg->workers; i++) {
        csg_worker *w = &h->workers[i];
        w->index = i;
        w->h = h;
        csg_rng_seed(&w->rng);
        w->base = event_base_new();
        w->metrics = aligned_alloc(64, sizeof *w->metrics);
        ok = w->base && w->metrics;
        if (w->metrics)
            memset(w->metrics, 0, sizeof *w->metrics);
    }
    g_host = h;
    if (!ok) {
        csg_fail(err, CSG_ENOMEM, "test host: out of memory");
        csg_th_free(h);
        return NULL;
    }
    return h;
}

/* path through the registry as kind, then opts by name and the defaults:
 * what config.c does with a plugin block, from "name=value" texts. */
static int load_plugin(csg_test_host *h, const char *path, csg_plugin_kind kind,
                       const char *const *opts, size_t n_opts, th_plugin *out, csg_error *err)
{
    int rc = csg_registry_get(h->registry, path, kind, &out->plugin, err);
    if (rc)
        return rc;
    const csg_option *table = out->plugin->options;
    size_t n = csg_options_count(table);
    out->n_values = n;
    out->values = calloc(n ? n : 1, sizeof *out->values);
    if (!out->values)
        return csg_fail(err, CSG_ENOMEM, "%s: out of memory", path);
    for (size_t k = 0; k < n_opts; k++) {
        const char *eq = strchr(opts[k], '=');
        size_t i = 0;
        while (eq && i < n && (strncmp(table[i].name, opts[k], (size_t)(eq - opts[k])) != 0 ||
                               table[i].name[eq - opts[k]] != '\0'))
            i++;
        if (!eq || i == n)
            return csg_fail(err, CSG_EINVAL, "%s: option \"%s\": %s", path, opts[k],
                            eq ? "the plugin has no such option" : "want name=value");
        const char *why = NULL;
        if (!csg_option_parse_text(&table[i], eq + 1, &out->values[i], &why))
            return csg_fail(err, CSG_EINVAL, "%s: option %s: %s", path, table[i].name,
                            why && strcmp(why, "range") ? why : "out of range");
        out->values[i].is_set = true;
    }
    for (size_t i = 0; i < n; i++)
        if (table[i].required && !out->values[i].is_set)
            return csg_fail(err, CSG_EINVAL, "%s: option %s is required", path, table[i].name);
    if (!csg_options_defaults(table, out->values))
        return csg_fail(err, CSG_EINVAL, "%s: a default in its option table does not parse",
                        path);
    return 0;
}

int csg_th_add_transport(csg_test_host *h, const char *path, const char *listen,
                         const char *const *opts, size_t n_opts, csg_error *err)
{
    if (h->n_transports == CSG_TH_MAX_TRANSPORTS)
        return csg_fail(err, CSG_EINVAL, "test host: at most %d transports",
                        CSG_TH_MAX_TRANSPORTS);
    th_transport *t = &h->transports[h->n_transports];
    int rc = load_plugin(h, path, CSG_PLUGIN_TRANSPORT, opts, n_opts, &t->p, err);
    if (rc == 0 && !(t->listen = strdup(listen)))
        rc = csg_fail(err, CSG_ENOMEM, "test host: out of memory");
    if (rc == 0) {
        csg_transport_config tc = {.size = sizeof tc, .listen = listen, .options = t->p.values,
                                   .config_file = "(test host)"};
        rc = t->p.plugin->transport->create(&tc, &h->api, &t->instance, err);
    }
    if (rc != 0) {
        csg_options_free(t->p.values, t->p.n_values);
        free(t->listen);
        memset(t, 0, sizeof *t);
        return rc < 0 ? rc : -CSG_EPLUGIN;
    }
    h->n_transports++;
    return 0;
}

bool csg_th_has_option(csg_test_host *h, const char *path, csg_plugin_kind kind,
                       const char *name)
{
    const csg_plugin *pl = NULL;
    csg_error ignored;
    if (csg_registry_get(h->registry, path, kind, &pl, &ignored) != 0)
        return false;
    for (const csg_option *o = pl->options; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return true;
    return false;
}

int csg_th_add_adapter(csg_test_host *h, const char *path, const char *model_name,
                       unsigned timeout_ms, const char *const *opts, size_t n_opts,
                       csg_error *err)
{
    if (h->n_adapters == CSG_TH_MAX_ADAPTERS)
        return csg_fail(err, CSG_EINVAL, "test host: at most %d adapters", CSG_TH_MAX_ADAPTERS);
    th_adapter *a = &h->adapters[h->n_adapters];
    int rc = load_plugin(h, path, CSG_PLUGIN_MODEL_ADAPTER, opts, n_opts, &a->p, err);
    if (rc == 0 && !(a->model_name = strdup(model_name)))
        rc = csg_fail(err, CSG_ENOMEM, "test host: out of memory");
    const csg_model_adapter *ad = rc == 0 ? a->p.plugin->adapter : NULL;
    csg_adapter_config ac = {.size = sizeof ac, .model_name = model_name,
                             .timeout_ms = timeout_ms, .options = a->p.values,
                             .config_file = "(test host)", .schema = h->schema};
    for (unsigned i = 0; rc == 0 && i < h->cfg.workers; i++) {
        rc = ad->create(&ac, &h->api, h->workers[i].base, &a->inst[i], err);
        if (rc > 0)
            rc = -CSG_EPLUGIN;
    }
    if (rc != 0) {
        for (unsigned i = 0; ad && i < h->cfg.workers; i++)
            if (a->inst[i])
                ad->destroy(a->inst[i]);
        csg_options_free(a->p.values, a->p.n_values);
        free(a->model_name);
        memset(a, 0, sizeof *a);
        return rc;
    }
    return (int)h->n_adapters++;
}

const csg_model_adapter *csg_th_adapter(const csg_test_host *h, int id)
{
    return id >= 0 && (size_t)id < h->n_adapters ? h->adapters[id].p.plugin->adapter : NULL;
}

void *csg_th_adapter_instance(const csg_test_host *h, int id, const csg_worker *w)
{
    return id >= 0 && (size_t)id < h->n_adapters ? h->adapters[id].inst[w->index] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */

static int start_transports_on(csg_worker *w, csg_error *err)
{
    csg_test_host *h = w->h;
    for (size_t i = 0; i < h->n_transports; i++) {
        const csg_transport_plugin *tp = h->transports[i].p.plugin->transport;
        int rc = tp->start_worker(h->transports[i].instance, w, err);
        if (rc != 0)
            return rc < 0 ? rc : -CSG_EPLUGIN;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    csg_worker *w = arg;
    csg_error err = {{0}};
    w->start_rc = start_transports_on(w, &err);
    if (w->start_rc)
        csg_log(CSG_LOG_ERROR, "test-host", "worker %u: start_worker: %s", w->index,
                err.message);
    pthread_barrier_wait(&w->h->started);
    if (w->start_rc == 0)
        event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int csg_th_start(csg_test_host *h, csg_error *err)
{
    if (h->cfg.manual_loop) {
        int rc = start_transports_on(&h->workers[0], err);
        if (rc)
            return rc;
    } else {
        pthread_barrier_init(&h->started, NULL, h->cfg.workers + 1);
        h->barrier_made = true;
        for (unsigned i = 0; i < h->cfg.workers; i++) {
            csg_worker *w = &h->workers[i];
            w->drain_ev = NULL;
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                /* the barrier counts this worker: stand in for it */
                w->start_rc = -CSG_EIO;
                pthread_barrier_wait(&h->started);
                continue;
            }
            w->thread_started = true;
        }
        pthread_barrier_wait(&h->started);
        for (unsigned i = 0; i < h->cfg.workers; i++)
            if (h->workers[i].start_rc)
                return csg_fail(err, CSG_EPLUGIN, "worker %u did not start (see the log)", i);
    }
    for (size_t i = 0; i < h->n_transports; i++) {
        const csg_transport_plugin *tp = h->transports[i].p.plugin->transport;
        int rc = tp->start ? tp->start(h->transports[i].instance, err) : 0;
        if (rc != 0)
            return rc < 0 ? rc : -CSG_EPLUGIN;
    }
    return 0;
}

/* One drain step on w: transports first, then the replies and shadow work
 * still owed; when all is done (or the deadline passed), w's adapters go on
 * w's own thread and its loop ends. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    csg_worker *w = arg;
    csg_test_host *h = w->h;
    unsigned left = 0;
    for (size_t i = 0; i < h->n_transports; i++)
        left += h->transports[i].p.plugin->transport->drain_worker(h->transports[i].instance, w);
    long owed = atomic_load(&w->inflight) + atomic_load(&w->busy);
    bool late = csg_now_ms() > h->drain_deadline_ms;
    if ((left || owed) && !late) {
        struct timeval tv = {0, 5000};
        event_add(w->drain_ev, &tv);
        return;
    }
    if (late)
        csg_log(CSG_LOG_WARN, "test-host", "worker %u: drain deadline passed, %u connection(s) "
                "and %ld reply/call(s) left", w->index, left, owed);
    w->drained = !late;
    for (size_t i = 0; i < h->n_adapters; i++)
        if (h->adapters[i].inst[w->index]) {
            h->adapters[i].p.plugin->adapter->destroy(h->adapters[i].inst[w->index]);
            h->adapters[i].inst[w->index] = NULL;
        }
    event_base_loopbreak(w->base);
}

unsigned csg_th_stop(csg_test_host *h, unsigned drain_ms)
{
    if (h->stopped)
        return 0;
    h->stopped = true;
    for (size_t i = 0; i < h->n_transports; i++) {
        const csg_transport_plugin *tp = h->transports[i].p.plugin->transport;
        if (tp->stop)
            tp->stop(h->transports[i].instance);
    }
    h->drain_deadline_ms = csg_now_ms() + drain_ms;
    for (unsigned i = 0; i < h->cfg.workers; i++) {
        csg_worker *w = &h->workers[i];
        w->drain_ev = evtimer_new(w->base, on_drain, w);
        if (!w->drain_ev)
            abort();
        if (w->thread_started)
            event_active(w->drain_ev, EV_TIMEOUT, 0);
        else if (h->cfg.manual_loop) /* the caller's loop: run it here, to the end */
            for (event_active(w->drain_ev, EV_TIMEOUT, 0); !event_base_got_break(w->base);)
                event_base_loop(w->base, EVLOOP_ONCE);
        else
            on_drain(-1, 0, w); /* never started: only its adapters to destroy */
    }
    unsigned missed = 0;
    for (unsigned i = 0; i < h->cfg.workers; i++) {
        csg_worker *w = &h->workers[i];
        if (w->thread_started)
            pthread_join(w->thread, NULL);
        w->thread_started = false;
        missed += !w->drained;
    }
    return missed;
}

void csg_th_free(csg_test_host *h)
{
    if (!h)
        return;
    csg_th_stop(h, 0);
    for (size_t i = 0; i < h->n_transports; i++) {
        th_transport *t = &h->transports[i];
        t->p.plugin->transport->destroy(t->instance);
        csg_options_free(t->p.values, t->p.n_values);
        free(t->listen);
    }
    for (size_t i = 0; i < h->n_adapters; i++) {
        csg_options_free(h->adapters[i].p.values, h->adapters[i].p.n_values);
        free(h->adapters[i].model_name);
    }
    for (unsigned i = 0; i < h->cfg.workers; i++) {
        csg_worker *w = &h->workers[i];
        if (w->drain_ev)
            event_free(w->drain_ev);
        if (w->base)
            event_base_free(w->base);
        free(w->metrics);
    }
    if (h->barrier_made)
        pthread_barrier_destroy(&h->started);
    csg_schema_unref(h->schema);
    g_host = NULL;
    free(h);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */

unsigned csg_th_worker_count(const csg_test_host *h) { return h->cfg.workers; }
csg_worker *csg_th_worker(csg_test_host *h, unsigned i) { return &h->workers[i]; }
unsigned csg_th_worker_index(const csg_worker *w) { return w->index; }
struct event_base *csg_th_base(csg_test_host *h, unsigned i) { return h->workers[i].base; }
void csg_th_busy(csg_worker *w, int delta) { atomic_fetch_add(&w->busy, delta); }
void csg_th_set_ready(csg_test_host *h, bool ready) { atomic_store(&h->ready, ready); }
const csg_core_api *csg_th_api(const csg_test_host *h) { return &h->api; }

long csg_th_inflight(const csg_test_host *h)
{
    long n = 0;
    for (unsigned i = 0; i < h->cfg.workers; i++)
        n += atomic_load(&h->workers[i].inflight);
    return n;
}

void csg_th_set_metrics_extra(csg_test_host *h, csg_th_metrics_fn fn, void *user)
{
    h->metrics_extra = fn;
    h->metrics_user = user;
}

void csg_th_write_counts(const csg_test_host *h, FILE *f)
{
    for (unsigned i = 0; i < h->cfg.workers; i++) {
        const csg_worker_metrics *m = h->workers[i].metrics;
        unsigned n = atomic_load(&m->n_req);
        for (unsigned k = 0; k < n && k < CSG_METRICS_MAX_REQ; k++)
            fprintf(f, "%s %s %llu\n", m->req[k].transport, m->req[k].status,
                    (unsigned long long)atomic_load(&m->req[k].count));
    }
}
