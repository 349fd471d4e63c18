/*
 * model.c — load csg-model files (format csg-model/2, models/README.md): the
 * header, the feature list with its input rules and reasons, and the public
 * scoring API; the bodies are scorecard.c's and gbm.c's, the reasons of a
 * gbm treeshap.c's.
 *
 * Everything a file says is checked at load time (types, finiteness, sizes,
 * tree shape), so scoring needs no checks and can never loop or index out of
 * bounds.
 */
#include "model_internal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT_V2 "csg-model/2"

#define fail csg_model_fail

bool csg_model_get_num(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return false;
    return isfinite(*out);
}

bool csg_model_get_int32(const json_t *v, int32_t *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < INT32_MIN || i > INT32_MAX)
        return false;
    *out = (int32_t)i;
    return true;
}

int csg_model_known_keys(const json_t *o, const char *const *allowed, const char *where,
                         csg_model_error *err)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        size_t k = 0;
        while (allowed[k] && strcmp(allowed[k], key) != 0)
            k++;
        if (!allowed[k]) {
            char list[256];
            size_t pos = 0;
            list[0] = '\0';
            for (k = 0; allowed[k] && pos < sizeof list; k++)
                pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s%s", k ? ", " : "",
                                        allowed[k]);
            return fail(err, "%sunknown key \"%s\" (%s)", where, key, list);
        }
    }
    return 0;
}

/* Names as the gateway's schema has them; the id fields are not features. */
static bool valid_feature_name(const char *s, size_t n)
{
    if (n < 1 || n > CSG_MODEL_FEATURE_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return strcmp(s, "applicant_id") != 0 && strcmp(s, "request_id") != 0;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 * without control characters: what a reason text may hold. */
static bool valid_text(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return false;
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += len;
    }
    return true;
}

static bool valid_code(const char *s, size_t n)
{
    if (n < 1 || n > CSG_MODEL_REASON_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static int parse_reason(const json_t *r, size_t i, csg_model_feature *f, csg_model_error *err)
{
    static const char *const keys[] = {"code", "text", NULL};
    char where[48];
    snprintf(where, sizeof where, "features[%zu].reason: ", i);
    if (!json_is_object(r))
        return fail(err, "features[%zu].reason must be an object {\"code\", \"text\"}", i);
    if (csg_model_known_keys(r, keys, where, err))
        return -CSG_MODEL_EINVAL;
    const json_t *c = json_object_get(r, "code"), *t = json_object_get(r, "text");
    if (!json_is_string(c) || !valid_code(json_string_value(c), json_string_length(c)))
        return fail(err, "features[%zu].reason.code must match [A-Z0-9_]{1,%d}", i,
                    CSG_MODEL_REASON_CODE_MAX);
    if (!json_is_string(t) || json_string_length(t) < 1 ||
        json_string_length(t) > CSG_MODEL_REASON_TEXT_MAX ||
        strlen(json_string_value(t)) != json_string_length(t) ||
        !valid_text(json_string_value(t), json_string_length(t)))
        return fail(err, "features[%zu].reason.text must be 1-%d bytes of UTF-8 without "
                         "control characters", i, CSG_MODEL_REASON_TEXT_MAX);
    memcpy(f->reason_code, json_string_value(c), json_string_length(c) + 1);
    memcpy(f->reason_text, json_string_value(t), json_string_length(t) + 1);
    return 0;
}

static int parse_values(const json_t *a, size_t i, csg_model_feature *f, csg_model_error *err)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n < 1 || n > CSG_MODEL_MAX_LEVELS)
        return fail(err, "features[%zu].values must be an array of 1-%d strings", i,
                    CSG_MODEL_MAX_LEVELS);
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(a, k);
        size_t len = json_string_length(v);
        if (!json_is_string(v) || len < 1 || len > CSG_MODEL_LEVEL_MAX ||
            strlen(json_string_value(v)) != len || !valid_text(json_string_value(v), len))
            return fail(err, "features[%zu].values[%zu] must be a string of 1-%d bytes "
                             "(UTF-8, no control characters)", i, k, CSG_MODEL_LEVEL_MAX);
        memcpy(f->values[k], json_string_value(v), len + 1);
        for (size_t j = 0; j < k; j++)
            if (strcmp(f->values[j], f->values[k]) == 0)
                return fail(err, "features[%zu].values: \"%s\" is listed twice", i, f->values[k]);
    }
    f->nvalues = n;
    return 0;
}

