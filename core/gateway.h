/*
 * gateway.h — the running gateway: worker threads, routing snapshots,
 * dispatch (csg_core_api.submit), reload and shutdown.
 *
 * Threads:
 *  - main: loads the config, creates adapters/transports, handles signals
 *    (SIGHUP reload, SIGTERM/SIGINT drain + exit), frees retired snapshots.
 *  - N workers: one libevent base each; every request runs start to finish
 *    on one worker, with no lock on the path.
 *  - publisher: drains the event queue into the sink (publisher.h).
 */
#ifndef CSG_GATEWAY_H
#define CSG_GATEWAY_H

#include "config.h"
#include "csg/plugin.h"

typedef struct csg_gateway csg_gateway;

/* Start everything for cfg (takes its own reference): lock files, publisher
 * and sink, adapters, transports, worker threads. Main thread. Only one
 * gateway per process (the core_api functions reach it through a global).
 * cfg must have been loaded with a plugin registry (csg_config_load); the
 * gateway keeps that registry for its lifetime and loads every reload
 * through it, so a plugin file already loaded is not opened again. */
int csg_gateway_start(csg_config *cfg, const char *config_path, csg_gateway **out,
                      csg_error *err);

/* What start and SIGHUP check beyond csg_config_load, for --check-config:
 * every model's adapter is created once and destroyed (csg_model_adapters_check:
 * the adapter's own checks, e.g. rest.so resolving its url's host). Nothing is
 * bound or opened: ports, lock files, the event sink and spool_dir are only
 * tried by the start itself (a running gateway holds them). Main thread, no
 * gateway running in this process. Appends each failure to errs as
 * "<file>:<line>: …"; 0 = every check passed. */
int csg_gateway_check(const csg_config *cfg, csg_errlist *errs);

/* Re-read config_path and swap the routing snapshot (main thread). On error
 * the old snapshot stays and every problem is logged. 0 = reloaded. */
int csg_gateway_reload(csg_gateway *gw);

/* Same with an already loaded config (takes its own reference). */
int csg_gateway_reload_config(csg_gateway *gw, csg_config *cfg, csg_error *err);

/* Stop transports, drain (bounded by gateway.drain_timeout_ms), stop the
 * workers, flush the event queue through the sink, free everything. */
void csg_gateway_shutdown(csg_gateway *gw);

/* Run until SIGTERM/SIGINT with SIGHUP reloads (main thread); returns the
 * process exit code. */
int csg_gateway_run(csg_gateway *gw);

/* The core_api handed to plugins (valid while a gateway runs). */
const csg_core_api *csg_gateway_api(void);
csg_worker *csg_gateway_worker(csg_gateway *gw, unsigned i);
unsigned csg_gateway_worker_count(csg_gateway *gw);
/* True when every worker has adopted the latest snapshot. */
bool csg_gateway_swapped(csg_gateway *gw);

#endif /* CSG_GATEWAY_H */
