/*
 * test_application.c — core/application.c: DESIGN §5 validation, one row
 * per input, with the field named in each error; the 1.x rules kept bit for
 * bit by the default schema; the shipped 13-feature schema
 * (config/experiments.yaml): types, bounds, categories, booleans, unknown
 * fields; the canonical JSON and the accessors plugins use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "app_scan.h"
#include "application.h"
#include "config.h"

static csg_schema *g_default;

/* The default schema's rules (no `application:`): the brief's three fields. */
static csg_parse_status parse(const char *json, csg_application **app, char *rid,
                              csg_parse_error *err)
{
    return csg_app_parse(g_default, json, strlen(json), app, rid, err);
}

/* The request path (csg_app_parse: scanner, then jansson for the rest)
 * against jansson alone: the same verdict, error and values on every row;
 * and a valid text without escapes or nested values takes the scanner. */
static void same_as_jansson(const csg_schema *s, const char *json)
{
    size_t n = strlen(json);
    csg_application *a = NULL, *b = NULL;
    csg_parse_error ea = {0}, eb = {0};
    char ra[CSG_REQUEST_ID_MAX + 1] = "-", rb[CSG_REQUEST_ID_MAX + 1] = "-";
    csg_parse_status sa = csg_app_parse(s, json, n, &a, ra, &ea);
    assert_int_equal(sa, csg_app_parse_jansson(s, json, n, &b, rb, &eb));
    assert_string_equal(ra, rb);
    assert_string_equal(ea.field, eb.field);
    assert_string_equal(ea.message, eb.message);
    if (sa == CSG_PARSE_OK)
        assert_string_equal(csg_app_json(a, NULL), csg_app_json(b, NULL));
    app_fields f;
    if (sa == CSG_PARSE_OK && !strpbrk(json + 1, "\\[{"))
        assert_true(csg_app_scan(s, json, n, &f, ra));
    csg_app_free(a);
    csg_app_free(b);
}

