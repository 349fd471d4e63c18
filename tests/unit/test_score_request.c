/*
 * test_score_request.c — plugins/grpc/score_request.c: a csg.v1.ScoreRequest
 * (hand-encoded wire bytes, so NUL bytes and invalid UTF-8 get through) → the
 * JSON application text, and its result through the core's parser. One row
 * per input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include "application.h"
#include "score_request.h"
#include "score_wire_diff.h"

/* The core_api fields score_request.c uses, as the gateway fills them. */
#define API(max_body)                                                                           \
    (&(const csg_core_api){.size = sizeof(csg_core_api),                                        \
                           .parse_application = csg_app_parse_default,                          \
                           .application_free = csg_app_free,                                    \
                           .max_body_bytes = (max_body)})

/* ------------------------------------------------------------ wire encoding */

typedef struct {
    uint8_t b[8192];
    size_t n;
} msg;

static void varint(msg *m, uint64_t v)
{
    while (v >= 0x80) {
        m->b[m->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    m->b[m->n++] = (uint8_t)v;
}

static void bytes(msg *m, unsigned field, const char *s, size_t len)
{
    varint(m, field << 3 | 2);
    varint(m, len);
    memcpy(m->b + m->n, s, len);
    m->n += len;
}

static void dbl(msg *m, unsigned field, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    varint(m, field << 3 | 1);
    for (int i = 0; i < 8; i++)
        m->b[m->n++] = (uint8_t)(u >> (8 * i));
}

/* One row's message from a tiny script, so the table stays readable:
 *   i<id>|  applicant_id (\0 and \xff may appear; length runs to the '|')
 *   I<num>| L<num>| H<int>|  income, loan_amount, credit_history
 *   n<key>=<num>|  c<key>=<text>|  f<key>=0/1|  e<key>|  (empty FeatureValue)
 *   E<key>|  (map entry without a value)
 * Numbers go through strtod ("nan", "inf" included). */
static void build(msg *m, const char *script, size_t slen)
{
    m->n = 0;
    const char *p = script, *end = script + slen;
    while (p < end) {
        char op = *p++;
        const char *bar = memchr(p, '|', (size_t)(end - p));
        size_t len = (size_t)(bar - p);
        char text[256];
        memcpy(text, p, len);
        text[len] = '\0';
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        msg v = {.n = 0}, e = {.n = 0};
        switch (op) {
        case 'i':
            bytes(m, 1, p, len);
            break;
        case 'I':
        case 'L':
            dbl(m, op == 'I' ? 2 : 3, strtod(text, NULL));
            break;
        case 'H':
            varint(m, 4 << 3);
            varint(m, (uint64_t)strtoll(text, NULL, 10));
            break;
        default: /* a map entry */
            if (op == 'n')
                dbl(&v, 1, strtod(text + klen + 1, NULL));
            else if (op == 'c')
                bytes(&v, 2, eq + 1, len - klen - 1);
            else if (op == 'f')
                varint(&v, 3 << 3), varint(&v, eq[1] == '1');
            bytes(&e, 1, p, klen);
            if (op != 'E')
                bytes(&e, 2, (const char *)v.b, v.n);
            bytes(m, 5, (const char *)e.b, e.n);
        }
        p = bar + 1;
    }
}

/* ------------------------------------------------------------ the table */

#define Z(s) s, sizeof(s) - 1

static const struct case_ {
    const char *script;
    size_t len; /* NUL bytes may appear in the script */
    csg_sr_status want;
    const char *out; /* OK: the JSON text; INVALID_FIELD/TOO_LARGE: details prefix */
} cases[] = {
    /* fields 2-4, the features map empty: as before (zeros are values) */
    {Z("ia|I131|L1000|H1|"), CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"income\":131,\"loan_amount\":1000,\"credit_history\":1}"},
    {Z("ia|L0.1|"), CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"income\":0,\"loan_amount\":0.10000000000000001,"
     "\"credit_history\":0}"},
    {Z("ia|I-0|L1e300|"), CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"income\":0,\"loan_amount\":1.0000000000000001e300,"
     "\"credit_history\":0}"},
    {Z("ia|I131|"), CSG_SR_INVALID_FIELD, "loan_amount: must be a finite number > 0"},
    {Z("ia|I-1|L1|"), CSG_SR_INVALID_FIELD, "income: must be a finite number >= 0"},
    {Z("ia|Inan|L1|"), CSG_SR_INVALID_FIELD, "income: must be a finite number (JSON has no"},
    {Z("ia|I1|L-inf|"), CSG_SR_INVALID_FIELD, "loan_amount: must be a finite number (JSON"},
    {Z("ia|L1|H-1|"), CSG_SR_INVALID_FIELD, "credit_history: must be an integer in"},
    {Z("i|L1|"), CSG_SR_INVALID_FIELD, "applicant_id: must be a string of 1-64 bytes"},
    {Z("ia\0b|L1|"), CSG_SR_INVALID_FIELD, "applicant_id: must be a string"}, /* not "a" */
    {Z("ia\nb|L1|"), CSG_SR_INVALID_FIELD, "applicant_id: must be a string"},
    {Z("i\xff|L1|"), CSG_SR_INVALID_FIELD, "applicant_id: must be valid UTF-8"},
    {Z("i\"\\\xc3\xa9|L1|"), CSG_SR_OK,
     "{\"applicant_id\":\"\\\"\\\\\xc3\xa9\",\"income\":0,\"loan_amount\":1,"
     "\"credit_history\":0}"},

    /* the features map: each entry a JSON member */
    {Z("ia|nincome=131|nloan_amount=1000|ncredit_history=1|nage=40|chome=rent|fowner=1|"),
     CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"age\":40,\"credit_history\":1,\"home\":\"rent\","
     "\"income\":131,\"loan_amount\":1000,\"owner\":true}"},
    /* last entry of a key wins; an overridden bad value is gone */
    {Z("ia|nincome=nan|nincome=5|nloan_amount=1|ncredit_history=0|"), CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"credit_history\":0,\"income\":5,\"loan_amount\":1}"},
    {Z("ia|nincome=5|nloan_amount=1|ncredit_history=0|cx=q\"\\\x01\t|"), CSG_SR_OK,
     "{\"applicant_id\":\"a\",\"credit_history\":0,\"income\":5,\"loan_amount\":1,"
     "\"x\":\"q\\\"\\\\\\u0001\\t\"}"},
    /* the core's rules, by name, for features as for fields */
    {Z("ia|nincome=5|ncredit_history=0|"), CSG_SR_INVALID_FIELD, "loan_amount: is required"},
    {Z("ia|nincome=5|nloan_amount=1|ncredit_history=1.5|"), CSG_SR_INVALID_FIELD,
     "credit_history: must be an integer"},
    {Z("ia|nincome=5|cloan_amount=1|ncredit_history=1|"), CSG_SR_INVALID_FIELD,
     "loan_amount: must be a finite number > 0"},
    {Z("ia|fincome=1|nloan_amount=1|ncredit_history=1|"), CSG_SR_INVALID_FIELD,
     "income: must be a finite number >= 0"},
    {Z("ia|nincome=5|nloan_amount=1|ncredit_history=2147483648|"), CSG_SR_INVALID_FIELD,
     "credit_history:"},
    /* a request_id member is checked as in an HTTP body, else ignored */
    {Z("ia|nincome=5|nloan_amount=1|ncredit_history=0|crequest_id=a b|"),
     CSG_SR_INVALID_FIELD, "request_id:"},
    /* what grpc.so itself refuses: shape and what JSON cannot carry */
    {Z("ia|I5|nloan_amount=1|"), CSG_SR_INVALID_FIELD,
     "income: set either the field or features, not both"},
    {Z("ia|L5|nincome=1|"), CSG_SR_INVALID_FIELD, "loan_amount: set either the field"},
    {Z("ia|H2|nincome=1|"), CSG_SR_INVALID_FIELD, "credit_history: set either the field"},
    {Z("ia|Inan|nincome=1|"), CSG_SR_INVALID_FIELD, "income: set either the field"},
    {Z("ia|nincome=inf|nloan_amount=1|ncredit_history=0|"), CSG_SR_INVALID_FIELD,
     "income: must be a finite number"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|eage|"), CSG_SR_INVALID_FIELD,
     "age: FeatureValue has no value"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|Eage|"), CSG_SR_INVALID_FIELD,
     "age: FeatureValue has no value"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|chome=re\0nt|"), CSG_SR_INVALID_FIELD,
     "home: category must not contain a NUL"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|chome=\xc0\xaf|"), CSG_SR_INVALID_FIELD,
     "home: category must be valid UTF-8"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|nHome=1|"), CSG_SR_INVALID_FIELD,
     "features: key \"Home\" is not a feature name"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|n1x=1|"), CSG_SR_INVALID_FIELD,
     "features: key \"1x\" is not a feature name"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|nag\"e=1|"), CSG_SR_INVALID_FIELD,
     "features: key \"ag\\x22e\" is not"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|nage\0x=1|"), CSG_SR_INVALID_FIELD,
     "features: key \"age\\x00x\" is not"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|n=1|"), CSG_SR_INVALID_FIELD,
     "features: key \"\" is not"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|nabcdefghijklmnopqrstuvwxyz0123456=1|"),
     CSG_SR_INVALID_FIELD, "features: key \"abcdefghijklmnopqrstuvwxyz0123456\" is not"},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|nabcdefghijklmnopqrstuvwxyz012345=1|"),
     CSG_SR_OK, NULL},
    {Z("ia|nincome=1|nloan_amount=1|ncredit_history=0|capplicant_id=b|"), CSG_SR_INVALID_FIELD,
     "applicant_id: is field 1 of ScoreRequest, not a feature"},
    /* malformed */
    {Z("\xff\xff\xff"), CSG_SR_MALFORMED, "malformed ScoreRequest"},
};

