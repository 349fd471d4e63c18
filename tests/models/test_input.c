/*
 * test_input.c — models/input.c: csg-model reads an application against its
 * model file's feature list; every rule a file can state is applied, error
 * texts name the field, extra keys are ignored. Also the feature objects of
 * a model file (models/model.c) that are refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "input.h"
#include "model.h"

/* A gbm of one leaf on the given "features" list: the input rules are what
 * is under test. gbm.known needs an entry per feature ([] for a category). */
static csg_model *model_with(const char *features, size_t n)
{
    char json[4096], known[512] = "";
    json_error_t jerr;
    json_t *arr = json_loads(features, 0, &jerr);
    assert_non_null(arr);
    for (size_t i = 0; i < n; i++) {
        const char *type = json_string_value(json_object_get(json_array_get(arr, i), "type"));
        strcat(known, i ? "," : "");
        strcat(known, type && strcmp(type, "category") == 0 ? "[]" : "null");
    }
    json_decref(arr);
    snprintf(json, sizeof json,
             "{\"format\":\"csg-model/2\",\"type\":\"gbm\",\"model\":\"t\",\"cutoff\":0.5,"
             "\"features\":%s,\"gbm\":{\"baseline\":0,\"known\":[%s],\"trees\":[{"
             "\"feature\":[0],\"threshold\":[0],\"missing_left\":[0],\"cat_left\":[null],"
             "\"left\":[-1],\"right\":[-1],\"value\":[0.5],\"cover\":[1]}]}}",
             features, known);
    csg_model *m = NULL;
    csg_model_error err = {{0}};
    if (csg_model_parse(json, strlen(json), &m, &err) != 0) {
        print_error("model %s: %s\n", features, err.message);
        fail();
    }
    return m;
}

#define RS ",\"reason\":{\"code\":\"X\",\"text\":\"t\"}"
#define BRIEF                                                                                \
    "[{\"name\":\"income\",\"type\":\"number\",\"min\":0,\"required\":true" RS "},"        \
    "{\"name\":\"loan_amount\",\"type\":\"number\",\"min\":0,\"min_exclusive\":true,"      \
    "\"required\":true" RS "},"                                                              \
    "{\"name\":\"credit_history\",\"type\":\"integer\",\"min\":0,\"max\":2147483647,"       \
    "\"required\":true" RS "}]"
#define OBJECTS BRIEF
#define OTHER                                                                                \
    "[{\"name\":\"age\",\"type\":\"integer\",\"min\":18,\"max\":120,\"required\":true" RS "}," \
    "{\"name\":\"ratio\",\"type\":\"number\",\"max\":1,\"max_exclusive\":true,"           \
    "\"required\":true" RS "},"                                                              \
    "{\"name\":\"score\",\"type\":\"number\",\"min\":-1.5,\"max\":2.5,\"min_exclusive\":true," \
    "\"required\":true" RS "},"                                                              \
    "{\"name\":\"any\",\"type\":\"number\",\"required\":true" RS "}]"
/* Optional features: a number and a category; absent = missing (NaN). */
#define OPTIONAL                                                                             \
    "[{\"name\":\"home\",\"type\":\"category\",\"values\":[\"rent\",\"owner\",\"pa\\u00efs\"]" RS \
    "},{\"name\":\"debt\",\"type\":\"number\",\"min\":0" RS "}]"

struct read_case {
    const char *features; /* the model's list */
    size_t nfeat;
    const char *body;
    csg_input_status want;
    const char *field;   /* for INVALID_FIELD */
    const char *message; /* exact message, or a substring for INVALID_JSON */
    double x0;           /* first feature's value when OK */
};

