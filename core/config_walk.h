/*
 * config_walk.h — walking a libyaml document of experiments.yaml: typed key
 * getters shared by config.c and schema.c. Each check that fails adds
 * "<file>:<line>: <message>" to x->errs and returns false, so one run of
 * --check-config shows every problem.
 */
#ifndef CSG_CONFIG_WALK_H
#define CSG_CONFIG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"
#include "config_yaml.h"
#include "options.h"

typedef struct vctx {
    const char *file;
    yaml_document_t *doc;
    csg_errlist *errs;
    csg_config *c;
} vctx;

/* One key of a mapping whose structure is walked by hand (the top level,
 * the `application:` block): name and where it was seen. */
typedef struct keyspec {
    const char *name;
    yaml_node_t *key;   /* key node once seen */
    yaml_node_t *value; /* value node once seen */
} keyspec;

/*
 * A row of an option table as the core reads it: a plugin's csg_option
 * (type, name, default, required, min/max, description, target) plus what
 * only the core's own keys need. The core's sections (gateway, experiment,
 * events, limits, a transport's and a model's own keys) are tables of these
 * rows, read by cw_read exactly as a plugin's block is; their targets are
 * fields of the core's config structs (cw_apply). Defaults live only here.
 */
typedef struct cw_option {
    csg_option opt;
    uint8_t width;              /* sizeof the target field (cw_apply; INT: 4 or 8) */
    const char *const *choices; /* INT: one of these words, stored as first + its index */
    int first;
    uint32_t minlen, maxlen;    /* STRING: the length in [minlen, maxlen], when maxlen > 0 */
    /* STRING: a further check of a value; NULL if fine, else the phrase that
     * follows "\"<name>\" " in the error (may be written into buf). */
    const char *(*check)(const char *s, char *buf, size_t cap);
    /* A default known only at start (the CPU count), as text into buf. */
    const char *(*dynamic_default)(char *buf, size_t cap);
} cw_option;

/* A core row whose value lands in st.field. */
#define CW_ROW(type_, name_, dflt, req, lo, hi, st, field, desc)                                  \
    .opt = {.type = (type_), .name = (name_), .default_value = (dflt), .required = (req),      \
            .min = (lo), .max = (hi), .description = (desc), .target = CSG_OPT_AT(st, field)},  \
    .width = (uint8_t)sizeof(((st *)0)->field)
/* A string of lo to hi characters. */
#define CW_STR(name_, dflt, req, lo, hi, st, field, desc)                                          \
    CW_ROW(CSG_OPT_STRING, name_, dflt, req, 1, 0, st, field, desc), .minlen = (lo), .maxlen = (hi)
/* One of the words in list, stored as first + its index. */
#define CW_ENUM(name_, dflt, list, first_, st, field, desc)                                        \
    CW_ROW(CSG_OPT_INT, name_, dflt, false, 1, 0, st, field, desc), .choices = (list),         \
        .first = (first_)

/* The keys of one mapping, each a plain scalar given once (the others are
 * reported by cw_keys_of); cw_read takes out the ones a table names. The
 * YAML reader allows no more entries per mapping (config_yaml.c). */
#define CW_MAX_KEYS CSG_CONFIG_MAX_ENTRIES
typedef struct cw_keys {
    yaml_node_t *node; /* the mapping, or NULL: no keys */
    size_t n;
    yaml_node_pair_t *p[CW_MAX_KEYS];
} cw_keys;

int cw_line_of(const yaml_node_t *n);
void cw_err_at(vctx *x, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
yaml_node_t *cw_node(vctx *x, int id);
bool cw_is_scalar(const yaml_node_t *n);
const char *cw_sval(const yaml_node_t *n);
bool cw_is_null(const yaml_node_t *n);
const char *cw_type_name(const yaml_node_t *n);
/* Keys of mapping n (NULL: none) into k; a key that is not a plain scalar
 * or repeats one is reported ("duplicate key \"k\" in <where> (first at line
 * N)") and left out. */
void cw_keys_of(vctx *x, yaml_node_t *n, const char *where, cw_keys *k);
/* Read the keys of k that rows (NULL-name terminated) name into values (one
 * per row, zeroed by the caller) and take them out of k. where says whose
 * keys they are: "in experiment", "for adapter fixture-adapter". With
 * report_unknown, every other key is reported too ("unknown key \"k\"
 * <where> (allowed: …)", also's names first) and taken out; else it stays
 * in k. Then each row not given takes its default, or is reported as
 * required ("\"name\" is required <where>"). Every error has file:line. */
void cw_read(vctx *x, cw_keys *k, const cw_option *rows, const char *where,
             csg_option_value *values, const cw_option *also, bool report_unknown);
/* The value of each row that has one into obj at its target (strings move:
 * obj owns them). */
void cw_apply(const cw_option *rows, csg_option_value *values, void *obj);
size_t cw_rows_count(const cw_option *rows);

/* Hand-walked mappings (keyspec): keys of n into specs, other keys reported
 * as unknown "in <where>". */
void cw_collect(vctx *x, yaml_node_t *n, const char *where, keyspec *specs);
keyspec *cw_spec(keyspec *specs, const char *name);
/* One key's value against a one-row table built from the arguments. */
bool cw_get_int(vctx *x, keyspec *s, int64_t min, int64_t max, int64_t *out);
bool cw_get_double(vctx *x, keyspec *s, double min, double max, double *out);
bool cw_get_str(vctx *x, keyspec *s, size_t minlen, size_t maxlen, char **out);
int cw_get_enum(vctx *x, keyspec *s, const char *const *names, int dflt);
bool cw_require(vctx *x, keyspec *s, const yaml_node_t *parent, const char *where);
bool cw_want_mapping(vctx *x, yaml_node_t *n, const char *where);

#endif /* CSG_CONFIG_WALK_H */
