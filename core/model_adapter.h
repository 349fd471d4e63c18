/*
 * model_adapter.h — creating a configured model's adapter instance: the one
 * call start and SIGHUP make for every worker (gateway.c) and --check-config
 * makes once per model, so the adapter's own checks in create() (rest.so
 * resolving its url's host, checks beyond its option table) fail the check
 * exactly as they would fail the start or the reload.
 */
#ifndef CSG_MODEL_ADAPTER_H
#define CSG_MODEL_ADAPTER_H

#include "config.h"
#include "csg/plugin.h"

struct event_base;

/* Create model m's (cfg->champion or one of cfg->challengers) adapter
 * instance for base, on the main thread. 0 and *inst on success; otherwise
 * *inst is NULL and err says "<file>:<line>: champion NAME (PATH): init
 * failed: WHY" (the line of the model's block). */
int csg_model_adapter_create(const csg_config *cfg, const csg_cfg_model *m,
                             const csg_core_api *api, struct event_base *base, void **inst,
                             csg_error *err);

/* Create and destroy one instance of every model's adapter (on a private
 * event_base that never runs); append each failure to errs. Main thread.
 * 0 when every adapter was created. Models whose plugin was not loaded
 * (a config loaded without a registry) are skipped. */
int csg_model_adapters_check(const csg_config *cfg, const csg_core_api *api, csg_errlist *errs);

#endif /* CSG_MODEL_ADAPTER_H */
