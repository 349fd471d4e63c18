/*
 * The gateway's MetricEvent writer (core/event.c) against csg-persist's reader
 * (persistence/event.c): every event the gateway can emit must be stored (issue 15).
 *
 * Each case fills a csg_event the way core/gateway.c does, at the edges of what the
 * gateway accepts and produces — amounts up to the largest double and down to the
 * smallest denormal, names and ids at their longest, every status — serialises it with
 * csg_event_to_json and parses the text with csgp_event_parse: it must be accepted, and
 * every field must read back as written.
 *
 * Both sides take their bounds from lib/csg_event_schema.h; the second test checks that
 * their buffers and the reader's checks are that one set. This file links both csg_core
 * and csgp; the two event.h headers are named by path.
 *
 * The field table test walks lib/csg_event_schema.h's table (issue 18): the writer emits
 * exactly its keys in its order, and every field — one switch case per field id, so a
 * field added to the table without a check here fails the build (-Wswitch) — reads back
 * as written, over events that set every field (decisions, reasons, features, each
 * status); every number and string field is refused one step past its row's bound.
 *
 * The reasons test is the reader's side of issue 17's reason lists, written against the
 * shared contract's JSON (DESIGN §6): the writer's event with champion_reasons /
 * challenger_reasons set (or removed) through jansson, so it holds whatever the writer
 * itself emits for those keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "csg_event_schema.h"
#include "csg_vocab.h"
#include "core/event.h"
#include "core/jsonw.h"
#include "persistence/event.h"

static const struct writer_case {
    const char *what;
    double income, loan_amount;
    int64_t credit_history;
    double latency_ms; /* champion and challenger */
    double champion_score, challenger_score;
    csg_event_status status;
    bool challenger; /* a challenger was chosen */
} cases[] = {
    {"typical", 60000, 25000, 4, 1.84, 0.73, 0.68, CSG_EVENT_OK, true},
    {"income 1e308", 1e308, 25000, 4, 1.84, 0.73, 0.68, CSG_EVENT_OK, true},
    {"largest doubles", DBL_MAX, DBL_MAX, INT32_MAX, 1.84, 1, 0, CSG_EVENT_OK, true},
    {"income 0, smallest loan", 0, DBL_TRUE_MIN, 0, 0, 0, 1, CSG_EVENT_OK, true},
    {"denormal income, smallest normal loan", DBL_TRUE_MIN, DBL_MIN, 0, 0.001, 0.5, 0.5,
     CSG_EVENT_OK, false},
    {"negative zero income (the gateway's >= 0 lets it through)", -0.0, 1, 1, 1, 0.5, 0.5,
     CSG_EVENT_OK, false},
    {"whole amounts above 2^53", 9007199254740993.0, 1e22, 7, 2, 0.25, 0.75, CSG_EVENT_OK, true},
    {"credit_history at int64 max", 1, 1, INT64_MAX, 2, 0.25, 0.75, CSG_EVENT_OK, true},
    {"challenger timeout", 1e300, 1e-300, 3, 300, 0.4, NAN, CSG_EVENT_CHALLENGER_TIMEOUT, true},
    {"challenger error", 5e15, 5e15, 3, 0.5, 0.4, NAN, CSG_EVENT_CHALLENGER_ERROR, true},
    {"champion timeout", DBL_MAX, DBL_MAX, 0, 150, NAN, NAN, CSG_EVENT_CHAMPION_TIMEOUT, false},
    {"champion error", DBL_MAX, DBL_TRUE_MIN, 0, 0.2, NAN, 0.9, CSG_EVENT_CHAMPION_ERROR, true},
    {"latency at the bound", 1, 1, 1, CSG_EVENT_LATENCY_MS_MAX, 0.5, 0.5, CSG_EVENT_OK, true},
    {"latency past the bound (saturated)", 1, 1, 1, 1e12, 0.5, 0.5, CSG_EVENT_OK, true},
    {"latency of the largest double", 1, 1, 1, DBL_MAX, 0.5, 0.5, CSG_EVENT_OK, true},
};