#define APP "\"applicant_id\":\"a\""
static const struct read_case read_cases[] = {
    /* The brief's three: DESIGN §5's texts. */
    {BRIEF, 3, "{" APP ",\"income\":131,\"loan_amount\":1000,\"credit_history\":1}",
     CSG_INPUT_OK, NULL, NULL, 131},
    {OBJECTS, 3, "{" APP ",\"income\":0.5,\"loan_amount\":1e-300,\"credit_history\":2147483647,"
                 "\"home\":\"rent\",\"request_id\":5,\"nested\":{\"a\":[1]}}",
     CSG_INPUT_OK, NULL, NULL, 0.5},
    {OBJECTS, 3, "{" APP ",\"loan_amount\":1,\"credit_history\":1}", CSG_INPUT_INVALID_FIELD,
     "income", "income is required", 0},
    {BRIEF, 3, "{" APP ",\"income\":-1,\"loan_amount\":1,\"credit_history\":1}",
     CSG_INPUT_INVALID_FIELD, "income", "income must be a finite number >= 0", 0},
    {OBJECTS, 3, "{" APP ",\"income\":null,\"loan_amount\":1,\"credit_history\":1}",
     CSG_INPUT_INVALID_FIELD, "income", "income must be a finite number >= 0", 0},
    {OBJECTS, 3, "{" APP ",\"income\":1,\"loan_amount\":0,\"credit_history\":1}",
     CSG_INPUT_INVALID_FIELD, "loan_amount", "loan_amount must be a finite number > 0", 0},
    {BRIEF, 3, "{" APP ",\"income\":1,\"loan_amount\":true,\"credit_history\":1}",
     CSG_INPUT_INVALID_FIELD, "loan_amount", "loan_amount must be a finite number > 0", 0},
    {OBJECTS, 3, "{" APP ",\"income\":1,\"loan_amount\":1,\"credit_history\":1.0}",
     CSG_INPUT_INVALID_FIELD, "credit_history",
     "credit_history must be an integer in [0, 2147483647]", 0},
    {BRIEF, 3, "{" APP ",\"income\":1,\"loan_amount\":1,\"credit_history\":2147483648}",
     CSG_INPUT_INVALID_FIELD, "credit_history",
     "credit_history must be an integer in [0, 2147483647]", 0},
    {BRIEF, 3, "{" APP ",\"income\":1,\"loan_amount\":1,\"credit_history\":\"1\"}",
     CSG_INPUT_INVALID_FIELD, "credit_history",
     "credit_history must be an integer in [0, 2147483647]", 0},
    /* The id first, whatever else is wrong. */
    {BRIEF, 3, "{\"income\":-1}", CSG_INPUT_INVALID_FIELD, "applicant_id",
     "applicant_id is required", 0},
    {BRIEF, 3, "{\"applicant_id\":\"a\\u0000b\"}", CSG_INPUT_INVALID_FIELD, "applicant_id",
     "applicant_id must be a string of 1-64 bytes (UTF-8), no control characters", 0},
    {BRIEF, 3, "{\"applicant_id\":\"\"}", CSG_INPUT_INVALID_FIELD, "applicant_id",
     "applicant_id must be a string of 1-64 bytes (UTF-8), no control characters", 0},
    {BRIEF, 3, "{\"applicant_id\":7}", CSG_INPUT_INVALID_FIELD, "applicant_id",
     "applicant_id must be a string of 1-64 bytes (UTF-8), no control characters", 0},
    {BRIEF, 3, "", CSG_INPUT_INVALID_JSON, NULL, "invalid JSON", 0},
    {BRIEF, 3, "[1]", CSG_INPUT_INVALID_JSON, NULL, "must be a JSON object", 0},
    {BRIEF, 3, "{" APP "," APP "}", CSG_INPUT_INVALID_JSON, NULL, "duplicate", 0},
    {BRIEF, 3, "{" APP ",\"income\":1e999}", CSG_INPUT_INVALID_JSON, NULL, "invalid JSON", 0},
    /* Any feature a file lists, by its own rule; the brief's three are not asked for. */
    {OTHER, 4, "{" APP ",\"age\":18,\"ratio\":-5,\"score\":2.5,\"any\":-1e300}", CSG_INPUT_OK,
     NULL, NULL, 18},
    {OTHER, 4, "{" APP ",\"age\":121,\"ratio\":0,\"score\":0,\"any\":0}",
     CSG_INPUT_INVALID_FIELD, "age", "age must be an integer in [18, 120]", 0},
    {OTHER, 4, "{" APP ",\"age\":30,\"ratio\":1,\"score\":0,\"any\":0}", CSG_INPUT_INVALID_FIELD,
     "ratio", "ratio must be a finite number < 1", 0},
    {OTHER, 4, "{" APP ",\"age\":30,\"ratio\":0,\"score\":-1.5,\"any\":0}",
     CSG_INPUT_INVALID_FIELD, "score", "score must be a finite number in (-1.5, 2.5]", 0},
    {OTHER, 4, "{" APP ",\"age\":30,\"ratio\":0,\"score\":0,\"any\":\"x\"}",
     CSG_INPUT_INVALID_FIELD, "any", "any must be a finite number", 0},
    {OTHER, 4, "{" APP ",\"age\":30,\"ratio\":0,\"score\":0}", CSG_INPUT_INVALID_FIELD, "any",
     "any is required", 0},
    /* Categories by their level's index; optional features may be left out. */
    {OPTIONAL, 2, "{" APP ",\"home\":\"owner\",\"debt\":5}", CSG_INPUT_OK, NULL, NULL, 1},
    {OPTIONAL, 2, "{" APP ",\"home\":\"pa\u00efs\"}", CSG_INPUT_OK, NULL, NULL, 2},
    {OPTIONAL, 2, "{" APP ",\"debt\":5}", CSG_INPUT_OK, NULL, NULL, NAN},
    {OPTIONAL, 2, "{" APP ",\"home\":\"castle\"}", CSG_INPUT_INVALID_FIELD, "home",
     "home must be one of rent, owner, pa\u00efs", 0},
    {OPTIONAL, 2, "{" APP ",\"home\":\"Owner\"}", CSG_INPUT_INVALID_FIELD, "home",
     "home must be one of rent, owner, pa\u00efs", 0},
    {OPTIONAL, 2, "{" APP ",\"home\":1}", CSG_INPUT_INVALID_FIELD, "home",
     "home must be one of rent, owner, pa\u00efs", 0},
    {OPTIONAL, 2, "{" APP ",\"home\":null}", CSG_INPUT_INVALID_FIELD, "home",
     "home must be one of rent, owner, pa\u00efs", 0},
    /* an embedded NUL is not "owner" (lengths are compared too) */
    {OPTIONAL, 2, "{" APP ",\"home\":\"owner\\u0000\"}", CSG_INPUT_INVALID_FIELD, "home",
     "home must be one of rent, owner, pa\u00efs", 0},
    {OPTIONAL, 2, "{" APP ",\"debt\":-1}", CSG_INPUT_INVALID_FIELD, "debt",
     "debt must be a finite number >= 0", 0},
};

