/* Unit tests for persistence/event.c, util.c (time, numbers, UTF-8) and stats.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_diff.h"
#include "event_scan.h"
#include "stats.h"
#include "util.h"

#define GOOD                                                                                   \
    "\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","  \
    "\"champion_model\":\"c\",\"challenger_model\":\"g\",\"champion_score\":0.73,"              \
    "\"challenger_score\":0.68,\"champion_decision\":\"approve\",\"challenger_decision\":"       \
    "\"decline\",\"decision_match\":false,\"latency_champion_ms\":1.84,"                         \
    "\"latency_challenger_ms\":2.31,\"decision_diff\":0.05,\"income\":60000,\"loan_amount\":"    \
    "25000,\"credit_history\":4,\"timestamp\":\"2025-10-07T13:35:42.123Z\",\"status\":\"OK\""

/* csgp_event_parse, after checking that its scanner path and the jansson reference agree
 * on this input (event_diff.h): every case below is also a differential case. */
static int parse(const char *json, size_t len, csgp_event *ev, csgp_reject *why)
{
    const char *diff = event_diff(json, len);
    if (diff)
        fail_msg("scanner and jansson paths differ (%s) on: %.*s", diff, (int)len, json);
    return csgp_event_parse(json, len, ev, why);
}

static const struct event_case {
    const char *json;
    const char *kind;   /* NULL = valid */
    const char *needle; /* expected in the reason */
} event_cases[] = {
    {"{" GOOD "}", NULL, NULL},
    {"{" GOOD ",\"extra\":1}", NULL, NULL},
    {"not json", "invalid_json", "invalid JSON"},
    {"[1]", "not_object", "object"},
    {"{\"event_id\":\"e1\"}", "missing_field", "experiment_id"},
    {"{" GOOD ",\"status\":\"OK\"}", "invalid_json", "duplicate"},
    {"{\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","
     "\"champion_model\":\"c\",\"challenger_model\":null,\"champion_score\":0.5,"
     "\"challenger_score\":0.3,\"champion_decision\":\"approve\",\"challenger_decision\":null,"
     "\"decision_match\":null,\"latency_champion_ms\":1,\"latency_challenger_ms\":null,"
     "\"decision_diff\":null,\"income\":0,\"loan_amount\":1,\"credit_history\":0,"
     "\"timestamp\":\"2025-10-07T13:35:42Z\",\"status\":\"OK\"}",
     "invalid_field", "challenger_score"},
    /* the interval is printed with its real brackets: [0, 1] is closed */
    {"{\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","
     "\"champion_model\":\"c\",\"challenger_model\":null,\"champion_score\":1.5,"
     "\"challenger_score\":null,\"champion_decision\":\"approve\",\"challenger_decision\":null,"
     "\"decision_match\":null,\"latency_champion_ms\":1,\"latency_challenger_ms\":null,"
     "\"decision_diff\":null,\"income\":0,\"loan_amount\":1,\"credit_history\":0,"
     "\"timestamp\":\"2025-10-07T13:35:42Z\",\"status\":\"OK\"}",
     "invalid_field", "out of range [0, 1]"},
    {"{\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","
     "\"champion_model\":\"c\",\"challenger_model\":null,\"champion_score\":0.5,"
     "\"challenger_score\":null,\"champion_decision\":\"approve\",\"challenger_decision\":null,"
     "\"decision_match\":null,\"latency_champion_ms\":1,\"latency_challenger_ms\":null,"
     "\"decision_diff\":null,\"income\":0,\"loan_amount\":0,\"credit_history\":0,"
     "\"timestamp\":\"2025-10-07T13:35:42Z\",\"status\":\"OK\"}",
     "invalid_field", "out of range (0,"},
};

