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
#include <string.h>

#include "event.h"
#include "reply.h"
#include "util.h"

static const char *const keys[] = {
    "event_id", "experiment_id", "applicant_id", "transport", "champion_model",
    "challenger_model", "champion_score", "challenger_score", "champion_decision",
    "challenger_decision", "decision_match", "latency_champion_ms", "latency_challenger_ms",
    "decision_diff", "income", "loan_amount", "credit_history", "timestamp", "status"};
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
    e.latency_champion_ms = 1.84;
    e.latency_challenger_ms = 2.31;
    e.income = 60000;
    e.loan_amount = 25000;
    e.credit_history = 4;
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
    const char *nulls[8];
} cases[] = {
    {"both answered", 0, CSG_EVENT_OK, {NULL}},
    {"no challenger chosen", NO_CHAL, CSG_EVENT_OK,
     {"challenger_model", "challenger_score", "challenger_decision", "decision_match",
      "latency_challenger_ms", "decision_diff", NULL}},
    {"challenger timed out", CHAL_FAILED, CSG_EVENT_CHALLENGER_TIMEOUT,
     {"challenger_score", "challenger_decision", "decision_match", "decision_diff", NULL}},
    {"champion failed", CHAMP_FAILED, CSG_EVENT_CHAMPION_ERROR,
     {"champion_score", "champion_decision", "decision_match", "decision_diff", NULL}},
    {"champion failed, no challenger", CHAMP_FAILED | NO_CHAL, CSG_EVENT_CHAMPION_TIMEOUT,
     {"champion_score", "champion_decision", "challenger_model", "challenger_score",
      "challenger_decision", "decision_match", "latency_challenger_ms", "decision_diff"}},
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
            bool want_null = listed(cases[c].nulls, 8, keys[k]);
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
        e.income = values[i];
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

static void test_reply(void **state)
{
    (void)state;
    static const struct {
        csg_reply r;
        const char *want;
    } rc[] = {
        {{.status = CSG_REPLY_OK, .applicant_id = "1", .score = 0.72, .decision = CSG_DECISION_APPROVE,
          .model = "m", .experiment_id = "e", .request_id = "r"},
         "{\"applicant_id\":\"1\",\"score\":0.72,\"decision\":\"approve\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\"}"},
        {{.status = CSG_REPLY_OK, .applicant_id = "1", .score = NAN, .decision = CSG_DECISION_REVIEW,
          .is_fallback = true, .model = "m", .experiment_id = "e", .request_id = "r"},
         "{\"applicant_id\":\"1\",\"score\":null,\"decision\":\"review\",\"model\":\"m\","
         "\"experiment_id\":\"e\",\"request_id\":\"r\",\"fallback\":true}"},
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
        cmocka_unit_test(test_reply),          cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
