/*
 * config.c — experiments.yaml: libyaml document → validated csg_config
 * (text → document, one document and bounded depth: config_yaml.c).
 *
 * The core's own keys are option tables (cw_option rows: type, name,
 * default, required, bounds, target field, description), read by the same
 * code as a plugin's table (config_walk.c's cw_read); their defaults live
 * only in those rows. What is not flat keys — the lists of transports and
 * challengers, the `application:` schema (schema_config.c), cross-checks
 * such as weight sums and unique names — keeps its own code here. Each
 * check that fails adds "<file>:<line>: <message>" to the error list and
 * validation goes on, so one run of --check-config shows every problem.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config_assign.h"
#include "config_guard.h"
#include "config_walk.h"
#include "options.h"
#include "config_yaml.h"
#include "schema_config.h"

#define CSG_CONFIG_MAX_BYTES (1u << 20)

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
/* Checks of the core's own string keys (cw_option.check)                    */

/* host:port with a numeric IPv4 host or [IPv6]; the lock file and bind use it as is. */
static const char *check_listen(const char *s, char *buf, size_t cap)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    size_t hl = colon ? (size_t)(colon - s) : 0;
    int64_t port;
    unsigned char addr[16];
    bool ok = colon && hl > 0 && hl < sizeof host && csg_parse_int_text(colon + 1, &port) &&
              port >= 1 && port <= 65535 && colon[1] != '+' && colon[1] != '-';
    if (ok) {
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (host[0] == '[') {
            ok = hl >= 3 && host[hl - 1] == ']';
            host[hl - 1] = '\0';
            ok = ok && inet_pton(AF_INET6, host + 1, addr) == 1;
        } else {
            ok = inet_pton(AF_INET, host, addr) == 1;
        }
    }
    if (ok)
        return NULL;
    snprintf(buf, cap,
             "must be IPv4:port or [IPv6]:port with a numeric address and a port in 1-65535, "
             "got \"%s\"",
             s);
    return buf;
}

static const char *check_sink(const char *s, char *buf, size_t cap)
{
    if (!strcmp(s, "kafka") || (!strncmp(s, "file:", 5) && s[5]))
        return NULL;
    snprintf(buf, cap, "must be kafka or file:PATH, got \"%s\"", s);
    return buf;
}

/* A name that goes into JSON events and metric labels: printable ASCII. */
static const char *check_name(const char *s, char *buf, size_t cap)
{
    (void)buf, (void)cap;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
            return "must be printable ASCII without spaces, quotes or backslashes";
    return NULL;
}

static const char *cpu_count(char *buf, size_t cap)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(buf, cap, "%ld", n < 1 ? 1 : n > 256 ? 256 : n);
    return buf;
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
/* The core's option tables (DESIGN §3): every key, its default and bounds   */

static const char *const assignments[] = {"hash", "random", "all", NULL};
static const char *const chal_modes[] = {"shadow", "live", NULL};
static const char *const reply_modes[] = {"after_champion", "after_all", NULL};
static const char *const decisions[] = {CSG_DECISION_NAME_LIST, NULL}; /* lib/csg_vocab.h */
#define END {.opt = {.name = NULL}}

static const cw_option gateway_rows[] = {
    {CW_ROW(CSG_OPT_INT, "workers", NULL, false, 1, 256, csg_config, workers,
            "worker threads (default: the CPU count, at most 256)"),
     .dynamic_default = cpu_count},
    {CW_STR("plugin_dir", "build/lib/csg", false, 1, 4000, csg_config, plugin_dir,
            "where plugins named without a / are loaded from")},
    {CW_ROW(CSG_OPT_INT, "drain_timeout_ms", "10000", false, 0, 600000, csg_config,
            drain_timeout_ms, "how long a stop or reload waits for requests in flight")},
    {CW_STR("lock_dir", "/tmp", false, 1, 4000, csg_config, lock_dir,
            "where the lock file per listen address lives")},
    END,
};

static const cw_option experiment_rows[] = {
    {CW_STR("id", NULL, true, 1, CSG_EXPERIMENT_ID_MAX, csg_config, experiment_id,
            "the experiment's id in every event"),
     .check = check_name},
    {CW_STR("salt", "", false, 0, 256, csg_config, salt, "mixed into the assignment hash")},
    {CW_ENUM("assignment", "hash", assignments, CSG_ASSIGN_HASH, csg_config, assignment,
             "hash (sticky per applicant) | random | all (every challenger, in shadow)")},
    {CW_ENUM("reply", "after_champion", reply_modes, CSG_REPLY_AFTER_CHAMPION, csg_config, reply,
             "reply when the champion answers, or after the challenger too")},
    END,
};

