/*
 * schema_config.c — the `application:` block of experiments.yaml → a
 * csg_schema (schema.h), with every rule checked and reported with its
 * line (DESIGN §3). Without the block a configuration gets the default
 * schema: the brief's three required features, unknown fields ignored.
 */
#include "schema_config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_walk.h"
#include "csg_event_schema.h" /* the feature name rule, shared with grpc.so and csg-persist */

_Static_assert(CSG_FEATURE_NAME_MAX == CSG_EVENT_FEATURE_NAME_MAX, "one feature name bound");

/* Names a feature may not take: the application's own keys, and the
 * MetricEvent's keys (an event carries the features beside them). */
static const char *const reserved[] = {
    "applicant_id",       "request_id",         "event_id",          "experiment_id",
    "transport",          "champion_model",     "challenger_model",  "champion_score",
    "challenger_score",   "champion_decision",  "challenger_decision", "decision_match",
    "latency_champion_ms", "latency_challenger_ms", "decision_diff", "timestamp",
    "status",             "features",           "config_version",    "champion_reasons",
    "challenger_reasons", "decided_by",         "challengers",       NULL,
};

/* A category value goes into JSON and SQL filters unescaped: 1–64
 * printable ASCII characters without quotes or backslashes. */
static bool valid_value(const char *s, size_t len)
{
    if (len == 0 || len > CSG_CATEGORY_VALUE_MAX || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' ||
            s[i] == '\\')
            return false;
    return true;
}

static bool get_bool(vctx *x, keyspec *k, bool *out)
{
    if (!k->value)
        return false;
    static const char *const names[] = {"false", "true", NULL};
    int v = cw_get_enum(x, k, names, -1);
    if (v < 0)
        return false;
    *out = v == 1;
    return true;
}

/* min or max: a number, for an integer feature an integer. */
static bool get_bound(vctx *x, keyspec *k, csg_feature *f, bool lower)
{
    if (!k->value)
        return false;
    if (f->type == CSG_FEATURE_INTEGER) {
        int64_t v;
        if (!cw_get_int(x, k, INT64_MIN, INT64_MAX, &v))
            return false;
        *(lower ? &f->min_i : &f->max_i) = v;
        *(lower ? &f->min : &f->max) = (double)v;
        return true;
    }
    return cw_get_double(x, k, -1.7976931348623157e308, 1.7976931348623157e308,
                         lower ? &f->min : &f->max);
}

static void category_values(vctx *x, keyspec *k, csg_feature *f)
{
    yaml_node_t *n = k->value;
    if (n->type != YAML_SEQUENCE_NODE) {
        cw_err_at(x, n, "\"values\" must be a list, not %s", cw_type_name(n));
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0) {
        cw_err_at(x, n, "\"values\" of feature \"%s\" must list at least one value", f->name);
        return;
    }
    if (count > CSG_MAX_CATEGORY_VALUES) {
        cw_err_at(x, n, "feature \"%s\" has %zu values; at most %d are supported", f->name, count,
                  CSG_MAX_CATEGORY_VALUES);
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *v = cw_node(x, *it);
        if (!cw_is_scalar(v) || cw_is_null(v) ||
            !valid_value(cw_sval(v), v->data.scalar.length)) {
            cw_err_at(x, v,
                      "a value of feature \"%s\" must be 1-%d printable ASCII characters without "
                      "quotes or backslashes",
                      f->name, CSG_CATEGORY_VALUE_MAX);
            continue;
        }
        if (csg_feature_find_value(f, cw_sval(v), v->data.scalar.length) >= 0) {
            cw_err_at(x, v, "duplicate value \"%s\" in feature \"%s\"", cw_sval(v), f->name);
            continue;
        }
        if (!csg_feature_add_value(f, cw_sval(v)))
            cw_err_at(x, v, "out of memory");
    }
}

static void check_range(vctx *x, yaml_node_t *at, const csg_feature *f)
{
    /* Nothing above the largest value / below the smallest one. */
    bool in = f->type == CSG_FEATURE_INTEGER;
    if ((f->has_min && f->min_exclusive && (in ? f->min_i == INT64_MAX : f->min >= DBL_MAX)) ||
        (f->has_max && f->max_exclusive && (in ? f->max_i == INT64_MIN : f->max <= -DBL_MAX))) {
        cw_err_at(x, at, "feature \"%s\": the range is empty", f->name);
        return;
    }
    if (!f->has_min || !f->has_max)
        return;
    if (!in && f->min_exclusive && f->max_exclusive && !(nextafter(f->min, f->max) < f->max) &&
        f->min < f->max) {
        cw_err_at(x, at, "feature \"%s\": no number lies strictly between min and max", f->name);
        return;
    }
    bool empty = in ? f->min_i > f->max_i : f->min > f->max;
    bool equal = in ? f->min_i == f->max_i : f->min == f->max;
    if (empty)
        cw_err_at(x, at, "feature \"%s\": min is greater than max", f->name);
    else if (equal && (f->min_exclusive || f->max_exclusive))
        cw_err_at(x, at, "feature \"%s\": the range is empty (min equals max, one exclusive)",
                  f->name);
    else if (in && f->min_exclusive && f->max_exclusive && f->max_i - f->min_i == 1)
        cw_err_at(x, at, "feature \"%s\": no integer lies strictly between min and max", f->name);
}

