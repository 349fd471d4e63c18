/*
 * config_walk.c — the helpers every section of experiments.yaml is walked
 * with: cw_read, which reads a block against an option table (the core's
 * sections in config.c and each plugin's table, the same code for both),
 * and for hand-walked mappings (the top level, schema_config.c's
 * `application:` block) typed getters over one-row tables. Every check
 * reports "<file>:<line>: <message>" and lets validation go on.
 */
#include "config_walk.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_line_of(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

void cw_err_at(vctx *x, const yaml_node_t *n, const char *fmt, ...)
{
    char buf[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    csg_errlist_add(x->errs, "%s:%d: %s", x->file, cw_line_of(n), buf);
}

yaml_node_t *cw_node(vctx *x, int id)
{
    return yaml_document_get_node(x->doc, id);
}

bool cw_is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

const char *cw_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain (unquoted) YAML null: "~", "null", or nothing. */
bool cw_is_null(const yaml_node_t *n)
{
    if (!cw_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = cw_sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

const char *cw_type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return cw_is_null(n) ? "null" : "a scalar";
    }
}

/* names[] as "a, b, c" after what buf already holds (pos). */
static size_t list_names(char *buf, size_t cap, size_t pos, const char *name)
{
    if (pos < cap)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", pos ? ", " : "", name);
    return pos;
}

void cw_keys_of(vctx *x, yaml_node_t *n, const char *where, cw_keys *k)
{
    k->node = n;
    k->n = 0;
    if (!n)
        return;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *key = cw_node(x, p->key);
        if (!cw_is_scalar(key)) {
            cw_err_at(x, key, "keys in %s must be plain names", where);
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < k->n && !dup; i++) {
            yaml_node_t *kq = cw_node(x, k->p[i]->key);
            if (!strcmp(cw_sval(kq), cw_sval(key))) {
                cw_err_at(x, key, "duplicate key \"%s\" in %s (first at line %d)", cw_sval(key),
                          where, cw_line_of(kq));
                dup = true;
            }
        }
        if (!dup && k->n < CW_MAX_KEYS)
            k->p[k->n++] = p;
    }
}

size_t cw_rows_count(const cw_option *rows)
{
    size_t n = 0;
    while (rows && rows[n].opt.name)
        n++;
    return n;
}

/* text as the value of row r: the plugin rules (csg_option_parse_text) and
 * the core's own (choices, length, check). False with *why: a phrase, or
 * "range" / "length" / "choices" for the messages read_value composes. */
static bool parse_text(const cw_option *r, const char *text, size_t len, csg_option_value *v,
                       const char **why, char *buf, size_t cap)
{
    if (r->choices) {
        for (int i = 0; r->choices[i]; i++)
            if (!strcmp(text, r->choices[i])) {
                v->i = r->first + i;
                v->d = (double)v->i;
                return true;
            }
        *why = "choices";
        return false;
    }
    if (r->maxlen && (len < r->minlen || len > r->maxlen || strlen(text) != len)) {
        *why = "length";
        return false;
    }
    if (r->check && (*why = r->check(text, buf, cap)) != NULL)
        return false;
    return csg_option_parse_text(&r->opt, text, v, why);
}

static const char *type_phrase(csg_option_type t)
{
    return t == CSG_OPT_INT      ? "an integer"
           : t == CSG_OPT_DOUBLE ? "a number"
           : t == CSG_OPT_BOOL   ? "true or false"
           : t == CSG_OPT_URL    ? "a URL"
                                 : "a string";
}

