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

#include "input.h"
#include "model.h"

/* A logistic model on the given "features" list (n features, all zero
 * coefficients): the input rules are what is under test. */
static csg_model *model_with(const char *features, size_t n)
{
    char json[2048], arr[256] = "", ones[256] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(arr, i ? ",0" : "0");
        strcat(ones, i ? ",1" : "1");
    }
    snprintf(json, sizeof json,
             "{\"format\":\"csg-model/1\",\"type\":\"logistic\",\"model\":\"t\",\"cutoff\":0.5,"
             "\"features\":%s,\"feature_min\":[%s],\"feature_max\":[%s],\"logistic\":"
             "{\"intercept\":0,\"mean\":[%s],\"scale\":[%s],\"coef\":[%s]}}",
             features, arr, ones, arr, ones, arr);
    csg_model *m = NULL;
    csg_model_error err = {{0}};
    if (csg_model_parse(json, strlen(json), &m, &err) != 0) {
        print_error("model %s: %s\n", features, err.message);
        fail();
    }
    return m;
}

#define BRIEF "[\"income\",\"loan_amount\",\"credit_history\"]"
#define OBJECTS                                                                              \
    "[{\"name\":\"income\",\"type\":\"number\",\"min\":0},"                                  \
    "{\"name\":\"loan_amount\",\"type\":\"number\",\"min\":0,\"min_exclusive\":true},"         \
    "{\"name\":\"credit_history\",\"type\":\"integer\",\"min\":0,\"max\":2147483647}]"
#define OTHER                                                                                \
    "[{\"name\":\"age\",\"type\":\"integer\",\"min\":18,\"max\":120},"                        \
    "{\"name\":\"ratio\",\"type\":\"number\",\"max\":1,\"max_exclusive\":true},"              \
    "{\"name\":\"score\",\"type\":\"number\",\"min\":-1.5,\"max\":2.5,\"min_exclusive\":true},"\
    "{\"name\":\"any\",\"type\":\"number\"}]"

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
    /* The brief's three, bare names and objects alike: DESIGN §5's texts. */
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
            ok = strcmp(in.applicant_id, "a") == 0 && in.x[0] == c->x0;
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
    {"[{\"name\":\"Age\",\"type\":\"integer\"}]", "features[0].name must match"},
    {"[{\"name\":\"applicant_id\",\"type\":\"number\"}]", "features[0].name must match"},
    {"[{\"name\":\"a\",\"type\":\"category\"}]", "features[0].type must be"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"minimum\":0}]", "unknown key \"minimum\""},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":\"0\"}]", "features[0].min must be"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min_exclusive\":true}]", "min_exclusive needs min"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"max\":1,\"max_exclusive\":1}]",
     "max_exclusive must be true or false"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":2,\"max\":1}]", "leave no valid value"},
    {"[{\"name\":\"a\",\"type\":\"number\",\"min\":1,\"max\":1,\"max_exclusive\":true}]",
     "leave no valid value"},
    {"[\"income\",{\"name\":\"income\",\"type\":\"number\"}]", "\"income\" is listed twice"},
    {"[7]", "features[0] must be"},
};

static void test_bad_feature_objects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_features / sizeof bad_features[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"format\":\"csg-model/1\",\"type\":\"logistic\",\"model\":\"t\","
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

/* The committed model files state DESIGN §5's rules for the brief's three. */
static void test_committed_rules(void **state)
{
    (void)state;
    static const char *const files[] = {"models/champion.json", "models/challenger.json"};
    static const char *const want[] = {"income must be a finite number >= 0",
                                       "loan_amount must be a finite number > 0",
                                       "credit_history must be an integer in [0, 2147483647]"};
    for (size_t i = 0; i < 2; i++) {
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        assert_int_equal(csg_model_load(files[i], &m, &err), 0);
        assert_int_equal(csg_model_feature_count(m), 3);
        for (size_t k = 0; k < 3; k++) {
            char rule[160];
            csg_input_rule_text(csg_model_feature_at(m, k), rule, sizeof rule);
            assert_string_equal(rule, want[k]);
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