static const cw_option events_rows[] = {
    {CW_STR("sink", "kafka", false, 1, 4000, csg_config, sink, "kafka | file:PATH (NDJSON)"),
     .check = check_sink},
    {CW_STR("kafka_brokers", "127.0.0.1:9092", false, 1, 1000, csg_config, kafka_brokers,
            "librdkafka bootstrap.servers")},
    {CW_STR("topic", "credit_score_metrics", false, 1, 249, csg_config, topic,
            "the MetricEvent topic")},
    {CW_ROW(CSG_OPT_INT, "queue_capacity", "65536", false, 16, 1 << 24, csg_config,
            queue_capacity, "events queued before they spool")},
    {CW_STR("spool_dir", "var/spool", false, 1, 4000, csg_config, spool_dir,
            "where events wait while Kafka is away")},
    {CW_ROW(CSG_OPT_INT, "spool_max_bytes", "1073741824", false, 0, (double)((int64_t)1 << 50),
            csg_config, spool_max_bytes, "the spool's size bound")},
    END,
};

static const cw_option limits_rows[] = {
    {CW_ROW(CSG_OPT_INT, "max_body_bytes", "65536", false, 64, 64 << 20, csg_config,
            max_body_bytes, "HTTP body and gRPC message")},
    {CW_ROW(CSG_OPT_INT, "max_line_bytes", "16384", false, 64, 64 << 20, csg_config,
            max_line_bytes, "TCP line")},
    {CW_ROW(CSG_OPT_INT, "max_connections", "20000", false, 1, 1000000, csg_config,
            max_connections, "per transport")},
    {CW_ROW(CSG_OPT_INT, "idle_timeout_ms", "60000", false, 100, 86400000, csg_config,
            idle_timeout_ms, "an idle connection is closed after this")},
    /* No "0 = off": a gateway without it keeps a trickling client (slowloris)
     * for as long as the client likes. */
    {CW_ROW(CSG_OPT_INT, "read_timeout_ms", "10000", false, 100, 3600000, csg_config,
            read_timeout_ms, "a request must be complete this long after its first byte")},
    END,
};

static const cw_option transport_rows[] = {
    {CW_STR("plugin", NULL, true, 1, 4000, csg_cfg_transport, plugin_name,
            "the transport plugin, e.g. http.so")},
    {CW_STR("listen", NULL, true, 1, 200, csg_cfg_transport, listen, "IPv4:port or [IPv6]:port"),
     .check = check_listen},
    END,
};

#define MODEL_NAME                                                                                 \
    {CW_STR("name", NULL, true, 1, CSG_MODEL_NAME_MAX, csg_cfg_model, name,                        \
            "the model's name in events and metrics"),                                             \
     .check = check_name}
#define MODEL_ADAPTER                                                                              \
    {CW_STR("adapter", NULL, true, 1, 4000, csg_cfg_model, adapter_name,                           \
            "the model adapter plugin, e.g. rest.so")}
#define MODEL_TIMEOUT                                                                              \
    {CW_ROW(CSG_OPT_INT, "timeout_ms", "1000", false, 1, 600000, csg_cfg_model, timeout_ms,        \
            "a call not answered by then times out")}

static const cw_option champion_rows[] = {
    MODEL_NAME, MODEL_ADAPTER, MODEL_TIMEOUT,
    {CW_ENUM("fallback_decision", NULL, decisions, CSG_DECISION_APPROVE, csg_cfg_model,
             fallback_decision, "reply with this decision when the champion fails")},
    END,
};

static const cw_option challenger_rows[] = {
    MODEL_NAME, MODEL_ADAPTER,
    {CW_ROW(CSG_OPT_DOUBLE, "weight", NULL, true, 0, 1, csg_cfg_model, weight,
            "its share of requests")},
    {CW_ENUM("mode", "shadow", chal_modes, CSG_MODE_SHADOW, csg_cfg_model, mode,
             "shadow | live (its decision is returned for its share)")},
    MODEL_TIMEOUT, END,
};

/* Read block n (NULL: absent, every row takes its default) of the core's
 * own keys into obj. Keys no row names stay in k for the plugin's table
 * when k is given; else they are reported as unknown. */
static void core_block(vctx *x, yaml_node_t *n, const char *where, const cw_option *rows,
                       void *obj, cw_keys *k)
{
    cw_keys own, *keys = k ? k : &own;
    char in[64];
    size_t nr = cw_rows_count(rows);
    cw_keys_of(x, n, where, keys);
    csg_option_value *values = calloc(nr, sizeof *values);
    if (!values) {
        cw_err_at(x, n, "out of memory");
        return;
    }
    snprintf(in, sizeof in, "in %s", where);
    cw_read(x, keys, rows, in, values, NULL, !k);
    cw_apply(rows, values, obj);
    csg_options_free(values, nr);
}

/* The keys in k left by core_block against the plugin's option table;
 * fills *values_out (one per row). */
