/*
 * input.c — csg-model's own application reader: the applicant id and the
 * features its model file lists, each checked by the file's rule (input.h).
 */
#include "input.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static csg_input_status fail(csg_input_error *err, csg_input_status status, const char *field,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static csg_input_status fail(csg_input_error *err, csg_input_status status, const char *field,
                             const char *fmt, ...)
{
    if (err) {
        err->status = status;
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        csg_errbuf_vset(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Control characters in an applicant id would end up in logs and CSV exports. */
static bool valid_applicant_id(const char *s, size_t len)
{
    if (len == 0 || len > CSG_MODEL_APPLICANT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* The shortest %g that reads back as v: "0", "2147483647", "0.5". */
static void fmt_bound(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

size_t csg_input_rule_text(const csg_model_feature *f, char *buf, size_t cap)
{
    int n;
    if (f->type == CSG_MODEL_CATEGORY) {
        /* "home must be one of rent, owner, ..." */
        size_t pos = 0;
        n = snprintf(buf, cap, "%s must be one of ", f->name);
        pos = n < 0 ? 0 : (size_t)n;
        for (size_t k = 0; k < f->nvalues; k++) {
            n = snprintf(pos < cap ? buf + pos : NULL, pos < cap ? cap - pos : 0, "%s%s",
                         k ? ", " : "", f->values[k]);
            pos += n < 0 ? 0 : (size_t)n;
        }
        return pos;
    }
    char lo[32], hi[32];
    fmt_bound(f->min, lo, sizeof lo);
    fmt_bound(f->max, hi, sizeof hi);
    const char *what = f->type == CSG_MODEL_INTEGER ? "an integer" : "a finite number";
    if (f->has_min && f->has_max)
        n = snprintf(buf, cap, "%s must be %s in %c%s, %s%c", f->name, what,
                     f->min_exclusive ? '(' : '[', lo, hi, f->max_exclusive ? ')' : ']');
    else if (f->has_min)
        n = snprintf(buf, cap, "%s must be %s %s %s", f->name, what,
                     f->min_exclusive ? ">" : ">=", lo);
    else if (f->has_max)
        n = snprintf(buf, cap, "%s must be %s %s %s", f->name, what,
                     f->max_exclusive ? "<" : "<=", hi);
    else
        n = snprintf(buf, cap, "%s must be %s", f->name, what);
    return n < 0 ? 0 : (size_t)n;
}

static bool in_bounds(const csg_model_feature *f, double v)
{
    if (f->has_min && (f->min_exclusive ? !(v > f->min) : !(v >= f->min)))
        return false;
    if (f->has_max && (f->max_exclusive ? !(v < f->max) : !(v <= f->max)))
        return false;
    return true;
}

/* The value of one feature by its rule: integers must be JSON integers,
 * numbers any finite JSON number (booleans and strings are neither), a
 * category one of its values (as a string, compared byte for byte). */
static bool feature_value(const csg_model_feature *f, const json_t *v, double *out)
{
    if (f->type == CSG_MODEL_CATEGORY) {
        /* the level's index: what the model's bins and splits speak of */
        const char *s = json_string_value(v);
        for (size_t k = 0; s && k < f->nvalues; k++)
            if (strlen(f->values[k]) == json_string_length(v) && strcmp(f->values[k], s) == 0) {
                *out = (double)k;
                return true;
            }
        return false;
    }
    if (f->type == CSG_MODEL_INTEGER) {
        if (!json_is_integer(v))
            return false;
        *out = (double)json_integer_value(v);
    } else if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
    } else if (json_is_real(v)) {
        *out = json_real_value(v);
    } else {
        return false;
    }
    return isfinite(*out) && in_bounds(f, *out);
}

csg_input_status csg_input_read(const csg_model *m, const char *json, size_t len,
                                csg_model_input *in, csg_input_error *err)
{
    json_error_t jerr;
    /* JSON_ALLOW_NUL: "\u0000" in a string is valid JSON; the id check below
     * refuses it by name. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    csg_input_status st = CSG_INPUT_OK;
    if (!root)
        return fail(err, CSG_INPUT_INVALID_JSON, NULL, "invalid JSON at position %d: %s",
                    jerr.position, jerr.text);
    if (!json_is_object(root)) {
        st = fail(err, CSG_INPUT_INVALID_JSON, NULL, "the application must be a JSON object");
        goto out;
    }
    const json_t *v = json_object_get(root, "applicant_id");
    if (!v) {
        st = fail(err, CSG_INPUT_INVALID_FIELD, "applicant_id", "applicant_id is required");
        goto out;
    }
    if (!json_is_string(v) || !valid_applicant_id(json_string_value(v), json_string_length(v))) {
        st = fail(err, CSG_INPUT_INVALID_FIELD, "applicant_id",
                  "applicant_id must be a string of 1-%d bytes (UTF-8), no control characters",
                  CSG_MODEL_APPLICANT_ID_MAX);
        goto out;
    }
    memcpy(in->applicant_id, json_string_value(v), json_string_length(v) + 1);

    size_t n = csg_model_feature_count(m);
    for (size_t i = 0; i < n; i++) {
        const csg_model_feature *f = csg_model_feature_at(m, i);
        v = json_object_get(root, f->name);
        if (!v && !f->required) {
            in->x[i] = NAN; /* missing: the model has its own way with it */
            continue;
        }
        if (!v) {
            st = fail(err, CSG_INPUT_INVALID_FIELD, f->name, "%s is required", f->name);
            goto out;
        }
        if (!feature_value(f, v, &in->x[i])) {
            char rule[160];
            csg_input_rule_text(f, rule, sizeof rule);
            st = fail(err, CSG_INPUT_INVALID_FIELD, f->name, "%s", rule);
            goto out;
        }
    }
out:
    json_decref(root);
    return st;
}

const char *csg_input_status_code(csg_input_status status)
{
    switch (status) {
    case CSG_INPUT_INVALID_JSON:
        return "invalid_json";
    case CSG_INPUT_INVALID_FIELD:
        return "invalid_field";
    default:
        return NULL;
    }
}