/* n copies of c, NUL-terminated, into out[n + 1]. */
static void fill(char *out, size_t n, char c)
{
    memset(out, c, n);
    out[n] = '\0';
}

/* The gateway's `challengers` array repeats the top-level challenger (DESIGN §6): one
 * element mirroring it (static storage: one event at a time). */
static void mirror_challenger(csg_event *e)
{
    static csg_event_chal one;
    e->n_chal = e->challenger_model[0] ? 1 : 0;
    e->chal = &one;
    memset(&one, 0, sizeof one);
    memcpy(one.model, e->challenger_model, sizeof one.model);
    one.ok = e->challenger_ok;
    one.score = e->challenger_score;
    one.decision = e->challenger_decision;
    one.latency_ms = e->latency_challenger_ms;
    one.reasons = e->challenger_reasons;
    one.status = one.ok                                        ? CSG_EVENT_OK
                 : e->status == CSG_EVENT_CHALLENGER_TIMEOUT ? CSG_EVENT_CHALLENGER_TIMEOUT
                                                              : CSG_EVENT_CHALLENGER_ERROR;
}

static void build(const struct writer_case *c, csg_event *e)
{
    memset(e, 0, sizeof *e);
    /* Longest ids and names the gateway keeps (the array sizes of csg_event). */
    fill(e->event_id, sizeof e->event_id - 1, 'r');
    fill(e->experiment_id, sizeof e->experiment_id - 1, 'x');
    /* applicant_id: 64 bytes of UTF-8, two-byte characters ("é"). */
    for (size_t i = 0; i + 2 < sizeof e->applicant_id; i += 2)
        memcpy(e->applicant_id + i, "\xc3\xa9", 2);
    fill(e->transport, sizeof e->transport - 1, 't');
    fill(e->champion_model, sizeof e->champion_model - 1, 'c');
    if (c->challenger)
        fill(e->challenger_model, sizeof e->challenger_model - 1, 'g');
    e->champion_ok = !isnan(c->champion_score);
    e->champion_score = c->champion_score;
    e->champion_decision = c->champion_score >= 0.5 ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    e->challenger_ok = !isnan(c->challenger_score);
    e->challenger_score = c->challenger_score;
    e->challenger_decision =
        c->challenger_score >= 0.5 ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    e->latency_champion_ms = c->latency_ms;
    e->latency_challenger_ms = c->latency_ms;
    /* ABI 2.0: the event carries the features' canonical value texts. */
    csg_jsonw_format_double(c->income, e->brief[0]);
    csg_jsonw_format_double(c->loan_amount, e->brief[1]);
    snprintf(e->brief[2], sizeof e->brief[2], "%lld", (long long)c->credit_history);
    memcpy(e->config_version, "0123456789abcdef", 17);
    e->timestamp_ms = 1764064800123; /* 2025-11-25T10:00:00.123Z */
    e->status = c->status;
    mirror_challenger(e);
}

/* Equal values: exact for every finite double (the writer's "-0" reads back as 0). */
static bool same(double a, double b)
{
    return a == b;
}

