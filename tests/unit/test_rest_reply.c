/*
 * test_rest_reply.c — adapters/rest/rest_reply.c: the verdict on a model's
 * reply body (DESIGN §5 "Model API"), points and reasons included. Every
 * malformed reasons list is a model error with a message that says what is
 * wrong, never a partial pass-through; the fast scanner and the jansson path
 * give the same verdict (bodies below reach both: flat ones the scanner,
 * nested or escaped ones jansson).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rest_reply.h"

static const struct case_ {
    const char *name;
    const char *body;
    const char *error; /* NULL = good; else a substring of the message */
    double score;
    csg_decision decision;
    int has_points; /* 1: points == .points */
    double points;
    const char *codes; /* good replies: the codes joined by ',' ("" = none) */
} cases[] = {
    /* good */
    {"flat approve", "{\"score\":0.72,\"decision\":\"approve\"}", NULL, 0.72,
     CSG_DECISION_APPROVE, 0, 0, ""},
    {"approve with points and []", "{\"score\":0.9,\"decision\":\"approve\",\"points\":640.5,"
     "\"reasons\":[ ]}", NULL, 0.9, CSG_DECISION_APPROVE, 1, 640.5, ""},
    {"integer points", "{\"score\":0.9,\"decision\":\"approve\",\"points\":-12}", NULL, 0.9,
     CSG_DECISION_APPROVE, 1, -12, ""},
    {"decline with reasons, in order",
     "{\"score\":0.41,\"decision\":\"decline\",\"points\":571.3,\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"Income insufficient for amount of "
     "credit requested\"},{\"code\":\"DEBT\",\"feature\":\"debt\",\"text\":\"Debt \\\"high\\\" "
     "\\u00e9\",\"extra\":1}]}",
     NULL, 0.41, CSG_DECISION_DECLINE, 1, 571.3, "INCOME,DEBT"},
    {"decline with 4 reasons", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"A\",\"feature\":\"a\",\"text\":\"t\"},{\"code\":\"B_2\",\"feature\":\"b\",\"text\":\"t\"},"
     "{\"code\":\"ABCDEFGHIJKLMNOP\",\"feature\":\"c\",\"text\":\"t\"},"
     "{\"code\":\"D\",\"feature\":\"d\",\"text\":\"t\"}]}",
     NULL, 0.1, CSG_DECISION_DECLINE, 0, 0, "A,B_2,ABCDEFGHIJKLMNOP,D"},
    {"decline with escape-free reasons and extra string keys (the scanner's case)",
     "{\"score\":0.2, \"reasons\" : [ {\"text\":\"Too many debts\", \"code\":\"DEBT\","
     " \"feature\":\"debt\", \"note\":\"x\"} , {\"code\":\"AGE\",\"feature\":\"age\","
     "\"text\":\"Age\"} ], \"decision\":\"decline\"}",
     NULL, 0.2, CSG_DECISION_DECLINE, 0, 0, "DEBT,AGE"},
    {"reasons before an approve decision", "{\"reasons\":[{\"code\":\"A\",\"feature\":\"a\","
     "\"text\":\"t\"}],\"score\":0.9,\"decision\":\"approve\"}",
     "malformed reasons: an approve carries none", 0, 0, 0, 0, NULL},
    {"an empty reason object", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":[{}]}",
     "malformed reasons: code must be", 0, 0, 0, 0, NULL},
    {"a reason with a number", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"A\",\"feature\":\"a\",\"text\":\"t\",\"weight\":1.5}]}",
     NULL, 0.1, CSG_DECISION_DECLINE, 0, 0, "A"},
    {"decline with [] (no reasons given)", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":[]}",
     NULL, 0.1, CSG_DECISION_DECLINE, 0, 0, ""},
    /* malformed: the whole reply is an error */
    {"5 reasons", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"A\",\"feature\":\"a\",\"text\":\"t\"},{\"code\":\"B\",\"feature\":\"a\",\"text\":\"t\"},"
     "{\"code\":\"C\",\"feature\":\"a\",\"text\":\"t\"},{\"code\":\"D\",\"feature\":\"a\",\"text\":\"t\"},"
     "{\"code\":\"E\",\"feature\":\"a\",\"text\":\"t\"}]}",
     "malformed reasons: more than 4", 0, 0, 0, 0, NULL},
    {"not an array", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":\"INCOME\"}",
     "malformed reasons: not an array", 0, 0, 0, 0, NULL},
    {"null reasons", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":null}",
     "malformed reasons: not an array", 0, 0, 0, 0, NULL},
    {"object reasons", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":{}}",
     "malformed reasons: not an array", 0, 0, 0, 0, NULL},
    {"entry not an object", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":[\"INCOME\"]}",
     "malformed reasons: an entry is not an object", 0, 0, 0, 0, NULL},
    {"lower-case code", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"income\",\"feature\":\"income\",\"text\":\"t\"}]}",
     "malformed reasons: code must be", 0, 0, 0, 0, NULL},
    {"17-character code", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"ABCDEFGHIJKLMNOPQ\",\"feature\":\"income\",\"text\":\"t\"}]}",
     "malformed reasons: code must be", 0, 0, 0, 0, NULL},
    {"code not a string", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":7,\"feature\":\"income\",\"text\":\"t\"}]}",
     "malformed reasons: code must be", 0, 0, 0, 0, NULL},
    {"feature not a name", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"Income\",\"text\":\"t\"}]}",
     "malformed reasons: feature must be", 0, 0, 0, 0, NULL},
    {"feature absent", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"text\":\"t\"}]}",
     "malformed reasons: feature must be", 0, 0, 0, 0, NULL},
    {"feature null", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":null,\"text\":\"t\"}]}",
     "malformed reasons: feature must be", 0, 0, 0, 0, NULL},
    {"text absent", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\"}]}",
     "malformed reasons: text must be", 0, 0, 0, 0, NULL},
    {"empty text", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"\"}]}",
     "malformed reasons: text must be", 0, 0, 0, 0, NULL},
    {"control character in text", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"a\\nb\"}]}",
     "malformed reasons: text must be", 0, 0, 0, 0, NULL},
    /* jansson refuses \u0000 in any string (no JSON_ALLOW_NUL) */
    {"NUL in text", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"a\\u0000b\"}]}",
     "not a JSON object", 0, 0, 0, 0, NULL},
    {"code twice", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"t\"},"
     "{\"code\":\"INCOME\",\"feature\":\"debt\",\"text\":\"t\"}]}",
     "malformed reasons: a code appears twice", 0, 0, 0, 0, NULL},
    {"reasons on an approve", "{\"score\":0.9,\"decision\":\"approve\",\"reasons\":["
     "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"t\"}]}",
     "malformed reasons: an approve carries none", 0, 0, 0, 0, NULL},
    {"key twice inside a reason", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":["
     "{\"code\":\"A\",\"code\":\"B\",\"feature\":\"f\",\"text\":\"t\"}]}",
     "duplicate key", 0, 0, 0, 0, NULL},
    {"reasons twice", "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":[],\"reasons\":[]}",
     "duplicate key", 0, 0, 0, 0, NULL},
    {"points a string", "{\"score\":0.9,\"decision\":\"approve\",\"points\":\"640\"}",
     "malformed points: must be a finite number", 0, 0, 0, 0, NULL},
    {"points null", "{\"score\":0.9,\"decision\":\"approve\",\"points\":null}",
     "malformed points: must be a finite number", 0, 0, 0, 0, NULL},
    {"points an array", "{\"score\":0.9,\"decision\":\"approve\",\"points\":[1]}",
     "malformed points: must be a finite number", 0, 0, 0, 0, NULL},
    {"points too large for a double", "{\"score\":0.9,\"decision\":\"approve\",\"points\":1e999}",
     "not a JSON object", 0, 0, 0, 0, NULL},
    /* found by a differential fuzz run (scanner vs jansson) */
    {"a real number no double holds, in another key",
     "{\"score\":0.5,\"decision\":\"approve\",\"x\":1e337}", "not a JSON object", 0, 0, 0, 0,
     NULL},
    {"a real number in another key is not points",
     "{\"score\":0.2,\"decision\":\"decline\",\"pois\":285.3,\"reasons\":[]}", NULL, 0.2,
     CSG_DECISION_DECLINE, 0, 0, ""},
    /* the old checks still come first */
    {"bad score beats bad reasons", "{\"score\":2,\"decision\":\"decline\",\"reasons\":7}",
     "no score in [0,1]", 0, 0, 0, 0, NULL},
    {"bad decision beats bad points", "{\"score\":0.5,\"decision\":\"maybe\",\"points\":\"x\"}",
     "neither approve nor decline", 0, 0, 0, 0, NULL},
};

