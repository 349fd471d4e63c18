/*
 * csg_test_host.h — the one C test host for plugin-level tests: it loads
 * transports and model adapters exactly as csg-gateway does (the core's
 * plugin registry and loader: permission checks, descriptor checks, one
 * dlopen per distinct file) and fills their options by name with the core's
 * option code (text checked against the plugin's table, then its defaults),
 * then runs them on worker threads behind a csg_core_api of its own.
 *
 * What stands in for the core is only dispatch: every submit goes to the
 * test's handler (a fake champion, an adapter, a fuzz oracle). The rest of
 * the table is the core's: the application parser and accessors (default
 * schema), request-id check, reply and error writers, per-worker request
 * counters and their Prometheus rendering.
 *
 * Lifecycle (the gateway's): csg_th_new → csg_th_add_transport /
 * csg_th_add_adapter (main thread; create() on the main thread) →
 * csg_th_start (start_worker on each worker before its loop, then start) →
 * csg_th_stop (stop, drain_worker until 0, adapters destroyed on their
 * worker) → csg_th_free. One host per process: the ABI's context-free
 * functions (worker_count, render_metrics, is_ready) reach it through a
 * global, as they reach the gateway.
 *
 * Used by tests/lib/csg_test_host_main.c (the csg-test-host program the
 * Python transport and plugin tests start) and the transport fuzz harness.
 */
#ifndef CSG_TEST_HOST_H
#define CSG_TEST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "csg/plugin.h"

#define CSG_TH_MAX_WORKERS 16
#define CSG_TH_MAX_TRANSPORTS 4
#define CSG_TH_MAX_ADAPTERS 4

typedef struct csg_test_host csg_test_host;

/* The submit handler: called on worker w's thread for each request a
 * transport submits, with a request id always set (the client's or a UUIDv4,
 * as the core does). It owns req->app (csg_app_free) and must call cb exactly
 * once, later, from w's loop — never from inside the handler. */
typedef void (*csg_th_submit_fn)(void *user, csg_worker *w, const csg_request *req,
                                 csg_reply_cb cb, void *ctx);

typedef struct csg_th_config {
    unsigned workers; /* 1..CSG_TH_MAX_WORKERS */
    /* csg_core_api limits; 0 = the gateway's defaults (DESIGN §3). */
    size_t max_body_bytes, max_line_bytes;
    unsigned max_connections, idle_timeout_ms, read_timeout_ms;
    /* No worker threads: the caller turns the single worker's loop itself
     * (csg_th_base(h, 0), EVLOOP_NONBLOCK), as a fuzz harness does. */
    bool manual_loop;
    bool quiet; /* drop plugin log lines (fuzzing) */
    csg_th_submit_fn submit;
    void *user;
} csg_th_config;

/* A host with cfg's workers (event bases made, no threads yet). NULL and
 * err on a bad config or without memory. */
csg_test_host *csg_th_new(const csg_th_config *cfg, csg_error *err);

/* Load the transport at path through the registry, set its options from
 * opts ("name=value" each, checked against the plugin's table, then the
 * table's defaults) and create() it listening on listen. 0 or -CSG_E… with
 * err->message naming the file or the option. */
int csg_th_add_transport(csg_test_host *h, const char *path, const char *listen,
                         const char *const *opts, size_t n_opts, csg_error *err);

/* True if the plugin at path (loaded through the registry, as kind) has
 * an option row called name; false too when it does not load (the add that
 * follows says why). */
bool csg_th_has_option(csg_test_host *h, const char *path, csg_plugin_kind kind,
                       const char *name);

/* Load a model adapter, options as above, and create one instance per
 * worker (model_name, timeout_ms as the gateway passes them). Returns the
 * adapter's id (>= 0) or -CSG_E… with err. */
int csg_th_add_adapter(csg_test_host *h, const char *path, const char *model_name,
                       unsigned timeout_ms, const char *const *opts, size_t n_opts,
                       csg_error *err);
const csg_model_adapter *csg_th_adapter(const csg_test_host *h, int id);
/* Adapter id's instance on worker w (use it on w's thread only). */
void *csg_th_adapter_instance(const csg_test_host *h, int id, const csg_worker *w);

/* Start: every worker runs start_worker of each transport, then its loop
 * (a thread each, unless manual_loop); then each transport's start(). 0 or
 * -CSG_E… with err (the host can still be stopped and freed). */
int csg_th_start(csg_test_host *h, csg_error *err);

/* The gateway's shutdown: stop() each transport, then each worker drains
 * (drain_worker of every transport until 0 and no reply or busy mark
 * outstanding, at most drain_ms), destroys its adapter instances and ends
 * its loop; the threads are joined. Returns how many workers missed the
 * deadline. */
unsigned csg_th_stop(csg_test_host *h, unsigned drain_ms);

/* destroy() every transport and free everything (after csg_th_stop). */
void csg_th_free(csg_test_host *h);

/* Worker access (the handler's w, or by index). */
unsigned csg_th_worker_count(const csg_test_host *h);
csg_worker *csg_th_worker(csg_test_host *h, unsigned i);
unsigned csg_th_worker_index(const csg_worker *w);
struct event_base *csg_th_base(csg_test_host *h, unsigned i);

/* Worker thread: work the handler keeps going beyond the reply (a shadow
 * call): +1 when it starts, -1 when it ends; drain waits for 0. */
void csg_th_busy(csg_worker *w, int delta);
/* Replies not yet given, over every worker. */
long csg_th_inflight(const csg_test_host *h);

/* What is_ready() answers (default true). Any thread. */
void csg_th_set_ready(csg_test_host *h, bool ready);

/* Text appended to /metrics after the core's rendering (a malloc'd string
 * the host frees, or NULL); called on the thread that renders. */
typedef char *(*csg_th_metrics_fn)(void *user);
void csg_th_set_metrics_extra(csg_test_host *h, csg_th_metrics_fn fn, void *user);

/* The count_request totals, one "transport status n" line each. */
void csg_th_write_counts(const csg_test_host *h, FILE *f);

/* The table handed to the plugins (for a harness that calls them itself). */
const csg_core_api *csg_th_api(const csg_test_host *h);

#endif /* CSG_TEST_HOST_H */