/* {"name", "type": "number"|"integer"|"category", "required"?, "min"?, "max"?,
 * "min_exclusive"?, "max_exclusive"?, "clip_max"?, "values" (category),
 * "reason": {"code", "text"}}; unknown keys are refused, so a typo
 * ("minimum") cannot silently drop a rule. */
static int parse_feature(const json_t *o, size_t i, csg_model_feature *f, csg_model_error *err)
{
    static const char *const keys[] = {"name", "type", "required", "min", "max",
                                       "min_exclusive", "max_exclusive", "clip_max",
                                       "values", "reason", NULL};
    char where[32];
    snprintf(where, sizeof where, "features[%zu]: ", i);
    if (!json_is_object(o))
        return fail(err, "features[%zu] must be an object {\"name\", \"type\", ...}", i);
    if (csg_model_known_keys(o, keys, where, err))
        return -CSG_MODEL_EINVAL;
    const json_t *v = json_object_get(o, "name");
    if (!json_is_string(v) || !valid_feature_name(json_string_value(v), json_string_length(v)))
        return fail(err, "features[%zu].name must match [a-z][a-z0-9_]{0,%d} and not be "
                         "applicant_id or request_id", i, CSG_MODEL_FEATURE_NAME_MAX - 1);
    memcpy(f->name, json_string_value(v), json_string_length(v) + 1);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type && strcmp(type, "number") == 0)
        f->type = CSG_MODEL_NUMBER;
    else if (type && strcmp(type, "integer") == 0)
        f->type = CSG_MODEL_INTEGER;
    else if (type && strcmp(type, "category") == 0)
        f->type = CSG_MODEL_CATEGORY;
    else
        return fail(err, "features[%zu].type must be \"number\", \"integer\" or \"category\"",
                    i);
    if ((v = json_object_get(o, "required"))) {
        if (!json_is_boolean(v))
            return fail(err, "features[%zu].required must be true or false", i);
        f->required = json_is_true(v);
    }
    bool cat = f->type == CSG_MODEL_CATEGORY;
    v = json_object_get(o, "values");
    if (cat != (v != NULL))
        return fail(err, "features[%zu]: \"values\" goes with type \"category\" and only there",
                    i);
    if (cat && parse_values(v, i, f, err))
        return -CSG_MODEL_EINVAL;
    static const char *const nums[] = {"min", "max", "clip_max"};
    double *ndst[] = {&f->min, &f->max, &f->clip_max};
    bool *nhas[] = {&f->has_min, &f->has_max, &f->has_clip_max};
    for (size_t k = 0; k < 3; k++) {
        if (!(v = json_object_get(o, nums[k])))
            continue;
        if (cat)
            return fail(err, "features[%zu].%s does not apply to a category", i, nums[k]);
        if (!csg_model_get_num(v, ndst[k]))
            return fail(err, "features[%zu].%s must be a finite number", i, nums[k]);
        *nhas[k] = true;
    }
    static const char *const flags[] = {"min_exclusive", "max_exclusive"};
    bool *dst[] = {&f->min_exclusive, &f->max_exclusive};
    bool has[] = {f->has_min, f->has_max};
    for (size_t k = 0; k < 2; k++) {
        if (!(v = json_object_get(o, flags[k])))
            continue;
        if (!json_is_boolean(v))
            return fail(err, "features[%zu].%s must be true or false", i, flags[k]);
        if (!has[k])
            return fail(err, "features[%zu].%s needs %s", i, flags[k], k ? "max" : "min");
        *dst[k] = json_is_true(v);
    }
    if (f->has_min && f->has_max &&
        (f->min > f->max || (f->min == f->max && (f->min_exclusive || f->max_exclusive))))
        return fail(err, "features[%zu]: min and max leave no valid value", i);
    return parse_reason(json_object_get(o, "reason"), i, f, err);
}