static void test_read(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof read_cases / sizeof read_cases[0]; i++) {
        const struct read_case *c = &read_cases[i];
        csg_model *m = model_with(c->features, c->nfeat);
        csg_model_input in;
        csg_input_error err = {0};
        csg_input_status st = csg_input_read(m, c->body, strlen(c->body), &in, &err);
        bool ok = st == c->want;
        if (ok && st == CSG_INPUT_OK)
            ok = strcmp(in.applicant_id, "a") == 0 &&
                 (isnan(c->x0) ? isnan(in.x[0]) : in.x[0] == c->x0);
        else if (ok && st == CSG_INPUT_INVALID_FIELD)
            ok = strcmp(err.field, c->field) == 0 && strcmp(err.message, c->message) == 0;
        else if (ok)
            ok = err.field[0] == '\0' && strstr(err.message, c->message) != NULL;
        if (!ok) {
            print_error("case %zu (%s): status %d field \"%s\" message \"%s\"\n", i, c->body,
                        (int)st, err.field, err.message);
            fail();
        }
        csg_model_free(m);
    }
    assert_string_equal(csg_input_status_code(CSG_INPUT_INVALID_JSON), "invalid_json");
    assert_string_equal(csg_input_status_code(CSG_INPUT_INVALID_FIELD), "invalid_field");
    assert_null(csg_input_status_code(CSG_INPUT_OK));
}

