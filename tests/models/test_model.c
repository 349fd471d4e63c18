/*
 * test_model.c — models/model.c, scorecard.c, gbm.c, treeshap.c: every bad
 * model file is refused with a message naming what is wrong; small
 * hand-checked files score, give points and reasons by hand-checked
 * arithmetic (TreeSHAP on a depth-2 tree against its Shapley values worked
 * out by hand); the committed artifacts load.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
/* The gateway's reason bounds (a test may look at both sides; models/ itself may not). */
#include "../../lib/csg_event_schema.h"

_Static_assert(CSG_MODEL_REASONS_MAX == CSG_REASONS_MAX, "reasons per answer");
_Static_assert(CSG_MODEL_REASON_CODE_MAX == CSG_REASON_CODE_MAX, "reason code length");
_Static_assert(CSG_MODEL_REASON_TEXT_MAX == CSG_REASON_TEXT_MAX, "reason text length");

#define R(code) ",\"reason\":{\"code\":\"" code "\",\"text\":\"Reason " code "\"}"
#define FEATS                                                                                \
    "\"features\":[{\"name\":\"income\",\"type\":\"number\",\"min\":0" R("INCOME") "},"      \
    "{\"name\":\"home\",\"type\":\"category\",\"values\":[\"rent\",\"owner\",\"other\"]"      \
    R("HOME") "},"                                                                           \
    "{\"name\":\"credit_history\",\"type\":\"integer\",\"min\":0,\"required\":true,"         \
    "\"clip_max\":1" R("RECORDS") "}],"
#define SC_HEAD "{\"format\":\"csg-model/2\",\"type\":\"scorecard\",\"model\":\"sc\"," FEATS "\"cutoff\":0.5,"
/* income: <100 | >=100 | missing; home: rent,other -> bin 0, owner -> 1, missing 2;
 * history: 0 | >=1 | missing. */
#define SC_CHARS                                                                             \
    "\"characteristics\":["                                                                  \
    "{\"cuts\":[100],\"woe\":[-1,0.5,0],\"points\":[10,40,30],\"coef\":1},"                  \
    "{\"level_bin\":[0,1,0],\"woe\":[-0.5,0.25,0],\"points\":[20,25,22],\"coef\":2},"        \
    "{\"cuts\":[1],\"woe\":[-2,1,0],\"points\":[0,50,30],\"coef\":0.5}]"
#define SC_OK SC_HEAD "\"scorecard\":{\"intercept\":0.25," SC_CHARS "}}"

#define GBM_HEAD "{\"format\":\"csg-model/2\",\"type\":\"gbm\",\"model\":\"g\"," FEATS "\"cutoff\":0.6,"
/* income <= 100 (missing: left) ? leaf 1 (cover 30) :
 *   (home in {owner} ? leaf 2 (cover 50) : leaf 4 (cover 20)); unknown levels: missing = right */
#define GBM_TREE                                                                             \
    "{\"feature\":[0,0,1,0,0],\"threshold\":[100,0,0,0,0],\"missing_left\":[1,0,0,0,0],"     \
    "\"cat_left\":[null,null,[1],null,null],\"left\":[1,-1,3,-1,-1],"                        \
    "\"right\":[2,-1,4,-1,-1],\"value\":[0,1,0,2,4],\"cover\":[100,30,70,50,20]}"
#define GBM_BODY(tree) "\"gbm\":{\"baseline\":-1,\"known\":[null,[1,2],null],\"trees\":[" tree "]}}"
#define GBM_OK GBM_HEAD GBM_BODY(GBM_TREE)

