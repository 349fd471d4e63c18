/*
 * schema.h — the application's feature schema (`application:` in
 * experiments.yaml, DESIGN §3): which features an application may carry,
 * their types and rules, in the configuration's order.
 *
 * A csg_schema is immutable once built and reference-counted: the
 * configuration holds one reference and every parsed application another,
 * so a SIGHUP between parsing a request and scoring it frees nothing in use.
 * This module has no YAML in it (schema_config.c reads the block) so
 * csg-model's old entry point and the fuzzers can build schemas directly.
 */
#ifndef CSG_SCHEMA_H
#define CSG_SCHEMA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

#define CSG_CATEGORY_VALUE_MAX 64 /* bytes of one category value */
#define CSG_MAX_CATEGORY_VALUES 256

typedef struct csg_feature {
    char name[CSG_FEATURE_NAME_MAX + 1];
    size_t name_len;
    csg_feature_type type;
    bool required;
    /* Bounds as configured: min/max for numbers, min_i/max_i for integers
     * (a double cannot hold every int64). */
    bool has_min, has_max, min_exclusive, max_exclusive;
    double min, max;
    int64_t min_i, max_i;
    int64_t imin, imax; /* integers: the inclusive range checked (csg_schema_finish) */
    char **values; /* category: n_values allowed values, in the configuration's order */
    unsigned n_values;
    char rule[160]; /* "age must be an integer in [18, 120]": the invalid_field message */
} csg_feature;

struct csg_schema {
    _Atomic int refs;
    bool reject_unknown; /* unknown_fields: reject */
    unsigned n;
    csg_feature f[CSG_MAX_FEATURES];
};

/* A new empty schema (refs = 1, unknown fields ignored); NULL without memory. */
csg_schema *csg_schema_new(void);

/* The schema of a configuration without an `application:` block: the
 * brief's three features, all required, unknown fields ignored (the 1.x
 * rules, bit for bit). refs = 1. */
csg_schema *csg_schema_default(void);

/* Append a feature (builder; before the schema is shared). Returns the new
 * feature to fill in, or NULL when the schema is full or the name is taken.
 * Call csg_schema_finish once every feature is filled in. */
csg_feature *csg_schema_add(csg_schema *s, const char *name, csg_feature_type type);
/* Add a category value to f (copied); false without memory. */
bool csg_feature_add_value(csg_feature *f, const char *value);
/* Derive what the parser needs (rule texts, integer bounds). */
void csg_schema_finish(csg_schema *s);

csg_schema *csg_schema_ref(csg_schema *s);
void csg_schema_unref(csg_schema *s); /* NULL is fine */

/* Index of the feature called name[0..len), or -1. */
int csg_schema_find(const csg_schema *s, const char *name, size_t len);
/* Index of value[0..len) in category feature f, or -1. */
int csg_feature_find_value(const csg_feature *f, const char *value, size_t len);

const char *csg_feature_type_name(csg_feature_type t); /* "number", … */

/* May a running gateway switch from old to new on SIGHUP? Yes when every
 * old feature is still there with the same type, none becomes required,
 * every category keeps all its values (new ones may be added), and every
 * added feature is optional; bounds, order, a required feature becoming
 * optional and unknown_fields may change. On no,
 * writes the reason, naming the feature, into why. */
bool csg_schema_reload_compatible(const csg_schema *old, const csg_schema *nw, char *why,
                                  size_t cap);

/* Append the schema's canonical text (for config_version) to w: one line
 * per feature with every rule, in order. */
struct csg_jsonw;
void csg_schema_canonical(const csg_schema *s, struct csg_jsonw *w);

#endif /* CSG_SCHEMA_H */