/* The ABI 2.0 keys: features (optional object) and config_version (optional, 16 hex). */
#define NULL_BRIEF(rest)                                                                        \
    "{\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","  \
    "\"champion_model\":\"c\",\"challenger_model\":null,\"champion_score\":0.5,"              \
    "\"challenger_score\":null,\"champion_decision\":\"approve\",\"challenger_decision\":null,"  \
    "\"decision_match\":null,\"latency_champion_ms\":1,\"latency_challenger_ms\":null,"         \
    "\"decision_diff\":null,\"income\":null,\"loan_amount\":null,\"credit_history\":null,"     \
    "\"timestamp\":\"2025-10-07T13:35:42Z\",\"status\":\"OK\"" rest "}"

static const struct feature_case {
    const char *json;
    const char *features;       /* stored text; NULL = none; "!" = rejected */
    const char *config_version; /* "" = none */
    int has_income;             /* the brief columns: -1 NULL, else the value's presence */
    double income;
    const char *needle;         /* rejected: part of the reason */
} feature_cases[] = {
    {"{" GOOD "}", NULL, "", 1, 60000, NULL}, /* an older gateway: no new keys */
    {"{" GOOD ",\"features\":null,\"config_version\":null}", NULL, "", 1, 60000, NULL},
    {"{" GOOD ",\"features\":{},\"config_version\":\"0123456789abcdef\"}", "{}",
     "0123456789abcdef", 1, 60000, NULL},
    {"{" GOOD ",\"features\":{\"home\":\"rent\",\"age\":41,\"income\":5,\"vip\":true,"
     "\"debt\":0.25}}",
     "{\"age\":41,\"debt\":0.25,\"home\":\"rent\",\"income\":5,\"vip\":true}", "", 1, 60000,
     NULL}, /* keys sorted; the top-level income wins */
    {NULL_BRIEF(",\"features\":{\"income\":7.5,\"loan_amount\":3,\"credit_history\":2}"),
     "{\"credit_history\":2,\"income\":7.5,\"loan_amount\":3}", "", 1, 7.5, NULL},
    {NULL_BRIEF(",\"features\":{\"income\":-1,\"loan_amount\":0,\"credit_history\":1.5}"),
     "{\"credit_history\":1.5,\"income\":-1,\"loan_amount\":0}", "", -1, 0, NULL},
    {NULL_BRIEF(""), NULL, "", -1, 0, NULL},
    {"{" GOOD ",\"features\":[1]}", "!", "", 0, 0, "\"features\": must be an object"},
    {"{" GOOD ",\"features\":{\"Home\":\"rent\"}}", "!", "", 0, 0, "\"Home\" is not a feature"},
    {"{" GOOD ",\"features\":{\"a b\\u0001\":1}}", "!", "", 0, 0, "a key is not a feature"},
    {"{" GOOD ",\"features\":{\"x\":{\"y\":1}}}", "!", "", 0, 0, "features.x"},
    {"{" GOOD ",\"features\":{\"x\":null}}", "!", "", 0, 0, "features.x"},
    {"{" GOOD ",\"features\":{\"x\":\"\"}}", "!", "", 0, 0, "features.x"},
    {"{" GOOD ",\"features\":{\"x\":\"a\\nb\"}}", "!", "", 0, 0, "features.x"},
    {"{" GOOD ",\"config_version\":\"0123456789ABCDEF\"}", "!", "", 0, 0, "config_version"},
    {"{" GOOD ",\"config_version\":\"0123\"}", "!", "", 0, 0, "config_version"},
    {"{" GOOD ",\"config_version\":7}", "!", "", 0, 0, "config_version"},
};