/* The scanner's verdict is jansson's: same words, same answer. */
static void same_as_jansson(const char *name, const char *body, const char *err,
                            const rest_answer *a)
{
    rest_answer b;
    memset(&b, 0xa5, sizeof b);
    const char *jerr = rest_reply_check_jansson(body, strlen(body), &b);
    if ((err == NULL) != (jerr == NULL) || (err && strcmp(err, jerr) != 0))
        fail_msg("%s: %s, but jansson says %s", name, err ? err : "OK", jerr ? jerr : "OK");
    if (err)
        return;
    assert_true(a->score == b.score);
    assert_int_equal(a->decision, b.decision);
    assert_int_equal(a->has_points, b.has_points);
    assert_true(!a->has_points || a->points == b.points);
    assert_int_equal(a->reason_count, b.reason_count);
    for (unsigned r = 0; r < a->reason_count; r++) {
        assert_string_equal(a->reasons[r].code, b.reasons[r].code);
        assert_string_equal(a->reasons[r].feature, b.reasons[r].feature);
        assert_string_equal(a->reasons[r].text, b.reasons[r].text);
    }
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *k = &cases[i];
        rest_answer a;
        memset(&a, 0x5a, sizeof a); /* nothing may be left from before */
        const char *err = rest_reply_check(k->body, strlen(k->body), &a);
        same_as_jansson(k->name, k->body, err, &a);
        if (k->error) {
            if (!err || !strstr(err, k->error))
                fail_msg("%s: got %s, want an error with \"%s\"", k->name, err ? err : "OK",
                         k->error);
            continue;
        }
        if (err)
            fail_msg("%s: unexpected error %s", k->name, err);
        assert_true(a.score == k->score);
        assert_int_equal(a.decision, k->decision);
        assert_int_equal(a.has_points, k->has_points);
        if (k->has_points)
            assert_true(a.points == k->points);
        char joined[128] = "";
        for (unsigned r = 0; r < a.reason_count; r++)
            snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", r ? "," : "",
                     a.reasons[r].code);
        if (strcmp(joined, k->codes) != 0)
            fail_msg("%s: codes %s, want %s", k->name, joined, k->codes);
    }
}

