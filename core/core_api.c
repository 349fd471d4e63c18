/*
 * core_api.c — the csg_core_api table handed to every plugin (csg/plugin.h):
 * logging, the worker accessors, submit (dispatch.c), the application
 * parser and feature accessors (application.c), reply formatting, metrics
 * and readiness, and the limits from the configuration.
 *
 * The ABI's context-free functions (worker_count, render_metrics,
 * is_ready) take no gateway argument, so the table reaches the running
 * gateway through the one pointer bound here: one gateway per process.
 */
#include <stdarg.h>

#include "application.h"
#include "gateway_state.h"
#include "log.h"
#include "options.h"
#include "reply.h"

static _Atomic(csg_gateway *) g_gw;
static csg_core_api g_api;

static void api_log(csg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void api_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csg_vlog(level, component, fmt, ap);
    va_end(ap);
}

static struct event_base *api_worker_base(csg_worker *w)
{
    return w->base;
}

static unsigned api_worker_index(csg_worker *w)
{
    return w->index;
}

static unsigned api_worker_count(void)
{
    csg_gateway *gw = atomic_load(&g_gw);
    return gw ? gw->n_workers : 0;
}

static void api_count_request(csg_worker *w, const char *transport, const char *status)
{
    csg_metrics_count_request(w->metrics, transport ? transport : "?", status ? status : "?");
}

static char *api_render_metrics(size_t *len)
{
    csg_gateway *gw = atomic_load(&g_gw);
    if (!gw)
        return NULL;
    csg_metrics_globals g = {
        .sink = gw->pub ? csg_publisher_stats(gw->pub) : NULL,
        .queue_depth = gw->queue ? csg_event_queue_depth(gw->queue) : 0,
        .reloads_ok = atomic_load(&gw->reloads_ok),
        .reloads_failed = atomic_load(&gw->reloads_failed),
        .config_version = atomic_load(&gw->config_version),
        .guards = gw->guards,
    };
    return csg_metrics_render(gw->metrics, gw->n_workers, &g, len);
}

/* Against the schema w serves now: w's thread only (csg/plugin.h). */
static csg_parse_status api_parse_application(csg_worker *w, const char *json, size_t len,
                                              csg_application **app, char *request_id,
                                              csg_parse_error *err)
{
    w->parse_started_ms = csg_now_ms(); /* csg_gateway_overhead_seconds starts here */
    return csg_app_parse(w->current->cfg->schema, json, len, app, request_id, err);
}

static bool api_is_ready(void)
{
    csg_gateway *gw = atomic_load_explicit(&g_gw, memory_order_relaxed);
    return gw && atomic_load_explicit(&gw->ready, memory_order_relaxed);
}

static size_t api_ready_details(char *buf, size_t cap)
{
    csg_gateway *gw = atomic_load_explicit(&g_gw, memory_order_relaxed);
    if (!gw || !gw->guards)
        return (size_t)snprintf(buf, cap, "[]");
    return csg_guards_json(gw->guards, buf, cap);
}

const csg_core_api *csg_gateway_api(void)
{
    return &g_api;
}

void csg_core_api_bind(csg_gateway *gw, const csg_config *cfg)
{
    atomic_store(&g_gw, gw);
    g_api = (csg_core_api){
        .size = sizeof(csg_core_api),
        .abi_major = CSG_ABI_MAJOR,
        .abi_minor = CSG_ABI_MINOR,
        .log = api_log,
        .worker_base = api_worker_base,
        .worker_index = api_worker_index,
        .worker_count = api_worker_count,
        .submit = csg_dispatch_submit,
        .parse_application = api_parse_application,
        .valid_request_id = csg_valid_request_id,
        .format_reply = csg_format_reply,
        .format_error = csg_json_error,
        .count_request = api_count_request,
        .options_apply = csg_options_apply,
        .render_metrics = api_render_metrics,
        .is_ready = api_is_ready,
        .ready_details = api_ready_details,
        .max_body_bytes = (size_t)cfg->max_body_bytes,
        .max_line_bytes = (size_t)cfg->max_line_bytes,
        .max_connections = (unsigned)cfg->max_connections,
        .idle_timeout_ms = (unsigned)cfg->idle_timeout_ms,
        .read_timeout_ms = (unsigned)cfg->read_timeout_ms,
    };
    csg_app_api_fill(&g_api);
}

void csg_core_api_unbind(csg_gateway *gw)
{
    csg_gateway *expected = gw;
    atomic_compare_exchange_strong(&g_gw, &expected, NULL);
}

csg_gateway *csg_core_api_bound(void)
{
    return atomic_load(&g_gw);
}
