/*
 * config.c — experiments.yaml: libyaml document → validated csg_config
 * (text → document, one document and bounded depth: config_yaml.c).
 *
 * Every section is walked with the same few helpers; each check that fails
 * adds "<file>:<line>: <message>" to the error list and validation goes on,
 * so one run of --check-config shows every problem.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config_walk.h"
#include "options.h"
#include "config_yaml.h"
#include "schema_config.h"

#define CSG_CONFIG_MAX_BYTES (1u << 20)

static bool g_load_plugins = true;

void csg_config_set_plugin_loading(bool enabled)
{
    g_load_plugins = enabled;
}

/* ------------------------------------------------------------------------ */
/* Error list                                                                */

void csg_errlist_add(csg_errlist *el, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (el->count == el->cap) {
        size_t ncap = el->cap ? el->cap * 2 : 8;
        char **n = realloc(el->items, ncap * sizeof *n);
        if (!n)
            return;
        el->items = n;
        el->cap = ncap;
    }
    char *s = strdup(buf);
    if (s)
        el->items[el->count++] = s;
}

void csg_errlist_free(csg_errlist *el)
{
    for (size_t i = 0; i < el->count; i++)
        free(el->items[i]);
    free(el->items);
    memset(el, 0, sizeof *el);
}

/* ------------------------------------------------------------------------ */
/* Values checked by the core                                                */

/* host:port with a numeric IPv4 host or [IPv6]; the lock file and bind use it as is. */
static bool valid_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        return false;
    memcpy(host, s, hl);
    host[hl] = '\0';
    int64_t port;
    if (!csg_parse_int_text(colon + 1, &port) || port < 1 || port > 65535 || colon[1] == '+' ||
        colon[1] == '-')
        return false;
    unsigned char buf[16];
    if (host[0] == '[') {
        if (hl < 3 || host[hl - 1] != ']')
            return false;
        host[hl - 1] = '\0';
        return inet_pton(AF_INET6, host + 1, buf) == 1;
    }
    return inet_pton(AF_INET, host, buf) == 1;
}

static char *join_path(const char *dir, const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Plugin option blocks                                                      */

/* Validate the keys of a plugin block that the core does not own against
 * the plugin's option table; fill *values (one per row). */
static void plugin_options(vctx *x, yaml_node_t *block, const csg_plugin *pl, const char *what,
                           keyspec *core_keys, yaml_node_pair_t **extra, size_t n_extra,
                           csg_option_value **values_out, size_t *n_out)
{
    const csg_option *opts = pl->options;
    size_t n = csg_options_count(opts);
    csg_option_value *values = calloc(n ? n : 1, sizeof *values);
    /* Options given in the block, valid or not: a bad value already has
     * its own error, so "is required" would only be noise. */
    bool *given = calloc(n ? n : 1, sizeof *given);
    if (!values || !given) {
        free(values);
        free(given);
        return;
    }
    *values_out = values;
    *n_out = n;

    for (size_t e = 0; e < n_extra; e++) {
        yaml_node_t *k = cw_node(x, extra[e]->key), *v = cw_node(x, extra[e]->value);
        size_t i = 0;
        for (; i < n; i++)
            if (!strcmp(opts[i].name, cw_sval(k)))
                break;
        if (i == n) {
            char allowed[400];
            size_t pos = 0;
            allowed[0] = '\0';
            for (keyspec *t = core_keys; t->name && pos < sizeof allowed; t++)
                pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s",
                                        pos ? ", " : "", t->name);
            for (size_t j = 0; j < n && pos < sizeof allowed; j++)
                pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s",
                                        pos ? ", " : "", opts[j].name);
            cw_err_at(x, k, "unknown key \"%s\" for %s %s (allowed: %s)", cw_sval(k), what,
                   pl->header->name ? pl->header->name : pl->path, allowed);
            continue;
        }
        const csg_option *o = &opts[i];
        given[i] = true;
        bool plain = cw_is_scalar(v) && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        const char *why = NULL;
        if (!cw_is_scalar(v) || cw_is_null(v)) {
            cw_err_at(x, v, "\"%s\" must be %s, not %s", o->name,
                   o->type == CSG_OPT_INT      ? "an integer"
                   : o->type == CSG_OPT_DOUBLE ? "a number"
                   : o->type == CSG_OPT_BOOL   ? "true or false"
                   : o->type == CSG_OPT_URL    ? "a URL"
                                               : "a string",
                   cw_type_name(v));
            continue;
        }
        if ((o->type == CSG_OPT_INT || o->type == CSG_OPT_DOUBLE || o->type == CSG_OPT_BOOL) &&
            !plain) {
            cw_err_at(x, v, "\"%s\" must be %s, not a quoted string", o->name,
                   o->type == CSG_OPT_INT      ? "an integer"
                   : o->type == CSG_OPT_DOUBLE ? "a number"
                                               : "true or false");
            continue;
        }
        if (!csg_option_parse_text(o, cw_sval(v), &values[i], &why)) {
            if (why && !strcmp(why, "range")) {
                char r[80];
                cw_fmt_range(r, sizeof r, o->min, o->max);
                cw_err_at(x, v, "\"%s\" must be within %s", o->name, r);
            } else if (o->type == CSG_OPT_URL) {
                cw_err_at(x, v, "\"%s\" %s: \"%s\" (expected http://host:port/path)", o->name,
                       why ? why : "is invalid", cw_sval(v));
            } else {
                cw_err_at(x, v, "\"%s\" %s", o->name, why ? why : "is invalid");
            }
            continue;
        }
        values[i].is_set = true;
    }
    for (size_t i = 0; i < n; i++) {
        if (values[i].is_set || given[i])
            continue;
        if (opts[i].required) {
            cw_err_at(x, block, "\"%s\" is required for %s %s", opts[i].name, what,
                   pl->header->name ? pl->header->name : pl->path);
            continue;
        }
        if (opts[i].default_value) {
            const char *why = NULL;
            if (!csg_option_parse_text(&opts[i], opts[i].default_value, &values[i], &why))
                cw_err_at(x, block, "%s: the default of \"%s\" (\"%s\") is invalid (plugin bug)",
                       pl->path, opts[i].name, opts[i].default_value);
        }
    }
    free(given);
}

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */

