/*
 * config.h — experiments.yaml: parsing (libyaml), full validation and the
 * resulting immutable configuration.
 *
 * Validation reports every problem, not only the first, each as
 * "<file>:<line>: <message>" (nginx style). Plugins named in the file are
 * taken from a plugin registry (registry.h: each distinct file dlopened
 * once per process) so their option blocks can be checked against their
 * csg_option tables; the config itself is plain data that points at the
 * registry's plugins and holds a reference to the registry, so freeing a
 * config never dlcloses anything. A csg_config is immutable once loaded
 * and reference-counted: the gateway and each routing snapshot hold
 * references.
 */
#ifndef CSG_CONFIG_H
#define CSG_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "guardrail.h"
#include "plugin_loader.h"
#include "registry.h"
#include "assign.h"
#include "schema.h"

#define CSG_MODEL_NAME_MAX 64
#define CSG_EXPERIMENT_ID_MAX 64
#define CSG_MAX_CHALLENGERS 16
#define CSG_MAX_TRANSPORTS 16

/* all: every challenger scores every request (in shadow); weights are ignored. */
typedef enum csg_assignment {
    CSG_ASSIGN_HASH = 0,
    CSG_ASSIGN_RANDOM = 1,
    CSG_ASSIGN_ALL = 2
} csg_assignment;
/* live: for its share the client gets the challenger's decision (DESIGN §3). */
typedef enum csg_chal_mode { CSG_MODE_SHADOW = 0, CSG_MODE_LIVE = 1 } csg_chal_mode;
typedef enum csg_reply_mode { CSG_REPLY_AFTER_CHAMPION = 0, CSG_REPLY_AFTER_ALL = 1 } csg_reply_mode;

/* A list of validation errors, each "<file>:<line>: <message>". */
typedef struct csg_errlist {
    char **items;
    size_t count, cap;
} csg_errlist;

void csg_errlist_free(csg_errlist *el);
/* Append a formatted message (no file/line prefix added). */
void csg_errlist_add(csg_errlist *el, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct csg_cfg_transport {
    char *plugin_name; /* as written, e.g. "http.so" */
    char *plugin_path; /* resolved, e.g. "build/lib/csg/http.so" */
    char *listen;
    int line;
    const csg_plugin *plugin;  /* the registry's; NULL when loaded without one */
    csg_option_value *options; /* one per row of plugin->options */
    size_t n_options;
} csg_cfg_transport;

typedef struct csg_cfg_model {
    char *name;
    char *adapter_name;
    char *adapter_path;
    double weight;       /* challengers */
    csg_chal_mode mode;  /* challengers */
    csg_ranges ranges;   /* challengers: hash-space slices (n == 0: none given) */
    bool has_ranges;     /* a `ranges:` key was given (possibly empty) */
    unsigned timeout_ms;
    csg_decision fallback_decision; /* the champion's; NONE = reply with an error */
    csg_guardrail_cfg guardrail;    /* challengers; .set false: none */
    int line;
    const csg_plugin *plugin; /* the registry's; NULL when loaded without one */
    csg_option_value *options;
    size_t n_options;
} csg_cfg_model;

typedef struct csg_config {
    _Atomic int refs;
    char *file;
    csg_registry *registry; /* a reference; NULL: plugins were not loaded */

    /* gateway: */
    unsigned workers;
    char *plugin_dir;
    unsigned drain_timeout_ms;
    char *lock_dir;

    csg_cfg_transport transports[CSG_MAX_TRANSPORTS];
    size_t n_transports;

    /* application: the feature schema (never NULL in a loaded config) */
    csg_schema *schema;

    /* experiment: */
    char *experiment_id;
    char *salt;
    csg_assignment assignment;
    csg_reply_mode reply;
    /* experiment.schedule (config_guard.h); 0 = that end is open */
    bool has_schedule;
    int64_t schedule_start_ms, schedule_end_ms;

    csg_cfg_model champion;
    csg_cfg_model challengers[CSG_MAX_CHALLENGERS];
    size_t n_challengers;

    /* events: */
    char *sink; /* "kafka" or "file:PATH" */
    char *kafka_brokers;
    char *topic;
    uint64_t queue_capacity;
    char *spool_dir;
    uint64_t spool_max_bytes;

    /* limits: */
    uint64_t max_body_bytes;
    uint64_t max_line_bytes;
    uint64_t max_connections;
    uint64_t idle_timeout_ms;
    uint64_t read_timeout_ms; /* a request must be complete this long after its first byte */

    /* config_version: 16 lowercase hex digits (csg_config_version_compute). */
    char version[17];
} csg_config;

/* Parse and validate path, taking the plugins it names from reg (the
 * config keeps a reference to reg). reg NULL: plugins are neither loaded
 * nor their option blocks checked (fuzzing: a fuzzer must not dlopen
 * arbitrary paths; such a config cannot start a gateway). On success
 * returns 0 and *out (refs = 1) and adds nothing to errs. On failure returns
 * -CSG_E… and appends every problem found to errs (the caller frees it with
 * csg_errlist_free). */
int csg_config_load(const char *path, csg_registry *reg, csg_config **out, csg_errlist *errs);

/* Same, from a string (file is used for messages only). */
int csg_config_load_string(const char *file, const char *text, size_t len, csg_registry *reg,
                           csg_config **out, csg_errlist *errs);

csg_config *csg_config_ref(csg_config *c);
void csg_config_unref(csg_config *c);

/* csg_decision_name ("approve", …; NULL for NONE) is lib/csg_vocab.h's. */

/* config_version (DESIGN §3, §6): FNV-1a 64 of a canonical text of the
 * application, experiment, champion and challengers sections as parsed
 * (config_version.c), so whitespace, comments, key order and quoting do not
 * change it. Fills c->version. */
void csg_config_version_compute(csg_config *c);

#endif /* CSG_CONFIG_H */
