/*
 * config_walk.c — the helpers every section of experiments.yaml is walked
 * with (config.c's sections, schema.c's `application:` block): typed key
 * getters that report "<file>:<line>: <message>" and let validation go on.
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



/* Collect the keys of mapping n into specs (NULL-name terminated). Keys not
 * in specs go to extra (up to max_extra) when extra != NULL, otherwise they
 * are reported as unknown with the list of allowed keys. */
void cw_collect(vctx *x, yaml_node_t *n, const char *where, keyspec *specs,
                    yaml_node_pair_t **extra, size_t *n_extra, size_t max_extra)
{
    if (n_extra)
        *n_extra = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cw_node(x, p->key), *v = cw_node(x, p->value);
        if (!cw_is_scalar(k)) {
            cw_err_at(x, k, "keys in %s must be plain names", where);
            continue;
        }
        /* Duplicates: an earlier pair with the same key. */
        bool dup = false;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *kq = cw_node(x, q->key);
            if (cw_is_scalar(kq) && !strcmp(cw_sval(kq), cw_sval(k))) {
                cw_err_at(x, k, "duplicate key \"%s\" in %s (first at line %d)", cw_sval(k), where,
                       cw_line_of(kq));
                dup = true;
                break;
            }
        }
        if (dup)
            continue;
        keyspec *s = specs;
        for (; s->name; s++)
            if (!strcmp(s->name, cw_sval(k)))
                break;
        if (s->name) {
            s->key = k;
            s->value = v;
        } else if (extra) {
            if (*n_extra < max_extra)
                extra[(*n_extra)++] = p;
        } else {
            char allowed[400];
            size_t pos = 0;
            allowed[0] = '\0';
            for (keyspec *t = specs; t->name && pos < sizeof allowed; t++)
                pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s",
                                        t == specs ? "" : ", ", t->name);
            cw_err_at(x, k, "unknown key \"%s\" in %s (allowed: %s)", cw_sval(k), where, allowed);
        }
    }
}

keyspec *cw_spec(keyspec *specs, const char *name)
{
    for (keyspec *s = specs; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

void cw_fmt_range(char *buf, size_t cap, double min, double max)
{
    snprintf(buf, cap, "[%.15g, %.15g]", min, max);
}

/* Integer key: plain scalar, within [min, max]. */
bool cw_get_int(vctx *x, keyspec *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s->value)
        return false;
    int64_t v;
    if (!cw_is_scalar(s->value) || s->value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        !csg_parse_int_text(cw_sval(s->value), &v)) {
        cw_err_at(x, s->value, "\"%s\" must be an integer", s->name);
        return false;
    }
    if (v < min || v > max) {
        cw_err_at(x, s->value, "\"%s\" must be within [%lld, %lld]", s->name, (long long)min,
               (long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool cw_get_double(vctx *x, keyspec *s, double min, double max, double *out)
{
    if (!s->value)
        return false;
    double v;
    if (!cw_is_scalar(s->value) || s->value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        !csg_parse_double_text(cw_sval(s->value), &v)) {
        cw_err_at(x, s->value, "\"%s\" must be a number", s->name);
        return false;
    }
    if (v < min || v > max) {
        char r[80];
        cw_fmt_range(r, sizeof r, min, max);
        cw_err_at(x, s->value, "\"%s\" must be within %s", s->name, r);
        return false;
    }
    *out = v;
    return true;
}

/* String key: any scalar that is not null, length within [minlen, maxlen]. */
bool cw_get_str(vctx *x, keyspec *s, size_t minlen, size_t maxlen, char **out)
{
    if (!s->value)
        return false;
    if (!cw_is_scalar(s->value) || cw_is_null(s->value)) {
        cw_err_at(x, s->value, "\"%s\" must be a string, not %s", s->name, cw_type_name(s->value));
        return false;
    }
    size_t len = s->value->data.scalar.length;
    if (len < minlen || len > maxlen || strlen(cw_sval(s->value)) != len) {
        cw_err_at(x, s->value, "\"%s\" must be %zu to %zu characters long", s->name, minlen, maxlen);
        return false;
    }
    char *d = strdup(cw_sval(s->value));
    if (!d)
        return false;
    free(*out);
    *out = d;
    return true;
}

/* A name that goes into JSON events and metric labels: printable ASCII. */
bool cw_get_name(vctx *x, keyspec *s, size_t maxlen, char **out)
{
    if (!cw_get_str(x, s, 1, maxlen, out))
        return false;
    for (const char *p = *out; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\') {
            cw_err_at(x, s->value,
                   "\"%s\" must be printable ASCII without spaces, quotes or backslashes",
                   s->name);
            free(*out);
            *out = NULL;
            return false;
        }
    return true;
}

int cw_get_enum(vctx *x, keyspec *s, const char *const *names, int dflt)
{
    if (!s->value)
        return dflt;
    if (cw_is_scalar(s->value))
        for (int i = 0; names[i]; i++)
            if (!strcmp(cw_sval(s->value), names[i]))
                return i;
    char allowed[200];
    size_t pos = 0;
    for (int i = 0; names[i] && pos < sizeof allowed; i++)
        pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s", i ? " | " : "",
                                names[i]);
    cw_err_at(x, s->value, "\"%s\" must be one of %s", s->name, allowed);
    return dflt;
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