struct bad_case {
    const char *json;
    const char *want; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
    {"", "invalid JSON"},
    {"[1]", "must hold a JSON object"},
    {"{\"format\":\"csg-model/1\"}", "format must be \"csg-model/2\""},
    {"{\"format\":\"csg-model/2\",\"model\":\"a b\"}", "model must be a name"},
    {"{\"format\":\"csg-model/2\",\"modle\":\"a\"}", "unknown key \"modle\""},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":1.5}", "cutoff must be"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":[\"income\"]}",
     "features[0] must be an object"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\",\"minimum\":0}]}",
     "features[0]: unknown key \"minimum\""},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\"}]}",
     "features[0].reason must be an object"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\",\"reason\":{\"code\":\"bad code\",\"text\":\"t\"}}]}",
     "reason.code must match"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\",\"reason\":{\"code\":\"X\",\"text\":\"a\\nb\"}}]}",
     "reason.text must be 1-200 bytes"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\",\"reason\":{\"code\":\"X\",\"text\":\"\"}}]}",
     "reason.text must be 1-200 bytes"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"category\"" R("X") "}]}",
     "\"values\" goes with type \"category\""},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"category\",\"values\":[\"a\",\"a\"]" R("X") "}]}",
     "\"a\" is listed twice"},
    {"{\"format\":\"csg-model/2\",\"model\":\"m\",\"cutoff\":0.5,\"features\":["
     "{\"name\":\"x\",\"type\":\"number\"" R("X") "},{\"name\":\"x\",\"type\":\"number\"" R("X")
     "}]}",
     "\"x\" is listed twice"},
    {SC_HEAD "\"type\":\"forest\"}", "duplicate"}, /* JSON_REJECT_DUPLICATES */
    {"{\"format\":\"csg-model/2\",\"type\":\"forest\",\"model\":\"m\"," FEATS "\"cutoff\":0.5}",
     "type must be"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0}}", "scorecard.characteristics must be an array of 3"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100,50],\"woe\":[1,2,3,0],\"points\":[1,2,3,4],\"coef\":1},{},{}]}}",
     "cuts must increase strictly"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100],\"woe\":[1,2,3,0],\"points\":[1,2,3,4],\"coef\":1},{},{}]}}",
     "1 cuts make 2 bins and the missing bin, but woe has 4"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100],\"woe\":[1,2,3],\"points\":[1,2],\"coef\":1},{},{}]}}",
     "characteristics[0].points must be an array of 3"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100],\"woe\":[1,2,3],\"points\":[1,2,3],\"coef\":1},"
             "{\"level_bin\":[0,1,5],\"woe\":[1,2,3],\"points\":[1,2,3],\"coef\":1},{}]}}",
     "characteristics[1].level_bin[2] must be a bin index 0-2"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100],\"woe\":[1,2,3],\"points\":[1,2,3],\"coef\":1},"
             "{\"cuts\":[1],\"woe\":[1,2,3],\"points\":[1,2,3],\"coef\":1},{}]}}",
     "\"cuts\" is for numbers; home is a category"},
    {SC_HEAD "\"scorecard\":{\"intercept\":0,\"characteristics\":["
             "{\"cuts\":[100],\"woe\":[1,2,3],\"points\":[1,2,3],\"coef\":1,\"extra\":1},{},{}]}}",
     "unknown key \"extra\""},
    {SC_HEAD "\"scorecard\":{\"intercept\":0," SC_CHARS "}," GBM_BODY(GBM_TREE),
     "a scorecard file has no \"gbm\" section"},
    {GBM_HEAD "\"gbm\":{\"baseline\":0,\"known\":[null,[1],null],\"trees\":[]}}",
     "gbm.trees must"},
    {GBM_HEAD "\"gbm\":{\"baseline\":0,\"known\":[[1],[1],null],\"trees\":[" GBM_TREE "]}}",
     "gbm.known[0] must be null"},
    {GBM_HEAD "\"gbm\":{\"baseline\":0,\"known\":[null,[7],null],\"trees\":[" GBM_TREE "]}}",
     "gbm.known[1] must list the levels of home"},
    /* child pointing back at its parent: would loop */
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,0],\"right\":[2,-1,0],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0] node 2"},
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[3,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0] node 0"},
    /* two parents for node 3: a DAG, not a tree */
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0,0,0],\"threshold\":[1,2,3,0,0],"
                       "\"missing_left\":[0,0,0,0,0],\"cat_left\":[null,null,null,null,null],"
                       "\"left\":[1,3,3,-1,-1],\"right\":[2,4,4,-1,-1],\"value\":[0,0,0,1,2],"
                       "\"cover\":[4,2,2,1,1]}"),
     "node 3 is the child of 2 nodes"},
    {GBM_HEAD GBM_BODY("{\"feature\":[3,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0].feature[0]"},
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1],\"cover\":[2,1,1]}"),
     "gbm.trees[0].value must be an array of 3"},
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,0,1]}"),
     "gbm.trees[0].cover[1] must be a number > 0"},
    {GBM_HEAD GBM_BODY("{\"feature\":[1,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0].cat_left[0] must list level indices 0-2 of home"},
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[0,0,0],"
                       "\"cat_left\":[[1],null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0].cat_left[0] must be null: income is not a category"},
    {GBM_HEAD GBM_BODY("{\"feature\":[0,0,0],\"threshold\":[1,0,0],\"missing_left\":[2,0,0],"
                       "\"cat_left\":[null,null,null],\"left\":[1,-1,-1],\"right\":[2,-1,-1],"
                       "\"value\":[0,1,2],\"cover\":[2,1,1]}"),
     "gbm.trees[0].missing_left[0] must be 0 or 1"},
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