static void plugin_options(vctx *x, cw_keys *k, const csg_plugin *pl, const char *what,
                           const cw_option *core_rows, csg_option_value **values_out,
                           size_t *n_out)
{
    size_t n = csg_options_count(pl->options);
    cw_option *rows = calloc(n + 1, sizeof *rows);
    csg_option_value *values = calloc(n ? n : 1, sizeof *values);
    if (!rows || !values) {
        free(rows);
        free(values);
        return;
    }
    for (size_t i = 0; i < n; i++)
        rows[i].opt = pl->options[i];
    char where[300];
    snprintf(where, sizeof where, "for %s %s", what,
             pl->header->name ? pl->header->name : pl->path);
    cw_read(x, k, rows, where, values, core_rows, true);
    free(rows);
    *values_out = values;
    *n_out = n;
}

/* Resolve name against gateway.plugin_dir into *path and get it from the
 * registry (loaded there once per distinct file); false if the config has
 * no registry (plugins not loaded: fuzzing) or it fails (reported at `at`). */
static bool block_plugin(vctx *x, yaml_node_t *at, const char *name, csg_plugin_kind kind,
                         char **path, const csg_plugin **pl)
{
    *path = join_path(x->c->plugin_dir, name);
    if (!x->c->registry)
        return false;
    csg_error e;
    if (!*path || csg_registry_get(x->c->registry, *path, kind, pl, &e) != 0) {
        cw_err_at(x, at, "%s", *path ? e.message : "out of memory");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Sections that are lists or more than keys                                 */

/* The value node of key name in a block already read (for messages). */
static yaml_node_t *value_of(vctx *x, yaml_node_t *n, const char *name)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (cw_is_scalar(cw_node(x, p->key)) && !strcmp(cw_sval(cw_node(x, p->key)), name))
            return cw_node(x, p->value);
    return n;
}

static void sec_transports(vctx *x, yaml_node_t *n)
{
    csg_config *c = x->c;
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
        cw_keys k;
        csg_cfg_transport *tr = &c->transports[c->n_transports++];
        tr->line = cw_line_of(t);
        core_block(x, t, "a transport", transport_rows, tr, &k);
        for (size_t j = 0; tr->listen && j + 1 < c->n_transports; j++)
            if (c->transports[j].listen && !strcmp(c->transports[j].listen, tr->listen))
                cw_err_at(x, value_of(x, t, "listen"),
                          "listen address %s is already used by the transport at line %d",
                          tr->listen, c->transports[j].line);
        if (tr->plugin_name && block_plugin(x, value_of(x, t, "plugin"), tr->plugin_name,
                                            CSG_PLUGIN_TRANSPORT, &tr->plugin_path, &tr->plugin))
            plugin_options(x, &k, tr->plugin, "transport", transport_rows, &tr->options,
                           &tr->n_options);
    }
}

/* One model block (champion or challenger). */
static void model_block(vctx *x, yaml_node_t *n, csg_cfg_model *m, bool champion)
{
    const cw_option *rows = champion ? champion_rows : challenger_rows;
    cw_keys k;
    m->line = cw_line_of(n);
    core_block(x, n, champion ? "champion" : "a challenger", rows, m, &k);
    /* Say why rather than "unknown key" for the likely mix-ups. */
    size_t kept = 0;
    for (size_t e = 0; e < k.n; e++) {
        yaml_node_t *key = cw_node(x, k.p[e]->key);
        if (champion && !strcmp(cw_sval(key), "weight"))
            cw_err_at(x, key, "\"weight\" is not allowed for the champion (it scores every request)");
        else if (!champion && !strcmp(cw_sval(key), "fallback_decision"))
            cw_err_at(x, key, "\"fallback_decision\" is only allowed for the champion");
        else if (!champion && !strcmp(cw_sval(key), "ranges"))
            csg_cfg_ranges_read(x, cw_node(x, k.p[e]->value), m);
        else if (!strcmp(cw_sval(key), "guardrail") && champion)
            cw_err_at(x, key, "\"guardrail\" is only allowed for a challenger (the champion "
                              "is never suspended)");
        else if (!strcmp(cw_sval(key), "guardrail"))
            csg_config_guardrail(x, cw_node(x, k.p[e]->value), &m->guardrail);
        else
            k.p[kept++] = k.p[e];
    }
    k.n = kept;
    yaml_node_t *at = value_of(x, n, "adapter");
    if (!m->adapter_name || !block_plugin(x, at, m->adapter_name, CSG_PLUGIN_MODEL_ADAPTER,
                                          &m->adapter_path, &m->plugin))
        return;
    plugin_options(x, &k, m->plugin, "adapter", rows, &m->options, &m->n_options);
    /* The features the adapter reads must exist in the schema. */
    const char *const *need = m->plugin->adapter->required_features;
    for (size_t i = 0; need && need[i] && x->c->schema; i++)
        if (csg_schema_find(x->c->schema, need[i], strlen(need[i])) < 0)
            cw_err_at(x, at, "%s needs feature \"%s\", which the application schema does not define",
                      m->plugin->header->name ? m->plugin->header->name : m->adapter_name,
                      need[i]);
}

