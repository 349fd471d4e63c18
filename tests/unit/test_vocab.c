/*
 * test_vocab.c — lib/'s small shared modules: the status/decision/error-code vocabulary
 * (csg_vocab.h), the one error setter (csg_error.h), the clocks (csg_clock.h) and the
 * MetricEvent field table (csg_event_schema.h). Table-driven: every name reads back as
 * its value, unknown spellings are refused, the setter truncates and prefixes as
 * documented, the table is consistent with the bounds it restates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "csg_clock.h"
#include "csg_error.h"
#include "csg_event_schema.h"
#include "csg_vocab.h"

static void test_decisions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        csg_decision d;
    } cases[] = {
        {"approve", CSG_DECISION_APPROVE}, {"decline", CSG_DECISION_DECLINE},
        {"review", CSG_DECISION_REVIEW},   {"Approve", CSG_DECISION_NONE},
        {"approved", CSG_DECISION_NONE},   {"", CSG_DECISION_NONE},
        {"appro", CSG_DECISION_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(csg_decision_parse(cases[i].name, strlen(cases[i].name)), cases[i].d);
        if (cases[i].d != CSG_DECISION_NONE)
            assert_string_equal(csg_decision_name(cases[i].d), cases[i].name);
    }
    assert_null(csg_decision_name(CSG_DECISION_NONE));
    assert_int_equal(csg_decision_parse(NULL, 0), CSG_DECISION_NONE);
    /* Lengths are given: an embedded NUL or a longer buffer is not the name. */
    assert_int_equal(csg_decision_parse("approve\0x", 9), CSG_DECISION_NONE);
    assert_int_equal(csg_decision_parse("approvex", 7), CSG_DECISION_APPROVE);
    /* The option-table list is the names in enum order from APPROVE. */
    static const char *const list[] = {CSG_DECISION_NAME_LIST};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        assert_string_equal(list[i], csg_decision_name((csg_decision)(CSG_DECISION_APPROVE + i)));
}

static void test_event_statuses(void **state)
{
    (void)state;
    static const char *const names[CSG_EVENT_STATUS_COUNT] = {
        "OK", "CHALLENGER_TIMEOUT", "CHALLENGER_ERROR", "CHAMPION_TIMEOUT", "CHAMPION_ERROR",
        "LIVE_FALLBACK", "CHALLENGER_SUSPENDED"};
    size_t longest = 0;
    for (int i = 0; i < CSG_EVENT_STATUS_COUNT; i++) {
        csg_event_status s = (csg_event_status)i, back;
        assert_string_equal(csg_event_status_name(s), names[i]);
        assert_true(csg_event_status_parse(names[i], &back));
        assert_int_equal(back, s);
        assert_int_equal(csg_event_status_champion_failed(s),
                         strncmp(names[i], "CHAMPION_", 9) == 0);
        longest = strlen(names[i]) > longest ? strlen(names[i]) : longest;
    }
    assert_int_equal(longest, CSG_EVENT_STATUS_NAME_MAX);
    static const char *const bad[] = {"ok", "OKAY", "", "CHAMPION", "LIVE"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        csg_event_status s;
        assert_false(csg_event_status_parse(bad[i], &s));
    }
    csg_event_status s;
    assert_false(csg_event_status_parse(NULL, &s));
}

