/*
 * reload_rules.c — see reload_rules.h.
 */
#include "reload_rules.h"

#include <string.h>

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
        strcmp(old->kafka_brokers, nw->kafka_brokers) || old->queue_capacity != nw->queue_capacity)
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