static void sec_champion(vctx *x, yaml_node_t *n)
{
    if (cw_want_mapping(x, n, "\"champion\""))
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
    /* A little slack so 0.1 + 0.2 + 0.7 is accepted; under "all" weights are ignored. */
    if (sum > 1.0 + 1e-9 && c->assignment != CSG_ASSIGN_ALL)
        cw_err_at(x, n, "challenger weights sum to %.15g, must be at most 1", sum);
    csg_cfg_assign_check(x, n);
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

/* The experiment's keys, and `schedule:` (a mapping, read by config_guard.c). */
static void sec_experiment(vctx *x, yaml_node_t *n)
{
    if (!cw_want_mapping(x, n, "\"experiment\""))
        return;
    cw_keys k;
    core_block(x, n, "experiment", experiment_rows, x->c, &k);
    for (size_t e = 0; e < k.n; e++) {
        yaml_node_t *key = cw_node(x, k.p[e]->key);
        if (!strcmp(cw_sval(key), "schedule"))
            csg_config_schedule(x, cw_node(x, k.p[e]->value), x->c);
        else
            cw_err_at(x, key, "unknown key \"%s\" in experiment (allowed: id, salt, assignment, "
                              "reply, schedule)",
                      cw_sval(key));
    }
}

static void sec_application(vctx *x, yaml_node_t *n)
{
    x->c->schema = csg_schema_from_yaml(x, n);
}

/* The top level, in the order the sections are read: a section of keys is
 * read through its table; the others have their own reader. Without a
 * node, a table's defaults apply and a reader gets NULL (a required
 * section: an error instead). */
static const struct section {
    const char *name;
    const cw_option *rows;
    void (*read)(vctx *x, yaml_node_t *n);
    const char *required; /* NULL: optional; else what follows "\"name\" is required" */
} sections[] = {
    {"gateway", gateway_rows, NULL, NULL},
    {"transports", NULL, sec_transports, " (at least one transport)"},
    /* Before the models: their adapters' required_features are checked against it. */
    {"application", NULL, sec_application, NULL},
    {"experiment", NULL, sec_experiment, ""},
    {"champion", NULL, sec_champion, ""},
    {"challengers", NULL, sec_challengers, NULL},
    {"events", events_rows, NULL, NULL},
    {"limits", limits_rows, NULL, NULL},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static void read_top(vctx *x, yaml_node_t *root)
{
    keyspec ks[N_SECTIONS + 1] = {{0}};
    for (size_t i = 0; i < N_SECTIONS; i++)
        ks[i].name = sections[i].name;
    cw_collect(x, root, "the top level", ks);
    for (size_t i = 0; i < N_SECTIONS; i++) {
        const struct section *s = &sections[i];
        yaml_node_t *n = ks[i].value;
        if (!n && s->required) {
            cw_err_at(x, root, "\"%s\" is required%s", s->name, s->required);
        } else if (s->read) {
            s->read(x, n);
        } else {
            char what[32];
            snprintf(what, sizeof what, "\"%s\"", s->name);
            if (n && !cw_want_mapping(x, n, what)) {
                if (s->required)
                    continue; /* its keys would only add "is required" noise */
                n = NULL;
            }
            core_block(x, n, s->name, s->rows, x->c, NULL);
        }
    }
}

/* ------------------------------------------------------------------------ */

static csg_config *config_new(const char *file, csg_registry *reg)
{
    csg_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->registry = csg_registry_ref(reg);
    c->file = strdup(file);
    if (!c->file) {
        csg_registry_unref(c->registry);
        free(c);
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
}

static void config_free(csg_config *c)
{
    for (size_t i = 0; i < c->n_transports; i++) {
        csg_cfg_transport *t = &c->transports[i];
        free(t->plugin_name);
        free(t->plugin_path);
        free(t->listen);
        csg_options_free(t->options, t->n_options);
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
    csg_registry_unref(c->registry); /* last: the plugins above were its */
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

int csg_config_load_string(const char *file, const char *text, size_t len, csg_registry *reg,
                           csg_config **out, csg_errlist *errs)
{
    *out = NULL;
    size_t errs_before = errs->count;
    csg_config *c = config_new(file, reg);
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
    read_top(&x, root);
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

int csg_config_load(const char *path, csg_registry *reg, csg_config **out, csg_errlist *errs)
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
    int rc = csg_config_load_string(path, buf, n, reg, out, errs);
    free(buf);
    return rc;
}
