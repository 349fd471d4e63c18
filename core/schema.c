/*
 * schema.c — the feature schema (schema.h): building, looking up, the rule
 * texts the parser reports, the SIGHUP compatibility rule and the canonical
 * text config_version hashes.
 */
#include "schema.h"

#include "jsonw.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

csg_schema *csg_schema_new(void)
{
    csg_schema *s = calloc(1, sizeof *s);
    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

csg_feature *csg_schema_add(csg_schema *s, const char *name, csg_feature_type type)
{
    size_t len = strlen(name);
    if (s->n >= CSG_MAX_FEATURES || len == 0 || len > CSG_FEATURE_NAME_MAX ||
        csg_schema_find(s, name, len) >= 0)
        return NULL;
    csg_feature *f = &s->f[s->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, len + 1);
    f->name_len = len;
    f->type = type;
    return f;
}

bool csg_feature_add_value(csg_feature *f, const char *value)
{
    if (f->n_values >= CSG_MAX_CATEGORY_VALUES)
        return false;
    char **v = realloc(f->values, (f->n_values + 1) * sizeof *v);
    if (!v)
        return false;
    f->values = v;
    if (!(v[f->n_values] = strdup(value)))
        return false;
    f->n_values++;
    return true;
}

static void bound_text(char *buf, size_t cap, const csg_feature *f, bool lower)
{
    if (f->type == CSG_FEATURE_INTEGER)
        snprintf(buf, cap, "%" PRId64, lower ? f->min_i : f->max_i);
    else
        snprintf(buf, cap, "%.15g", lower ? f->min : f->max);
}

/* The invalid_field message for f: what a valid value looks like. */
static void make_rule(csg_feature *f)
{
    char r[sizeof f->rule] = ""; /* not f->rule itself: snprintf reads f->name */
    size_t cap = sizeof r;
    char lo[40], hi[40];
    bound_text(lo, sizeof lo, f, true);
    bound_text(hi, sizeof hi, f, false);
    const char *what = f->type == CSG_FEATURE_INTEGER ? "an integer" : "a finite number";
    switch (f->type) {
    case CSG_FEATURE_NUMBER:
    case CSG_FEATURE_INTEGER:
        if (f->has_min && f->has_max)
            snprintf(r, cap, "%s must be %s in %c%s, %s%c", f->name, what,
                     f->min_exclusive ? '(' : '[', lo, hi, f->max_exclusive ? ')' : ']');
        else if (f->has_min)
            snprintf(r, cap, "%s must be %s %s %s", f->name, what, f->min_exclusive ? ">" : ">=",
                     lo);
        else if (f->has_max)
            snprintf(r, cap, "%s must be %s %s %s", f->name, what, f->max_exclusive ? "<" : "<=",
                     hi);
        else
            snprintf(r, cap, "%s must be %s", f->name, what);
        break;
    case CSG_FEATURE_CATEGORY: {
        int n = snprintf(r, cap, "%s must be one of", f->name);
        size_t pos = n > 0 ? (size_t)n : 0;
        for (unsigned k = 0; k < f->n_values && pos < cap; k++) {
            if (pos + strlen(f->values[k]) + 8 >= cap) {
                snprintf(r + pos, cap - pos, ", …");
                break;
            }
            pos += (size_t)snprintf(r + pos, cap - pos, "%s %s", k ? "," : "", f->values[k]);
        }
        break;
    }
    case CSG_FEATURE_BOOLEAN:
        snprintf(r, cap, "%s must be true or false", f->name);
        break;
    }
    memcpy(f->rule, r, sizeof r);
}

void csg_schema_finish(csg_schema *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        csg_feature *f = &s->f[i];
        if (f->type == CSG_FEATURE_INTEGER) {
            /* An exclusive bound is the next integer inside (an empty range
             * is refused by schema_config.c). */
            f->imin = !f->has_min                        ? INT64_MIN
                      : f->min_exclusive && f->min_i < INT64_MAX ? f->min_i + 1
                                                              : f->min_i;
            f->imax = !f->has_max                        ? INT64_MAX
                      : f->max_exclusive && f->max_i > INT64_MIN ? f->max_i - 1
                                                              : f->max_i;
        }
        make_rule(f);
    }
}