static void sec_gateway(vctx *x, yaml_node_t *n)
{
    csg_config *c = x->c;
    keyspec ks[] = {{.name = "workers"}, {.name = "plugin_dir"}, {.name = "drain_timeout_ms"}, {.name = "lock_dir"}, {.name = NULL}};
    if (!n)
        return;
    if (!cw_want_mapping(x, n, "\"gateway\""))
        return;
    cw_collect(x, n, "gateway", ks, NULL, NULL, 0);
    int64_t v;
    if (cw_get_int(x, cw_spec(ks, "workers"), 1, 256, &v))
        c->workers = (unsigned)v;
    cw_get_str(x, cw_spec(ks, "plugin_dir"), 1, 4000, &c->plugin_dir);
    if (cw_get_int(x, cw_spec(ks, "drain_timeout_ms"), 0, 600000, &v))
        c->drain_timeout_ms = (unsigned)v;
    cw_get_str(x, cw_spec(ks, "lock_dir"), 1, 4000, &c->lock_dir);
}

static void sec_transports(vctx *x, yaml_node_t *n, yaml_node_t *root)
{
    csg_config *c = x->c;
    if (!n) {
        cw_err_at(x, root, "\"transports\" is required (at least one transport)");
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        cw_err_at(x, n, "\"transports\" must be a list, not %s", cw_type_name(n));
        return;
    }
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        cw_err_at(x, n, "\"transports\" must list at least one transport");
    if (count > CSG_MAX_TRANSPORTS) {
        cw_err_at(x, n, "at most %d transports are supported", CSG_MAX_TRANSPORTS);
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *t = cw_node(x, *it);
        if (!cw_want_mapping(x, t, "a transport"))
            continue;
        keyspec ks[] = {{.name = "plugin"}, {.name = "listen"}, {.name = NULL}};
        yaml_node_pair_t *extra[64];
        size_t n_extra;
        cw_collect(x, t, "a transport", ks, extra, &n_extra, 64);
        csg_cfg_transport *tr = &c->transports[c->n_transports++];
        tr->line = cw_line_of(t);
        cw_require(x, cw_spec(ks, "plugin"), t, "a transport");
        cw_require(x, cw_spec(ks, "listen"), t, "a transport");
        if (cw_get_str(x, cw_spec(ks, "listen"), 1, 200, &tr->listen)) {
            if (!valid_listen(tr->listen)) {
                cw_err_at(x, cw_spec(ks, "listen")->value,
                       "\"listen\" must be IPv4:port or [IPv6]:port with a numeric address and a "
                       "port in 1-65535, got \"%s\"",
                       tr->listen);
            } else {
                for (size_t j = 0; j + 1 < c->n_transports; j++)
                    if (c->transports[j].listen && !strcmp(c->transports[j].listen, tr->listen))
                        cw_err_at(x, cw_spec(ks, "listen")->value,
                               "listen address %s is already used by the transport at line %d",
                               tr->listen, c->transports[j].line);
            }
        }
        if (!cw_get_str(x, cw_spec(ks, "plugin"), 1, 4000, &tr->plugin_name))
            continue;
        tr->plugin_path = join_path(c->plugin_dir, tr->plugin_name);
        if (!g_load_plugins)
            continue;
        csg_error e;
        if (!tr->plugin_path ||
            csg_plugin_load(tr->plugin_path, CSG_PLUGIN_TRANSPORT, &tr->plugin, &e) != 0) {
            cw_err_at(x, cw_spec(ks, "plugin")->value, "%s", e.message);
            continue;
        }
        plugin_options(x, t, tr->plugin, "transport", ks, extra, n_extra, &tr->options,
                       &tr->n_options);
    }
}