/* Features and texts are copied whole, escapes decoded, NUL-terminated. */
static void test_reason_fields(void **state)
{
    (void)state;
    char text[CSG_REASON_TEXT_MAX + 1];
    memset(text, 'x', CSG_REASON_TEXT_MAX);
    text[CSG_REASON_TEXT_MAX] = '\0';
    char body[2048];
    snprintf(body, sizeof body,
             "{\"score\":0.41,\"decision\":\"decline\",\"reasons\":["
             "{\"code\":\"DEBT\",\"feature\":\"debt\",\"text\":\"Debt \\\"high\\\" \\u00e9\"},"
             "{\"code\":\"PRICE\",\"feature\":\"purchase_price_of_the_thing_xyz\",\"text\":\"%s\"}]}",
             text);
    rest_answer a;
    assert_null(rest_reply_check(body, strlen(body), &a));
    assert_int_equal(a.reason_count, 2);
    assert_string_equal(a.reasons[0].feature, "debt");
    assert_string_equal(a.reasons[0].text, "Debt \"high\" \xc3\xa9");
    assert_string_equal(a.reasons[1].feature, "purchase_price_of_the_thing_xyz");
    assert_string_equal(a.reasons[1].text, text);
    /* one byte over the text bound: the reply is refused */
    snprintf(body, sizeof body,
             "{\"score\":0.41,\"decision\":\"decline\",\"reasons\":["
             "{\"code\":\"PRICE\",\"feature\":\"p\",\"text\":\"%sy\"}]}",
             text);
    const char *err = rest_reply_check(body, strlen(body), &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "text must be"));
    /* a feature name of 33 characters */
    snprintf(body, sizeof body,
             "{\"score\":0.41,\"decision\":\"decline\",\"reasons\":["
             "{\"code\":\"PRICE\",\"feature\":\"%s\",\"text\":\"t\"}]}",
             "abcdefghijklmnopqrstuvwxyzabcdefg");
    err = rest_reply_check(body, strlen(body), &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "feature must be"));
    /* invalid UTF-8 in a text: jansson refuses the whole body */
    static const char bad_utf8[] = "{\"score\":0.41,\"decision\":\"decline\",\"reasons\":["
                                   "{\"code\":\"A\",\"feature\":\"a\",\"text\":\"\xc3\x28\"}]}";
    assert_non_null(rest_reply_check(bad_utf8, sizeof bad_utf8 - 1, &a));
    /* the longest escape-free reply the scanner takes: 4 reasons of 200-byte texts */
    int n = snprintf(body, sizeof body, "{\"score\":0.1,\"decision\":\"decline\",\"reasons\":[");
    for (int i = 0; i < 4; i++)
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s{\"code\":\"C%d\",\"feature\":\"f%d\",\"text\":\"%s\"}", i ? "," : "", i,
                      i, text);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    assert_null(rest_reply_check(body, strlen(body), &a));
    assert_int_equal(a.reason_count, 4);
    assert_string_equal(a.reasons[3].text, text);
    same_as_jansson("4 long reasons", body, NULL, &a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_reason_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