static void test_feature_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof feature_cases / sizeof *feature_cases; i++) {
        const struct feature_case *c = &feature_cases[i];
        csgp_event ev;
        csgp_reject why = {0};
        int rc = parse(c->json, strlen(c->json), &ev, &why);
        if (c->features && !strcmp(c->features, "!")) {
            if (rc == 0 || strcmp(why.kind, "invalid_field") || !strstr(why.reason, c->needle))
                fail_msg("case %zu: rc %d, reason \"%s\" lacks \"%s\"", i, rc, why.reason,
                         c->needle);
            continue;
        }
        if (rc)
            fail_msg("case %zu refused: %s", i, why.reason);
        if (c->features)
            assert_string_equal(ev.features, c->features);
        else
            assert_null(ev.features);
        assert_string_equal(ev.config_version, c->config_version);
        assert_int_equal(ev.has_income, c->has_income == 1);
        if (c->has_income == 1)
            assert_true(ev.income == c->income);
        csgp_event_release(&ev);
        csgp_event_release(&ev); /* twice is fine */
    }
    /* 64 features are fine, 65 are not */
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "{" GOOD ",\"features\":{");
    for (int k = 0; k < 65; k++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s\"f%d\":%d", k ? "," : "", k, k);
    snprintf(buf + n, sizeof buf - (size_t)n, "}}");
    csgp_event ev;
    csgp_reject why;
    assert_int_not_equal(parse(buf, strlen(buf), &ev, &why), 0);
    assert_non_null(strstr(why.reason, "at most 64"));
    char *cut = strstr(buf, ",\"f64\":64");
    memmove(cut, cut + strlen(",\"f64\":64"), strlen(cut + strlen(",\"f64\":64")) + 1);
    assert_int_equal(parse(buf, strlen(buf), &ev, &why), 0);
    csgp_event_release(&ev);
}

static void test_event_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof event_cases / sizeof *event_cases; i++) {
        const struct event_case *c = &event_cases[i];
        csgp_event ev;
        csgp_reject why = {0};
        int rc = parse(c->json, strlen(c->json), &ev, &why);
        if (!c->kind) {
            assert_int_equal(rc, 0);
            csgp_event_release(&ev);
        } else {
            assert_int_not_equal(rc, 0);
            assert_string_equal(why.kind, c->kind);
            if (!strstr(why.reason, c->needle))
                fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, why.reason, c->needle);
        }
    }
}

/* The good event with its first `from` replaced by `to`, into buf. */
static void good_with(const char *from, const char *to, char *buf, size_t cap)
{
    const char *good = "{" GOOD "}";
    const char *at = strstr(good, from);
    assert_non_null(at);
    snprintf(buf, cap, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
}

/* Each field replaced by a bad value must be rejected naming that field. */
static void test_bad_fields(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *field;
    } subs[] = {
        {"\"champion_score\":0.73", "\"champion_score\":1.5", "champion_score"},
        {"\"champion_score\":0.73", "\"champion_score\":null", "champion_score"},
        {"\"income\":60000", "\"income\":-1", "income"},
        {"\"income\":60000", "\"income\":\"60000\"", "income"},
        {"\"loan_amount\":25000", "\"loan_amount\":0", "loan_amount"},
        {"\"credit_history\":4", "\"credit_history\":4.5", "credit_history"},
        {"\"credit_history\":4", "\"credit_history\":-1", "credit_history"},
        {"\"status\":\"OK\"", "\"status\":\"FINE\"", "status"},
        {"\"champion_decision\":\"approve\"", "\"champion_decision\":\"yes\"", "champion_decision"},
        {"\"decision_match\":false", "\"decision_match\":0", "decision_match"},
        {"\"event_id\":\"e1\"", "\"event_id\":\"\"", "event_id"},
        {"\"event_id\":\"e1\"", "\"event_id\":\"a b\"", "event_id"},
        {"\"timestamp\":\"2025-10-07T13:35:42.123Z\"", "\"timestamp\":\"2025-10-07 13:35\"", "timestamp"},
        {"\"timestamp\":\"2025-10-07T13:35:42.123Z\"", "\"timestamp\":\"2025-02-29T00:00:00Z\"", "timestamp"},
        {"\"applicant_id\":\"a1\"", "\"applicant_id\":\"a\\nb\"", "applicant_id"},
        {"\"latency_champion_ms\":1.84", "\"latency_champion_ms\":null", "latency_champion_ms"},
    };
    char buf[2048];
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        good_with(subs[i].from, subs[i].to, buf, sizeof buf);
        csgp_event ev;
        csgp_reject why = {0};
        assert_int_not_equal(parse(buf, strlen(buf), &ev, &why), 0);
        if (!strstr(why.reason, subs[i].field))
            fail_msg("sub %zu: reason \"%s\" lacks \"%s\"", i, why.reason, subs[i].field);
    }
}