static void sec_experiment(vctx *x, yaml_node_t *n, yaml_node_t *root)
{
    csg_config *c = x->c;
    if (!n) {
        cw_err_at(x, root, "\"experiment\" is required");
        return;
    }
    if (!cw_want_mapping(x, n, "\"experiment\""))
        return;
    keyspec ks[] = {{.name = "id"}, {.name = "salt"}, {.name = "assignment"}, {.name = "reply"}, {.name = NULL}};
    cw_collect(x, n, "experiment", ks, NULL, NULL, 0);
    if (cw_require(x, cw_spec(ks, "id"), n, "experiment"))
        cw_get_name(x, cw_spec(ks, "id"), CSG_EXPERIMENT_ID_MAX, &c->experiment_id);
    cw_get_str(x, cw_spec(ks, "salt"), 0, 256, &c->salt);
    static const char *const assign[] = {"hash", "random", NULL};
    static const char *const reply[] = {"after_champion", "after_all", NULL};
    c->assignment = (csg_assignment)cw_get_enum(x, cw_spec(ks, "assignment"), assign, 0);
    c->reply = (csg_reply_mode)cw_get_enum(x, cw_spec(ks, "reply"), reply, 0);
}

/* One model block (champion or challenger). */
static void model_block(vctx *x, yaml_node_t *n, csg_cfg_model *m, bool champion)
{
    csg_config *c = x->c;
    const char *where = champion ? "champion" : "a challenger";
    keyspec ks_champ[] = {{.name = "name"}, {.name = "adapter"}, {.name = "timeout_ms"}, {.name = "fallback_decision"}, {.name = NULL}};
    keyspec ks_chal[] = {{.name = "name"}, {.name = "adapter"}, {.name = "weight"}, {.name = "timeout_ms"}, {.name = NULL}};
    keyspec *ks = champion ? ks_champ : ks_chal;
    yaml_node_pair_t *extra[64];
    size_t n_extra;
    m->line = cw_line_of(n);
    m->timeout_ms = 1000;
    cw_collect(x, n, where, ks, extra, &n_extra, 64);

    if (cw_require(x, cw_spec(ks, "name"), n, where))
        cw_get_name(x, cw_spec(ks, "name"), CSG_MODEL_NAME_MAX, &m->name);
    int64_t v;
    if (cw_get_int(x, cw_spec(ks, "timeout_ms"), 1, 600000, &v))
        m->timeout_ms = (unsigned)v;
    if (champion) {
        keyspec *fd = cw_spec(ks, "fallback_decision");
        static const char *const decisions[] = {"approve", "decline", "review", NULL};
        if (fd->value)
            c->fallback_decision = (csg_decision)(cw_get_enum(x, fd, decisions, -1) + 1);
    } else if (cw_require(x, cw_spec(ks, "weight"), n, where)) {
        cw_get_double(x, cw_spec(ks, "weight"), 0, 1, &m->weight);
    }
    /* Say why rather than "unknown key" for the likely mix-ups. */
    size_t kept = 0;
    for (size_t e = 0; e < n_extra; e++) {
        yaml_node_t *k = cw_node(x, extra[e]->key);
        if (champion && !strcmp(cw_sval(k), "weight")) {
            cw_err_at(x, k, "\"weight\" is not allowed for the champion (it scores every request)");
            continue;
        }
        if (!champion && !strcmp(cw_sval(k), "fallback_decision")) {
            cw_err_at(x, k, "\"fallback_decision\" is only allowed for the champion");
            continue;
        }
        extra[kept++] = extra[e];
    }
    if (!cw_require(x, cw_spec(ks, "adapter"), n, where))
        return;
    if (!cw_get_str(x, cw_spec(ks, "adapter"), 1, 4000, &m->adapter_name))
        return;
    m->adapter_path = join_path(c->plugin_dir, m->adapter_name);
    if (!g_load_plugins)
        return;
    csg_error e;
    if (!m->adapter_path ||
        csg_plugin_load(m->adapter_path, CSG_PLUGIN_MODEL_ADAPTER, &m->plugin, &e) != 0) {
        cw_err_at(x, cw_spec(ks, "adapter")->value, "%s", e.message);
        return;
    }
    plugin_options(x, n, m->plugin, "adapter", ks, extra, kept, &m->options, &m->n_options);
    /* The features the adapter reads must exist in the schema. */
    const char *const *need = m->plugin->adapter->required_features;
    for (size_t i = 0; need && need[i] && x->c->schema; i++)
        if (csg_schema_find(x->c->schema, need[i], strlen(need[i])) < 0)
            cw_err_at(x, cw_spec(ks, "adapter")->value,
                      "%s needs feature \"%s\", which the application schema does not define",
                      m->plugin->header->name ? m->plugin->header->name : m->adapter_name,
                      need[i]);
}