static void test_writer_output_is_stored(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct writer_case *c = &cases[i];
        csg_event e;
        build(c, &e);
        char json[2048];
        size_t n = csg_event_to_json(&e, json, sizeof json);
        assert_true(n < sizeof json);
        csgp_event ev;
        csgp_reject why = {0};
        if (csgp_event_parse(json, n, &ev, &why) != 0)
            fail_msg("%s: the reader refuses the writer's event: %s\n%s", c->what, why.reason,
                     json);
        assert_string_equal(ev.event_id, e.event_id);
        assert_string_equal(ev.experiment_id, e.experiment_id);
        assert_string_equal(ev.applicant_id, e.applicant_id);
        assert_string_equal(ev.transport, e.transport);
        assert_string_equal(ev.champion_model, e.champion_model);
        assert_string_equal(ev.challenger_model, e.challenger_model);
        assert_string_equal(ev.status, csg_event_status_name(e.status));
        assert_string_equal(ev.timestamp, "2025-11-25T10:00:00.123Z");
        if (!same(ev.income, c->income) || !same(ev.loan_amount, c->loan_amount) ||
            ev.credit_history != c->credit_history)
            fail_msg("%s: amounts read back as %.17g, %.17g, %lld", c->what, ev.income,
                     ev.loan_amount, (long long)ev.credit_history);
        assert_true(ev.has_champion_score == e.champion_ok);
        if (e.champion_ok)
            assert_true(same(ev.champion_score, c->champion_score));
        assert_true(ev.has_challenger_score == (c->challenger && e.challenger_ok));
        if (ev.has_challenger_score)
            assert_true(same(ev.challenger_score, c->challenger_score));
        assert_true(ev.has_latency_challenger == c->challenger);
        /* Latencies are written to the microsecond, saturated at the schema's bound. */
        double lat = round(fmin(c->latency_ms, CSG_EVENT_LATENCY_MS_MAX) * 1000.0) / 1000.0;
        assert_true(same(ev.latency_champion_ms, lat));
        if (ev.has_latency_challenger)
            assert_true(same(ev.latency_challenger_ms, lat));
        assert_string_equal(ev.config_version, e.config_version);
        csgp_event_release(&ev);
    }
}

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* One definition (lib/csg_event_schema.h): the writer's and the reader's buffers are the
 * same size, and the reader takes a string of exactly the bound and refuses one more. */
static void test_one_set_of_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        size_t writer, reader, max;
    } sizes[] = {
        {"event_id", FIELD_SIZE(csg_event, event_id), FIELD_SIZE(csgp_event, event_id),
         CSG_EVENT_ID_MAX},
        {"experiment_id", FIELD_SIZE(csg_event, experiment_id),
         FIELD_SIZE(csgp_event, experiment_id), CSG_EVENT_NAME_MAX},
        {"applicant_id", FIELD_SIZE(csg_event, applicant_id),
         FIELD_SIZE(csgp_event, applicant_id), CSG_EVENT_APPLICANT_ID_MAX},
        {"transport", FIELD_SIZE(csg_event, transport), FIELD_SIZE(csgp_event, transport),
         CSG_EVENT_TRANSPORT_MAX},
        {"champion_model", FIELD_SIZE(csg_event, champion_model),
         FIELD_SIZE(csgp_event, champion_model), CSG_EVENT_NAME_MAX},
        {"challenger_model", FIELD_SIZE(csg_event, challenger_model),
         FIELD_SIZE(csgp_event, challenger_model), CSG_EVENT_NAME_MAX},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (sizes[i].writer != sizes[i].max + 1 || sizes[i].reader != sizes[i].max + 1)
            fail_msg("%s: writer keeps %zu bytes, reader %zu, schema %zu", sizes[i].field,
                     sizes[i].writer - 1, sizes[i].reader - 1, sizes[i].max);
        for (size_t extra = 0; extra < 2; extra++) {
            csg_event e;
            build(&cases[0], &e);
            char json[2048];
            csg_event_to_json(&e, json, sizeof json);
            /* Lengthen the field's value in the text by `extra` bytes. */
            char key[40], *at;
            snprintf(key, sizeof key, "\"%s\":\"", sizes[i].field);
            assert_non_null(at = strstr(json, key));
            at += strlen(key);
            char out[2100];
            snprintf(out, sizeof out, "%.*s%s%s", (int)(at - json), json, extra ? "z" : "", at);
            csgp_event ev = {0};
            csgp_reject why = {0};
            int rc = csgp_event_parse(out, strlen(out), &ev, &why);
            if (extra ? rc == 0 || !strstr(why.reason, sizes[i].field) : rc != 0)
                fail_msg("%s at %zu bytes: %s", sizes[i].field, sizes[i].max + extra,
                         rc ? why.reason : "accepted");
            csgp_event_release(&ev);
        }
    }
}

/* The contract's reason lists, set on the writer's event. keys: a JSON object whose
 * members replace the event's (JSON null values kept as null); "-" = remove both keys (an
 * older gateway). want_*: the stored list as JSON text, NULL = NULL column. */
