/* Unit tests for persistence/pgcopy.c: the COPY text row of an event, here its reason
 * lists (issue 17) — PostgreSQL text[] literals with every code quoted, \N for none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "pgcopy.h"

#define EVENT(rest)                                                                             \
    "{\"event_id\":\"e1\",\"experiment_id\":\"x\",\"applicant_id\":\"a1\",\"transport\":\"http\","  \
    "\"champion_model\":\"c\",\"challenger_model\":\"g\",\"champion_score\":0.25,"              \
    "\"challenger_score\":0.5,\"champion_decision\":\"decline\",\"challenger_decision\":"        \
    "\"approve\",\"decision_match\":false,\"latency_champion_ms\":1,"                             \
    "\"latency_challenger_ms\":2,\"decision_diff\":0.25,\"income\":1,\"loan_amount\":"          \
    "2,\"credit_history\":3,\"timestamp\":\"2025-10-07T13:35:42.123Z\",\"status\":\"OK\"" rest "}"

static const struct copy_case {
    const char *json;
    const char *tail; /* the row's last two columns and its newline */
} copy_cases[] = {
    {EVENT(""), "\t\\N\t\\N\n"},
    {EVENT(",\"champion_reasons\":null,\"challenger_reasons\":[]"), "\t\\N\t{}\n"},
    {EVENT(",\"champion_reasons\":[\"INCOME\",\"NULL\",\"DEBT\",\"A_1\"],\"challenger_reasons\":[]"),
     "\t{\"INCOME\",\"NULL\",\"DEBT\",\"A_1\"}\t{}\n"},
};

static void test_reason_columns(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof copy_cases / sizeof *copy_cases; i++) {
        csgp_event ev;
        csgp_reject why = {0};
        if (csgp_event_parse(copy_cases[i].json, strlen(copy_cases[i].json), &ev, &why))
            fail_msg("case %zu refused: %s", i, why.reason);
        csgp_copy_buf b = {0};
        assert_int_equal(csgp_copy_event(&b, i, &ev), 0);
        const char *tail = copy_cases[i].tail;
        size_t n = strlen(tail);
        if (b.len < n || memcmp(b.p + b.len - n, tail, n))
            fail_msg("case %zu: row ends %.*s", i, (int)(b.len < 40 ? b.len : 40),
                     b.p + (b.len < 40 ? 0 : b.len - 40));
        /* one row: tabs separate the ord and the columns, one newline at the end */
        size_t tabs = 0;
        for (size_t k = 0; k < b.len; k++)
            tabs += b.p[k] == '\t';
        assert_int_equal(tabs, 23);
        assert_ptr_equal(memchr(b.p, '\n', b.len), b.p + b.len - 1);
        free(b.p);
        csgp_event_release(&ev);
    }
}

static void test_reasons_text(void **state)
{
    (void)state;
    csgp_reasons r = {.present = true, .n = CSG_REASONS_MAX};
    for (int i = 0; i < CSG_REASONS_MAX; i++)
        memset(r.code[i], 'A' + i, CSG_REASON_CODE_MAX); /* longest codes fill the buffer */
    char out[CSGP_REASONS_TEXT_SIZE];
    csgp_reasons_text(&r, '[', ']', out);
    assert_int_equal(strlen(out), CSGP_REASONS_TEXT_SIZE - 1);
    assert_int_equal(out[0], '[');
    r.n = 0;
    assert_string_equal(csgp_reasons_text(&r, '{', '}', out), "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_columns),
        cmocka_unit_test(test_reasons_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