static int parse_features(csg_model *m, const json_t *root, csg_model_error *err)
{
    const json_t *a = json_object_get(root, "features");
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n < 1 || n > CSG_MODEL_MAX_FEATURES)
        return fail(err, "features must be an array of 1-%d features", CSG_MODEL_MAX_FEATURES);
    for (size_t i = 0; i < n; i++) {
        csg_model_feature *f = &m->feat[i];
        int rc = parse_feature(json_array_get(a, i), i, f, err);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->feat[j].name, f->name) == 0)
                return fail(err, "features[%zu]: \"%s\" is listed twice", i, f->name);
    }
    m->nfeat = n;
    return 0;
}

/* Model names end up in JSON, metric labels and logs: keep them plain. */
static bool valid_name(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!s || n < 1 || n >= sizeof ((csg_model *)0)->name)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

int csg_model_parse(const char *json, size_t len, csg_model **out, csg_model_error *err)
{
    static const char *const keys[] = {"format", "type", "model", "features", "cutoff",
                                       "scorecard", "gbm", NULL};
    json_error_t jerr;
    int rc = -CSG_MODEL_EINVAL;
    csg_model *m = NULL;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fail(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        fail(err, "a model file must hold a JSON object");
        goto fail;
    }
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, FORMAT_V2) != 0) {
        fail(err, "format must be \"%s\" (got %s%s%s)", FORMAT_V2, format ? "\"" : "",
             format ? format : "nothing", format ? "\"" : "");
        goto fail;
    }
    if (csg_model_known_keys(root, keys, "", err))
        goto fail;
    m = calloc(1, sizeof *m);
    if (!m) {
        rc = -CSG_MODEL_ENOMEM;
        fail(err, "out of memory");
        goto fail;
    }
    const json_t *name = json_object_get(root, "model");
    if (!valid_name(name)) {
        fail(err, "model must be a name of 1-%zu characters A-Z a-z 0-9 . _ -",
             sizeof m->name - 1);
        goto fail;
    }
    memcpy(m->name, json_string_value(name), json_string_length(name) + 1);
    if (!csg_model_get_num(json_object_get(root, "cutoff"), &m->cutoff) || m->cutoff < 0 ||
        m->cutoff > 1) {
        fail(err, "cutoff must be a number in [0, 1]");
        goto fail;
    }
    if ((rc = parse_features(m, root, err)))
        goto fail;
    const char *type = json_string_value(json_object_get(root, "type"));
    const char *other = NULL;
    if (type && strcmp(type, "scorecard") == 0) {
        m->kind = K_SCORECARD;
        other = "gbm";
        rc = csg_scorecard_parse(m, json_object_get(root, "scorecard"), err);
    } else if (type && strcmp(type, "gbm") == 0) {
        m->kind = K_GBM;
        other = "scorecard";
        rc = csg_gbm_parse(m, json_object_get(root, "gbm"), err);
    } else {
        rc = fail(err, "type must be \"scorecard\" or \"gbm\"");
    }
    if (!rc && json_object_get(root, other))
        rc = fail(err, "a %s file has no \"%s\" section", type, other);
    if (rc)
        goto fail;
    json_decref(root);
    *out = m;
    return 0;
fail:
    csg_model_free(m);
    json_decref(root);
    return rc ? rc : -CSG_MODEL_EINVAL;
}

int csg_model_load(const char *path, csg_model **out, csg_model_error *err)
{
    int rc = -CSG_MODEL_EIO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        fail(err, "%s: cannot open: %s", path, strerror(errno));
        return -CSG_MODEL_EIO;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(err, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > (off_t)CSG_MODEL_MAX_FILE_BYTES) {
        rc = -CSG_MODEL_EINVAL;
        fail(err, "%s: larger than %u bytes", path, CSG_MODEL_MAX_FILE_BYTES);
        goto out;
    }
    /* One byte more than the size: a file that grew meanwhile is noticed. */
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        rc = -CSG_MODEL_ENOMEM;
        fail(err, "%s: out of memory", path);
        goto out;
    }
    size_t len = fread(buf, 1, cap, f);
    if (ferror(f) || len == cap) {
        fail(err, "%s: read error or file changed while reading", path);
        goto out;
    }
    csg_model_error inner;
    rc = csg_model_parse(buf, len, out, &inner);
    if (rc)
        fail(err, "%s: %s", path, inner.message);