static const struct case_ {
    const char *json;
    csg_parse_status want;
    const char *field; /* for INVALID_FIELD */
} cases[] = {
    {"{\"applicant_id\":\"12345\",\"income\":60000,\"loan_amount\":25000,\"credit_history\":4}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":0,\"loan_amount\":0.01,\"credit_history\":0}", CSG_PARSE_OK,
     NULL},
    {"{\"applicant_id\":\"a\",\"income\":1.5e5,\"loan_amount\":1e3,\"credit_history\":2,"
     "\"extra\":[1,2,{}]}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"1234567890123456789012345678901234567890123456789012345678901234\","
     "\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"12345678901234567890123456789012345678901234567890123456789012345\","
     "\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "applicant_id"},
    {"", CSG_PARSE_INVALID_JSON, NULL},
    {"{", CSG_PARSE_INVALID_JSON, NULL},
    {"[1,2]", CSG_PARSE_INVALID_JSON, NULL},
    {"\"x\"", CSG_PARSE_INVALID_JSON, NULL},
    {"{\"applicant_id\":\"a\",\"applicant_id\":\"b\",\"income\":1,\"loan_amount\":1,"
     "\"credit_history\":1}",
     CSG_PARSE_INVALID_JSON, NULL},
    {"{\"income\":1,\"loan_amount\":1,\"credit_history\":1}", CSG_PARSE_INVALID_FIELD,
     "applicant_id"},
    {"{\"applicant_id\":\"\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "applicant_id"},
    {"{\"applicant_id\":12345,\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "applicant_id"},
    {"{\"applicant_id\":\"a\\nb\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "applicant_id"},
    /* valid JSON, but a NUL byte is no part of an id (grpc.so refuses it too) */
    {"{\"applicant_id\":\"a\\u0000b\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "applicant_id"},
    {"{\"applicant_id\":\"a\",\"loan_amount\":1,\"credit_history\":1}", CSG_PARSE_INVALID_FIELD,
     "income"},
    {"{\"applicant_id\":\"a\",\"income\":-1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "income"},
    {"{\"applicant_id\":\"a\",\"income\":\"60000\",\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "income"},
    {"{\"applicant_id\":\"a\",\"income\":null,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "income"},
    {"{\"applicant_id\":\"a\",\"income\":true,\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "income"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"credit_history\":1}", CSG_PARSE_INVALID_FIELD,
     "loan_amount"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":0,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "loan_amount"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":-5,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "loan_amount"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1}", CSG_PARSE_INVALID_FIELD,
     "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1.5}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":-1}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    /* gRPC's int32 bound, so every transport accepts the same applications */
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":2147483647}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":2147483648}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,"
     "\"credit_history\":9223372036854775807}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":\"4\"}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1,"
     "\"request_id\":\"req-1\"}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1,"
     "\"request_id\":\"has space\"}",
     CSG_PARSE_INVALID_FIELD, "request_id"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1,"
     "\"request_id\":7}",
     CSG_PARSE_INVALID_FIELD, "request_id"},
    /* What the 1.x parser did at the edges, kept (checked against it). */
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":3.0}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1e3}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":-0}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":-0.0,\"loan_amount\":1,\"credit_history\":0}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,"
     "\"credit_history\":99999999999999999999}",
     CSG_PARSE_INVALID_JSON, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1e400,\"loan_amount\":1,\"credit_history\":0}",
     CSG_PARSE_INVALID_JSON, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1e-400,\"credit_history\":0}",
     CSG_PARSE_INVALID_FIELD, "loan_amount"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":4.9e-324,\"credit_history\":0}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1.7976931348623157e308,"
     "\"credit_history\":0}",
     CSG_PARSE_OK, NULL},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":null}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":true}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,"
     "\"credit_history\":-9223372036854775808}",
     CSG_PARSE_INVALID_FIELD, "credit_history"},
    {"{\"applicant_id\":\"a\",\"income\":[1],\"loan_amount\":1,\"credit_history\":1}",
     CSG_PARSE_INVALID_FIELD, "income"},
    {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1,"
     "\"age\":\"x\",\"zz\":1}",
     CSG_PARSE_OK, NULL},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csg_application *app = NULL;
        char rid[CSG_REQUEST_ID_MAX + 1];
        csg_parse_error err;
        memset(&err, 0, sizeof err);
        csg_parse_status st = parse(cases[i].json, &app, rid, &err);
        assert_true((st == CSG_PARSE_OK) == (app != NULL));
        same_as_jansson(g_default, cases[i].json);
        csg_app_free(app);
        if (st != cases[i].want)
            fail_msg("case %zu (%s): status %d, want %d (%s)", i, cases[i].json, st,
                     cases[i].want, err.message);
        if (st == CSG_PARSE_INVALID_FIELD) {
            assert_string_equal(err.field, cases[i].field);
            assert_non_null(strstr(err.message, cases[i].field));
        }
        if (st != CSG_PARSE_OK)
            assert_true(err.message[0] != '\0');
    }
}