static void sec_champion(vctx *x, yaml_node_t *n, yaml_node_t *root)
{
    if (!n) {
        cw_err_at(x, root, "\"champion\" is required");
        return;
    }
    if (!cw_want_mapping(x, n, "\"champion\""))
        return;
    model_block(x, n, &x->c->champion, true);
}

static void sec_challengers(vctx *x, yaml_node_t *n)
{
    csg_config *c = x->c;
    if (!n || cw_is_null(n))
        return;
    if (n->type != YAML_SEQUENCE_NODE) {
        cw_err_at(x, n, "\"challengers\" must be a list, not %s", cw_type_name(n));
        return;
    }
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > CSG_MAX_CHALLENGERS) {
        cw_err_at(x, n, "at most %d challengers are supported", CSG_MAX_CHALLENGERS);
        return;
    }
    double sum = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *m = cw_node(x, *it);
        if (!cw_want_mapping(x, m, "a challenger"))
            continue;
        csg_cfg_model *cm = &c->challengers[c->n_challengers++];
        model_block(x, m, cm, false);
        sum += cm->weight;
    }
    /* A little slack so 0.1 + 0.2 + 0.7 is accepted. */
    if (sum > 1.0 + 1e-9)
        cw_err_at(x, n, "challenger weights sum to %.15g, must be at most 1", sum);
    /* Names are the key of every metric and event: they must be unique. */
    for (size_t i = 0; i < c->n_challengers; i++) {
        const csg_cfg_model *a = &c->challengers[i];
        if (!a->name)
            continue;
        if (c->champion.name && !strcmp(a->name, c->champion.name)) {
            csg_errlist_add(x->errs, "%s:%d: duplicate model name \"%s\" (also the champion at line %d)",
                            x->file, a->line, a->name, c->champion.line);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (c->challengers[j].name && !strcmp(a->name, c->challengers[j].name)) {
                csg_errlist_add(x->errs, "%s:%d: duplicate model name \"%s\" (first at line %d)",
                                x->file, a->line, a->name, c->challengers[j].line);
                break;
            }
    }
}