/* Every number the gateway can put in an event is stored (issue 15): it accepts any finite
 * income >= 0 and loan_amount > 0, up to the largest double and down to the smallest
 * denormal; credit_history is any JSON integer >= 0 (bigint columns hold 2^63-1). Each
 * value must read back bit for bit. The rejects pin the edges of the same ranges. */
static void test_extreme_values(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        const char *reject; /* NULL = accepted; else the field named in the reason */
    } subs[] = {
        {"\"income\":60000", "\"income\":1e308", NULL},
        {"\"income\":60000", "\"income\":1.7976931348623157e308", NULL},
        {"\"income\":60000", "\"income\":0", NULL},
        {"\"income\":60000", "\"income\":-0.0", NULL},
        {"\"income\":60000", "\"income\":5e-324", NULL},
        {"\"income\":60000", "\"income\":2.2250738585072014e-308", NULL},
        {"\"loan_amount\":25000", "\"loan_amount\":1.7976931348623157e308", NULL},
        {"\"loan_amount\":25000", "\"loan_amount\":5e-324", NULL},
        {"\"loan_amount\":25000", "\"loan_amount\":1e15", NULL},
        {"\"loan_amount\":25000", "\"loan_amount\":1000000000000000.1", NULL},
        {"\"credit_history\":4", "\"credit_history\":9223372036854775807", NULL},
        {"\"credit_history\":4", "\"credit_history\":2147483647", NULL},
        {"\"latency_champion_ms\":1.84", "\"latency_champion_ms\":0", NULL},
        {"\"latency_champion_ms\":1.84", "\"latency_champion_ms\":1e9", NULL},
        {"\"champion_score\":0.73", "\"champion_score\":5e-324", NULL},
        {"\"income\":60000", "\"income\":-5e-324", "income"},
        {"\"income\":60000", "\"income\":1e309", "invalid JSON"}, /* not a double */
        {"\"loan_amount\":25000", "\"loan_amount\":-0.0", "loan_amount"},
        {"\"loan_amount\":25000", "\"loan_amount\":-5e-324", "loan_amount"},
        {"\"credit_history\":4", "\"credit_history\":9223372036854775808", "invalid JSON"},
        {"\"latency_champion_ms\":1.84", "\"latency_champion_ms\":-5e-324", "latency_champion_ms"},
        {"\"latency_champion_ms\":1.84", "\"latency_champion_ms\":1000000000.0001",
         "latency_champion_ms"},
    };
    char buf[2048];
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        good_with(subs[i].from, subs[i].to, buf, sizeof buf);
        csgp_event ev;
        csgp_reject why = {0};
        int rc = parse(buf, strlen(buf), &ev, &why);
        if (subs[i].reject) {
            if (rc == 0 || !strstr(why.reason, subs[i].reject))
                fail_msg("%s: accepted or wrong reason \"%s\"", subs[i].to, why.reason);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: rejected: %s", subs[i].to, why.reason);
        csgp_event_release(&ev); /* the scalars below stay readable */
        /* The value as the C library reads the same text: bit-identical. */
        const char *num = strchr(subs[i].to, ':') + 1;
        if (!strncmp(subs[i].to, "\"credit_history\"", 16)) {
            assert_true(ev.credit_history == strtoll(num, NULL, 10));
            continue;
        }
        double want = strtod(num, NULL);
        double got = !strncmp(subs[i].to, "\"income\"", 8)          ? ev.income
                     : !strncmp(subs[i].to, "\"loan_amount\"", 13)  ? ev.loan_amount
                     : !strncmp(subs[i].to, "\"champion_score\"", 16) ? ev.champion_score
                                                                     : ev.latency_champion_ms;
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("%s: read back as %.17g", subs[i].to, got);
    }
}