/* Node v as the value of row r into *out; false after reporting why. */
static bool read_value(vctx *x, const cw_option *r, yaml_node_t *v, csg_option_value *out)
{
    const csg_option *o = &r->opt;
    const char *why = NULL;
    char buf[256];
    if (!r->choices && (!cw_is_scalar(v) || cw_is_null(v))) {
        cw_err_at(x, v, "\"%s\" must be %s, not %s", o->name, type_phrase(o->type),
                  cw_type_name(v));
        return false;
    }
    if (!r->choices && o->type != CSG_OPT_STRING && o->type != CSG_OPT_URL &&
        v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        cw_err_at(x, v, "\"%s\" must be %s, not a quoted string", o->name, type_phrase(o->type));
        return false;
    }
    if (cw_is_scalar(v) &&
        parse_text(r, cw_sval(v), v->data.scalar.length, out, &why, buf, sizeof buf))
        return true;
    if (r->choices) {
        char allowed[200];
        size_t pos = 0;
        for (int i = 0; r->choices[i] && pos < sizeof allowed; i++)
            pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s", i ? " | " : "",
                                    r->choices[i]);
        cw_err_at(x, v, "\"%s\" must be one of %s", o->name, allowed);
    } else if (!strcmp(why, "range") && o->type == CSG_OPT_INT) {
        cw_err_at(x, v, "\"%s\" must be within [%lld, %lld]", o->name, (long long)o->min,
                  (long long)o->max);
    } else if (!strcmp(why, "range")) {
        cw_err_at(x, v, "\"%s\" must be within [%.15g, %.15g]", o->name, o->min, o->max);
    } else if (!strcmp(why, "length")) {
        cw_err_at(x, v, "\"%s\" must be %u to %u characters long", o->name, r->minlen, r->maxlen);
    } else if (o->type == CSG_OPT_URL) {
        cw_err_at(x, v, "\"%s\" %s: \"%s\" (expected http[s]://host:port/path)", o->name, why,
                  cw_sval(v));
    } else {
        cw_err_at(x, v, "\"%s\" %s", o->name, why);
    }
    return false;
}

void cw_read(vctx *x, cw_keys *k, const cw_option *rows, const char *where,
             csg_option_value *values, const cw_option *also, bool report_unknown)
{
    size_t n = cw_rows_count(rows), kept = 0;
    /* Rows given in the block, valid or not: a bad value already has its
     * own error, so "is required" would only be noise. */
    bool given[256] = {false};
    for (size_t e = 0; e < k->n; e++) {
        yaml_node_t *key = cw_node(x, k->p[e]->key), *v = cw_node(x, k->p[e]->value);
        size_t i = 0;
        while (i < n && strcmp(rows[i].opt.name, cw_sval(key)))
            i++;
        if (i < n) {
            if (i < sizeof given)
                given[i] = true;
            values[i].is_set = read_value(x, &rows[i], v, &values[i]);
        } else if (report_unknown) {
            char allowed[400] = "";
            size_t pos = 0;
            for (const cw_option *t = also; t && t->opt.name; t++)
                pos = list_names(allowed, sizeof allowed, pos, t->opt.name);
            for (size_t j = 0; j < n; j++)
                pos = list_names(allowed, sizeof allowed, pos, rows[j].opt.name);
            cw_err_at(x, key, "unknown key \"%s\" %s (allowed: %s)", cw_sval(key), where, allowed);
        } else {
            k->p[kept++] = k->p[e];
        }
    }
    k->n = kept;
    for (size_t i = 0; i < n; i++) {
        const cw_option *r = &rows[i];
        char auto_buf[64], buf[256];
        const char *dflt = r->opt.default_value, *why = NULL;
        if (!dflt && r->dynamic_default)
            dflt = r->dynamic_default(auto_buf, sizeof auto_buf);
        if (values[i].is_set)
            continue;
        if (r->opt.required && !(i < sizeof given && given[i]))
            cw_err_at(x, k->node, "\"%s\" is required %s", r->opt.name, where);
        else if (dflt && !parse_text(r, dflt, strlen(dflt), &values[i], &why, buf, sizeof buf))
            cw_err_at(x, k->node, "the default of \"%s\" (\"%s\") %s is invalid (a bug in its table)",
                      r->opt.name, dflt, where);
    }
}

