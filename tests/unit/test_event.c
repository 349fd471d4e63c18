/*
 * test_event.c — core/event.c: every MetricEvent key is always present,
 * nulls exactly as DESIGN §6 says, doubles survive a round trip, and the
 * reply JSON (core/reply.c) has the DESIGN §5 shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "event.h"
#include "jsonw.h"
#include "reply.h"
#include "util.h"

static const char *const keys[] = {
    "event_id", "experiment_id", "applicant_id", "transport", "champion_model",
    "challenger_model", "champion_score", "challenger_score", "champion_decision",
    "challenger_decision", "decision_match", "latency_champion_ms", "latency_challenger_ms",
    "decision_diff", "income", "loan_amount", "credit_history", "features", "config_version",
    "champion_reasons", "challenger_reasons", "decided_by", "challengers", "timestamp",
    "status"};
#define N_KEYS (sizeof keys / sizeof keys[0])

static csg_event base_event(void)
{
    csg_event e;
    memset(&e, 0, sizeof e);
    strcpy(e.event_id, "0b6c1e52-4a39-4c2e-9a4f-1f1f6f6f6f6f");
    strcpy(e.experiment_id, "exp-champion-vs-gbm");
    strcpy(e.applicant_id, "12345");
    strcpy(e.transport, "http");
    strcpy(e.champion_model, "champion-lr-v1");
    strcpy(e.challenger_model, "challenger-gbm-v1");
    e.champion_ok = true;
    e.champion_score = 0.73;
    e.champion_decision = CSG_DECISION_APPROVE;
    e.challenger_ok = true;
    e.challenger_score = 0.68;
    e.challenger_decision = CSG_DECISION_DECLINE;
    e.challenger_reasons.count = 2;
    strcpy(e.challenger_reasons.code[0], "INCOME");
    strcpy(e.challenger_reasons.code[1], "DEBT");
    e.latency_champion_ms = 1.84;
    e.latency_challenger_ms = 2.31;
    strcpy(e.brief[0], "60000");
    strcpy(e.brief[1], "25000");
    strcpy(e.brief[2], "4");
    e.features = "{\"income\":60000,\"loan_amount\":25000,\"credit_history\":4}";
    strcpy(e.config_version, "0123456789abcdef");
    e.timestamp_ms = 1759844142123; /* 2025-10-07T13:35:42.123Z */
    e.status = CSG_EVENT_OK;
    return e;
}

/* Which keys must be null, per scenario. */
enum { NO_CHAL = 1, CHAL_FAILED = 2, CHAMP_FAILED = 4 };

static const struct case_ {
    const char *name;
    int kind;
    csg_event_status status;
    const char *nulls[10];
} cases[] = {
    {"both answered", 0, CSG_EVENT_OK, {NULL}},
    {"no challenger chosen", NO_CHAL, CSG_EVENT_OK,
     {"challenger_model", "challenger_score", "challenger_decision", "decision_match",
      "latency_challenger_ms", "decision_diff", "challenger_reasons", NULL}},
    {"challenger timed out", CHAL_FAILED, CSG_EVENT_CHALLENGER_TIMEOUT,
     {"challenger_score", "challenger_decision", "decision_match", "decision_diff",
      "challenger_reasons", NULL}},
    {"champion failed", CHAMP_FAILED, CSG_EVENT_CHAMPION_ERROR,
     {"champion_score", "champion_decision", "decision_match", "decision_diff",
      "champion_reasons", NULL}},
    {"champion failed, no challenger", CHAMP_FAILED | NO_CHAL, CSG_EVENT_CHAMPION_TIMEOUT,
     {"champion_score", "champion_decision", "challenger_model", "challenger_score",
      "challenger_decision", "decision_match", "latency_challenger_ms", "decision_diff",
      "champion_reasons", "challenger_reasons"}},
};

static bool listed(const char *const *list, size_t n, const char *k)
{
    for (size_t i = 0; i < n && list[i]; i++)
        if (!strcmp(list[i], k))
            return true;
    return false;
}