static const struct reasons_case {
    const char *what;
    size_t writer_case; /* index into cases[] */
    const char *keys;
    const char *want_champion, *want_challenger;
    const char *needle; /* refused: part of the reason */
} reasons_cases[] = {
    {"older gateway: no keys", 0, "-", NULL, NULL, NULL},
    {"both null", 0, "{\"champion_reasons\":null,\"challenger_reasons\":null}", NULL, NULL, NULL},
    {"declines with reasons", 0,
     "{\"champion_reasons\":[\"INCOME\",\"DEBT\",\"RECORDS\",\"PRICE\"],"
     "\"challenger_reasons\":[\"DEBT\"]}",
     "[\"INCOME\",\"DEBT\",\"RECORDS\",\"PRICE\"]", "[\"DEBT\"]", NULL},
    {"approvals: empty lists", 0, "{\"champion_reasons\":[],\"challenger_reasons\":[]}", "[]",
     "[]", NULL},
    {"the other codes", 0,
     "{\"champion_reasons\":[\"LOAN_AMOUNT\",\"SENIORITY\",\"HOME\",\"TERM\"],"
     "\"challenger_reasons\":[\"AGE\",\"MARITAL\",\"JOB\",\"EXPENSES\"]}",
     "[\"LOAN_AMOUNT\",\"SENIORITY\",\"HOME\",\"TERM\"]",
     "[\"AGE\",\"MARITAL\",\"JOB\",\"EXPENSES\"]", NULL},
    {"16-character code, a code spelled NULL, a repeat", 0,
     "{\"champion_reasons\":[\"ASSETS\",\"A234567890123456\"],"
     "\"challenger_reasons\":[\"NULL\",\"NULL\"]}",
     "[\"ASSETS\",\"A234567890123456\"]", "[\"NULL\",\"NULL\"]", NULL},
    {"no challenger chosen", 4, "{\"champion_reasons\":[\"INCOME\"],\"challenger_reasons\":null}",
     "[\"INCOME\"]", NULL, NULL},
    {"challenger timeout", 8, "{\"champion_reasons\":[],\"challenger_reasons\":null}", "[]",
     NULL, NULL},
    {"champion error", 11, "{\"champion_reasons\":null,\"challenger_reasons\":[\"JOB\"]}",
     NULL, "[\"JOB\"]", NULL},
    /* refused: DLQ with a reason naming the key */
    {"five reasons", 0,
     "{\"champion_reasons\":[\"A\",\"B\",\"C\",\"D\",\"E\"],\"challenger_reasons\":[]}",
     NULL, NULL, "\"champion_reasons\": 5 reasons (at most 4)"},
    {"lower case", 0, "{\"champion_reasons\":[\"INCOME\",\"debt\"]}", NULL, NULL,
     "\"champion_reasons[1]\": must be a reason code"},
    {"17 characters", 0, "{\"challenger_reasons\":[\"A2345678901234567\"]}", NULL, NULL,
     "\"challenger_reasons[0]\": must be a reason code"},
    {"empty code", 0, "{\"challenger_reasons\":[\"\"]}", NULL, NULL, "challenger_reasons[0]"},
    {"a number", 0, "{\"champion_reasons\":[7]}", NULL, NULL, "champion_reasons[0]"},
    {"a null code", 0, "{\"champion_reasons\":[null]}", NULL, NULL, "champion_reasons[0]"},
    {"a reason object", 0,
     "{\"champion_reasons\":[{\"code\":\"INCOME\",\"feature\":\"income\",\"text\":\"x\"}]}",
     NULL, NULL, "champion_reasons[0]"},
    {"a string, not a list", 0, "{\"champion_reasons\":\"INCOME\"}", NULL, NULL,
     "\"champion_reasons\": must be an array of reason codes or null"},
    {"reasons without a challenger", 4, "{\"challenger_reasons\":[]}", NULL, NULL,
     "\"challenger_reasons\": must be null when the model gave no answer"},
    {"reasons of a timed-out challenger", 8, "{\"challenger_reasons\":[\"DEBT\"]}", NULL,
     NULL, "\"challenger_reasons\": must be null"},
    {"FALLBACK in the event (a fallback has no champion answer)", 11,
     "{\"champion_reasons\":[\"FALLBACK\"]}", NULL, NULL, "\"champion_reasons\": must be null"},
};

