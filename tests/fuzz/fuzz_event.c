/* fuzz_event.c — libFuzzer target for the MetricEvent JSON writer
 * (core/event.c, csg_event_to_json; DESIGN §6). An event is built from
 * fuzzed fields, serialised, parsed back with jansson and compared field by
 * field: every key present, nulls exactly where §6 says, strings and numbers
 * unchanged (latencies to the microsecond), reason codes in order, one line,
 * within 4 KiB.
 *
 * Strings are whatever a transport may hand the core: 1–64 bytes without NUL.
 * The output is valid JSON whatever they hold; text that is not UTF-8 cannot
 * survive the round trip (a broken sequence is written as U+FFFD), so such a
 * string is only required to come back as a string. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_utf8.h"
#include "event.h"
#include "jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t take_u8(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t take_u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take_u8(r);
    return v;
}

static double take_double(reader *r)
{
    uint64_t b = take_u64(r);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* A string of 1..cap-1 bytes, no NUL (UTF-8 or not). */
static void take_str(reader *r, char *out, size_t cap)
{
    size_t len = take_u8(r) % (cap - 1) + 1;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = take_u8(r);
        out[i] = (char)(c ? c : 'x');
    }
    out[len] = '\0';
}

/* A finite double within [lo, hi], built from raw bits. */
static double take_ranged(reader *r, double lo, double hi)
{
    double d = take_double(r);
    if (!isfinite(d))
        d = (double)(take_u64(r) >> 11) * 0x1.0p-53 * (hi - lo) + lo;
    d = fabs(d);
    if (d < lo || d > hi)
        d = fmod(d, hi - lo) + lo;
    return d;
}

/* 0-4 codes of [A-Z0-9_]{1,16}, as the core keeps them after its check. */
static void take_codes(reader *r, csg_reason_codes *rc)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    rc->count = take_u8(r) % (CSG_REASONS_MAX + 1);
    for (unsigned i = 0; i < rc->count; i++) {
        size_t len = take_u8(r) % CSG_REASON_CODE_MAX + 1;
        for (size_t k = 0; k < len; k++)
            rc->code[i][k] = set[take_u8(r) % (sizeof set - 1)];
        rc->code[i][len] = '\0';
    }
}

/* key: the codes in order when the model answered, else null. */
static void expect_codes(json_t *o, const char *key, bool answered, const csg_reason_codes *rc)
{
    json_t *v = json_object_get(o, key);
    if (!answered) {
        if (!json_is_null(v))
            __builtin_trap();
        return;
    }
    if (!json_is_array(v) || json_array_size(v) != rc->count)
        __builtin_trap();
    for (unsigned i = 0; i < rc->count; i++) {
        const char *c = json_string_value(json_array_get(v, i));
        if (!c || strcmp(c, rc->code[i]) != 0)
            __builtin_trap();
    }
}

static void expect_str(json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    if (!want) {
        if (!json_is_null(v))
            __builtin_trap();
        return;
    }
    if (!json_is_string(v) ||
        (csg_utf8_valid((const unsigned char *)want, strlen(want)) &&
         strcmp(json_string_value(v), want) != 0))
        __builtin_trap();
}