static void sec_events(vctx *x, yaml_node_t *n)
{
    csg_config *c = x->c;
    if (!n)
        return;
    if (!cw_want_mapping(x, n, "\"events\""))
        return;
    keyspec ks[] = {{.name = "sink"},           {.name = "kafka_brokers"},   {.name = "topic"}, {.name = "queue_capacity"},
                    {.name = "spool_dir"},      {.name = "spool_max_bytes"}, {.name = NULL}};
    cw_collect(x, n, "events", ks, NULL, NULL, 0);
    if (cw_get_str(x, cw_spec(ks, "sink"), 1, 4000, &c->sink)) {
        if (strcmp(c->sink, "kafka") != 0 && !(strncmp(c->sink, "file:", 5) == 0 && c->sink[5]))
            cw_err_at(x, cw_spec(ks, "sink")->value, "\"sink\" must be kafka or file:PATH, got \"%s\"",
                   c->sink);
    }
    cw_get_str(x, cw_spec(ks, "kafka_brokers"), 1, 1000, &c->kafka_brokers);
    cw_get_str(x, cw_spec(ks, "topic"), 1, 249, &c->topic);
    int64_t v;
    if (cw_get_int(x, cw_spec(ks, "queue_capacity"), 16, 1 << 24, &v))
        c->queue_capacity = (uint64_t)v;
    cw_get_str(x, cw_spec(ks, "spool_dir"), 1, 4000, &c->spool_dir);
    if (cw_get_int(x, cw_spec(ks, "spool_max_bytes"), 0, (int64_t)1 << 50, &v))
        c->spool_max_bytes = (uint64_t)v;
}

static void sec_limits(vctx *x, yaml_node_t *n)
{
    csg_config *c = x->c;
    if (!n)
        return;
    if (!cw_want_mapping(x, n, "\"limits\""))
        return;
    keyspec ks[] = {{.name = "max_body_bytes"}, {.name = "max_line_bytes"}, {.name = "max_connections"},
                    {.name = "idle_timeout_ms"}, {.name = "read_timeout_ms"}, {.name = NULL}};
    cw_collect(x, n, "limits", ks, NULL, NULL, 0);
    int64_t v;
    if (cw_get_int(x, cw_spec(ks, "max_body_bytes"), 64, 64 << 20, &v))
        c->max_body_bytes = (uint64_t)v;
    if (cw_get_int(x, cw_spec(ks, "max_line_bytes"), 64, 64 << 20, &v))
        c->max_line_bytes = (uint64_t)v;
    if (cw_get_int(x, cw_spec(ks, "max_connections"), 1, 1000000, &v))
        c->max_connections = (uint64_t)v;
    if (cw_get_int(x, cw_spec(ks, "idle_timeout_ms"), 100, 86400000, &v))
        c->idle_timeout_ms = (uint64_t)v;
    /* A request (HTTP head + body, TCP line) must be complete this long after
     * its first byte (slowloris). No "0 = off": a gateway without it keeps a
     * trickling client for as long as the client likes. */
    if (cw_get_int(x, cw_spec(ks, "read_timeout_ms"), 100, 3600000, &v))
        c->read_timeout_ms = (uint64_t)v;
}

/* ------------------------------------------------------------------------ */

static csg_config *config_new(const char *file)
{
    csg_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c->file = strdup(file);
    c->workers = ncpu > 0 ? (unsigned)(ncpu > 256 ? 256 : ncpu) : 1;
    c->plugin_dir = strdup("build/lib/csg");
    c->drain_timeout_ms = 10000;
    c->lock_dir = strdup("/tmp");
    c->salt = strdup("");
    c->sink = strdup("kafka");
    c->kafka_brokers = strdup("127.0.0.1:9092");
    c->topic = strdup("credit_score_metrics");
    c->queue_capacity = 65536;
    c->spool_dir = strdup("var/spool");
    c->spool_max_bytes = 1ull << 30;
    c->max_body_bytes = 65536;
    c->max_line_bytes = 16384;
    c->max_connections = 20000;
    c->idle_timeout_ms = 60000;
    c->read_timeout_ms = 10000;
    if (!c->file || !c->plugin_dir || !c->lock_dir || !c->salt || !c->sink || !c->kafka_brokers ||
        !c->topic || !c->spool_dir) {
        csg_config_unref(c);
        return NULL;
    }
    return c;
}

static void free_model(csg_cfg_model *m)
{
    free(m->name);
    free(m->adapter_name);
    free(m->adapter_path);
    csg_options_free(m->options, m->n_options);
    csg_plugin_unload(m->plugin);
}

