/*
 * model_adapter.c — a configured model's adapter instance (model_adapter.h):
 * created here for the routing snapshot of every start and SIGHUP, and for
 * --check-config, with one error message for both.
 */
#include "model_adapter.h"

#include <event2/event.h>
#include <stdio.h>

int csg_model_adapter_create(const csg_config *cfg, const csg_cfg_model *m,
                             const csg_core_api *api, struct event_base *base, void **inst,
                             csg_error *err)
{
    csg_adapter_config ac = {
        .size = sizeof ac,
        .model_name = m->name,
        .timeout_ms = m->timeout_ms,
        .options = m->options,
        .config_file = cfg->file,
        .schema = cfg->schema,
    };
    csg_error e = {{0}};
    *inst = NULL;
    if (m->plugin->adapter->create(&ac, api, base, inst, &e) == 0 && *inst)
        return 0;
    *inst = NULL;
    if (err)
        snprintf(err->message, sizeof err->message,
                 "%.100s:%d: %s %.64s (%.100s): init failed: %.200s", cfg->file, m->line, m == &cfg->champion ? "champion" : "challenger", m->name,
                 m->adapter_path, e.message[0] ? e.message : "create() failed");
    return -CSG_EPLUGIN;
}

int csg_model_adapters_check(const csg_config *cfg, const csg_core_api *api, csg_errlist *errs)
{
    struct event_base *base = event_base_new();
    if (!base) {
        csg_errlist_add(errs, "%s: out of memory checking the model adapters", cfg->file);
        return -CSG_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i <= cfg->n_challengers; i++) {
        const csg_cfg_model *m = i == 0 ? &cfg->champion : &cfg->challengers[i - 1];
        if (!m->plugin)
            continue;
        void *inst;
        csg_error e;
        if (csg_model_adapter_create(cfg, m, api, base, &inst, &e) != 0) {
            csg_errlist_add(errs, "%s", e.message);
            rc = -CSG_EPLUGIN;
            continue;
        }
        m->plugin->adapter->destroy(inst); /* never used: safe on this thread */
    }
    event_base_free(base);
    return rc;
}