out:
    free(buf);
    fclose(f);
    return rc;
}

void csg_model_free(csg_model *m)
{
    if (!m)
        return;
    free(m->chars);
    free(m->tree_start);
    free(m->nodes);
    free(m);
}

const char *csg_model_name(const csg_model *m) { return m->name; }
const char *csg_model_kind(const csg_model *m) { return m->kind == K_GBM ? "gbm" : "scorecard"; }
double csg_model_cutoff(const csg_model *m) { return m->cutoff; }
size_t csg_model_tree_count(const csg_model *m) { return m->kind == K_GBM ? m->ntrees : 0; }
size_t csg_model_feature_count(const csg_model *m) { return m->nfeat; }
const csg_model_feature *csg_model_feature_at(const csg_model *m, size_t i)
{
    return i < m->nfeat ? &m->feat[i] : NULL;
}

/* 1 / (1 + exp(-x)), the expression scorer.py uses. */
static double expit(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Indices of the up to CSG_MODEL_REASONS_MAX largest values > 0, largest
 * first, ties by index (scorer.py's _top). */
static size_t top_reasons(const double *v, size_t n, size_t *out)
{
    size_t k = 0;
    bool used[CSG_MODEL_MAX_FEATURES] = {false};
    while (k < CSG_MODEL_REASONS_MAX) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!used[i] && v[i] > 0 && (best == n || v[i] > v[best]))
                best = i;
        if (best == n)
            break;
        used[best] = true;
        out[k++] = best;
    }
    return k;
}

int csg_model_evaluate(const csg_model *m, const double *in, csg_model_result *out)
{
    double x[CSG_MODEL_MAX_FEATURES], loss[CSG_MODEL_MAX_FEATURES];
    for (size_t i = 0; i < m->nfeat; i++) {
        const csg_model_feature *f = &m->feat[i];
        x[i] = f->has_clip_max && in[i] > f->clip_max ? f->clip_max : in[i];
    }
    double raw, points = 0;
    if (m->kind == K_SCORECARD)
        raw = csg_scorecard_logit(m, x, &points, loss);
    else
        raw = csg_gbm_raw(m, x);
    double p = expit(raw);
    memset(out, 0, sizeof *out);
    if (isnan(p) || (m->kind == K_SCORECARD && !isfinite(points))) {
        out->decision = CSG_MODEL_DECLINE;
        return -CSG_MODEL_EINVAL;
    }
    out->score = p;
    out->decision = csg_model_decide(m, p);
    out->has_points = m->kind == K_SCORECARD;
    out->points = points;
    if (out->decision == CSG_MODEL_APPROVE)
        return 0;
    if (m->kind != K_SCORECARD) { /* K_GBM, as csg_gbm_raw above */
        double phi[CSG_MODEL_MAX_FEATURES];
        csg_treeshap(m, x, phi);
        for (size_t i = 0; i < m->nfeat; i++)
            loss[i] = -phi[i];
    }
    out->nreasons = top_reasons(loss, m->nfeat, out->reason);
    return 0;
}

int csg_model_score(const csg_model *m, const double *x, double *score)
{
    double xc[CSG_MODEL_MAX_FEATURES], loss[CSG_MODEL_MAX_FEATURES], points;
    for (size_t i = 0; i < m->nfeat; i++) {
        const csg_model_feature *f = &m->feat[i];
        xc[i] = f->has_clip_max && x[i] > f->clip_max ? f->clip_max : x[i];
    }
    double p = expit(m->kind == K_SCORECARD ? csg_scorecard_logit(m, xc, &points, loss)
                                            : csg_gbm_raw(m, xc));
    *score = isnan(p) ? 0 : p;
    return isnan(p) ? -CSG_MODEL_EINVAL : 0;
}

csg_model_decision csg_model_decide(const csg_model *m, double score)
{
    return score >= m->cutoff ? CSG_MODEL_APPROVE : CSG_MODEL_DECLINE;
}