/* Inputs at the scanner's edges (what it must decline or read exactly as jansson does). */
static void test_scanner_paths(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{" GOOD "}",
        " \t\n{ " GOOD " }\r\n",
        "{" GOOD "} x",
        "{" GOOD ",}",
        "{" GOOD ",\"extra\":{\"a\":[1,2]}}",
        "{" GOOD ",\"event_id\":\"e2\"}",
        "{\"event_id\":\"e\\u0031\"," GOOD "}",
        "{" GOOD ",\"champion_reasons\":[\"INCOME\",\"DEBT\"]}",
        "{" GOOD ",\"champion_reasons\":[]}",
        "{" GOOD ",\"champion_reasons\":[\"A\",\"B\",\"C\",\"D\",\"E\"]}",
        "{" GOOD ",\"champion_reasons\":[1]}",
        "{" GOOD ",\"champion_reasons\":[\"A\",]}",
        "{" GOOD ",\"challengers\":[\"g\"]}",
        "{" GOOD ",\"challengers\":[]}",
        "{" GOOD ",\"features\":[\"a\"]}",
        "{" GOOD ",\"features\":{\"income\":1.5e3}}",
        "{" GOOD ",\"decided_by\":\"challenger\"}",
        "{" GOOD ",\"decided_by\":\"champion\",\"config_version\":\"0123456789abcdef\"}",
        "{" GOOD ",\"decided_by\":\"champio\"}",
        "{" GOOD ",\"config_version\":\"0123456789abcde\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *diff = event_diff(cases[i], strlen(cases[i]));
        if (diff)
            fail_msg("case %zu: scanner and jansson paths differ (%s)", i, diff);
    }
    /* Numbers: the token decides integer or real, as in jansson ("-0" is the integer 0;
     * out-of-range ones are not JSON jansson reads). */
    static const char *const nums[] = {"0", "-0", "-0.0", "1e-400", "1e400", "0.1e1", "1E+2",
                                       "9223372036854775807", "9223372036854775808", "01",
                                       "1.", ".5", "-", "2.5e-3", "0.30000000000000004",
                                       "123456789012345678901234567890123456789012345678901234567890123456789"};
    static const char *const keys[] = {"income", "credit_history", "latency_champion_ms",
                                       "champion_score"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
            /* GOOD with this key's value replaced */
            const char *good = "{" GOOD "}";
            char key[64], buf[2048];
            snprintf(key, sizeof key, "\"%s\":", keys[k]);
            const char *at = strstr(good, key) + strlen(key);
            const char *rest = at + strcspn(at, ",}");
            snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - good), good, nums[i], rest);
            const char *diff = event_diff(buf, strlen(buf));
            if (diff)
                fail_msg("%s: %s: scanner and jansson paths differ (%s)", keys[k], nums[i], diff);
        }
    /* ABI 2.0 events: features and challengers through the scanner, the stored features
     * text byte for byte jansson's (json_dumps' real format, sorted keys), and refusals
     * worded by jansson. */
    static const char *const gw[] = {
        ",\"features\":{\"zeta\":%s,\"age\":41,\"vip\":true,\"home\":\"rent\",\"no\":false}",
        ",\"features\" : { \"age\" : %s , \"age2\" : 1 }",
        ",\"features\":{\"income\":%s,\"loan_amount\":%s,\"credit_history\":%s}",
        ",\"challengers\":[{\"model\":\"g\",\"score\":%s,\"decision\":\"approve\","
        "\"latency_ms\":2.5,\"status\":\"OK\",\"reasons\":null,\"mode\":\"shadow\"}]",
        ",\"challengers\":[{\"model\":\"g\",\"score\":0.5,\"decision\":\"approve\","
        "\"latency_ms\":%s,\"status\":\"OK\",\"reasons\":[\"A\"],\"mode\":\"live\","
        "\"trial\":true},{\"model\":\"h\",\"score\":null,\"decision\":null,"
        "\"latency_ms\":300,\"status\":\"CHALLENGER_TIMEOUT\",\"reasons\":null,"
        "\"mode\":\"shadow\"}],\"decided_by\":\"challenger\"",
    };
    static const char *const fnums[] = {"0", "-0", "0.1", "1e-05", "1e+20", "1E300", "2.5",
                                        "60000.0", "1e16", "-1.5e-7", "5e-324", "1e400",
                                        "123456789012345678", "0.30000000000000004", "true",
                                        "null", "\"x\"", "\"\"", "\"a\\\"b\"", "[1]",
                                        "{\"y\":1}"};
    for (size_t g = 0; g < sizeof gw / sizeof *gw; g++)
        for (size_t i = 0; i < sizeof fnums / sizeof *fnums; i++) {
            char tail[512], buf[2048];
            snprintf(tail, sizeof tail, gw[g], fnums[i], fnums[i], fnums[i]);
            snprintf(buf, sizeof buf, "{" GOOD "%s}", tail);
            const char *diff = event_diff(buf, strlen(buf));
            if (diff)
                fail_msg("%s: scanner and jansson paths differ (%s)", buf, diff);
        }
    static const char *const objs[] = {
        "{" GOOD ",\"features\":{\"a\":1,\"a\":2}}",
        "{" GOOD ",\"features\":{}}",
        "{" GOOD ",\"features\":{\"a\":1,}}",
        "{" GOOD ",\"challengers\":[{}]}",
        "{" GOOD ",\"challengers\":[{\"model\":\"g\"},]}",
        "{" GOOD ",\"challengers\":[{\"model\":\"g\",\"model\":\"h\"}]}",
        "{" GOOD ",\"challengers\":[{\"model\":\"g\",\"score\":0.5,\"decision\":\"approve\","
        "\"latency_ms\":1,\"status\":\"OK\",\"reasons\":null,\"mode\":\"shadow\",\"x\":1}]}",
        "{" GOOD ",\"challengers\":{\"model\":\"g\"}}",
        "{" GOOD ",\"champion_reasons\":[{\"a\":1}]}",
    };
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        const char *diff = event_diff(objs[i], strlen(objs[i]));
        if (diff)
            fail_msg("%s: scanner and jansson paths differ (%s)", objs[i], diff);
    }
    {
        csgp_jv gv[CSG_EF_COUNT];
        char buf[2048];
        snprintf(buf, sizeof buf, "{" GOOD "%s}", ",\"features\":{\"age\":1},\"challengers\":"
                 "[{\"model\":\"g\",\"score\":0.5,\"decision\":\"approve\",\"latency_ms\":1,"
                 "\"status\":\"OK\",\"reasons\":null,\"mode\":\"shadow\"}]");
        assert_true(csgp_event_scan(buf, strlen(buf), gv));
        assert_int_equal(gv[CSG_EF_FEATURES].t, CSGP_JV_OBJECT);
        assert_int_equal(gv[CSG_EF_CHALLENGERS].t, CSGP_JV_OBJECTS);
    }

    /* The usual event is the scanner's: the ingest path does not build a jansson tree. */
    csgp_jv vals[CSG_EF_COUNT];
    const char *good = "{" GOOD ",\"champion_reasons\":[\"INCOME\"],\"decided_by\":\"champion\"}";
    assert_true(csgp_event_scan(good, strlen(good), vals));
    assert_int_equal(vals[CSG_EF_CHAMPION_REASONS].t, CSGP_JV_ARRAY);
    assert_int_equal(vals[CSG_EF_INCOME].t, CSGP_JV_INT);
    assert_false(csgp_event_scan(good, strlen(good) - 1, vals));
}

