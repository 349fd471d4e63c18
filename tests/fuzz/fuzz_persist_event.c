/* fuzz_persist_event.c — libFuzzer target for csg-persist's MetricEvent
 * validation (persistence/event.c): every Kafka message goes through it
 * before it can reach the database or the DLQ.
 *
 * Oracle: an accepted event lies within the bounds of lib/csg_event_schema.h (the ones
 * the gateway writes events within) — the insert path and the columns rely on them;
 * its features text is a JSON object of at most 64 well-named features with number,
 * boolean or bounded string values, and config_version is empty or 16 hex characters;
 * each reason list is absent or 0-4 codes of [A-Z0-9_]{1,16}, present only when that
 * model's score is. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "event.h"

static bool features_ok(const char *text)
{
    if (!text)
        return true;
    json_t *f = json_loads(text, 0, NULL);
    bool ok = json_is_object(f) && json_object_size(f) <= CSG_EVENT_MAX_FEATURES;
    const char *name;
    json_t *v;
    if (ok)
        json_object_foreach(f, name, v) {
            ok = ok && csg_event_feature_name_ok(name, strlen(name)) &&
                 (json_is_number(v) || json_is_boolean(v) ||
                  (json_is_string(v) && json_string_length(v) >= 1 &&
                   json_string_length(v) <= CSG_EVENT_CATEGORY_MAX));
        }
    json_decref(f);
    return ok;
}

static bool version_ok(const char *s)
{
    size_t n = strlen(s);
    if (n != 0 && n != CSG_EVENT_CONFIG_VERSION_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool reasons_ok(const csgp_reasons *r, bool answered)
{
    if (!r->present)
        return r->n == 0;
    if (!answered || r->n < 0 || r->n > CSG_REASONS_MAX)
        return false;
    for (int i = 0; i < r->n; i++)
        if (!csg_reason_code_ok(r->code[i], strlen(r->code[i])))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max;
}

static bool num_ok(bool present, double v, double lo, double hi)
{
    return !present || (isfinite(v) && v >= lo && v <= hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csgp_event ev;
    csgp_reject why;
    if (csgp_event_parse((const char *)data, size, &ev, &why) == 0) {
        const double smin = CSG_EVENT_SCORE_MIN, smax = CSG_EVENT_SCORE_MAX;
        if (!text_ok(ev.event_id, CSG_EVENT_ID_MAX) ||
            !text_ok(ev.applicant_id, CSG_EVENT_APPLICANT_ID_MAX) ||
            !text_ok(ev.experiment_id, CSG_EVENT_NAME_MAX) ||
            !text_ok(ev.champion_model, CSG_EVENT_NAME_MAX) ||
            !text_ok(ev.transport, CSG_EVENT_TRANSPORT_MAX) ||
            ev.has_challenger_model != text_ok(ev.challenger_model, CSG_EVENT_NAME_MAX) ||
            strlen(ev.timestamp) != 24 || ev.credit_history < 0 ||
            !features_ok(ev.features) || !version_ok(ev.config_version) ||
            !num_ok(ev.has_champion_score, ev.champion_score, smin, smax) ||
            !num_ok(ev.has_challenger_score, ev.challenger_score, smin, smax) ||
            !num_ok(ev.has_decision_diff, ev.decision_diff, smin, smax) ||
            !num_ok(true, ev.latency_champion_ms, 0, CSG_EVENT_LATENCY_MS_MAX) ||
            !num_ok(ev.has_latency_challenger, ev.latency_challenger_ms, 0,
                    CSG_EVENT_LATENCY_MS_MAX) ||
            !num_ok(ev.has_income, ev.income, 0, CSG_EVENT_AMOUNT_MAX) ||
            !num_ok(ev.has_loan_amount, ev.loan_amount, 0, CSG_EVENT_AMOUNT_MAX) ||
            (ev.has_loan_amount && !(ev.loan_amount > 0)) ||
            !reasons_ok(&ev.champion_reasons, ev.has_champion_score) ||
            !reasons_ok(&ev.challenger_reasons, ev.has_challenger_score))
            __builtin_trap();
        csgp_event_release(&ev);
    } else if (!why.kind || !memchr(why.reason, '\0', sizeof why.reason)) {
        __builtin_trap();
    }
    return 0;
}
