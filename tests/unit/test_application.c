/*
 * test_application.c — core/application.c: DESIGN §5 validation, one row
 * per input, with the field named in each error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "application.h"

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
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csg_application app;
        char rid[CSG_REQUEST_ID_MAX + 1];
        csg_parse_error err;
        memset(&err, 0, sizeof err);
        csg_parse_status st =
            csg_parse_application(cases[i].json, strlen(cases[i].json), &app, rid, &err);
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
    csg_application app;
    char rid[CSG_REQUEST_ID_MAX + 1];
    assert_int_equal(csg_parse_application(j, strlen(j), &app, rid, NULL), CSG_PARSE_OK);
    assert_string_equal(app.applicant_id, "12345");
    assert_true(app.income == 60000.5);
    assert_true(app.loan_amount == 25000);
    assert_int_equal(app.credit_history, 4);
    assert_string_equal(rid, "abc");
    const char *k = "{\"applicant_id\":\"1\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}";
    assert_int_equal(csg_parse_application(k, strlen(k), &app, rid, NULL), CSG_PARSE_OK);
    assert_string_equal(rid, "");
}

/* The messages say the real bounds: bytes for applicant_id (the ABI buffer
 * holds 64 bytes + NUL), the int32 range for credit_history. A valid
 * request_id is still returned when another field is bad (TCP echoes it). */
static void test_messages(void **state)
{
    (void)state;
    csg_application app;
    char rid[CSG_REQUEST_ID_MAX + 1];
    csg_parse_error err;
    char j[512];
    char id[200] = "";
    for (int i = 0; i < 32; i++) /* 32 x "é" = 64 bytes: accepted */
        strcat(id, "\xc3\xa9");
    snprintf(j, sizeof j,
             "{\"applicant_id\":\"%s\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}", id);
    assert_int_equal(csg_parse_application(j, strlen(j), &app, rid, &err), CSG_PARSE_OK);
    assert_int_equal(strlen(app.applicant_id), 64);
    strcat(id, "\xc3\xa9"); /* 66 bytes, 33 characters: rejected, the message says bytes */
    snprintf(j, sizeof j,
             "{\"applicant_id\":\"%s\",\"income\":1,\"loan_amount\":1,\"credit_history\":1}", id);
    memset(&err, 0, sizeof err);
    assert_int_equal(csg_parse_application(j, strlen(j), &app, rid, &err), CSG_PARSE_INVALID_FIELD);
    assert_non_null(strstr(err.message, "1-64 bytes (UTF-8)"));
    const char *h = "{\"applicant_id\":\"a\",\"income\":1,\"loan_amount\":1,"
                    "\"credit_history\":2147483648,\"request_id\":\"r-1\"}";
    memset(&err, 0, sizeof err);
    assert_int_equal(csg_parse_application(h, strlen(h), &app, rid, &err), CSG_PARSE_INVALID_FIELD);
    assert_string_equal(err.field, "credit_history");
    assert_non_null(strstr(err.message, "[0, 2147483647]"));
    assert_string_equal(rid, "r-1");
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
    csg_format_error("invalid_field", "income must be a finite number >= 0", "income", buf,
                     sizeof buf);
    assert_string_equal(buf, "{\"error\":{\"code\":\"invalid_field\",\"message\":\"income must be a "
                             "finite number >= 0\",\"field\":\"income\"}}");
    csg_format_error("not_found", "no \"route\"", NULL, buf, sizeof buf);
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
        csg_format_error("invalid_json", utf8_cases[i].message, NULL, buf, sizeof buf);
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
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_format_error),
        cmocka_unit_test(test_format_error_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