/* A stored features text read by the scanner as jansson reads it (jsonb's spacing too);
 * escapes go through jansson. */
static void test_features_iter(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"age\":41,\"home\":\"rent\",\"vip\":true,\"x\":2.5,\"y\":false,\"z\":null}",
        "{\"age\": 41, \"home\": \"rent\", \"vip\": true, \"x\": 2.5, \"y\": false, \"z\": null}",
        "{\"age\":41,\"home\":\"r\\u00e9nt\",\"vip\":true,\"x\":2.5,\"y\":false,\"z\":null}",
    };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        csgp_features_it it;
        csgp_feature f;
        assert_true(csgp_features_open(&it, texts[t]));
        static const char *const names[] = {"age", "home", "vip", "x", "y", "z"};
        static const csgp_jv_type types[] = {CSGP_JV_INT, CSGP_JV_STRING, CSGP_JV_TRUE,
                                             CSGP_JV_REAL, CSGP_JV_FALSE, CSGP_JV_NULL};
        for (int k = 0; k < 6; k++) {
            assert_true(csgp_features_next(&it, &f));
            assert_string_equal(f.name, names[k]);
            assert_int_equal(f.t, types[k]);
            if (k == 0)
                assert_true(f.d == 41);
            if (k == 1)
                assert_string_equal(f.s, t == 2 ? "r\xc3\xa9nt" : "rent");
            if (k == 3)
                assert_true(f.d == 2.5);
        }
        assert_false(csgp_features_next(&it, &f));
        csgp_features_close(&it);
    }
    csgp_features_it it;
    assert_false(csgp_features_open(&it, NULL));
    assert_false(csgp_features_open(&it, "[1]"));
    csgp_features_close(&it);
}