static void test_keys_and_nulls(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        csg_event e = base_event();
        if (cases[c].kind & NO_CHAL)
            e.challenger_model[0] = '\0';
        if (cases[c].kind & CHAL_FAILED)
            e.challenger_ok = false;
        if (cases[c].kind & CHAMP_FAILED)
            e.champion_ok = false;
        e.status = cases[c].status;
        char buf[1024];
        size_t len = csg_event_to_json(&e, buf, sizeof buf);
        assert_true(len < sizeof buf);
        assert_null(strchr(buf, '\n'));
        json_error_t err;
        json_t *j = json_loadb(buf, len, 0, &err);
        if (!j)
            fail_msg("%s: invalid JSON %s: %s", cases[c].name, buf, err.text);
        assert_int_equal(json_object_size(j), N_KEYS);
        for (size_t k = 0; k < N_KEYS; k++) {
            json_t *v = json_object_get(j, keys[k]);
            if (!v)
                fail_msg("%s: key %s missing", cases[c].name, keys[k]);
            bool want_null = listed(cases[c].nulls, 10, keys[k]);
            if (want_null != json_is_null(v))
                fail_msg("%s: %s should %sbe null: %s", cases[c].name, keys[k],
                         want_null ? "" : "not ", buf);
        }
        assert_string_equal(json_string_value(json_object_get(j, "status")),
                            csg_event_status_name(cases[c].status));
        assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
                            "2025-10-07T13:35:42.123Z");
        if (!(cases[c].kind & NO_CHAL))
            assert_string_equal(json_string_value(json_object_get(j, "challenger_model")),
                                "challenger-gbm-v1");
        json_decref(j);
    }
}

static void test_values(void **state)
{
    (void)state;
    csg_event e = base_event();
    char buf[1024];
    csg_event_to_json(&e, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"champion_score\":0.73,"));
    assert_non_null(strstr(buf, "\"challenger_score\":0.68,"));
    assert_non_null(strstr(buf, "\"decision_match\":false,"));
    assert_non_null(strstr(buf, "\"latency_champion_ms\":1.84,"));
    assert_non_null(strstr(buf, "\"income\":60000,"));
    assert_non_null(strstr(buf, "\"credit_history\":4,"));
    assert_non_null(strstr(buf, "\"champion_decision\":\"approve\""));
    assert_non_null(strstr(buf, "\"challenger_decision\":\"decline\""));
    json_t *j = json_loads(buf, 0, NULL);
    assert_true(json_real_value(json_object_get(j, "decision_diff")) == fabs(0.73 - 0.68));
    json_decref(j);
    e.challenger_decision = CSG_DECISION_APPROVE;
    csg_event_to_json(&e, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"decision_match\":true,"));
}

/* Scores and amounts pass through at full double precision. */
static void test_precision(void **state)
{
    (void)state;
    static const double values[] = {0.1 + 0.2, 1.0 / 3.0, 0.7234567890123456, 5e-324,
                                    1e-300,    0.5,       123456789.123456789, 1e15 + 0.5};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        csg_event e = base_event();
        e.champion_score = values[i];
        csg_jsonw_format_double(values[i], e.brief[0]);
        char buf[1024];
        csg_event_to_json(&e, buf, sizeof buf);
        json_t *j = json_loads(buf, JSON_DECODE_INT_AS_REAL, NULL);
        assert_non_null(j);
        assert_true(json_real_value(json_object_get(j, "champion_score")) == values[i]);
        assert_true(json_real_value(json_object_get(j, "income")) == values[i]);
        json_decref(j);
        char d[40];
        csg_format_double(values[i], d, sizeof d);
        assert_true(strtod(d, NULL) == values[i]);
    }
    /* latencies keep microseconds, not float noise */
    csg_event e = base_event();
    e.latency_champion_ms = 1.8399999999;
    char buf[1024];
    csg_event_to_json(&e, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"latency_champion_ms\":1.84,"));
}