static void config_free(csg_config *c)
{
    for (size_t i = 0; i < c->n_transports; i++) {
        csg_cfg_transport *t = &c->transports[i];
        free(t->plugin_name);
        free(t->plugin_path);
        free(t->listen);
        csg_options_free(t->options, t->n_options);
        csg_plugin_unload(t->plugin);
    }
    csg_schema_unref(c->schema);
    free_model(&c->champion);
    for (size_t i = 0; i < c->n_challengers; i++)
        free_model(&c->challengers[i]);
    free(c->file);
    free(c->plugin_dir);
    free(c->lock_dir);
    free(c->experiment_id);
    free(c->salt);
    free(c->sink);
    free(c->kafka_brokers);
    free(c->topic);
    free(c->spool_dir);
    free(c);
}

csg_config *csg_config_ref(csg_config *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void csg_config_unref(csg_config *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        config_free(c);
}

int csg_config_load_string(const char *file, const char *text, size_t len, csg_config **out,
                           csg_errlist *errs)
{
    *out = NULL;
    size_t errs_before = errs->count;
    csg_config *c = config_new(file);
    if (!c) {
        csg_errlist_add(errs, "%s: out of memory", file);
        return -CSG_ENOMEM;
    }
    yaml_document_t doc;
    bool have_doc = csg_config_yaml_read(file, text, len, &doc, errs);
    if (!have_doc)
        goto done;
    vctx x = {.file = file, .doc = &doc, .errs = errs, .c = c};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        csg_errlist_add(errs, "%s:1: the file is empty", file);
        goto done;
    }
    if (!cw_want_mapping(&x, root, "the top level"))
        goto done;
    keyspec ks[] = {{.name = "gateway"}, {.name = "transports"}, {.name = "application"},
                    {.name = "experiment"}, {.name = "champion"}, {.name = "challengers"},
                    {.name = "events"}, {.name = "limits"}, {.name = NULL}};
    cw_collect(&x, root, "the top level", ks, NULL, NULL, 0);
    sec_gateway(&x, cw_spec(ks, "gateway")->value);
    sec_transports(&x, cw_spec(ks, "transports")->value, root);
    /* Before the models: their adapters' required_features are checked against it. */
    c->schema = csg_schema_from_yaml(&x, cw_spec(ks, "application")->value);
    sec_experiment(&x, cw_spec(ks, "experiment")->value, root);
    sec_champion(&x, cw_spec(ks, "champion")->value, root);
    sec_challengers(&x, cw_spec(ks, "challengers")->value);
    sec_events(&x, cw_spec(ks, "events")->value);
    sec_limits(&x, cw_spec(ks, "limits")->value);
done:
    if (have_doc)
        yaml_document_delete(&doc);
    if (errs->count == errs_before && !c->schema)
        csg_errlist_add(errs, "%s: out of memory", file);
    if (errs->count != errs_before) {
        csg_config_unref(c);
        return -CSG_EINVAL;
    }
    csg_config_version_compute(c);
    *out = c;
    return 0;
}

int csg_config_load(const char *path, csg_config **out, csg_errlist *errs)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        csg_errlist_add(errs, "%s: cannot read the configuration: %s", path, strerror(errno));
        return -CSG_EIO;
    }
    char *buf = malloc(CSG_CONFIG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        csg_errlist_add(errs, "%s: out of memory", path);
        return -CSG_ENOMEM;
    }
    size_t n = fread(buf, 1, CSG_CONFIG_MAX_BYTES + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || n > CSG_CONFIG_MAX_BYTES) {
        csg_errlist_add(errs, "%s: %s", path,
                        bad ? "read error" : "the configuration is larger than 1 MiB");
        free(buf);
        return -CSG_EINVAL;
    }
    buf[n] = '\0';
    int rc = csg_config_load_string(path, buf, n, out, errs);
    free(buf);
    return rc;
}

const char *csg_decision_name(csg_decision d)
{
    switch (d) {
    case CSG_DECISION_APPROVE:
        return "approve";
    case CSG_DECISION_DECLINE:
        return "decline";
    case CSG_DECISION_REVIEW:
        return "review";
    default:
        return NULL;
    }
}
