/*
 * reload_rules.h — what a SIGHUP reload may change (DESIGN §3).
 *
 * Sections only a restart applies (transports, gateway.workers, events,
 * limits) are logged as ignored; the reload goes on. A feature schema
 * change a running gateway cannot make safely (csg_schema_reload_compatible:
 * a feature removed or retyped, made required, a category value removed, a
 * required feature added) refuses the whole reload, naming the feature: the
 * serving configuration stays.
 */
#ifndef CSG_RELOAD_RULES_H
#define CSG_RELOAD_RULES_H

#include <stdbool.h>

#include "config.h"

/* started: the configuration the gateway started with; serving: the one in
 * use now; nw: the candidate. Logs every finding; false = refuse it. */
bool csg_reload_allowed(const csg_config *started, const csg_config *serving,
                        const csg_config *nw);

/* SIGHUP's first step (main thread): load path, with the plugins from the
 * gateway's registry reg (a plugin file already loaded is not opened again),
 * and check it against the running configurations. Returns the new configuration (the caller unrefs
 * it), or NULL after logging why it is refused (its errors, each with
 * file:line, or the schema change). */
csg_config *csg_reload_load(const char *path, csg_registry *reg, const csg_config *started,
                            const csg_config *serving);

/* The log line of an applied reload (tests and operators grep it). */
void csg_reload_log_applied(const csg_config *cfg, unsigned long long generation);

#endif /* CSG_RELOAD_RULES_H */