csg_schema *csg_schema_default(void)
{
    csg_schema *s = csg_schema_new();
    if (!s)
        return NULL;
    csg_feature *f = csg_schema_add(s, "income", CSG_FEATURE_NUMBER);
    f->required = f->has_min = true;
    f = csg_schema_add(s, "loan_amount", CSG_FEATURE_NUMBER);
    f->required = f->has_min = f->min_exclusive = true;
    /* gRPC carries it as int32: the same bound keeps every transport
     * accepting exactly the same applications (DESIGN §5). */
    f = csg_schema_add(s, "credit_history", CSG_FEATURE_INTEGER);
    f->required = f->has_min = f->has_max = true;
    f->max_i = INT32_MAX;
    csg_schema_finish(s);
    return s;
}

csg_schema *csg_schema_ref(csg_schema *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void csg_schema_unref(csg_schema *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        for (unsigned k = 0; k < s->f[i].n_values; k++)
            free(s->f[i].values[k]);
        free(s->f[i].values);
    }
    free(s);
}

int csg_schema_find(const csg_schema *s, const char *name, size_t len)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->f[i].name_len == len && !memcmp(s->f[i].name, name, len))
            return (int)i;
    return -1;
}

int csg_feature_find_value(const csg_feature *f, const char *value, size_t len)
{
    for (unsigned k = 0; k < f->n_values; k++)
        if (strlen(f->values[k]) == len && !memcmp(f->values[k], value, len))
            return (int)k;
    return -1;
}

const char *csg_feature_type_name(csg_feature_type t)
{
    switch (t) {
    case CSG_FEATURE_NUMBER:
        return "number";
    case CSG_FEATURE_INTEGER:
        return "integer";
    case CSG_FEATURE_CATEGORY:
        return "category";
    case CSG_FEATURE_BOOLEAN:
        return "boolean";
    }
    return "?";
}

static bool refuse(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csg_errbuf_vset(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

bool csg_schema_reload_compatible(const csg_schema *old, const csg_schema *nw, char *why,
                                  size_t cap)
{
    for (unsigned i = 0; i < old->n; i++) {
        const csg_feature *a = &old->f[i];
        int j = csg_schema_find(nw, a->name, a->name_len);
        if (j < 0)
            return refuse(why, cap, "feature \"%s\" was removed", a->name);
        const csg_feature *b = &nw->f[j];
        if (a->type != b->type)
            return refuse(why, cap, "feature \"%s\" changes type from %s to %s", a->name,
                          csg_feature_type_name(a->type), csg_feature_type_name(b->type));
        if (!a->required && b->required)
            return refuse(why, cap, "feature \"%s\" becomes required", a->name);
        for (unsigned k = 0; k < a->n_values; k++)
            if (csg_feature_find_value(b, a->values[k], strlen(a->values[k])) < 0)
                return refuse(why, cap, "feature \"%s\" loses the category value \"%s\"",
                              a->name, a->values[k]);
    }
    for (unsigned j = 0; j < nw->n; j++)
        if (nw->f[j].required && csg_schema_find(old, nw->f[j].name, nw->f[j].name_len) < 0)
            return refuse(why, cap, "added feature \"%s\" is required (only optional features "
                                    "can be added by a reload)",
                          nw->f[j].name);
    return true;
}

void csg_schema_canonical(const csg_schema *s, csg_jsonw *w)
{
    csg_jsonw_printf(w, "application unknown_fields=%s\n",
                     s->reject_unknown ? "reject" : "ignore");
    for (unsigned i = 0; i < s->n; i++) {
        const csg_feature *f = &s->f[i];
        csg_jsonw_printf(w, "feature %s %s required=%d", f->name, csg_feature_type_name(f->type),
                         f->required);
        bool in = f->type == CSG_FEATURE_INTEGER;
        if (f->has_min && in)
            csg_jsonw_printf(w, " min%s=%" PRId64, f->min_exclusive ? "_exclusive" : "", f->min_i);
        else if (f->has_min)
            csg_jsonw_printf(w, " min%s=%.17g", f->min_exclusive ? "_exclusive" : "", f->min);
        if (f->has_max && in)
            csg_jsonw_printf(w, " max%s=%" PRId64, f->max_exclusive ? "_exclusive" : "", f->max_i);
        else if (f->has_max)
            csg_jsonw_printf(w, " max%s=%.17g", f->max_exclusive ? "_exclusive" : "", f->max);
        for (unsigned k = 0; k < f->n_values; k++)
            csg_jsonw_printf(w, " value=%s", f->values[k]);
        csg_jsonw_printf(w, "\n");
    }
}
