/*
 * test_model.c — models/model.c: every bad model file is refused with a
 * message naming what is wrong; good files score by hand-checked arithmetic;
 * the committed artifacts load.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"

#define LR_HEAD                                                                              \
    "{\"format\":\"csg-model/1\",\"type\":\"logistic\",\"model\":\"m1\","                    \
    "\"features\":[\"income\",\"loan_amount\",\"credit_history\"],"                          \
    "\"feature_min\":[0,100,0],\"feature_max\":[1000,5000,1],\"cutoff\":0.5,"
#define LR_OK LR_HEAD "\"logistic\":{\"intercept\":0.5,\"mean\":[100,1000,0.5],\"scale\":[50,500,0.5],\"coef\":[1,-1,0.5]}}"

#define GBM_HEAD                                                                             \
    "{\"format\":\"csg-model/1\",\"type\":\"gbm\",\"model\":\"g1\","                         \
    "\"features\":[\"income\",\"loan_amount\"],\"feature_min\":[0,1],"                       \
    "\"feature_max\":[1000,5000],\"cutoff\":0.6,"
/* One tree: income <= 100 ? -1 : (loan <= 2000 ? 2 : 0.5) */
#define GBM_TREE                                                                             \
    "{\"feature\":[0,0,1,0,0],\"threshold\":[100,0,2000,0,0],\"left\":[1,-1,3,-1,-1],"       \
    "\"right\":[2,-1,4,-1,-1],\"value\":[0,-1,0,2,0.5]}"
#define GBM_OK GBM_HEAD "\"gbm\":{\"init_raw\":0.25,\"learning_rate\":0.1,\"trees\":[" GBM_TREE "," GBM_TREE "]}}"

struct bad_case {
    const char *json;
    const char *want; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
    {"", "invalid JSON"},
    {"[1]", "must hold a JSON object"},
    {"{\"format\":\"csg-model/2\"}", "format must be"},
    {"{\"format\":\"csg-model/1\",\"model\":\"a b\"}", "model must be a name"},
    {"{\"format\":\"csg-model/1\",\"model\":\"m\",\"cutoff\":1.5}", "cutoff must be"},
    {"{\"format\":\"csg-model/1\",\"model\":\"m\",\"cutoff\":0.5,\"features\":[\"age\"]}",
     "features[0] must be"},
    {"{\"format\":\"csg-model/1\",\"model\":\"m\",\"cutoff\":0.5,"
     "\"features\":[\"income\",\"income\"]}",
     "listed twice"},
    {"{\"format\":\"csg-model/1\",\"model\":\"m\",\"cutoff\":0.5,\"features\":[\"income\"],"
     "\"feature_min\":[5],\"feature_max\":[1]}",
     "feature_min[0] is greater"},
    {"{\"format\":\"csg-model/1\",\"model\":\"m\",\"cutoff\":0.5,\"features\":[\"income\"],"
     "\"feature_min\":[0,1],\"feature_max\":[1]}",
     "feature_min must be an array of 1"},
    {LR_HEAD "\"type\":\"forest\"}", "duplicate"}, /* JSON_REJECT_DUPLICATES */
    {"{\"format\":\"csg-model/1\",\"type\":\"forest\",\"model\":\"m\",\"cutoff\":0.5,"
     "\"features\":[\"income\"],\"feature_min\":[0],\"feature_max\":[1]}",
     "type must be"},
    {LR_HEAD "\"logistic\":{\"intercept\":0.5,\"mean\":[1,1,1],\"scale\":[1,0,1],"
             "\"coef\":[1,1,1]}}",
     "logistic.scale[1] must be > 0"},
    {LR_HEAD "\"logistic\":{\"intercept\":\"x\",\"mean\":[1,1,1],\"scale\":[1,1,1],"
             "\"coef\":[1,1,1]}}",
     "logistic.intercept"},
    {LR_HEAD "\"logistic\":{\"intercept\":0,\"mean\":[1,1,1],\"scale\":[1,1,1],"
             "\"coef\":[1,1]}}",
     "logistic.coef must be an array of 3"},
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0,\"trees\":[" GBM_TREE "]}}",
     "learning_rate"},
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0.1,\"trees\":[]}}", "gbm.trees must"},
    /* child pointing back at its parent: would loop */
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0.1,\"trees\":[{\"feature\":[0,0,0],"
              "\"threshold\":[1,0,0],\"left\":[1,-1,0],\"right\":[2,-1,0],\"value\":[0,1,2]}]}}",
     "gbm.trees[0] node 2"},
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0.1,\"trees\":[{\"feature\":[0,0,0],"
              "\"threshold\":[1,0,0],\"left\":[1,-1,-1],\"right\":[3,-1,-1],\"value\":[0,1,2]}]}}",
     "gbm.trees[0] node 0"},
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0.1,\"trees\":[{\"feature\":[2,0,0],"
              "\"threshold\":[1,0,0],\"left\":[1,-1,-1],\"right\":[2,-1,-1],\"value\":[0,1,2]}]}}",
     "gbm.trees[0].feature[0]"},
    {GBM_HEAD "\"gbm\":{\"init_raw\":0,\"learning_rate\":0.1,\"trees\":[{\"feature\":[0,0,0],"
              "\"threshold\":[1,0,0],\"left\":[1,-1,-1],\"right\":[2,-1,-1],\"value\":[0,1]}]}}",
     "gbm.trees[0].value must be an array of 3"},
    {"{\"format\":\"csg-model/1\",\"type\":\"gbm\",\"model\":\"g\",\"features\":[\"income\"],"
     "\"feature_min\":[0],\"feature_max\":[1e300],\"cutoff\":0.6,\"gbm\":{\"init_raw\":0,"
     "\"learning_rate\":0.1,\"trees\":[{\"feature\":[0],\"threshold\":[0],\"left\":[-1],"
     "\"right\":[-1],\"value\":[1]}]}}",
     "float range"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        int rc = csg_model_parse(bad_cases[i].json, strlen(bad_cases[i].json), &m, &err);
        if (rc == 0 || !strstr(err.message, bad_cases[i].want)) {
            print_error("case %zu: rc %d, message \"%s\", want \"%s\"\n", i, rc, err.message,
                        bad_cases[i].want);
            fail();
        }
        assert_null(m);
    }
}