/* The printf-free double formatter gives byte-for-byte the text of
 * csg_format_double (shortest of %.15g..%.17g that reads back exactly), so
 * events and replies did not change shape when it came in. */
static void test_fast_double(void **state)
{
    (void)state;
    static const double fixed[] = {
        0.68, 0.72, -0.68, 1.84, 0.001, 0.0001, 0.00009999, 1e-4, 1e-5, 1, 10, 100, 50000,
        -50000, 1234567.891, 99999999999999.9, 999999999999999, 1e15, 1e15 + 2, 1e16, 0.5,
        0.1 + 0.2, 1.0 / 3.0, 0.7234567890123456, 123456789.123456789, 5e-324, 0, -0.0,
        0.30000000000000004, 2.5e-3, 7.0e-4, 3.14159, 0.000123456789012345, 12.000001};
    char a[40], b[40];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        int na = csg_jsonw_format_double(fixed[i], a);
        int nb = csg_format_double(fixed[i], b, sizeof b);
        if (na != nb || strcmp(a, b) != 0)
            fail_msg("%.17g: fast \"%s\" != \"%s\"", fixed[i], a, b);
        assert_true(strtod(a, NULL) == fixed[i]);
    }
    /* Bounded pseudo-random sweep: short decimals at every scale (the fast
     * path) and arbitrary bit patterns (the fallback). */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        if (i % 2) {
            uint64_t bits = x;
            memcpy(&d, &bits, sizeof d);
            if (!isfinite(d))
                continue;
        } else {
            static const double scale[] = {1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9, 1e3, 1e9};
            d = (double)(int64_t)(x % 2000000001u - 1000000000) * scale[(x >> 40) % 9];
        }
        int na = csg_jsonw_format_double(d, a);
        int nb = csg_format_double(d, b, sizeof b);
        if (na != nb || strcmp(a, b) != 0)
            fail_msg("%.17g: fast \"%s\" != \"%s\"", d, a, b);
    }
}

/* The per-second timestamp cache prints what csg_format_rfc3339_ms prints,
 * across seconds, going back in time, and at the epoch. */
static void test_timestamp_cache(void **state)
{
    (void)state;
    static const int64_t stamps[] = {1759844142123, 1759844142999, 1759844143000,
                                     1759844142001, 0,             1,
                                     1767225599999, 1767225600000, 253402300799999};
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        csg_event e = base_event();
        e.timestamp_ms = stamps[i];
        char buf[1024], want[25];
        csg_event_to_json(&e, buf, sizeof buf);
        csg_format_rfc3339_ms(stamps[i], want);
        char key[64];
        snprintf(key, sizeof key, "\"timestamp\":\"%s\"", want);
        if (!strstr(buf, key))
            fail_msg("%lld: want %s in %s", (long long)stamps[i], key, buf);
    }
}

/* csg_jsonw_str's word-at-a-time scan sends every string with a byte to
 * escape, wherever it sits, through csg_json_escape: the same text. */
static void test_jsonw_str_matches_escape(void **state)
{
    (void)state;
    static const char specials[] = {'"', '\\', '\n', 0x01, 0x1f, 0x7f, (char)0x80, (char)0xc3, ' ', '~'};
    for (size_t len = 1; len <= 24; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                char s[32];
                memset(s, 'a', len);
                s[len] = '\0';
                s[pos] = specials[k];
                char got[256], want[256];
                csg_jsonw w = {got, sizeof got, 0};
                csg_jsonw_str(&w, s);
                csg_jsonw_finish(&w);
                size_t wp = 0;
                csg_json_escape(s, len, want, sizeof want, &wp);
                want[wp] = '\0';
                if (strcmp(got, want) != 0)
                    fail_msg("len %zu pos %zu byte %02x: \"%s\" != \"%s\"", len, pos,
                             (unsigned char)specials[k], got, want);
            }
        }
    }
    /* truncation keeps snprintf semantics: pos counts the full length */
    char small[8];
    csg_jsonw w = {small, sizeof small, 0};
    csg_jsonw_str(&w, "abcdefghij");
    assert_int_equal(csg_jsonw_finish(&w), 12);
    assert_string_equal(small, "\"abcdef");
}