static const char *dump(const struct case_ *c)
{
    static char out[512];
    size_t o = 0, n = c->len;
    for (size_t i = 0; i < n && o + 5 < sizeof out; i++) {
        unsigned char ch = (unsigned char)c->script[i];
        o += (size_t)snprintf(out + o, sizeof out - o, ch >= 0x20 && ch < 0x7f ? "%c" : "\\x%02x",
                              ch);
    }
    return out;
}

static void test_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *c = &cases[i];
        msg m;
        if (c->script[0] == '\xff')
            memcpy(m.b, c->script, m.n = strlen(c->script));
        else
            build(&m, c->script, c->len);
        csg_application *app = NULL;
        char details[256] = "";
        csg_sr_status st = csg_score_request_parse(m.b, m.n, API(65536), NULL, &app,
                                                   details, sizeof details);
        assert_true((st == CSG_SR_OK) == (app != NULL));
        csg_app_free(app);
        if (st != c->want) {
            print_error("row %zu %s: status %d, want %d (%s)\n", i, dump(c), st, c->want,
                        details);
            bad++;
            continue;
        }
        if (st != CSG_SR_OK && strncmp(details, c->out, strlen(c->out)) != 0) {
            print_error("row %zu %s: details \"%s\", want \"%s…\"\n", i, dump(c), details, c->out);
            bad++;
        }
        if (st == CSG_SR_OK && c->out) {
            char buf[16], *json;
            size_t len;
            csg_sr_error err;
            /* a 16-byte buffer: the text goes to the heap and is the same */
            assert_int_equal(csg_score_request_json(m.b, m.n, 65536, buf, sizeof buf, &json, &len,
                                                    &err),
                             CSG_SR_OK);
            if (strcmp(json, c->out) != 0 || len != strlen(c->out)) {
                print_error("row %zu %s: json %s\n  want %s\n", i, dump(c), json, c->out);
                bad++;
            }
            if (json != buf)
                free(json);
        }
    }
    assert_int_equal(bad, 0);
}