static void one_feature(vctx *x, yaml_node_t *n, csg_schema *s, int *lines)
{
    if (!cw_want_mapping(x, n, "a feature"))
        return;
    keyspec ks[] = {{.name = "name"},          {.name = "type"},          {.name = "required"},
                    {.name = "min"},           {.name = "max"},           {.name = "min_exclusive"},
                    {.name = "max_exclusive"}, {.name = "values"},        {.name = NULL}};
    cw_collect(x, n, "a feature", ks);
    keyspec *kname = cw_spec(ks, "name"), *ktype = cw_spec(ks, "type");
    bool ok_name = cw_require(x, kname, n, "a feature");
    bool ok_type = cw_require(x, ktype, n, "a feature");
    char *name = NULL;
    if (ok_name && cw_get_str(x, kname, 1, 4000, &name)) {
        if (!csg_event_feature_name_ok(name, strlen(name))) {
            cw_err_at(x, kname->value, "feature name \"%s\" must match [a-z][a-z0-9_]{0,31}",
                      name);
            ok_name = false;
        } else {
            for (const char *const *r = reserved; *r; r++)
                if (!strcmp(*r, name)) {
                    cw_err_at(x, kname->value, "feature name \"%s\" is reserved", name);
                    ok_name = false;
                }
        }
        int prev = ok_name ? csg_schema_find(s, name, strlen(name)) : -1;
        if (prev >= 0) {
            cw_err_at(x, kname->value, "duplicate feature \"%s\" (first at line %d)", name,
                      lines[prev]);
            ok_name = false;
        }
    } else {
        ok_name = false;
    }
    static const char *const types[] = {"number", "integer", "category", "boolean", NULL};
    int t = ok_type ? cw_get_enum(x, ktype, types, -1) : -1;
    if (!ok_name || t < 0) {
        free(name);
        return;
    }
    if (s->n >= CSG_MAX_FEATURES) {
        free(name);
        return; /* reported once for the list */
    }
    csg_feature *f = csg_schema_add(s, name, (csg_feature_type)(t + 1));
    free(name);
    if (!f)
        return;
    lines[s->n - 1] = cw_line_of(n);
    get_bool(x, cw_spec(ks, "required"), &f->required);
    bool numeric = f->type == CSG_FEATURE_NUMBER || f->type == CSG_FEATURE_INTEGER;
    static const char *const bound_keys[] = {"min", "max", "min_exclusive", "max_exclusive"};
    for (size_t b = 0; b < 4; b++) {
        keyspec *k = cw_spec(ks, bound_keys[b]);
        if (k->value && !numeric) {
            cw_err_at(x, k->key, "\"%s\" is not allowed for a %s feature (\"%s\")", k->name,
                      types[t], f->name);
            k->value = NULL;
        }
    }
    f->has_min = get_bound(x, cw_spec(ks, "min"), f, true);
    f->has_max = get_bound(x, cw_spec(ks, "max"), f, false);
    keyspec *kmin_ex = cw_spec(ks, "min_exclusive"), *kmax_ex = cw_spec(ks, "max_exclusive");
    get_bool(x, kmin_ex, &f->min_exclusive);
    get_bool(x, kmax_ex, &f->max_exclusive);
    if (kmin_ex->value && !cw_spec(ks, "min")->value)
        cw_err_at(x, kmin_ex->key, "\"min_exclusive\" needs \"min\" (feature \"%s\")", f->name);
    if (kmax_ex->value && !cw_spec(ks, "max")->value)
        cw_err_at(x, kmax_ex->key, "\"max_exclusive\" needs \"max\" (feature \"%s\")", f->name);
    check_range(x, n, f);
    keyspec *kv = cw_spec(ks, "values");
    if (f->type == CSG_FEATURE_CATEGORY) {
        if (cw_require(x, kv, n, "a category feature"))
            category_values(x, kv, f);
    } else if (kv->value) {
        cw_err_at(x, kv->key, "\"values\" is only allowed for a category feature (\"%s\" is %s)",
                  f->name, types[t]);
    }
}

csg_schema *csg_schema_from_yaml(vctx *x, yaml_node_t *n)
{
    if (!n || cw_is_null(n))
        return csg_schema_default();
    csg_schema *s = csg_schema_new();
    if (!s) {
        cw_err_at(x, n, "out of memory");
        return NULL;
    }
    if (!cw_want_mapping(x, n, "\"application\""))
        return s;
    keyspec ks[] = {{.name = "unknown_fields"}, {.name = "features"}, {.name = NULL}};
    cw_collect(x, n, "application", ks);
    static const char *const unknown[] = {"ignore", "reject", NULL};
    s->reject_unknown = cw_get_enum(x, cw_spec(ks, "unknown_fields"), unknown, 0) == 1;
    keyspec *kf = cw_spec(ks, "features");
    if (!cw_require(x, kf, n, "application"))
        return s;
    yaml_node_t *list = kf->value;
    if (list->type != YAML_SEQUENCE_NODE) {
        cw_err_at(x, list, "\"features\" must be a list, not %s", cw_type_name(list));
        return s;
    }
    size_t count = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (count == 0)
        cw_err_at(x, list, "\"features\" must list at least one feature");
    if (count > CSG_MAX_FEATURES)
        cw_err_at(x, list, "%zu features listed; at most %d are supported", count,
                  CSG_MAX_FEATURES);
    int lines[CSG_MAX_FEATURES];
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++)
        one_feature(x, cw_node(x, *it), s, lines);
    csg_schema_finish(s);
    return s;
}