static void test_values(void **state)
{
    (void)state;
    const char *j = "{\"applicant_id\":\"12345\",\"income\":60000.5,\"loan_amount\":25000,"
                    "\"credit_history\":4,\"request_id\":\"abc\"}";
    csg_application *app;
    char rid[CSG_REQUEST_ID_MAX + 1];
    assert_int_equal(parse(j, &app, rid, NULL), CSG_PARSE_OK);
    assert_string_equal(csg_app_applicant_id(app), "12345");
    double d;
    int64_t i;
    assert_true(csg_app_number(app, 0, &d) && d == 60000.5);
    assert_true(csg_app_number(app, 1, &d) && d == 25000);
    assert_true(csg_app_integer(app, 2, &i) && i == 4);
    assert_true(csg_app_number(app, 2, &d) && d == 4); /* integers read as numbers too */
    assert_false(csg_app_integer(app, 0, &i));         /* a number is not an integer */
    assert_false(csg_app_number(app, 3, &d));          /* out of range */
    assert_false(csg_app_number(app, -1, &d));
    assert_null(csg_app_category(app, 0));
    size_t n;
    assert_string_equal(csg_app_json(app, &n), "{\"applicant_id\":\"12345\",\"income\":60000.5,"
                                               "\"loan_amount\":25000,\"credit_history\":4}");
    assert_int_equal(n, strlen(csg_app_json(app, NULL)));
    assert_string_equal(rid, "abc");
    csg_app_free(app);
    const char *k = "{\"applicant_id\":\"1\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}";
    assert_int_equal(parse(k, &app, rid, NULL), CSG_PARSE_OK);
    assert_string_equal(rid, "");
    csg_app_free(app);
}

/* The messages say the real bounds: bytes for applicant_id (the ABI buffer
 * holds 64 bytes + NUL), the int32 range for credit_history. A valid
 * request_id is still returned when another field is bad (TCP echoes it). */
