/* Unit tests for persistence/pgcopy.c: the binary COPY rows of an event (issue 20) — the
 * header, field count, a double's bits, the timestamp, the reason lists as binary text[]
 * (issue 17), the staging table's key row — and the exact size of a reason list's text. */
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

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* The fields of one binary row at p (after its int16 count): each one's start and length
 * (-1: NULL). Returns the position after the row. */
static const char *fields(const char *p, const char *f[], int32_t len[], int nf)
{
    for (int i = 0; i < nf; i++) {
        len[i] = (int32_t)be32(p);
        f[i] = p + 4;
        p += 4 + (len[i] > 0 ? len[i] : 0);
    }
    return p;
}

/* The reason lists as text[] in binary (array_recv): NULL, {} (no dimension) and four
 * quoted-free codes in one dimension from 1. */
static void test_reason_columns(void **state)
{
    (void)state;
    const char *json[] = {
        EVENT(""),
        EVENT(",\"champion_reasons\":null,\"challenger_reasons\":[]"),
        EVENT(",\"champion_reasons\":[\"INCOME\",\"NULL\",\"DEBT\",\"A_1\"],\"challenger_reasons\":[]"),
    };
    csgp_event ev[3];
    csgp_copy_buf b = {0};
    assert_int_equal(csgp_copy_begin(&b), 0);
    for (size_t i = 0; i < 3; i++) {
        csgp_reject why = {0};
        if (csgp_event_parse(json[i], strlen(json[i]), &ev[i], &why))
            fail_msg("case %zu refused: %s", i, why.reason);
        assert_int_equal(csgp_copy_event(&b, &ev[i]), 0);
    }
    assert_int_equal(csgp_copy_end(&b), 0);
    assert_memory_equal(b.p, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    const char *p = b.p + 19, *f[CSGP_COPY_NCOLS];
    int32_t len[CSGP_COPY_NCOLS];
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal((unsigned char)p[0] << 8 | (unsigned char)p[1], CSGP_COPY_NCOLS);
        p = fields(p + 2, f, len, CSGP_COPY_NCOLS);
        assert_int_equal(len[0], 2);
        assert_memory_equal(f[0], "e1", 2);
        /* champion_score 0.25: its IEEE bits */
        assert_int_equal(len[6], 8);
        assert_int_equal(be32(f[6]), 0x3fd00000u);
        /* timestamptz 2025-10-07T13:35:42.123Z: µs since 2000-01-01 */
        uint64_t us = (uint64_t)be32(f[17]) << 32 | be32(f[17] + 4);
        assert_int_equal(us, (1759844142123LL - 946684800000LL) * 1000);
        const char *cr = f[21], *xr = f[22];
        if (i == 0) {
            assert_int_equal(len[21], -1);
            assert_int_equal(len[22], -1);
            continue;
        }
        assert_int_equal(len[22], 12); /* {}: no dimension, no NULLs, text */
        assert_int_equal(be32(xr), 0);
        assert_int_equal(be32(xr + 8), CSGP_TEXTOID);
        if (i == 1) {
            assert_int_equal(len[21], -1);
            continue;
        }
        assert_int_equal(be32(cr), 1);     /* one dimension */
        assert_int_equal(be32(cr + 12), 4); /* of four */
        assert_int_equal(be32(cr + 16), 1); /* from 1 */
        assert_int_equal(be32(cr + 20), 6);
        assert_memory_equal(cr + 24, "INCOME", 6);
        assert_int_equal(len[21], 20 + 4 * 4 + 6 + 4 + 4 + 3);
    }
    assert_int_equal(p + 2, b.p + b.len); /* then the trailer */
    assert_int_equal((unsigned char)p[0], 0xff);
    /* the key row of the staging table: ord, event_id, timestamp, applicant_id,
     * challenger_model, config_version (NULL here) */
    free(b.p);
    b = (csgp_copy_buf){0};
    assert_int_equal(csgp_copy_key(&b, 7, &ev[0]), 0);
    assert_int_equal((unsigned char)b.p[0] << 8 | (unsigned char)b.p[1], 6);
    assert_ptr_equal(fields(b.p + 2, f, len, 6), b.p + b.len);
    assert_int_equal(be32(f[0]), 7);
    assert_memory_equal(f[1], "e1", 2);
    assert_int_equal(len[2], 8);
    assert_memory_equal(f[3], "a1", 2);
    assert_memory_equal(f[4], "g", 1);
    assert_int_equal(len[5], -1);
    for (size_t i = 0; i < 3; i++)
        csgp_event_release(&ev[i]);
    free(b.p);
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