static void check_list(const char *what, const char *key, const csgp_reasons *got,
                       const char *want)
{
    char text[CSGP_REASONS_TEXT_SIZE];
    if (!want && got->present)
        fail_msg("%s: %s stored as %s, want NULL", what, key,
                 csgp_reasons_text(got, '[', ']', text));
    if (want && (!got->present || strcmp(csgp_reasons_text(got, '[', ']', text), want)))
        fail_msg("%s: %s stored as %s, want %s", what, key, got->present ? text : "NULL", want);
}

static void test_reason_lists(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reasons_cases / sizeof *reasons_cases; i++) {
        const struct reasons_case *c = &reasons_cases[i];
        csg_event e;
        build(&cases[c->writer_case], &e);
        char json[2048];
        size_t n = csg_event_to_json(&e, json, sizeof json);
        assert_true(n < sizeof json);
        json_t *root = json_loadb(json, n, 0, NULL);
        assert_non_null(root);
        json_object_del(root, "champion_reasons");
        json_object_del(root, "challenger_reasons");
        if (strcmp(c->keys, "-")) {
            json_t *keys = json_loads(c->keys, 0, NULL);
            assert_non_null(keys);
            json_object_update(root, keys);
            json_decref(keys);
        }
        char *text = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        csgp_event ev = {0};
        csgp_reject why = {0};
        int rc = csgp_event_parse(text, strlen(text), &ev, &why);
        if (c->needle) {
            if (rc == 0 || strcmp(why.kind, "invalid_field") || !strstr(why.reason, c->needle))
                fail_msg("%s: want refused with \"%s\", got rc %d: %s\n%s", c->what, c->needle,
                         rc, why.reason, text);
        } else {
            if (rc != 0)
                fail_msg("%s: refused: %s\n%s", c->what, why.reason, text);
            check_list(c->what, "champion_reasons", &ev.champion_reasons, c->want_champion);
            check_list(c->what, "challenger_reasons", &ev.challenger_reasons,
                       c->want_challenger);
            csgp_event_release(&ev);
        }
        free(text);
    }
}

/* ------------------------------------------------------------------------ */
/* The field table: writer -> reader over every field                        */

/* Events that set every field between them: each status, with and without a challenger,
 * decisions of every kind, reason lists, features. */
static void build_full(size_t k, csg_event *e)
{
    build(&cases[k], e);
    e->champion_decision = k % 3 == 2 ? CSG_DECISION_REVIEW : e->champion_decision;
    e->champion_reasons.count = (uint8_t)(k % (CSG_REASONS_MAX + 1));
    for (unsigned i = 0; i < e->champion_reasons.count; i++)
        snprintf(e->champion_reasons.code[i], sizeof e->champion_reasons.code[i], "C%u_%zu", i, k);
    e->challenger_reasons.count = (uint8_t)((k + 1) % (CSG_REASONS_MAX + 1));
    for (unsigned i = 0; i < e->challenger_reasons.count; i++)
        snprintf(e->challenger_reasons.code[i], sizeof e->challenger_reasons.code[i], "X%u", i);
    e->features = k % 2 ? "{\"income\":60000,\"home\":\"rent\",\"owner\":true}" : NULL;
    mirror_challenger(e);
}

static void check_codes(const char *what, const char *key, bool answered,
                        const csg_reason_codes *w, const csgp_reasons *r)
{
    if (r->present != answered)
        fail_msg("%s: %s stored %s, the model %s", what, key, r->present ? "a list" : "NULL",
                 answered ? "answered" : "did not answer");
    if (!answered)
        return;
    assert_int_equal(r->n, w->count);
    for (int i = 0; i < r->n; i++)
        assert_string_equal(r->code[i], w->code[i]);
}

/* Field f of the reader's ev against the writer's e. One case per field, no default:
 * a new field in the table must be checked here. */