/* The application as JSON must fit max_body_bytes, like an HTTP body. */
static void test_too_large(void **state)
{
    (void)state;
    msg m;
    const char *s1 = "ia|nincome=1|nloan_amount=1|ncredit_history=0|cnote=xxxxxxxxxxxxxxxxxxxxxxxx|";
    build(&m, s1, strlen(s1));
    csg_application *app = NULL;
    char details[256];
    assert_int_equal(csg_score_request_parse(m.b, m.n, API(100), NULL, &app, details,
                                             sizeof details),
                     CSG_SR_OK);
    csg_app_free(app);
    assert_int_equal(csg_score_request_parse(m.b, m.n, API(90), NULL, &app, details,
                                             sizeof details),
                     CSG_SR_TOO_LARGE);
    assert_null(app);
    assert_non_null(strstr(details, "max_body_bytes (90)"));
    /* escapes count: 20 control bytes are 120 bytes of JSON */
    const char *s2 = "ia|nincome=1|nloan_amount=1|ncredit_history=0|"
                     "cnote=\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
                     "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01|";
    build(&m, s2, strlen(s2));
    assert_int_equal(csg_score_request_parse(m.b, m.n, API(150), NULL, &app, details,
                                             sizeof details),
                     CSG_SR_TOO_LARGE);
    assert_null(app);
}