/* An application by the brief's three features; score_of() hands the model
 * the ones it lists, in its file's order. */
typedef struct app_values {
    double income, loan_amount, credit_history;
} app_values;

static app_values app(double income, double loan, long long hist)
{
    return (app_values){income, loan, (double)hist};
}

static void model_vector(const csg_model *m, const app_values *a, double *x)
{
    for (size_t i = 0; i < csg_model_feature_count(m); i++) {
        const char *name = csg_model_feature_at(m, i)->name;
        x[i] = strcmp(name, "income") == 0        ? a->income
               : strcmp(name, "loan_amount") == 0 ? a->loan_amount
                                                  : a->credit_history;
    }
}

static double expit(double x) { return 1.0 / (1.0 + exp(-x)); }

static double score_of(const csg_model *m, const app_values *a)
{
    double x[CSG_MODEL_MAX_FEATURES];
    model_vector(m, a, x);
    double s = -1;
    assert_int_equal(csg_model_score(m, x, &s), 0);
    return s;
}

struct score_case {
    double income, loan;
    long long hist;
    double want_raw;
};

static void test_logistic(void **state)
{
    (void)state;
    csg_model *m = NULL;
    csg_model_error err;
    assert_int_equal(csg_model_parse(LR_OK, strlen(LR_OK), &m, &err), 0);
    assert_string_equal(csg_model_name(m), "m1");
    assert_string_equal(csg_model_kind(m), "logistic");
    static const struct score_case cases[] = {
        {100, 1000, 1, 0.5 + 0 - 0 + 0.5 * 1},
        {150, 1500, 0, 0.5 + 1 - 1 + 0.5 * -1},
        /* clipped: income 5000 -> 1000, loan 1 -> 100, history 7 -> 1 */
        {5000, 1, 7, 0.5 + 18 - (-1.8) + 0.5 * 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        app_values a = app(cases[i].income, cases[i].loan, cases[i].hist);
        double s = score_of(m, &a);
        assert_true(fabs(s - expit(cases[i].want_raw)) < 1e-15);
        assert_int_equal(csg_model_decide(m, s),
                         s >= 0.5 ? CSG_MODEL_APPROVE : CSG_MODEL_DECLINE);
    }
    csg_model_free(m);
}

static void test_gbm(void **state)
{
    (void)state;
    csg_model *m = NULL;
    csg_model_error err;
    assert_int_equal(csg_model_parse(GBM_OK, strlen(GBM_OK), &m, &err), 0);
    assert_int_equal(csg_model_tree_count(m), 2);
    static const struct score_case cases[] = {
        {50, 3000, 0, 0.25 + 0.1 * -1 + 0.1 * -1},
        {100, 3000, 0, 0.25 + 0.1 * -1 + 0.1 * -1},   /* <= threshold goes left */
        {100.5, 2000, 0, 0.25 + 0.1 * 2 + 0.1 * 2},
        {100.5, 2001, 0, 0.25 + 0.1 * 0.5 + 0.1 * 0.5},
        {9999, 0.5, 0, 0.25 + 0.1 * 2 + 0.1 * 2},     /* clipped to 1000 / 1 */
        /* 100.000001 is 100 in float32: sklearn (and we) go left */
        {100.000001, 3000, 0, 0.25 + 0.1 * -1 + 0.1 * -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        app_values a = app(cases[i].income, cases[i].loan, cases[i].hist);
        double s = score_of(m, &a);
        if (fabs(s - expit(cases[i].want_raw)) > 1e-15) {
            print_error("case %zu: score %.17g want %.17g\n", i, s, expit(cases[i].want_raw));
            fail();
        }
    }
    app_values hi = app(500, 1000, 0);
    assert_int_equal(csg_model_decide(m, score_of(m, &hi)), CSG_MODEL_APPROVE);
    app_values lo = app(50, 1000, 0);
    assert_int_equal(csg_model_decide(m, score_of(m, &lo)), CSG_MODEL_DECLINE);
    csg_model_free(m);
}

static void test_nan_is_an_error(void **state)
{
    (void)state;
    /* Finite coefficients whose terms overflow to +inf and -inf: inf - inf. */
    static const char *const json =
        "{\"format\":\"csg-model/1\",\"type\":\"logistic\",\"model\":\"nan\","
        "\"features\":[\"income\",\"loan_amount\"],\"feature_min\":[0,1],"
        "\"feature_max\":[1e300,1e300],\"cutoff\":0.5,\"logistic\":{\"intercept\":0,"
        "\"mean\":[0,0],\"scale\":[1e-300,1e-300],\"coef\":[1e300,-1e300]}}";
    csg_model *m = NULL;
    csg_model_error err;
    assert_int_equal(csg_model_parse(json, strlen(json), &m, &err), 0);
    const double x[] = {1e300, 1e300};
    double s = 0.5;
    assert_int_equal(csg_model_score(m, x, &s), -CSG_MODEL_EINVAL);
    assert_true(s == 0);
    csg_model_free(m);
}

static void test_committed_artifacts(void **state)
{
    (void)state;
    static const char *const files[] = {"models/champion.json", "models/challenger.json"};
    for (size_t i = 0; i < 2; i++) {
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        int rc = csg_model_load(files[i], &m, &err);
        if (rc) {
            print_error("%s: %s\n", files[i], err.message);
            fail();
        }
        app_values a = app(130, 1000, 1);
        double s = score_of(m, &a);
        assert_true(s > 0 && s < 1);
        csg_model_free(m);
    }
    csg_model *m = NULL;
    csg_model_error err = {{0}};
    assert_int_not_equal(csg_model_load("models/does-not-exist.json", &m, &err), 0);
    assert_non_null(strstr(err.message, "models/does-not-exist.json: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_logistic),
        cmocka_unit_test(test_gbm),
        cmocka_unit_test(test_nan_is_an_error),
        cmocka_unit_test(test_committed_artifacts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