static void check_field(const char *what, csg_event_field_id id, const csg_event *e,
                        const csgp_event *ev)
{
    bool chal = e->challenger_model[0] != '\0';
    bool chal_ok = chal && e->challenger_ok;
    bool both = e->champion_ok && chal_ok;
    double lat_champ = round(fmin(e->latency_champion_ms, CSG_EVENT_LATENCY_MS_MAX) * 1e3) / 1e3;
    double lat_chal = round(fmin(e->latency_challenger_ms, CSG_EVENT_LATENCY_MS_MAX) * 1e3) / 1e3;
    switch (id) {
    case CSG_EF_EVENT_ID: assert_string_equal(ev->event_id, e->event_id); break;
    case CSG_EF_EXPERIMENT_ID: assert_string_equal(ev->experiment_id, e->experiment_id); break;
    case CSG_EF_APPLICANT_ID: assert_string_equal(ev->applicant_id, e->applicant_id); break;
    case CSG_EF_TRANSPORT: assert_string_equal(ev->transport, e->transport); break;
    case CSG_EF_CHAMPION_MODEL: assert_string_equal(ev->champion_model, e->champion_model); break;
    case CSG_EF_CHALLENGER_MODEL:
        assert_true(ev->has_challenger_model == chal);
        assert_string_equal(ev->challenger_model, e->challenger_model);
        break;
    case CSG_EF_CHAMPION_SCORE:
        assert_true(ev->has_champion_score == e->champion_ok);
        assert_true(!e->champion_ok || ev->champion_score == e->champion_score);
        break;
    case CSG_EF_CHALLENGER_SCORE:
        assert_true(ev->has_challenger_score == chal_ok);
        assert_true(!chal_ok || ev->challenger_score == e->challenger_score);
        break;
    case CSG_EF_CHAMPION_DECISION:
        assert_int_equal(ev->champion_decision,
                         e->champion_ok ? e->champion_decision : CSG_DECISION_NONE);
        break;
    case CSG_EF_CHALLENGER_DECISION:
        assert_int_equal(ev->challenger_decision,
                         chal_ok ? e->challenger_decision : CSG_DECISION_NONE);
        break;
    case CSG_EF_DECISION_MATCH:
        assert_int_equal(ev->decision_match,
                         !both ? -1 : e->champion_decision == e->challenger_decision);
        break;
    case CSG_EF_LATENCY_CHAMPION_MS: assert_true(ev->latency_champion_ms == lat_champ); break;
    case CSG_EF_LATENCY_CHALLENGER_MS:
        assert_true(ev->has_latency_challenger == chal);
        assert_true(!chal || ev->latency_challenger_ms == lat_chal);
        break;
    case CSG_EF_DECISION_DIFF:
        assert_true(ev->has_decision_diff == both);
        assert_true(!both || ev->decision_diff == fabs(e->champion_score - e->challenger_score));
        break;
    case CSG_EF_INCOME:
        assert_true(ev->has_income);
        assert_true(ev->income == strtod(e->brief[0], NULL));
        break;
    case CSG_EF_LOAN_AMOUNT:
        assert_true(ev->has_loan_amount);
        assert_true(ev->loan_amount == strtod(e->brief[1], NULL));
        break;
    case CSG_EF_CREDIT_HISTORY:
        assert_true(ev->has_credit_history);
        assert_true(ev->credit_history == strtoll(e->brief[2], NULL, 10));
        break;
    case CSG_EF_FEATURES:
        /* Stored as compact JSON with sorted keys; the writer's {} when it has none. */
        assert_string_equal(ev->features ? ev->features : "(null)",
                            e->features ? "{\"home\":\"rent\",\"income\":60000,\"owner\":true}"
                                        : "{}");
        break;
    case CSG_EF_CONFIG_VERSION: assert_string_equal(ev->config_version, e->config_version); break;
    case CSG_EF_CHAMPION_REASONS:
        check_codes(what, "champion_reasons", e->champion_ok, &e->champion_reasons,
                    &ev->champion_reasons);
        break;
    case CSG_EF_CHALLENGER_REASONS:
        check_codes(what, "challenger_reasons", chal_ok, &e->challenger_reasons,
                    &ev->challenger_reasons);
        break;
    case CSG_EF_DECIDED_BY: assert_false(ev->decided_by_challenger); break;
    case CSG_EF_CHALLENGERS:
        assert_int_equal(ev->n_chal, chal ? 1 : 0);
        if (chal) {
            assert_string_equal(ev->chal[0].model, e->challenger_model);
            assert_true(ev->chal[0].has_score == chal_ok);
            assert_true(!chal_ok || ev->chal[0].score == e->challenger_score);
            assert_true(ev->chal[0].latency_ms == lat_chal);
            assert_false(ev->chal[0].live);
            check_codes(what, "challengers[0].reasons", chal_ok, &e->challenger_reasons,
                        &ev->chal[0].reasons);
        }
        break;
    case CSG_EF_TIMESTAMP: assert_string_equal(ev->timestamp, "2025-11-25T10:00:00.123Z"); break;
    case CSG_EF_STATUS:
        assert_int_equal(ev->status_id, e->status);
        assert_string_equal(ev->status, csg_event_status_name(e->status));
        break;
    case CSG_EF_COUNT: fail_msg("%s: not a field", what);
    }
}