static void test_messages(void **state)
{
    (void)state;
    csg_application *app;
    char rid[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error err;
    char j[512];
    char id[200] = "";
    for (int i = 0; i < 32; i++) /* 32 x "é" = 64 bytes: accepted */
        strcat(id, "\xc3\xa9");
    snprintf(j, sizeof j,
             "{\"applicant_id\":\"%s\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}", id);
    assert_int_equal(parse(j, &app, rid, &err), CSG_PARSE_OK);
    assert_int_equal(strlen(csg_app_applicant_id(app)), 64);
    csg_app_free(app);
    strcat(id, "\xc3\xa9"); /* 66 bytes, 33 characters: rejected, the message says bytes */
    snprintf(j, sizeof j,
             "{\"applicant_id\":\"%s\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}", id);
    memset(&err, 0, sizeof err);
    assert_int_equal(parse(j, &app, rid, &err), CSG_PARSE_INVALID_FIELD);
    assert_non_null(strstr(err.message, "1-64 bytes (UTF-8)"));
    const char *h = "{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,"
                    "\"credit_history\":2147483648,\"request_id\":\"r-1\"}";
    memset(&err, 0, sizeof err);
    assert_int_equal(parse(h, &app, rid, &err), CSG_PARSE_INVALID_FIELD);
    assert_string_equal(err.field, "credit_history");
    assert_non_null(strstr(err.message, "[0, 2147483647]"));
    assert_string_equal(rid, "r-1");
}

/* The 1.x messages, bit for bit (clients and the conformance table match them). */
static void test_default_messages(void **state)
{
    (void)state;
    static const struct {
        const char *json, *message;
    } m[] = {
        {"{\"applicant_id\":\"a\",\"income\":-1,\"loan_amount\":1,\"credit_history\":1}",
         "income must be a finite number >= 0"},
        {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":0,\"credit_history\":1}",
         "loan_amount must be a finite number > 0"},
        {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":-1}",
         "credit_history must be an integer in [0, 2147483647]"},
        {"{\"applicant_id\":\"a\",\"loan_amount\":1,\"credit_history\":1}", "income is required"},
        {"{\"applicant_id\":\"a\",\"income\":1,\"credit_history\":1}", "loan_amount is required"},
        {"{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1}", "credit_history is required"},
        {"{\"income\":1}", "applicant_id is required"},
        {"[]", "the application must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        csg_application *app;
        csg_parse_error err;
        assert_int_not_equal(parse(m[i].json, &app, NULL, &err), CSG_PARSE_OK);
        assert_string_equal(err.message, m[i].message);
    }
}

/* The shipped schema, as config/experiments.yaml declares it. */
static csg_schema *shipped(void)
{
    csg_config *c;
    csg_errlist errs = {0};
    if (csg_config_load("config/experiments.yaml", NULL, &c, &errs) != 0) /* no plugins */
        fail_msg("config/experiments.yaml: %s", errs.count ? errs.items[0] : "?");
    csg_schema *s = csg_schema_ref(c->schema);
    csg_config_unref(c);
    return s;
}

/* One row of a schema table: the input, the status, and for an error the
 * field and (when given) the exact message. */
struct schema_case {
    const char *json;
    csg_parse_status want;
    const char *field, *message;
};

static void run_schema_cases(const csg_schema *s, const struct schema_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        csg_application *app = NULL;
        csg_parse_error err = {0};
        char rid[CSG_REQUEST_ID_MAX + 1];
        csg_parse_status st = csg_app_parse(s, c[i].json, strlen(c[i].json), &app, rid, &err);
        same_as_jansson(s, c[i].json);
        if (st != c[i].want)
            fail_msg("case %zu (%s): status %d, want %d (%s)", i, c[i].json, st, c[i].want,
                     err.message);
        if (c[i].field)
            assert_string_equal(err.field, c[i].field);
        if (c[i].message)
            assert_string_equal(err.message, c[i].message);
        csg_app_free(app);
    }
}

#define BRIEF "\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,\"credit_history\":1"

static void test_shipped_schema(void **state)
{
    (void)state;
    static const struct schema_case c[] = {
        {"{" BRIEF "}", CSG_PARSE_OK, NULL, NULL},
        {"{" BRIEF ",\"age\":18,\"home\":\"rent\",\"job\":\"fixed\",\"marital\":\"single\","
         "\"seniority_years\":0,\"term_months\":1,\"expenses\":0,\"assets\":0,\"debt\":0,"
         "\"purchase_price\":0.5}",
         CSG_PARSE_OK, NULL, NULL},
        {"{" BRIEF ",\"age\":17}", CSG_PARSE_INVALID_FIELD, "age",
         "age must be an integer in [18, 120]"},
        {"{" BRIEF ",\"age\":121}", CSG_PARSE_INVALID_FIELD, "age",
         "age must be an integer in [18, 120]"},
        {"{" BRIEF ",\"age\":30.5}", CSG_PARSE_INVALID_FIELD, "age", NULL},
        {"{" BRIEF ",\"age\":\"30\"}", CSG_PARSE_INVALID_FIELD, "age", NULL},
        {"{" BRIEF ",\"age\":null}", CSG_PARSE_INVALID_FIELD, "age", NULL},
        {"{" BRIEF ",\"home\":\"castle\"}", CSG_PARSE_INVALID_FIELD, "home",
         "home must be one of rent, owner, parents, priv, other, ignore"},
        {"{" BRIEF ",\"home\":\"Rent\"}", CSG_PARSE_INVALID_FIELD, "home", NULL},
        {"{" BRIEF ",\"home\":1}", CSG_PARSE_INVALID_FIELD, "home", NULL},
        {"{" BRIEF ",\"home\":\"rent\\u0000\"}", CSG_PARSE_INVALID_FIELD, "home", NULL},
        {"{" BRIEF ",\"term_months\":0}", CSG_PARSE_INVALID_FIELD, "term_months",
         "term_months must be an integer > 0"},
        {"{" BRIEF ",\"purchase_price\":0}", CSG_PARSE_INVALID_FIELD, "purchase_price",
         "purchase_price must be a finite number > 0"},
        {"{" BRIEF ",\"debt\":-0.5}", CSG_PARSE_INVALID_FIELD, "debt",
         "debt must be a finite number >= 0"},
        {"{" BRIEF ",\"unknown\":{}}", CSG_PARSE_OK, NULL, NULL}, /* unknown_fields: ignore */
        /* required before optional, schema order */
        {"{\"applicant_id\":\"a\",\"age\":1,\"loan_amount\":1,\"credit_history\":1}",
         CSG_PARSE_INVALID_FIELD, "income", "income is required"},
    };
    csg_schema *s = shipped();
    assert_int_equal(s->n, 13);
    run_schema_cases(s, c, sizeof c / sizeof c[0]);
    csg_schema_unref(s);
}

/* A 13-feature application: canonical JSON in schema order, shortest
 * round-trip numbers, which parses back to the same text (a fixed point). */
static void test_canonical(void **state)
{
    (void)state;
    csg_schema *s = shipped();
    const char *in = "{ \"purchase_price\": 1.10, \"debt\": 0, \"home\": \"owner\", "
                     "\"applicant_id\": \"x\\\"y\", \"age\": 41, \"income\": 6e4, "
                     "\"credit_history\": 1, \"loan_amount\": 0.1, \"job\": \"freelance\", "
                     "\"request_id\": \"r\", \"assets\": 1e300, \"expenses\": 12.5, "
                     "\"marital\": \"widow\", \"seniority_years\": 3, \"term_months\": 36 }";
    const char *want = "{\"applicant_id\":\"x\\\"y\",\"income\":60000,\"loan_amount\":0.1,"
                       "\"credit_history\":1,\"seniority_years\":3,\"home\":\"owner\","
                       "\"term_months\":36,\"age\":41,\"marital\":\"widow\",\"job\":\"freelance\","
                       "\"expenses\":12.5,\"assets\":1e+300,\"debt\":0,\"purchase_price\":1.1}";
    csg_application *app, *again;
    char rid[CSG_REQUEST_ID_MAX + 1];
    assert_int_equal(csg_app_parse(s, in, strlen(in), &app, rid, NULL), CSG_PARSE_OK);
    size_t n;
    const char *j = csg_app_json(app, &n);
    assert_string_equal(j, want);
    assert_int_equal(csg_app_parse(s, j, n, &again, NULL, NULL), CSG_PARSE_OK);
    assert_string_equal(csg_app_json(again, NULL), want);
    char feats[1024];
    csg_app_features_json(app, feats, sizeof feats);
    assert_string_equal(feats, "{\"income\":60000,\"loan_amount\":0.1,\"credit_history\":1,"
                               "\"seniority_years\":3,\"home\":\"owner\",\"term_months\":36,"
                               "\"age\":41,\"marital\":\"widow\",\"job\":\"freelance\","
                               "\"expenses\":12.5,\"assets\":1e+300,\"debt\":0,"
                               "\"purchase_price\":1.1}");
    int home = csg_api_feature_index(s, "home");
    assert_string_equal(csg_app_category(app, home), "owner");
    assert_int_equal(csg_api_feature_type(s, home), CSG_FEATURE_CATEGORY);
    assert_string_equal(csg_api_category_value(s, home, 1), "owner");
    assert_null(csg_api_category_value(s, home, 6));
    assert_int_equal(csg_api_feature_index(s, "nope"), -1);
    assert_null(csg_api_feature_name(s, 13));
    size_t vl;
    const char *v = csg_app_value_text(app, csg_api_feature_index(s, "assets"), &vl);
    assert_int_equal(vl, 6);
    assert_memory_equal(v, "1e+300", 6);
    csg_app_free(again);
    csg_app_free(app);
    /* absent optional features are left out; the features object may be empty */
    csg_schema *d = csg_schema_new();
    csg_schema_finish(d);
    const char *q = "{\"applicant_id\":\"q\"}";
    assert_int_equal(csg_app_parse(d, q, strlen(q), &app, NULL, NULL), CSG_PARSE_OK);
    csg_app_features_json(app, feats, sizeof feats);
    assert_string_equal(feats, "{}");
    csg_app_free(app);
    csg_schema_unref(d);
    csg_schema_unref(s);
}

static csg_schema *small_schema(bool reject)
{
    csg_schema *s = csg_schema_new();
    csg_feature *f = csg_schema_add(s, "flag", CSG_FEATURE_BOOLEAN);
    f = csg_schema_add(s, "kind", CSG_FEATURE_CATEGORY);
    csg_feature_add_value(f, "a");
    csg_feature_add_value(f, "b");
    f = csg_schema_add(s, "n", CSG_FEATURE_INTEGER);
    f->has_min = f->has_max = f->min_exclusive = f->max_exclusive = true;
    f->min_i = -3;
    f->max_i = 3;
    s->reject_unknown = reject;
    csg_schema_finish(s);
    return s;
}

static void test_reject_and_booleans(void **state)
{
    (void)state;
    csg_schema *s = small_schema(true);
    static const struct schema_case c[] = {
        {"{\"applicant_id\":\"a\",\"flag\":true,\"kind\":\"b\",\"n\":-2}", CSG_PARSE_OK, NULL,
         NULL},
        {"{\"applicant_id\":\"a\",\"request_id\":\"r\"}", CSG_PARSE_OK, NULL, NULL},
        {"{\"applicant_id\":\"a\",\"flag\":1}", CSG_PARSE_INVALID_FIELD, "flag",
         "flag must be true or false"},
        {"{\"applicant_id\":\"a\",\"n\":3}", CSG_PARSE_INVALID_FIELD, "n",
         "n must be an integer in (-3, 3)"},
        {"{\"applicant_id\":\"a\",\"extra\":1,\"other\":2}", CSG_PARSE_INVALID_FIELD, "extra",
         "unknown field \"extra\" (the schema has unknown_fields: reject)"},
        {"{\"applicant_id\":\"a\",\"\\u00e9\\n\":1}", CSG_PARSE_INVALID_FIELD, "???", NULL},
        /* a bad feature is named before an unknown key */
        {"{\"applicant_id\":\"a\",\"extra\":1,\"kind\":\"c\"}", CSG_PARSE_INVALID_FIELD, "kind",
         "kind must be one of a, b"},
    };
    run_schema_cases(s, c, sizeof c / sizeof c[0]);
    csg_application *app;
    const char *j = "{\"applicant_id\":\"a\",\"flag\":false}";
    assert_int_equal(csg_app_parse(s, j, strlen(j), &app, NULL, NULL), CSG_PARSE_OK);
    bool b = true;
    assert_true(csg_app_flag(app, 0, &b));
    assert_false(b);
    assert_null(csg_app_category(app, 1)); /* absent */
    assert_string_equal(csg_app_json(app, NULL), j);
    csg_app_free(app);
    csg_schema_unref(s);
}

/* A reload between parse and submit: the application moves to the new
 * schema by name (features reordered, one added), categories by value. */
static void test_rebind(void **state)
{
    (void)state;
    csg_schema *old = small_schema(false);
    csg_schema *nw = csg_schema_new();
    csg_feature *f = csg_schema_add(nw, "n", CSG_FEATURE_INTEGER);
    f = csg_schema_add(nw, "added", CSG_FEATURE_NUMBER);
    f = csg_schema_add(nw, "kind", CSG_FEATURE_CATEGORY);
    csg_feature_add_value(f, "z");
    csg_feature_add_value(f, "b");
    csg_feature_add_value(f, "a");
    csg_schema_add(nw, "flag", CSG_FEATURE_BOOLEAN);
    csg_schema_finish(nw);
    char why[200];
    assert_true(csg_schema_reload_compatible(old, nw, why, sizeof why));
    const char *j = "{\"applicant_id\":\"a\",\"flag\":true,\"kind\":\"b\",\"n\":2}";
    csg_application *app;
    assert_int_equal(csg_app_parse(old, j, strlen(j), &app, NULL, NULL), CSG_PARSE_OK);
    app = csg_app_rebind(app, nw);
    assert_non_null(app);
    assert_ptr_equal(csg_app_schema(app), nw);
    assert_string_equal(csg_app_json(app, NULL),
                        "{\"applicant_id\":\"a\",\"n\":2,\"kind\":\"b\",\"flag\":true}");
    assert_string_equal(csg_app_category(app, 2), "b");
    csg_app_free(app);
    csg_schema_unref(old); /* the application held its own reference */
    csg_schema_unref(nw);
}

/* The readiness probe's application is valid under the schema it is built for. */
static void test_probe(void **state)
{
    (void)state;
    csg_schema *ss[] = {csg_schema_default(), shipped(), small_schema(true)};
    csg_feature *f = csg_schema_add(ss[2], "must", CSG_FEATURE_NUMBER);
    f->required = f->has_min = f->has_max = f->min_exclusive = true;
    f->min = 5;
    f->max = 6;
    csg_schema_finish(ss[2]);
    for (size_t i = 0; i < 3; i++) {
        csg_application *p = csg_app_probe(ss[i]), *again = NULL;
        assert_non_null(p);
        size_t n;
        const char *j = csg_app_json(p, &n);
        csg_parse_error err = {0};
        if (csg_app_parse(ss[i], j, n, &again, NULL, &err) != CSG_PARSE_OK)
            fail_msg("probe %zu %s: %s", i, j, err.message);
        csg_app_free(again);
        csg_app_free(p);
        csg_schema_unref(ss[i]);
    }
}

static void test_request_ids(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        bool ok;
    } ids[] = {{"a", true},      {"req-123_ABC.x", true}, {"", false},   {"has space", false},
               {"tab\t", false}, {"\x7f", false},         {"é", false},
               {"1234567890123456789012345678901234567890123456789012345678901234", true},
               {"12345678901234567890123456789012345678901234567890123456789012345", false}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(csg_valid_request_id(ids[i].id, strlen(ids[i].id)), ids[i].ok);
}

static void test_format_error(void **state)
{
    (void)state;
    char buf[256];
    csg_json_error("invalid_field", "income must be a finite number >= 0", "income", buf,
                     sizeof buf);
    assert_string_equal(buf, "{\"error\":{\"code\":\"invalid_field\",\"message\":\"income must be a "
                             "finite number >= 0\",\"field\":\"income\"}}");
    csg_json_error("not_found", "no \"route\"", NULL, buf, sizeof buf);
    assert_string_equal(buf, "{\"error\":{\"code\":\"not_found\",\"message\":\"no \\\"route\\\"\"}}");
}

/* A message quoting the client's bytes (jansson's "near '…'") is written as
 * UTF-8 whatever those bytes were: well-formed sequences pass, a broken one
 * (a lone lead byte, a stray continuation, an overlong, a surrogate, a
 * sequence cut short by the end) becomes U+FFFD. fuzz_http found the lone
 * 0xd9 in an invalid_json reply. */
static void test_format_error_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *message, *want;
    } utf8_cases[] = {
        {"near '\\\xd9'", "near '\\\\\\ufffd'"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"a\x80" "b", "a\\ufffdb"},
        {"\xc0\xafx", "\\ufffd\\ufffdx"},             /* overlong '/' */
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"}, /* surrogate U+D800 */
        {"end \xe2\x82", "end \\ufffd\\ufffd"},          /* cut short */
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        char buf[256], want[256];
        csg_json_error("invalid_json", utf8_cases[i].message, NULL, buf, sizeof buf);
        snprintf(want, sizeof want, "{\"error\":{\"code\":\"invalid_json\",\"message\":\"%s\"}}",
                 utf8_cases[i].want);
        assert_string_equal(buf, want);
        json_error_t e;
        json_t *j = json_loads(buf, 0, &e);
        assert_non_null(j); /* valid JSON, hence valid UTF-8 */
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_default_messages),
        cmocka_unit_test(test_shipped_schema),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_reject_and_booleans),
        cmocka_unit_test(test_rebind),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_format_error),
        cmocka_unit_test(test_format_error_utf8),
    };
    g_default = csg_schema_default();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    csg_schema_unref(g_default);
    return rc;
}