static void test_time(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
        const char *canon;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00.000Z"},
        {"2025-10-07T13:35:42.123Z", 1759844142123, "2025-10-07T13:35:42.123Z"},
        {"2025-10-07T15:35:42.1239+02:00", 1759844142123, "2025-10-07T13:35:42.123Z"},
        {"2024-02-29T23:59:59.999-01:30", 1709256599999, "2024-03-01T01:29:59.999Z"},
        {"1764064800", 1764064800000, "2025-11-25T10:00:00.000Z"},
        {"1764064800.25", 1764064800250, "2025-11-25T10:00:00.250Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t ms = -1;
        assert_int_equal(csgp_parse_time_param(cases[i].in, &ms), 0);
        assert_int_equal(ms, cases[i].ms);
        char out[CSGP_TS_SIZE];
        csgp_format_ms(ms, out);
        assert_string_equal(out, cases[i].canon);
    }
    static const char *const bad[] = {"", "yesterday", "2025-13-01T00:00:00Z", "2025-10-07T24:00:00Z",
                                      "2025-10-07T13:35:42", "2025-10-07T13:35:42.Z", "-5", "1e400",
                                      "2025-10-07T13:35:42+0200", "nan", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        if (csgp_parse_time_param(bad[i], &ms) == 0)
            fail_msg("accepted bad time \"%s\"", bad[i]);
    }
}

static void test_percentile(void **state)
{
    (void)state;
    double a[] = {4, 1, 3, 2};
    assert_true(csgp_percentile_cont(a, 4, 0.5) == 2.5);
    double b[] = {4, 1, 3, 2};
    assert_true(csgp_percentile_cont(b, 4, 0.0) == 1);
    double c[] = {4, 1, 3, 2};
    assert_true(csgp_percentile_cont(c, 4, 1.0) == 4);
    double d[] = {10};
    assert_true(csgp_percentile_cont(d, 1, 0.99) == 10);
    double e[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    /* pos = 0.95·9 = 8.55 → 9 + 0.55·(10 − 9) */
    assert_true(csgp_percentile_cont(e, 10, 0.95) == 9 + (10 - 9) * (0.95 * 9 - 8));
}

static void test_utf8_and_base64(void **state)
{
    (void)state;
    assert_true(csgp_utf8_valid("h\xc3\xa9llo", 6));
    assert_false(csgp_utf8_valid("\xff\xfe", 2));
    assert_false(csgp_utf8_valid("a\0b", 3));
    assert_false(csgp_utf8_valid("\xc3", 1));
    assert_false(csgp_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_int_equal(csgp_utf8_trim("ab\xc3\xa9", 3), 2);
    assert_int_equal(csgp_utf8_trim("ab\xc3\xa9", 4), 4);
    char *s = csgp_base64((const unsigned char *)"\xff\xfe\x00g", 4);
    assert_string_equal(s, "//4AZw==");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_cases),
        cmocka_unit_test(test_feature_cases),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_scanner_paths),
        cmocka_unit_test(test_features_iter),
        cmocka_unit_test(test_time),        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_utf8_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