static void test_every_field_round_trips(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        csg_event e;
        build_full(k, &e);
        char json[4096];
        size_t n = csg_event_to_json(&e, json, sizeof json);
        assert_true(n < sizeof json);
        /* The writer's keys are the table's, in its order, and no others. */
        json_t *root = json_loadb(json, n, 0, NULL);
        assert_non_null(root);
        assert_int_equal(json_object_size(root), CSG_EF_COUNT);
        json_decref(root);
        const char *at = json;
        for (int i = 0; i < CSG_EF_COUNT; i++) {
            char key[48];
            snprintf(key, sizeof key, "%c\"%s\":", i ? ',' : '{', csg_event_fields[i].name);
            const char *p = strstr(at, key);
            if (!p)
                fail_msg("%s: key %s missing or out of the table's order\n%s", cases[k].what,
                         csg_event_fields[i].name, json);
            at = p + strlen(key);
        }
        csgp_event ev;
        csgp_reject why = {0};
        if (csgp_event_parse(json, n, &ev, &why) != 0)
            fail_msg("%s: the reader refuses the writer's event: %s\n%s", cases[k].what,
                     why.reason, json);
        for (int i = 0; i < CSG_EF_COUNT; i++)
            check_field(cases[k].what, (csg_event_field_id)i, &e, &ev);
        csgp_event_release(&ev);
    }
}

/* Replace the value of key in the writer's event text with value (raw JSON) and parse. */
static int parse_with(const char *key, const char *value, csgp_reject *why)
{
    csg_event e;
    build(&cases[0], &e);
    char json[4096];
    size_t n = csg_event_to_json(&e, json, sizeof json);
    json_t *root = json_loadb(json, n, 0, NULL);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    assert_non_null(root);
    assert_non_null(v);
    json_object_set_new(root, key, v);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    csgp_event ev = {0};
    int rc = csgp_event_parse(text, strlen(text), &ev, why);
    if (rc == 0)
        csgp_event_release(&ev);
    free(text);
    return rc;
}

/* A challenger called inside its guardrail's trial share: the writer adds "trial":true to
 * its element only then (every other event keeps its bytes), the reader takes it (the SRM
 * count leaves such requests out, DESIGN §7), and refuses anything but a boolean. */
static void test_trial_marker(void **state)
{
    (void)state;
    csg_event e;
    build(&cases[0], &e);
    assert_int_equal(e.n_chal, 1);
    char json[4096];
    size_t n = csg_event_to_json(&e, json, sizeof json);
    assert_null(strstr(json, "\"trial\""));
    csgp_event ev;
    csgp_reject why = {0};
    assert_int_equal(csgp_event_parse(json, n, &ev, &why), 0);
    assert_false(ev.chal[0].trial);
    csgp_event_release(&ev);
    e.chal[0].trial = true;
    n = csg_event_to_json(&e, json, sizeof json);
    assert_non_null(strstr(json, "\"mode\":\"shadow\",\"trial\":true}"));
    assert_int_equal(csgp_event_parse(json, n, &ev, &why), 0);
    assert_true(ev.chal[0].trial);
    csgp_event_release(&ev);
    char *at = strstr(json, "\"trial\":true");
    assert_non_null(at);
    memcpy(at, "\"trial\":1   ", 12); /* same length: a number, not a boolean */
    assert_int_not_equal(csgp_event_parse(json, n, &ev, &why), 0);
    assert_non_null(strstr(why.reason, "challengers[0].trial"));
}

