/*
 * reload_rules.c — see reload_rules.h.
 */
#include "reload_rules.h"

#include <stdio.h>
#include <string.h>

#include "config_events.h"
#include "log.h"
#include "schema.h"

/* Sections a reload cannot change without a restart: say so, keep going. */
static void warn_restart_only(const csg_config *old, const csg_config *nw)
{
    bool transports = old->n_transports != nw->n_transports;
    for (size_t i = 0; !transports && i < old->n_transports; i++)
        transports = strcmp(old->transports[i].listen, nw->transports[i].listen) ||
                     strcmp(old->transports[i].plugin_path, nw->transports[i].plugin_path);
    if (transports)
        csg_log(CSG_LOG_WARN, "core", "reload: changes to \"transports\" need a restart; ignored");
    if (old->workers != nw->workers)
        csg_log(CSG_LOG_WARN, "core", "reload: \"gateway.workers\" changes need a restart; ignored");
    if (strcmp(old->sink, nw->sink) || strcmp(old->topic, nw->topic) ||
        strcmp(old->kafka_brokers, nw->kafka_brokers) || old->queue_capacity != nw->queue_capacity ||
        csg_config_events_differ(old, nw))
        csg_log(CSG_LOG_WARN, "core", "reload: changes to \"events\" need a restart; ignored");
    if (old->max_body_bytes != nw->max_body_bytes || old->max_line_bytes != nw->max_line_bytes ||
        old->max_connections != nw->max_connections || old->idle_timeout_ms != nw->idle_timeout_ms ||
        old->read_timeout_ms != nw->read_timeout_ms)
        csg_log(CSG_LOG_WARN, "core", "reload: changes to \"limits\" need a restart; ignored");
}

bool csg_reload_allowed(const csg_config *started, const csg_config *serving,
                        const csg_config *nw)
{
    char why[256];
    if (!csg_schema_reload_compatible(serving->schema, nw->schema, why, sizeof why)) {
        csg_log(CSG_LOG_ERROR, "core",
                "reload rejected: in \"application\" of %s, %s; restart to apply it; the "
                "previous configuration stays in use",
                nw->file, why);
        return false;
    }
    warn_restart_only(started, nw);
    return true;
}

csg_config *csg_reload_load(const char *path, csg_registry *reg, const csg_config *started,
                            const csg_config *serving)
{
    csg_errlist errs = {0};
    csg_config *cfg = NULL;
    csg_log(CSG_LOG_INFO, "core", "reloading %s", path);
    if (csg_config_load(path, reg, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            csg_log(CSG_LOG_ERROR, "config", "%s", errs.items[i]);
        csg_log(CSG_LOG_ERROR, "core",
                "reload rejected: %zu error(s) in %s; the previous configuration stays in use",
                errs.count, path);
        csg_errlist_free(&errs);
        return NULL;
    }
    csg_errlist_free(&errs);
    if (!csg_reload_allowed(started, serving, cfg)) {
        csg_config_unref(cfg);
        return NULL;
    }
    return cfg;
}

void csg_reload_log_applied(const csg_config *cfg, unsigned long long generation)
{
    char chal[512] = "";
    size_t pos = 0;
    for (size_t i = 0; i < cfg->n_challengers && pos < sizeof chal; i++)
        pos += (size_t)snprintf(chal + pos, sizeof chal - pos, "%s%s=%.4g", i ? ", " : "",
                                cfg->challengers[i].name, cfg->challengers[i].weight);
    csg_log(CSG_LOG_INFO, "core",
            "configuration reloaded (generation %llu): experiment %s, champion %s, "
            "challengers [%s], config_version %s",
            generation, cfg->experiment_id, cfg->champion.name, chal, cfg->version);
}
