/* fuzz_application.c — libFuzzer target for the JSON application parser
 * (HTTP bodies and TCP lines, core/application.c) against feature schemas.
 *
 * Input: a first byte 0x01, 0x02 or 0x03 selects a schema (the shipped
 * 13-feature one; booleans and exclusive integer bounds under
 * unknown_fields: reject; one of every type with nothing required) and the
 * rest is the JSON text; any other first byte means the default schema
 * (income, loan_amount, credit_history) and the whole input is the JSON
 * text, so plain JSON seeds keep working.
 *
 * Invariants of an accepted application:
 *  - its canonical JSON parses again to the very same canonical JSON
 *    (a fixed point) and the same applicant id;
 *  - differential with jansson: a feature is present exactly when the
 *    input object has that key, and its value equals jansson's reading;
 *  - every present value keeps its feature's rule (bounds, membership). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "application.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                  \
    do {                                                                                          \
        if (!(c))                                                                                 \
            __builtin_trap();                                                                     \
    } while (0)

static void num(csg_schema *s, const char *name, csg_feature_type t, bool req, bool has_min,
                double min, bool min_ex, bool has_max, double max)
{
    csg_feature *f = csg_schema_add(s, name, t);
    f->required = req;
    f->has_min = has_min;
    f->min = min;
    f->min_i = (int64_t)min;
    f->min_exclusive = min_ex;
    f->has_max = has_max;
    f->max = max;
    f->max_i = (int64_t)max;
}

static void cat(csg_schema *s, const char *name, const char *const *values)
{
    csg_feature *f = csg_schema_add(s, name, CSG_FEATURE_CATEGORY);
    for (; *values; values++)
        csg_feature_add_value(f, *values);
}

static csg_schema *g_schemas[4];

static void build_schemas(void)
{
    g_schemas[0] = csg_schema_default();
    csg_schema *s = g_schemas[1] = csg_schema_new(); /* config/experiments.yaml */
    num(s, "income", CSG_FEATURE_NUMBER, true, true, 0, false, false, 0);
    num(s, "loan_amount", CSG_FEATURE_NUMBER, true, true, 0, true, false, 0);
    num(s, "credit_history", CSG_FEATURE_INTEGER, true, true, 0, false, true, 2147483647);
    num(s, "seniority_years", CSG_FEATURE_INTEGER, false, true, 0, false, false, 0);
    cat(s, "home", (const char *const[]){"rent", "owner", "parents", "priv", "other", "ignore", NULL});
    num(s, "term_months", CSG_FEATURE_INTEGER, false, true, 0, true, false, 0);
    num(s, "age", CSG_FEATURE_INTEGER, false, true, 18, false, true, 120);
    cat(s, "marital",
        (const char *const[]){"single", "married", "widow", "separated", "divorced", NULL});
    cat(s, "job", (const char *const[]){"fixed", "freelance", "partime", "others", NULL});
    num(s, "expenses", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "assets", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "debt", CSG_FEATURE_NUMBER, false, true, 0, false, false, 0);
    num(s, "purchase_price", CSG_FEATURE_NUMBER, false, true, 0, true, false, 0);
    s = g_schemas[2] = csg_schema_new();
    s->reject_unknown = true;
    csg_schema_add(s, "flag", CSG_FEATURE_BOOLEAN)->required = true;
    num(s, "n", CSG_FEATURE_INTEGER, false, true, -3, true, true, 3);
    num(s, "x", CSG_FEATURE_NUMBER, false, true, -1.5, true, true, 1e300);
    s = g_schemas[3] = csg_schema_new();
    num(s, "a", CSG_FEATURE_NUMBER, false, false, 0, false, false, 0);
    num(s, "b", CSG_FEATURE_INTEGER, false, false, 0, false, false, 0);
    cat(s, "c", (const char *const[]){"x", "y z", "é-not-allowed-in-config-but-fine-here", NULL});
    csg_schema_add(s, "d", CSG_FEATURE_BOOLEAN);
    for (int i = 1; i < 4; i++)
        csg_schema_finish(g_schemas[i]);
}

/* The feature's value as jansson reads the input, against the application. */
static void differential(const csg_schema *s, const csg_application *app, const json_t *root)
{
    for (unsigned i = 0; i < s->n; i++) {
        const csg_feature *f = &s->f[i];
        const json_t *jv = json_object_get(root, f->name);
        double d;
        int64_t v;
        bool b;
        switch (f->type) {
        case CSG_FEATURE_NUMBER:
            CHECK(csg_app_number(app, (int)i, &d) == (jv != NULL));
            if (jv) {
                CHECK(d == json_number_value(jv) && isfinite(d));
                CHECK(!f->has_min || (f->min_exclusive ? d > f->min : d >= f->min));
                CHECK(!f->has_max || (f->max_exclusive ? d < f->max : d <= f->max));
            }
            break;
        case CSG_FEATURE_INTEGER:
            CHECK(csg_app_integer(app, (int)i, &v) == (jv != NULL));
            if (jv)
                CHECK(json_is_integer(jv) && v == json_integer_value(jv) && v >= f->imin &&
                      v <= f->imax);
            break;
        case CSG_FEATURE_CATEGORY: {
            const char *c = csg_app_category(app, (int)i);
            CHECK((c != NULL) == (jv != NULL));
            if (jv)
                CHECK(json_is_string(jv) && !strcmp(c, json_string_value(jv)));
            break;
        }
        case CSG_FEATURE_BOOLEAN:
            CHECK(csg_app_flag(app, (int)i, &b) == (jv != NULL));
            if (jv)
                CHECK(json_is_boolean(jv) && b == json_is_true(jv));
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_schemas[0])
        build_schemas();
    const csg_schema *s = g_schemas[0];
    if (size > 0 && data[0] >= 1 && data[0] <= 3) {
        s = g_schemas[data[0]];
        data++;
        size--;
    }
    csg_application *app = NULL;
    char request_id[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error err;
    csg_parse_status st = csg_app_parse(s, (const char *)data, size, &app, request_id, &err);
    if (st != CSG_PARSE_OK) {
        CHECK(app == NULL && err.message[0]);
        CHECK(st != CSG_PARSE_INVALID_FIELD || err.field[0]);
        char buf[512];
        csg_json_error(csg_parse_status_code(st), err.message, err.field, buf, sizeof buf);
        return 0;
    }
    size_t n = strlen(csg_app_applicant_id(app));
    CHECK(n > 0 && n <= CSG_APPLICANT_ID_MAX);
    size_t jl;
    const char *canon = csg_app_json(app, &jl);
    CHECK(strlen(canon) == jl);
    csg_application *again = NULL;
    CHECK(csg_app_parse(s, canon, jl, &again, NULL, NULL) == CSG_PARSE_OK);
    CHECK(!strcmp(csg_app_json(again, NULL), canon));
    CHECK(!strcmp(csg_app_applicant_id(again), csg_app_applicant_id(app)));
    json_t *root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    CHECK(root != NULL);
    differential(s, app, root);
    json_decref(root);
    csg_app_free(again);
    csg_app_free(app);
    return 0;
}
