/*
 * application.c — JSON loan application validation against the feature
 * schema (DESIGN §3, §5): the one place that decides what a valid
 * application is, and the application object plugins read through
 * csg_core_api (application.h).
 */
#include "application.h"
#include "app_scan.h"
#include "csg_json_escape.h"
#include "csg_utf8.h"

#include <jansson.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

static csg_parse_status fail(csg_parse_error *err, csg_parse_status status, const char *field,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static csg_parse_status fail(csg_parse_error *err, csg_parse_status status, const char *field,
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

bool csg_valid_request_id(const char *id, size_t len)
{
    if (len == 0 || len > CSG_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return false;
    return true;
}

/* Control characters in an applicant id would end up in logs and CSV exports. */
bool csg_app_valid_applicant_id(const char *s, size_t len)
{
    if (len == 0 || len > CSG_APPLICANT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* A JSON number (integer or real) that is finite; booleans and strings are not numbers. */
static bool get_number(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return false;
    return isfinite(*out);
}

/* ------------------------------------------------------------------------ */
/* The application                                                           */

typedef struct app_slot {
    app_val v;
    uint16_t off, len; /* the value's text in json */
} app_slot;

/* One malloc block, sized to the schema (a request's allocation should not
 * pay for 64 features): this header, slot[schema->n], the JSON, the id. */
struct csg_application {
    csg_schema *schema;       /* a reference */
    uint64_t present;         /* bit i: feature i present */
    const char *applicant_id; /* in the block */
    const char *json;         /* in the block: canonical compact JSON, NUL-terminated */
    size_t json_len;
    size_t feat_off; /* json + feat_off: ",<features>}" or "}" */
    app_slot slot[];
};

/* Bound on the canonical text: a 64-byte id escaped, 64 features of a
 * 32-byte name and a value of at most 66 bytes (a category value quoted). */
#define APP_JSON_MAX 16384

static bool has(const csg_application *app, int i)
{
    return app && i >= 0 && (unsigned)i < app->schema->n && (app->present >> i & 1u);
}

/* Render and allocate: the one constructor every path goes through. */
static csg_application *app_build(const csg_schema *s, const char *id, uint64_t present,
                                  const app_val *v)
{
    char buf[APP_JSON_MAX];
    uint16_t voff[CSG_MAX_FEATURES] = {0}, vlen[CSG_MAX_FEATURES] = {0};
    csg_jsonw w = {buf, sizeof buf, 0};
    csg_jsonw_lit(&w, "{\"applicant_id\":");
    csg_jsonw_str(&w, id);
    size_t feat_off = w.pos;
    for (unsigned i = 0; i < s->n; i++) {
        if (!(present >> i & 1u))
            continue;
        const csg_feature *f = &s->f[i];
        csg_jsonw_raw(&w, ",\"", 2);
        csg_jsonw_raw(&w, f->name, f->name_len);
        csg_jsonw_raw(&w, "\":", 2);
        size_t at = w.pos;
        switch (f->type) {
        case CSG_FEATURE_NUMBER:
            /* "-0" would read back as the integer 0: keep the sign. */
            if (v[i].d == 0 && signbit(v[i].d))
                csg_jsonw_lit(&w, "-0.0");
            else
                csg_jsonw_double(&w, v[i].d);
            break;
        case CSG_FEATURE_INTEGER:
            csg_jsonw_int(&w, v[i].i);
            break;
        case CSG_FEATURE_CATEGORY:
            csg_jsonw_str(&w, f->values[v[i].k]);
            break;
        case CSG_FEATURE_BOOLEAN:
            csg_jsonw_lit(&w, v[i].b ? "true" : "false");
            break;
        }
        if (w.pos < sizeof buf) {
            voff[i] = (uint16_t)at;
            vlen[i] = (uint16_t)(w.pos - at);
        }
    }
    csg_jsonw_raw(&w, "}", 1);
    size_t n = csg_jsonw_finish(&w);
    if (n >= sizeof buf)
        return NULL; /* cannot happen within the schema's bounds */
    size_t idlen = strlen(id);
    csg_application *app = malloc(sizeof *app + s->n * sizeof(app_slot) + n + 1 + idlen + 1);
    if (!app)
        return NULL;
    app->schema = csg_schema_ref((csg_schema *)s);
    app->present = present;
    for (unsigned i = 0; i < s->n; i++)
        app->slot[i] = (present >> i & 1u) ? (app_slot){.v = v[i], .off = voff[i], .len = vlen[i]}
                                            : (app_slot){.len = 0};
    char *json = (char *)&app->slot[s->n];
    memcpy(json, buf, n + 1);
    memcpy(json + n + 1, id, idlen + 1);
    app->json = json;
    app->applicant_id = json + n + 1;
    app->json_len = n;
    app->feat_off = feat_off;
    return app;
}

void csg_app_free(csg_application *app)
{
    if (!app)
        return;
    csg_schema_unref(app->schema);
    free(app);
}

/* Within number feature f's bounds? */
bool csg_app_number_in_rule(const csg_feature *f, double d)
{
    if (f->has_min && (f->min_exclusive ? !(d > f->min) : !(d >= f->min)))
        return false;
    if (f->has_max && (f->max_exclusive ? !(d < f->max) : !(d <= f->max)))
        return false;
    return isfinite(d);
}

/* One feature's value from the JSON tree: false when it breaks f's rule. */
static bool feature_value(const csg_feature *f, const json_t *jv, app_val *out)
{
    switch (f->type) {
    case CSG_FEATURE_NUMBER: {
        double d;
        if (!get_number(jv, &d) || !csg_app_number_in_rule(f, d))
            return false;
        out->d = d;
        return true;
    }
    case CSG_FEATURE_INTEGER: {
        /* Only an integer token: 3.0 and 1e3 are reals (jansson), a literal
         * beyond int64 is already invalid_json. */
        if (!json_is_integer(jv))
            return false;
        json_int_t i = json_integer_value(jv);
        if (i < f->imin || i > f->imax)
            return false;
        out->i = i;
        return true;
    }
    case CSG_FEATURE_CATEGORY: {
        if (!json_is_string(jv))
            return false;
        int k = csg_feature_find_value(f, json_string_value(jv), json_string_length(jv));
        if (k < 0 || strlen(json_string_value(jv)) != json_string_length(jv))
            return false;
        out->k = (uint32_t)k;
        return true;
    }
    case CSG_FEATURE_BOOLEAN:
        if (!json_is_boolean(jv))
            return false;
        out->b = json_is_true(jv);
        return true;
    }
    return false;
}

/* An unknown key as the error's field: printable ASCII, '?' for the rest;
 * never empty (an error names its field). */
static void field_text(const char *key, char *out, size_t cap)
{
    if (!*key) {
        snprintf(out, cap, "(empty key)");
        return;
    }
    size_t i = 0;
    for (; key[i] && i + 1 < cap; i++)
        out[i] = (unsigned char)key[i] >= 0x20 && (unsigned char)key[i] < 0x7f ? key[i] : '?';
    out[i] = '\0';
}

csg_parse_status csg_app_parse_jansson(const csg_schema *schema, const char *json, size_t len,
                                       csg_application **out, char *request_id,
                                       csg_parse_error *err)
{
    *out = NULL;
    json_error_t jerr;
    /* JSON_ALLOW_NUL: "\u0000" in a string is valid JSON; the field checks
     * below refuse it by name (as grpc.so does a NUL in a proto string). */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    csg_parse_status st = CSG_PARSE_OK;
    if (!root)
        return fail(err, CSG_PARSE_INVALID_JSON, NULL, "invalid JSON at position %d: %s",
                    jerr.position, jerr.text);
    if (!json_is_object(root)) {
        st = fail(err, CSG_PARSE_INVALID_JSON, NULL, "the application must be a JSON object");
        goto out;
    }

    /* A valid request_id is taken before the other fields are checked, so
     * an error reply for a bad field can still carry it (TCP error lines). */
    const json_t *rid = json_object_get(root, "request_id");
    if (request_id) {
        request_id[0] = '\0';
        if (json_is_string(rid) &&
            csg_valid_request_id(json_string_value(rid), json_string_length(rid)))
            memcpy(request_id, json_string_value(rid), json_string_length(rid) + 1);
    }

    const json_t *v = json_object_get(root, "applicant_id");
    if (!v) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "applicant_id", "applicant_id is required");
        goto out;
    }
    if (!json_is_string(v) ||
        !csg_app_valid_applicant_id(json_string_value(v), json_string_length(v))) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "applicant_id",
                  "applicant_id must be a string of 1-%d bytes (UTF-8), no control characters",
                  CSG_APPLICANT_ID_MAX);
        goto out;
    }
    const char *id = json_string_value(v);

    app_val vals[CSG_MAX_FEATURES];
    uint64_t present = 0;
    size_t known = 1 + (rid ? 1 : 0);
    for (unsigned i = 0; i < schema->n; i++) {
        const csg_feature *f = &schema->f[i];
        const json_t *jv = json_object_get(root, f->name);
        if (!jv) {
            if (f->required) {
                st = fail(err, CSG_PARSE_INVALID_FIELD, f->name, "%s is required", f->name);
                goto out;
            }
            continue;
        }
        if (!feature_value(f, jv, &vals[i])) {
            st = fail(err, CSG_PARSE_INVALID_FIELD, f->name, "%s", f->rule);
            goto out;
        }
        present |= (uint64_t)1 << i;
        known++;
    }
    if (schema->reject_unknown && json_object_size(root) > known) {
        const char *key;
        json_t *val;
        json_object_foreach(root, key, val) {
            if (!strcmp(key, "applicant_id") || !strcmp(key, "request_id") ||
                csg_schema_find(schema, key, strlen(key)) >= 0)
                continue;
            char shown[40];
            field_text(key, shown, sizeof shown);
            st = fail(err, CSG_PARSE_INVALID_FIELD, shown,
                      "unknown field \"%s\" (the schema has unknown_fields: reject)", shown);
            goto out;
        }
    }

    if (rid && request_id && !request_id[0]) { /* present but not a valid id */
        st = fail(err, CSG_PARSE_INVALID_FIELD, "request_id",
                  "request_id must be 1-%d printable ASCII characters", CSG_REQUEST_ID_MAX);
        goto out;
    }
    *out = app_build(schema, id, present, vals);
    if (!*out)
        st = fail(err, CSG_PARSE_INVALID_JSON, NULL, "out of memory");
out:
    json_decref(root);
    return st;
}

csg_parse_status csg_app_parse(const csg_schema *schema, const char *json, size_t len,
                               csg_application **out, char *request_id, csg_parse_error *err)
{
    /* The scanner takes the valid applications without allocating; the
     * rest (errors above all) gets jansson's verdict and wording. */
    app_fields f;
    char rid[CSG_REQUEST_ID_MAX + 1]; /* request_id is only written as jansson's path does */
    if (!csg_app_scan(schema, json, len, &f, request_id ? rid : NULL))
        return csg_app_parse_jansson(schema, json, len, out, request_id, err);
    if (request_id)
        memcpy(request_id, rid, strlen(rid) + 1);
    *out = app_build(schema, f.id, f.present, f.v);
    return *out ? CSG_PARSE_OK : fail(err, CSG_PARSE_INVALID_JSON, NULL, "out of memory");
}

csg_application *csg_app_rebind(csg_application *app, const csg_schema *nw)
{
    app_val vals[CSG_MAX_FEATURES];
    uint64_t present = 0;
    const csg_schema *old = app->schema;
    for (unsigned i = 0; i < old->n; i++) {
        if (!(app->present >> i & 1u))
            continue;
        const csg_feature *f = &old->f[i];
        int j = csg_schema_find(nw, f->name, f->name_len);
        if (j < 0 || nw->f[j].type != f->type)
            continue; /* not a compatible reload: the feature is dropped */
        vals[j] = app->slot[i].v;
        if (f->type == CSG_FEATURE_CATEGORY) {
            const char *val = f->values[app->slot[i].v.k];
            int k = csg_feature_find_value(&nw->f[j], val, strlen(val));
            if (k < 0)
                continue;
            vals[j].k = (uint32_t)k;
        }
        present |= (uint64_t)1 << j;
    }
    csg_application *n = app_build(nw, app->applicant_id, present, vals);
    csg_app_free(app);
    return n;
}

/* A valid value for f: `preferred` when it keeps the rule, else one inside
 * the bounds (the configuration refuses empty ranges). */
static app_val probe_value(const csg_feature *f, double preferred)
{
    app_val v = {0};
    if (f->type == CSG_FEATURE_INTEGER) {
        double x = preferred;
        v.i = x <= (double)f->imin ? f->imin : x >= (double)f->imax ? f->imax : (int64_t)x;
        return v;
    }
    double lo = f->has_min ? f->min : -1e300, hi = f->has_max ? f->max : 1e300;
    const double candidates[] = {preferred, lo / 2 + hi / 2, nextafter(lo, hi),
                                 nextafter(hi, lo)};
    v.d = candidates[0];
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (csg_app_number_in_rule(f, candidates[i])) {
            v.d = candidates[i];
            break;
        }
    return v;
}

csg_application *csg_app_probe(const csg_schema *s)
{
    static const struct {
        const char *name;
        double value;
    } brief[] = {{"income", 50000}, {"loan_amount", 10000}, {"credit_history", 1}};
    app_val vals[CSG_MAX_FEATURES];
    uint64_t present = 0;
    for (unsigned i = 0; i < s->n; i++) {
        const csg_feature *f = &s->f[i];
        double preferred = 0;
        bool is_brief = false;
        for (size_t b = 0; b < sizeof brief / sizeof brief[0]; b++)
            if (!strcmp(f->name, brief[b].name)) {
                preferred = brief[b].value;
                is_brief = true;
            }
        if (!f->required && !is_brief)
            continue;
        if (f->type == CSG_FEATURE_CATEGORY) {
            if (!f->n_values)
                continue;
            vals[i].k = 0;
        } else if (f->type == CSG_FEATURE_BOOLEAN) {
            vals[i].b = false;
        } else {
            vals[i] = probe_value(f, preferred);
        }
        present |= (uint64_t)1 << i;
    }
    return app_build(s, "csg-readiness-probe", present, vals);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */

const csg_schema *csg_app_schema(const csg_application *app)
{
    return app->schema;
}

const char *csg_app_applicant_id(const csg_application *app)
{
    return app->applicant_id;
}

const char *csg_app_json(const csg_application *app, size_t *len)
{
    if (len)
        *len = app->json_len;
    return app->json;
}

size_t csg_app_features_json(const csg_application *app, char *buf, size_t cap)
{
    /* json + feat_off is ",\"a\":1,…}" or "}": the features object is "{"
     * and the same text without its leading comma. */
    const char *rest = app->json + app->feat_off;
    size_t n = app->json_len - app->feat_off;
    csg_jsonw w = {buf, cap, 0};
    csg_jsonw_raw(&w, "{", 1);
    if (*rest == ',')
        csg_jsonw_raw(&w, rest + 1, n - 1);
    else
        csg_jsonw_raw(&w, "}", 1);
    return csg_jsonw_finish(&w);
}

const char *csg_app_value_text(const csg_application *app, int i, size_t *len)
{
    if (!has(app, i) || !app->slot[i].len)
        return NULL;
    *len = app->slot[i].len;
    return app->json + app->slot[i].off;
}

bool csg_app_number(const csg_application *app, int i, double *out)
{
    if (!has(app, i))
        return false;
    csg_feature_type t = app->schema->f[i].type;
    if (t == CSG_FEATURE_NUMBER)
        *out = app->slot[i].v.d;
    else if (t == CSG_FEATURE_INTEGER)
        *out = (double)app->slot[i].v.i;
    else
        return false;
    return true;
}

bool csg_app_integer(const csg_application *app, int i, int64_t *out)
{
    if (!has(app, i) || app->schema->f[i].type != CSG_FEATURE_INTEGER)
        return false;
    *out = app->slot[i].v.i;
    return true;
}

const char *csg_app_category(const csg_application *app, int i)
{
    if (!has(app, i) || app->schema->f[i].type != CSG_FEATURE_CATEGORY)
        return NULL;
    return app->schema->f[i].values[app->slot[i].v.k];
}

bool csg_app_flag(const csg_application *app, int i, bool *out)
{
    if (!has(app, i) || app->schema->f[i].type != CSG_FEATURE_BOOLEAN)
        return false;
    *out = app->slot[i].v.b;
    return true;
}

unsigned csg_api_feature_count(const csg_schema *s)
{
    return s ? s->n : 0;
}

static const csg_feature *feature_at(const csg_schema *s, int i)
{
    return s && i >= 0 && (unsigned)i < s->n ? &s->f[i] : NULL;
}

const char *csg_api_feature_name(const csg_schema *s, int i)
{
    const csg_feature *f = feature_at(s, i);
    return f ? f->name : NULL;
}

int csg_api_feature_index(const csg_schema *s, const char *name)
{
    return s && name ? csg_schema_find(s, name, strlen(name)) : -1;
}

csg_feature_type csg_api_feature_type(const csg_schema *s, int i)
{
    const csg_feature *f = feature_at(s, i);
    return f ? f->type : (csg_feature_type)0;
}

const char *csg_api_category_value(const csg_schema *s, int i, unsigned k)
{
    const csg_feature *f = feature_at(s, i);
    return f && f->type == CSG_FEATURE_CATEGORY && k < f->n_values ? f->values[k] : NULL;
}

void csg_app_api_fill(csg_core_api *api)
{
    api->application_free = csg_app_free;
    api->feature_count = csg_api_feature_count;
    api->feature_name = csg_api_feature_name;
    api->feature_index = csg_api_feature_index;
    api->feature_type = csg_api_feature_type;
    api->category_value = csg_api_category_value;
    api->app_schema = csg_app_schema;
    api->app_applicant_id = csg_app_applicant_id;
    api->app_json = csg_app_json;
    api->app_number = csg_app_number;
    api->app_integer = csg_app_integer;
    api->app_category = csg_app_category;
    api->app_flag = csg_app_flag;
}

/* ------------------------------------------------------------------------ */
/* Without a configuration: the default schema                               */

static csg_schema *g_default_schema;

static void init_default_schema(void)
{
    g_default_schema = csg_schema_default();
}

csg_parse_status csg_app_parse_default(csg_worker *w, const char *json, size_t len,
                                       csg_application **app, char *request_id,
                                       csg_parse_error *err)
{
    (void)w;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_default_schema);
    if (!g_default_schema) {
        *app = NULL;
        return fail(err, CSG_PARSE_INVALID_JSON, NULL, "out of memory");
    }
    return csg_app_parse(g_default_schema, json, len, app, request_id, err);
}

const char *csg_parse_status_code(csg_parse_status status)
{
    switch (status) {
    case CSG_PARSE_INVALID_JSON:
        return CSG_CODE_INVALID_JSON;
    case CSG_PARSE_INVALID_FIELD:
        return CSG_CODE_INVALID_FIELD;
    default:
        return NULL;
    }
}