/* A tree deeper than CSG_MODEL_MAX_DEPTH (a chain down the left side) is refused. */
static void test_too_deep(void **state)
{
    (void)state;
    enum { N = 2 * (CSG_MODEL_MAX_DEPTH + 1) + 1 };
    static char json[16384];
    size_t pos = (size_t)snprintf(json, sizeof json, "%s\"gbm\":{\"baseline\":0,\"known\":"
                                  "[null,[1],null],\"trees\":[{", GBM_HEAD);
    static const char *const keys[] = {"feature", "threshold", "missing_left", "cat_left",
                                       "left", "right", "value", "cover"};
    for (size_t k = 0; k < 8; k++) {
        pos += (size_t)snprintf(json + pos, sizeof json - pos, "%s\"%s\":[", k ? "," : "", keys[k]);
        for (int i = 0; i < N; i++) {
            /* internal nodes 0, 2, 4, ...: left = i + 2, right = i + 1 (a leaf) */
            int internal = i % 2 == 0 && i + 2 < N;
            const char *v = k == 3 ? "null" : NULL;
            char num[32];
            if (!v) {
                long val = k == 4 ? (internal ? i + 2 : -1)
                           : k == 5 ? (internal ? i + 1 : -1)
                           : k == 7 ? (long)(N - i)
                                    : 0;
                snprintf(num, sizeof num, "%ld", val);
                v = num;
            }
            pos += (size_t)snprintf(json + pos, sizeof json - pos, "%s%s", i ? "," : "", v);
        }
        pos += (size_t)snprintf(json + pos, sizeof json - pos, "]");
    }
    pos += (size_t)snprintf(json + pos, sizeof json - pos, "}]}}");
    assert_true(pos < sizeof json);
    csg_model *m = NULL;
    csg_model_error err = {{0}};
    assert_int_not_equal(csg_model_parse(json, pos, &m, &err), 0);
    if (!strstr(err.message, "deeper than 32"))
        fail_msg("%s", err.message);
}

static double expit(double x) { return 1.0 / (1.0 + exp(-x)); }

struct sc_case {
    double x[3]; /* income, home level, history; NAN = missing */
    double want_logit, want_points;
    size_t nreasons;
    size_t reasons[4];
};