static void test_reply_codes(void **state)
{
    (void)state;
    static const struct {
        csg_reply_status s;
        const char *code;
    } cases[] = {
        {CSG_REPLY_OK, "ok"},
        {CSG_REPLY_CHAMPION_ERROR, "champion_error"},
        {CSG_REPLY_CHAMPION_TIMEOUT, "champion_timeout"},
        {CSG_REPLY_OVERLOADED, "overloaded"},
        {CSG_REPLY_NOT_READY, "not_ready"},
        {CSG_REPLY_DEADLINE, "deadline_exceeded"},
        {(csg_reply_status)99, "champion_error"}, /* a newer core's value */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(csg_reply_status_code(cases[i].s), cases[i].code);
}

static int fails_with(csg_error *err, const char *what)
{
    return csg_fail(err, CSG_EIO, "cannot open %s", what);
}

static void test_error_setter(void **state)
{
    (void)state;
    csg_error err = {{0}};
    assert_int_equal(fails_with(&err, "x.so"), -CSG_EIO);
    assert_string_equal(err.message, "cannot open x.so");
    assert_int_equal(fails_with(NULL, "x.so"), -CSG_EIO); /* err is optional */
    assert_int_equal(csg_fail_at(&err, CSG_EPLUGIN, "plugins/old.so", "ABI %d.%d", 1, 3),
                     -CSG_EPLUGIN);
    assert_string_equal(err.message, "plugins/old.so: ABI 1.3");
    assert_int_equal(csg_fail_at(&err, CSG_EINVAL, NULL, "no prefix"), -CSG_EINVAL);
    assert_string_equal(err.message, "no prefix");
    /* Cut at the buffer, always terminated. */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    csg_fail(&err, CSG_EINVAL, "%s", big);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    /* A prefix that fills the buffer is dropped: the message itself says more. */
    csg_fail_at(&err, CSG_EINVAL, big, "%s", "tail");
    assert_string_equal(err.message, "tail");
    char small[6];
    csg_errbuf_set(small, sizeof small, "%d-%d", 1234, 5678);
    assert_string_equal(small, "1234-");
    csg_errbuf_set(NULL, 0, "%s", "nothing"); /* no buffer: nothing */
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t a = csg_now_ms_int();
    double f = csg_now_ms();
    uint64_t c = csg_mono_ms();
    int64_t b = csg_now_ms_int();
    assert_true(b >= a);
    assert_true(f >= (double)a && f < (double)b + 1.0);
    /* The coarse clock is the same monotonic clock, behind by at most its resolution. */
    assert_true((int64_t)c <= b && (int64_t)c > a - 1000);
    assert_true(csg_wall_ms() > INT64_C(1700000000000)); /* after 2023 */
}

/* The field table restates the bounds and names it is built from. */
static void test_field_table(void **state)
{
    (void)state;
    for (int i = 0; i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        assert_non_null(f->name);
        assert_int_equal(f->name_len, strlen(f->name));
        assert_ptr_equal(csg_event_field_find(f->name, f->name_len), f);
        assert_true(csg_event_feature_name_ok(f->name, f->name_len)); /* snake_case keys */
        if (f->type == CSG_EFT_ID || f->type == CSG_EFT_STRING || f->type == CSG_EFT_HEX)
            assert_true(f->max_len > 0);
        if (f->type == CSG_EFT_NUMBER || f->type == CSG_EFT_INTEGER)
            assert_true(f->min <= f->max);
        /* Only nullable fields may be optional, tied to a model, or to the challenger. */
        if (f->flags & (CSG_EF_OPTIONAL | CSG_EF_CHAMPION | CSG_EF_CHALLENGER))
            assert_true(f->flags & CSG_EF_NULLABLE);
    }
    assert_null(csg_event_field_find("no_such_key", 11));
    assert_null(csg_event_field_find("event_i", 7));
    assert_int_equal(csg_event_fields[CSG_EF_EVENT_ID].max_len, CSG_EVENT_ID_MAX);
    assert_int_equal(csg_event_fields[CSG_EF_CONFIG_VERSION].max_len, CSG_EVENT_CONFIG_VERSION_LEN);
    assert_true(csg_event_fields[CSG_EF_LATENCY_CHAMPION_MS].max == CSG_EVENT_LATENCY_MS_MAX);
    assert_true(csg_event_fields[CSG_EF_LOAN_AMOUNT].flags & CSG_EF_MIN_OPEN);
    assert_string_equal(csg_event_fields[0].name, "event_id");
    assert_string_equal(csg_event_fields[CSG_EF_COUNT - 1].name, "status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions),     cmocka_unit_test(test_event_statuses),
        cmocka_unit_test(test_reply_codes),   cmocka_unit_test(test_error_setter),
        cmocka_unit_test(test_clocks),        cmocka_unit_test(test_field_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