/* Many entries, many duplicates: sorted once, the last of each key kept; the
 * text leaves the stack buffer for the heap. */
static void test_many_entries(void **state)
{
    (void)state;
    static char script[8192];
    size_t o = (size_t)snprintf(script, sizeof script,
                                "iid|nincome=7|nloan_amount=9|ncredit_history=3|");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(script + o, sizeof script - o, "nf%d=%d|", i % 100, i);
    msg m;
    build(&m, script, o);
    char buf[64], *json;
    size_t len;
    csg_sr_error err;
    assert_int_equal(csg_score_request_json(m.b, m.n, 65536, buf, sizeof buf, &json, &len, &err),
                     CSG_SR_OK);
    assert_ptr_not_equal(json, buf);
    assert_non_null(strstr(json, "\"f0\":200,"));
    assert_non_null(strstr(json, "\"f99\":299"));
    assert_null(strstr(json, ":99,"));
    free(json);
    csg_application *app = NULL;
    char details[256];
    assert_int_equal(csg_score_request_parse(m.b, m.n, API(65536), NULL, &app, details,
                                             sizeof details),
                     CSG_SR_OK);
    assert_string_equal(csg_app_applicant_id(app), "id");
    size_t jl;
    assert_string_equal(csg_app_json(app, &jl),
                        "{\"applicant_id\":\"id\",\"income\":7,\"loan_amount\":9,\"credit_history\":3}");
    csg_app_free(app);
}

/* ------------------------------------------------------ the wire reader vs protobuf-c */

static void expect_same(const uint8_t *data, size_t size, const char *what)
{
    const char *why = swd_compare(data, size);
    if (why)
        fail_msg("%s (%zu bytes): %s", what, size, why);
}

/* Every input of fuzz_proto's and fuzz_score_wire's corpora, and mutations of
 * each (bytes flipped, set to a varint edge, inserted, removed; truncations):
 * score_wire.c must accept, refuse and read exactly as protobuf-c. */
static void test_wire_vs_protobuf_c(void **state)
{
    (void)state;
    static const char *const dirs[] = {"tests/fuzz/corpus/proto", "tests/fuzz/corpus/score_wire"};
    static const uint8_t edge[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x2a, 0x09, 0x0d};
    uint64_t rng = 0x9e3779b97f4a7c15u;
    size_t files = 0, inputs = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        DIR *dir = opendir(dirs[d]);
        assert_non_null(dir);
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (de->d_name[0] == '.')
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dirs[d], de->d_name);
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            static uint8_t in[16384], mut[16384 + 1];
            size_t n = fread(in, 1, sizeof in, f);
            fclose(f);
            files++;
            expect_same(in, n, path);
            for (size_t cut = 0; cut < n; cut += 1 + n / 64, inputs++)
                expect_same(in, cut, path); /* truncations */
            for (int k = 0; k < 64 && n; k++, inputs++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                size_t at = (size_t)(rng >> 16) % n, m = n;
                memcpy(mut, in, n);
                switch (rng % 4) {
                case 0:
                    mut[at] ^= (uint8_t)(1u << (rng >> 8) % 8);
                    break;
                case 1:
                    mut[at] = edge[(rng >> 40) % sizeof edge];
                    break;
                case 2:
                    memmove(mut + at + 1, mut + at, n - at);
                    mut[at] = edge[(rng >> 40) % sizeof edge];
                    m = n + 1;
                    break;
                default:
                    memmove(mut + at, mut + at + 1, n - at - 1);
                    m = n - 1;
                    break;
                }
                expect_same(mut, m, path);
            }
        }
        closedir(dir);
    }
    assert_true(files > 100); /* the corpora were found */
    assert_true(inputs > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_wire_vs_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
