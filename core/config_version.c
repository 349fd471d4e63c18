/*
 * config_version.c — config_version (DESIGN §3, §6): which experiment
 * definition served a request.
 *
 * The hash is FNV-1a 64 over a canonical text built from the parsed
 * configuration, not from the file: one line per item, in a fixed order, of
 * the application schema (schema.c), the experiment (id, salt, assignment,
 * reply), the champion and each challenger (name, adapter file name,
 * weight, timeout_ms, fallback_decision, guardrail and schedule when given,
 * and every option of the adapter's
 * table with its effective value, defaults included). So whitespace,
 * comments, key order, YAML quoting and spelling a default out do not
 * change it; gateway, transports, events and limits are not part of it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "jsonw.h"

#define CANON_MAX (256u << 10)

static void model(const csg_cfg_model *m, const char *role, csg_jsonw *w)
{
    csg_jsonw_printf(w, "%s name=%s adapter=%s weight=%.17g timeout_ms=%u\n", role,
                     m->name ? m->name : "", m->adapter_name ? m->adapter_name : "", m->weight,
                     m->timeout_ms);
    /* Only when not the default, so configs without them keep their version. */
    if (m->mode == CSG_MODE_LIVE)
        csg_jsonw_printf(w, " mode=live\n");
    if (m->has_ranges) {
        csg_jsonw_printf(w, " ranges=");
        for (unsigned i = 0; i < m->ranges.n; i++)
            csg_jsonw_printf(w, "[%.17g,%.17g]", m->ranges.r[i].lo, m->ranges.r[i].hi);
        csg_jsonw_printf(w, "\n");
    }
    /* Only when given, so configs without one keep their version. */
    const csg_guardrail_cfg *g = &m->guardrail;
    if (g->set)
        csg_jsonw_printf(w, " guardrail max_error_rate=%.17g max_p99_ms=%.17g window_s=%u "
                            "min_calls=%u cooldown_s=%u\n",
                         g->max_error_rate, g->max_p99_ms, g->window_s, g->min_calls,
                         g->cooldown_s);
    const csg_option *opts = m->plugin ? m->plugin->options : NULL;
    for (size_t i = 0; opts && opts[i].name && i < m->n_options; i++) {
        const csg_option_value *v = &m->options[i];
        switch (opts[i].type) {
        case CSG_OPT_STRING:
        case CSG_OPT_URL:
            csg_jsonw_printf(w, " option %s=%s\n", opts[i].name, v->str ? v->str : "");
            break;
        case CSG_OPT_INT:
            csg_jsonw_printf(w, " option %s=%" PRId64 "\n", opts[i].name, v->i);
            break;
        case CSG_OPT_DOUBLE:
            csg_jsonw_printf(w, " option %s=%.17g\n", opts[i].name, v->d);
            break;
        case CSG_OPT_BOOL:
            csg_jsonw_printf(w, " option %s=%s\n", opts[i].name, v->b ? "true" : "false");
            break;
        }
    }
}

void csg_config_version_compute(csg_config *c)
{
    char *buf = malloc(CANON_MAX);
    csg_jsonw w = {buf, buf ? CANON_MAX : 0, 0};
    if (c->schema)
        csg_schema_canonical(c->schema, &w);
    csg_jsonw_printf(&w, "experiment id=%s salt=%s assignment=%d reply=%d\n",
                     c->experiment_id ? c->experiment_id : "", c->salt ? c->salt : "",
                     (int)c->assignment, (int)c->reply);
    if (c->has_schedule)
        csg_jsonw_printf(&w, " schedule start=%" PRId64 " end=%" PRId64 "\n", c->schedule_start_ms,
                         c->schedule_end_ms);
    model(&c->champion, "champion", &w);
    const char *fd = csg_decision_name(c->champion.fallback_decision);
    csg_jsonw_printf(&w, " fallback_decision=%s\n", fd ? fd : "");
    for (size_t i = 0; i < c->n_challengers; i++)
        model(&c->challengers[i], "challenger", &w);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    size_t n = buf ? (w.pos < w.cap ? w.pos : w.cap) : 0; /* cap is 0 without buf */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    free(buf);
    snprintf(c->version, sizeof c->version, "%016" PRIx64, h);
}