/* Every bounded row of the table, at its bound (stored) and one step past it (refused,
 * naming the field): the reader's checks are the table's rows. */
static void test_reader_takes_the_table_bounds(void **state)
{
    (void)state;
    for (int i = 0; i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        char in[512], out[512];
        in[0] = out[0] = '\0';
        switch (f->type) {
        case CSG_EFT_ID:
        case CSG_EFT_STRING:
            snprintf(in, sizeof in, "\"%0*d\"", (int)f->max_len, 0);
            snprintf(out, sizeof out, "\"%0*d\"", (int)f->max_len + 1, 0);
            break;
        case CSG_EFT_NUMBER:
            if (f->flags & CSG_EF_CHALLENGER)
                break; /* cases[0] has a challenger, but its rule joins fields: below */
            snprintf(in, sizeof in, "%.17g", f->max);
            if (f->max < DBL_MAX)
                snprintf(out, sizeof out, "%.17g", nextafter(f->max, INFINITY));
            else
                snprintf(out, sizeof out, "%.17g", (f->flags & CSG_EF_MIN_OPEN) ? f->min
                                                   : -DBL_TRUE_MIN);
            break;
        case CSG_EFT_HEX:
            snprintf(in, sizeof in, "\"%0*d\"", (int)f->max_len, 0);
            snprintf(out, sizeof out, "\"%0*d\"", (int)f->max_len + 1, 0);
            break;
        case CSG_EFT_STATUS:
            snprintf(in, sizeof in, "\"%s\"", csg_event_status_name(CSG_EVENT_CHALLENGER_TIMEOUT));
            snprintf(out, sizeof out, "\"OKAY\"");
            break;
        case CSG_EFT_DECISION:
            snprintf(in, sizeof in, "\"%s\"", csg_decision_name(CSG_DECISION_REVIEW));
            snprintf(out, sizeof out, "\"reviewed\"");
            break;
        default:
            break;
        }
        if (!in[0])
            continue;
        csgp_reject why = {0};
        if (parse_with(f->name, in, &why) != 0)
            fail_msg("%s = %s (at the bound): refused: %s", f->name, in, why.reason);
        if (!out[0])
            continue;
        if (parse_with(f->name, out, &why) == 0 || !strstr(why.reason, f->name))
            fail_msg("%s = %s (past the bound): %s", f->name, out, why.reason);
    }
    /* The challenger's numbers, with the challenger's other fields as the writer has them. */
    static const struct {
        const char *key, *in, *out;
    } chal[] = {
        {"challenger_score", "1", "1.0000000000000002"},
        {"latency_challenger_ms", "1e9", "1000000000.0000001"},
        {"decision_diff", "1", "-1e-300"},
    };
    for (size_t i = 0; i < sizeof chal / sizeof *chal; i++) {
        csgp_reject why = {0};
        if (parse_with(chal[i].key, chal[i].in, &why) != 0)
            fail_msg("%s = %s: refused: %s", chal[i].key, chal[i].in, why.reason);
        if (parse_with(chal[i].key, chal[i].out, &why) == 0 || !strstr(why.reason, chal[i].key))
            fail_msg("%s = %s: %s", chal[i].key, chal[i].out, why.reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_output_is_stored),
        cmocka_unit_test(test_one_set_of_bounds),
        cmocka_unit_test(test_reason_lists),
        cmocka_unit_test(test_every_field_round_trips),
        cmocka_unit_test(test_reader_takes_the_table_bounds),
        cmocka_unit_test(test_trial_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