static void test_escaping(void **state)
{
    (void)state;
    csg_event e = base_event();
    strcpy(e.applicant_id, "a\"b\\c\x01");
    char buf[1024];
    size_t len = csg_event_to_json(&e, buf, sizeof buf);
    json_t *j = json_loadb(buf, len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "applicant_id")), "a\"b\\c\x01");
    json_decref(j);
    /* snprintf semantics: a short buffer is never overrun and the size is reported */
    char small[16];
    size_t need = csg_event_to_json(&e, small, sizeof small);
    assert_int_equal(need, len);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* An event made from an application: the features object (canonical,
 * present ones only), the brief's three keys from the features of those
 * names or null, and config_version. */
static void test_from_application(void **state)
{
    (void)state;
    csg_schema *s = csg_schema_new();
    csg_feature *f = csg_schema_add(s, "loan_amount", CSG_FEATURE_NUMBER);
    f = csg_schema_add(s, "home", CSG_FEATURE_CATEGORY);
    csg_feature_add_value(f, "rent");
    f = csg_schema_add(s, "credit_history", CSG_FEATURE_INTEGER);
    csg_schema_finish(s);
    const char *in = "{\"applicant_id\":\"7\",\"home\":\"rent\",\"loan_amount\":2.5e4}";
    csg_application *app;
    assert_int_equal(csg_app_parse(s, in, strlen(in), &app, NULL, NULL), CSG_PARSE_OK);
    csg_event *e = csg_event_new(app, 0);
    assert_non_null(e);
    csg_event b = base_event();
    memcpy(b.brief, e->brief, sizeof b.brief);
    b.features = e->features;
    char buf[2048];
    csg_event_to_json(&b, buf, sizeof buf);
    assert_string_equal(e->applicant_id, "7");
    assert_non_null(strstr(buf, ",\"income\":null,\"loan_amount\":25000,\"credit_history\":null,"
                                "\"features\":{\"loan_amount\":25000,\"home\":\"rent\"},"
                                "\"config_version\":\"0123456789abcdef\","));
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    free(e);
    csg_app_free(app);
    csg_schema_unref(s);
}

/* champion_reasons / challenger_reasons: the codes in order, [] for none. */
static void test_reason_codes(void **state)
{
    (void)state;
    csg_event e = base_event();
    e.champion_decision = CSG_DECISION_DECLINE;
    e.champion_reasons.count = 4;
    static const char *const four[] = {"ABCDEFGHIJKLMNOP", "A", "Z_9", "PRICE"};
    for (int i = 0; i < 4; i++)
        strcpy(e.champion_reasons.code[i], four[i]);
    char buf[2048];
    size_t len = csg_event_to_json(&e, buf, sizeof buf);
    assert_true(len < sizeof buf);
    json_t *j = json_loadb(buf, len, 0, NULL);
    assert_non_null(j);
    char *c = json_dumps(json_object_get(j, "champion_reasons"), JSON_COMPACT);
    char *h = json_dumps(json_object_get(j, "challenger_reasons"), JSON_COMPACT);
    assert_string_equal(c, "[\"ABCDEFGHIJKLMNOP\",\"A\",\"Z_9\",\"PRICE\"]");
    assert_string_equal(h, "[\"INCOME\",\"DEBT\"]");
    free(c);
    free(h);
    json_decref(j);
    /* an answer without reasons (an approve, or a model from before them) */
    e.champion_reasons.count = 0;
    e.challenger_reasons.count = 0;
    len = csg_event_to_json(&e, buf, sizeof buf);
    assert_non_null(strstr(buf, ",\"champion_reasons\":[],\"challenger_reasons\":[],"));
}

static const csg_reason two_reasons[] = {{"INCOME", "income", "Income \"low\""},
                                          {"DEBT", "debt", "Debt high"}};