static void test_scorecard(void **state)
{
    (void)state;
    csg_model *m = NULL;
    csg_model_error err;
    assert_int_equal(csg_model_parse(SC_OK, strlen(SC_OK), &m, &err), 0);
    assert_string_equal(csg_model_kind(m), "scorecard");
    assert_string_equal(csg_model_feature_at(m, 1)->values[2], "other");
    assert_true(csg_model_feature_at(m, 2)->required && !csg_model_feature_at(m, 0)->required);
    static const struct sc_case cases[] = {
        /* approve: best bins everywhere */
        {{100, 1, 1}, 0.25 + 0.5 + 0.5 + 0.5, 40 + 25 + 50, 0, {0}},
        /* history 7 is clipped to 1 */
        {{150, 1, 7}, 0.25 + 0.5 + 0.5 + 0.5, 115, 0, {0}},
        /* decline: losses income 30, home 5, history 50 -> history, income, home */
        {{99.5, 0, 0}, 0.25 - 1 - 1 - 1, 10 + 20 + 0, 3, {2, 0, 1}},
        /* missing income and home: losses 10, 3, 50 */
        {{NAN, NAN, 0}, 0.25 + 0 + 0 - 1, 30 + 22 + 0, 3, {2, 0, 1}},
        /* "other" (level 2) groups with rent; equal losses 30 / 30 tie by order */
        {{NAN, 2, 0}, 0.25 + 0 - 1 - 1, 30 + 20 + 0, 3, {2, 0, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csg_model_result r;
        assert_int_equal(csg_model_evaluate(m, cases[i].x, &r), 0);
        if (fabs(r.score - expit(cases[i].want_logit)) > 1e-15 ||
            fabs(r.points - cases[i].want_points) > 1e-12 || !r.has_points) {
            print_error("case %zu: score %.17g points %.17g\n", i, r.score, r.points);
            fail();
        }
        assert_int_equal(r.decision, r.score >= 0.5 ? CSG_MODEL_APPROVE : CSG_MODEL_DECLINE);
        assert_int_equal(r.nreasons, cases[i].nreasons);
        for (size_t k = 0; k < r.nreasons; k++)
            assert_int_equal(r.reason[k], cases[i].reasons[k]);
    }
    csg_model_free(m);
}

static void test_gbm(void **state)
{
    (void)state;
    csg_model *m = NULL;
    csg_model_error err;
    assert_int_equal(csg_model_parse(GBM_OK, strlen(GBM_OK), &m, &err), 0);
    assert_int_equal(csg_model_tree_count(m), 1);
    static const struct {
        double x[3];
        double leaf;
    } cases[] = {
        {{100, 1, 0}, 1},   /* <= threshold goes left */
        {{NAN, 1, 0}, 1},   /* missing income: left */
        {{100.5, 1, 0}, 2}, /* owner: in cat_left */
        {{100.5, 2, 0}, 4}, /* other: known, not in cat_left */
        {{100.5, 0, 0}, 4}, /* rent: never seen in training -> missing -> right */
        {{100.5, NAN, 0}, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double s;
        assert_int_equal(csg_model_score(m, cases[i].x, &s), 0);
        if (s != expit(-1 + cases[i].leaf)) {
            print_error("case %zu: score %.17g want %.17g\n", i, s, expit(-1 + cases[i].leaf));
            fail();
        }
    }
    /* TreeSHAP by hand. E[f] = 0.3*1 + 0.5*2 + 0.2*4 = 2.1. For x = (200, other):
     * f(x) = 4; v({}) = 2.1, v({inc}) = (50*2 + 20*4)/70 = 18/7,
     * v({home}) = 0.3*1 + 0.7*4 = 3.1, v({inc, home}) = 4.
     * phi_inc = ((18/7 - 2.1) + (4 - 3.1)) / 2, phi_home = ((3.1 - 2.1) + (4 - 18/7)) / 2:
     * both positive, so an approval... and a decline has no negative reason here.
     * For x = (50, owner): f = 1; v({inc}) = 1, v({home}) = 0.3*1 + 0.7*2 = 1.7,
     * phi_inc = ((1 - 2.1) + (1 - 1.7)) / 2 = -0.9, phi_home = ((1.7 - 2.1) + 0) / 2 = -0.2. */
    csg_model_result r;
    const double lo[3] = {50, 1, 0};
    assert_int_equal(csg_model_evaluate(m, lo, &r), 0);
    assert_int_equal(r.decision, CSG_MODEL_DECLINE); /* expit(0) = 0.5 < 0.6 */
    assert_false(r.has_points);
    assert_int_equal(r.nreasons, 2);
    assert_int_equal(r.reason[0], 0);
    assert_int_equal(r.reason[1], 1);
    const double hi[3] = {200, 2, 0};
    assert_int_equal(csg_model_evaluate(m, hi, &r), 0);
    assert_int_equal(r.decision, CSG_MODEL_APPROVE);
    assert_int_equal(r.nreasons, 0);
    csg_model_free(m);
}

static void test_nan_is_an_error(void **state)
{
    (void)state;
    /* Finite values whose sum overflows to +inf and -inf: inf - inf. */
    static const char *const json =
        "{\"format\":\"csg-model/2\",\"type\":\"scorecard\",\"model\":\"nan\"," FEATS
        "\"cutoff\":0.5,\"scorecard\":{\"intercept\":0,\"characteristics\":["
        "{\"cuts\":[1],\"woe\":[1e308,1e308,0],\"points\":[0,0,0],\"coef\":1e308},"
        "{\"level_bin\":[0,0,0],\"woe\":[-1e308,0],\"points\":[0,0],\"coef\":1e308},"
        "{\"cuts\":[1],\"woe\":[0,0,0],\"points\":[0,0,0],\"coef\":0}]}}";
    csg_model *m = NULL;
    csg_model_error err;
    if (csg_model_parse(json, strlen(json), &m, &err) != 0)
        fail_msg("%s", err.message);
    const double x[] = {5, 0, 0};
    double s = 0.5;
    assert_int_equal(csg_model_score(m, x, &s), -CSG_MODEL_EINVAL);
    assert_true(s == 0);
    csg_model_result r;
    assert_int_equal(csg_model_evaluate(m, x, &r), -CSG_MODEL_EINVAL);
    assert_int_equal(r.nreasons, 0);
    csg_model_free(m);
}

static void test_committed_artifacts(void **state)
{
    (void)state;
    static const char *const files[] = {"models/champion.json", "models/challenger.json"};
    static const char *const names[] = {"champion-scorecard-v2", "challenger-gbm-v2"};
    for (size_t i = 0; i < 2; i++) {
        csg_model *m = NULL;
        csg_model_error err = {{0}};
        int rc = csg_model_load(files[i], &m, &err);
        if (rc)
            fail_msg("%s: %s", files[i], err.message);
        assert_string_equal(csg_model_name(m), names[i]);
        assert_int_equal(csg_model_feature_count(m), 13);
        double x[13];
        for (size_t k = 0; k < 13; k++)
            x[k] = NAN;
        x[0] = 130, x[1] = 1000, x[2] = 1;
        csg_model_result r;
        assert_int_equal(csg_model_evaluate(m, x, &r), 0);
        assert_true(r.score > 0 && r.score < 1);
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
        cmocka_unit_test(test_bad_files),   cmocka_unit_test(test_too_deep),
        cmocka_unit_test(test_scorecard),   cmocka_unit_test(test_gbm),
        cmocka_unit_test(test_nan_is_an_error), cmocka_unit_test(test_committed_artifacts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