struct bad_feature {
    const char *features;
    const char *want;
};

static const struct bad_feature bad_features[] = {
    {"[{\"name\":\"Age\",\"type\":\"integer\"" RS "}]", "features[0].name must match"},
    {"[{\"name\":\"applicant_id\",\"type\":\"number\"" RS "}]", "features[0].name must match"},
    {"[{\"name\":\"a\",\"type\":\"text\"" RS "}]", "features[0].type must be"},
    {"[{\"name\":\"a\",\"type\":\"category\"" RS "}]", "\"values\" goes with type"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"values\":[\"x\"]" RS "}]",
     "\"values\" goes with type"},
    {"[{\"name\":\"a\",\"type\":\"category\",\"values\":[]" RS "}]",
     "values must be an array of 1-64 strings"},
    {"[{\"name\":\"a\",\"type\":\"category\",\"values\":[\"x\"],\"min\":0" RS "}]",
     "min does not apply to a category"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"minimum\":0" RS "}]", "unknown key \"minimum\""},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":\"0\"" RS "}]", "features[0].min must be"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"required\":1" RS "}]",
     "required must be true or false"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min_exclusive\":true" RS "}]",
     "min_exclusive needs min"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"max\":1,\"max_exclusive\":1" RS "}]",
     "max_exclusive must be true or false"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":2,\"max\":1" RS "}]", "leave no valid value"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":1,\"max\":1,\"max_exclusive\":true" RS "}]",
     "leave no valid value"},
    {"[{\"name\":\"income\",\"type\":\"number\"" RS "},{\"name\":\"income\",\"type\":"
     "\"number\"" RS "}]", "\"income\" is listed twice"},
    {"[7]", "features[0] must be"},
};

static void test_bad_feature_objects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_features / sizeof bad_features[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"format\":\"csg-model/2\",\"type\":\"gbm\",\"model\":\"t\","
                 "\"cutoff\":0.5,\"features\":%s}",
                 bad_features[i].features);
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        int rc = csg_model_parse(json, strlen(json), &m, &err);
        if (rc == 0 || !strstr(err.message, bad_features[i].want)) {
            print_error("case %zu: rc %d, message \"%s\", want \"%s\"\n", i, rc, err.message,
                        bad_features[i].want);
            fail();
        }
        assert_null(m);
    }
}

/* The committed model files state the shipped schema's rules (DESIGN §5, §9). */
static void test_committed_rules(void **state)
{
    (void)state;
    static const char *const files[] = {"models/champion.json", "models/challenger.json"};
    static const char *const want[] = {
        "income must be a finite number >= 0",
        "loan_amount must be a finite number > 0",
        "credit_history must be an integer in [0, 2147483647]",
        "seniority_years must be an integer >= 0",
        "home must be one of rent, owner, parents, priv, other, ignore",
        "term_months must be an integer > 0",
        "age must be an integer in [18, 120]",
        "marital must be one of single, married, widow, separated, divorced",
        "job must be one of fixed, freelance, partime, others",
        "expenses must be a finite number >= 0",
        "assets must be a finite number >= 0",
        "debt must be a finite number >= 0",
        "purchase_price must be a finite number > 0",
    };
    for (size_t i = 0; i < 2; i++) {
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        assert_int_equal(csg_model_load(files[i], &m, &err), 0);
        assert_int_equal(csg_model_feature_count(m), 13);
        for (size_t k = 0; k < 13; k++) {
            char rule[160];
            const csg_model_feature *f = csg_model_feature_at(m, k);
            csg_input_rule_text(f, rule, sizeof rule);
            assert_string_equal(rule, want[k]);
            /* income, loan_amount, credit_history: required, as in the shipped schema */
            assert_int_equal(f->required, k <= 2);
        }
        csg_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_bad_feature_objects),
        cmocka_unit_test(test_committed_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