static void test_reply(void **state)
{
    (void)state;
    static const struct {
        csg_reply r;
        const char *want;
    } rc[] = {
        {{.size = sizeof(csg_reply), .status = CSG_REPLY_OK, .applicant_id = "1", .score = 0.72,
          .decision = CSG_DECISION_APPROVE, .model = "m", .experiment_id = "e", .request_id = "r"},
         "{\"applicant_id\":\"1\",\"score\":0.72,\"decision\":\"approve\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"reasons\":[],\"arm\":\"champion\"}"},
        /* the champion's reasons, in order, texts escaped */
        {{.size = sizeof(csg_reply), .status = CSG_REPLY_OK, .applicant_id = "1", .score = 0.25,
          .decision = CSG_DECISION_DECLINE, .model = "m", .experiment_id = "e", .request_id = "r",
          .reason_count = 2, .reasons = two_reasons},
         "{\"applicant_id\":\"1\",\"score\":0.25,\"decision\":\"decline\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"reasons\":["
         "{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"Income \\\"low\\\"\"},"
         "{\"code\":\"DEBT\",\"feature\":\"debt\",\"text\":\"Debt high\"}],\"arm\":\"champion\"}"},
        /* a reply struct from before ABI 2.1 (smaller size): reasons read as none */
        {{.size = (uint32_t)offsetof(csg_reply, reason_count), .status = CSG_REPLY_OK,
          .applicant_id = "1", .score = 0.25, .decision = CSG_DECISION_DECLINE, .model = "m",
          .experiment_id = "e", .request_id = "r", .reason_count = 2, .reasons = two_reasons},
         "{\"applicant_id\":\"1\",\"score\":0.25,\"decision\":\"decline\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"reasons\":[],\"arm\":\"champion\"}"},
        {{.size = sizeof(csg_reply), .status = CSG_REPLY_OK, .applicant_id = "1", .score = NAN,
          .decision = CSG_DECISION_REVIEW, .is_fallback = true, .model = "m", .experiment_id = "e",
          .request_id = "r", .reason_count = 1, .reasons = &csg_reason_fallback},
         "{\"applicant_id\":\"1\",\"score\":null,\"decision\":\"review\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"reasons\":[{\"code\":\"FALLBACK\","
         "\"feature\":null,\"text\":\"No model answer; the configured fallback decision was "
         "applied\"}],\"arm\":\"champion\",\"fallback\":true}"},
        /* a live challenger decided (ABI 2.2): arm and model say so */
        {{.size = sizeof(csg_reply), .status = CSG_REPLY_OK, .applicant_id = "1", .score = 0.5,
          .decision = CSG_DECISION_APPROVE, .model = "c", .experiment_id = "e", .request_id = "r",
          .arm = "challenger"},
         "{\"applicant_id\":\"1\",\"score\":0.5,\"decision\":\"approve\",\"model\":\"c\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"reasons\":[],\"arm\":\"challenger\"}"},
        {{.status = CSG_REPLY_CHAMPION_TIMEOUT, .error_message = "slow"},
         "{\"error\":{\"code\":\"champion_timeout\",\"message\":\"slow\"}}"},
        {{.status = CSG_REPLY_CHAMPION_ERROR, .error_message = "down"},
         "{\"error\":{\"code\":\"champion_error\",\"message\":\"down\"}}"},
    };
    for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++) {
        char buf[512];
        size_t n = csg_format_reply(&rc[i].r, buf, sizeof buf);
        assert_string_equal(buf, rc[i].want);
        assert_int_equal(n, strlen(rc[i].want));
    }
}

static void test_uuid(void **state)
{
    (void)state;
    csg_rng r;
    csg_rng_seed(&r);
    char a[37], b[37];
    csg_uuid4(&r, a);
    csg_uuid4(&r, b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_nulls), cmocka_unit_test(test_values),
        cmocka_unit_test(test_precision),      cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_from_application),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_reason_codes),          cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_fast_double),
        cmocka_unit_test(test_timestamp_cache),
        cmocka_unit_test(test_jsonw_str_matches_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