static void expect_num(json_t *o, const char *key, bool present, double want)
{
    json_t *v = json_object_get(o, key);
    if (!present) {
        if (!json_is_null(v))
            __builtin_trap();
        return;
    }
    if (!json_is_number(v) || json_number_value(v) != want)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    csg_event e;
    memset(&e, 0, sizeof e);
    take_str(&r, e.event_id, sizeof e.event_id);
    take_str(&r, e.experiment_id, sizeof e.experiment_id);
    take_str(&r, e.applicant_id, sizeof e.applicant_id);
    take_str(&r, e.transport, sizeof e.transport);
    take_str(&r, e.champion_model, sizeof e.champion_model);
    uint8_t f = take_u8(&r);
    if (f & 1)
        take_str(&r, e.challenger_model, sizeof e.challenger_model);
    e.champion_ok = f & 2;
    e.challenger_ok = f & 4;
    e.champion_decision = (f >> 3 & 1) ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    e.challenger_decision = (f >> 4 & 1) ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    if (f & 0x20 && e.champion_ok)
        e.champion_decision = CSG_DECISION_REVIEW; /* configured fallback */
    e.status = (csg_event_status)(take_u8(&r) % 5);
    e.champion_score = take_ranged(&r, 0, 1);
    e.challenger_score = take_ranged(&r, 0, 1);
    e.latency_champion_ms = take_ranged(&r, 0, 1e7);
    e.latency_challenger_ms = take_ranged(&r, 0, 1e7);
    /* ABI 2.0: the brief's three as their features' canonical texts. */
    double income = take_ranged(&r, 0, 1e300), loan_amount = take_ranged(&r, 1e-300, 1e300);
    int64_t credit_history = (int64_t)(take_u64(&r) >> 1);
    csg_jsonw_format_double(income, e.brief[0]);
    csg_jsonw_format_double(loan_amount, e.brief[1]);
    snprintf(e.brief[2], sizeof e.brief[2], "%lld", (long long)credit_history);
    char features[512];
    snprintf(features, sizeof features, "{\"income\":%s,\"loan_amount\":%s,\"credit_history\":%s}",
             e.brief[0], e.brief[1], e.brief[2]);
    e.features = features;
    snprintf(e.config_version, sizeof e.config_version, "%016llx",
             (unsigned long long)take_u64(&r));
    e.timestamp_ms = (int64_t)(take_u64(&r) % 253402300800000ull); /* years 1970–9999 */
    take_codes(&r, &e.champion_reasons); /* read last: older corpus files stay meaningful */
    take_codes(&r, &e.challenger_reasons);

    char buf[4096];
    size_t n = csg_event_to_json(&e, buf, sizeof buf);
    if (n >= sizeof buf)
        __builtin_trap(); /* 64-byte strings escaped ×6 (\u00XX, \ufffd) fit in 4 KiB */
    if (strlen(buf) != n || memchr(buf, '\n', n))
        __builtin_trap(); /* one line, no embedded NUL */
    json_error_t jerr;
    json_t *o = json_loadb(buf, n, 0, &jerr);
    if (!o)
        __builtin_trap(); /* whatever the strings held, the event is JSON */
    if (!json_is_object(o) || json_object_size(o) != 25)
        __builtin_trap();

    bool chal = e.challenger_model[0] != '\0';
    bool both = e.champion_ok && chal && e.challenger_ok;
    expect_str(o, "event_id", e.event_id);
    expect_str(o, "experiment_id", e.experiment_id);
    expect_str(o, "applicant_id", e.applicant_id);
    expect_str(o, "transport", e.transport);
    expect_str(o, "champion_model", e.champion_model);
    expect_str(o, "challenger_model", chal ? e.challenger_model : NULL);
    expect_num(o, "champion_score", e.champion_ok, e.champion_score);
    expect_num(o, "challenger_score", chal && e.challenger_ok, e.challenger_score);
    static const char *names[] = {NULL, "approve", "decline", "review"};
    expect_str(o, "champion_decision", e.champion_ok ? names[e.champion_decision] : NULL);
    expect_str(o, "challenger_decision",
               chal && e.challenger_ok ? names[e.challenger_decision] : NULL);
    json_t *m = json_object_get(o, "decision_match");
    if (both ? !json_is_boolean(m) ||
                   json_is_true(m) != (e.champion_decision == e.challenger_decision)
             : !json_is_null(m))
        __builtin_trap();
    expect_num(o, "latency_champion_ms", true, round(e.latency_champion_ms * 1000.0) / 1000.0);
    expect_num(o, "latency_challenger_ms", chal, round(e.latency_challenger_ms * 1000.0) / 1000.0);
    expect_num(o, "decision_diff", both, fabs(e.champion_score - e.challenger_score));
    expect_num(o, "income", true, income);
    expect_num(o, "loan_amount", true, loan_amount);
    json_t *ch = json_object_get(o, "credit_history");
    if (!json_is_integer(ch) || json_integer_value(ch) != credit_history)
        __builtin_trap();
    json_t *fo = json_object_get(o, "features");
    if (!json_is_object(fo) || json_object_size(fo) != 3 ||
        json_number_value(json_object_get(fo, "income")) != income)
        __builtin_trap();
    const char *cv = json_string_value(json_object_get(o, "config_version"));
    if (!cv || strlen(cv) != 16 || strspn(cv, "0123456789abcdef") != 16)
        __builtin_trap();
    expect_codes(o, "champion_reasons", e.champion_ok, &e.champion_reasons);
    expect_codes(o, "challenger_reasons", chal && e.challenger_ok, &e.challenger_reasons);
    expect_str(o, "status", csg_event_status_name(e.status));
    expect_str(o, "decided_by", "champion");
    json_t *arr = json_object_get(o, "challengers");
    if (!json_is_array(arr) || json_array_size(arr) != 0)
        __builtin_trap(); /* no results given: [] */
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    if (!ts || strlen(ts) != 24 || ts[4] != '-' || ts[10] != 'T' || ts[19] != '.' ||
        ts[23] != 'Z')
        __builtin_trap();
    json_decref(o);
    return 0;
}