void cw_apply(const cw_option *rows, csg_option_value *values, void *obj)
{
    for (size_t i = 0; rows[i].opt.name; i++) {
        const cw_option *r = &rows[i];
        csg_option_value *v = &values[i];
        if (!r->opt.target ||
            !(v->is_set || r->opt.default_value || r->dynamic_default))
            continue;
        char *at = (char *)obj + r->opt.target - 1;
        if (r->opt.type == CSG_OPT_STRING || r->opt.type == CSG_OPT_URL) {
            memcpy(at, &v->str, sizeof v->str);
            v->str = NULL; /* obj owns it now */
        } else if (r->opt.type == CSG_OPT_DOUBLE) {
            memcpy(at, &v->d, sizeof v->d);
        } else if (r->opt.type == CSG_OPT_BOOL) {
            memcpy(at, &v->b, sizeof v->b);
        } else if (r->width == sizeof(uint32_t)) {
            uint32_t u = (uint32_t)v->i; /* within the row's range: fits */
            memcpy(at, &u, sizeof u);
        } else {
            memcpy(at, &v->i, sizeof v->i);
        }
    }
}

void cw_collect(vctx *x, yaml_node_t *n, const char *where, keyspec *specs)
{
    cw_keys *k = malloc(sizeof *k);
    if (!k) {
        cw_err_at(x, n, "out of memory");
        return;
    }
    cw_keys_of(x, n, where, k);
    for (size_t e = 0; e < k->n; e++) {
        yaml_node_t *key = cw_node(x, k->p[e]->key);
        keyspec *s = specs;
        while (s->name && strcmp(s->name, cw_sval(key)))
            s++;
        if (s->name) {
            s->key = key;
            s->value = cw_node(x, k->p[e]->value);
            continue;
        }
        char allowed[400] = "";
        size_t pos = 0;
        for (keyspec *t = specs; t->name; t++)
            pos = list_names(allowed, sizeof allowed, pos, t->name);
        cw_err_at(x, key, "unknown key \"%s\" in %s (allowed: %s)", cw_sval(key), where, allowed);
    }
    free(k);
}

keyspec *cw_spec(keyspec *specs, const char *name)
{
    for (keyspec *s = specs; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

/* s's value against the one row r; the value stays in *v. */
static bool get_one(vctx *x, keyspec *s, cw_option *r, csg_option_value *v)
{
    if (!s->value)
        return false;
    r->opt.name = s->name;
    return read_value(x, r, s->value, v);
}

bool cw_get_int(vctx *x, keyspec *s, int64_t min, int64_t max, int64_t *out)
{
    cw_option r = {.opt = {.type = CSG_OPT_INT, .min = (double)min, .max = (double)max}};
    csg_option_value v = {0};
    if (!get_one(x, s, &r, &v))
        return false;
    *out = v.i;
    return true;
}

bool cw_get_double(vctx *x, keyspec *s, double min, double max, double *out)
{
    cw_option r = {.opt = {.type = CSG_OPT_DOUBLE, .min = min, .max = max}};
    csg_option_value v = {0};
    if (!get_one(x, s, &r, &v))
        return false;
    *out = v.d;
    return true;
}

bool cw_get_str(vctx *x, keyspec *s, size_t minlen, size_t maxlen, char **out)
{
    cw_option r = {.opt = {.type = CSG_OPT_STRING, .min = 1, .max = 0},
                   .minlen = (uint32_t)minlen, .maxlen = (uint32_t)maxlen};
    csg_option_value v = {0};
    if (!get_one(x, s, &r, &v))
        return false;
    free(*out);
    *out = (char *)v.str;
    return true;
}

int cw_get_enum(vctx *x, keyspec *s, const char *const *names, int dflt)
{
    cw_option r = {.opt = {.type = CSG_OPT_INT, .min = 1, .max = 0}, .choices = names};
    csg_option_value v = {0};
    return get_one(x, s, &r, &v) ? (int)v.i : dflt;
}

bool cw_require(vctx *x, keyspec *s, const yaml_node_t *parent, const char *where)
{
    if (s->value)
        return true;
    cw_err_at(x, parent, "\"%s\" is required in %s", s->name, where);
    return false;
}

bool cw_want_mapping(vctx *x, yaml_node_t *n, const char *where)
{
    if (n && n->type == YAML_MAPPING_NODE)
        return true;
    cw_err_at(x, n, "%s must be a mapping of keys, not %s", where, n ? cw_type_name(n) : "nothing");
    return false;
}
