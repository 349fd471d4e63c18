/* event.c — MetricEvent validation (see event.h for the rules). */
#include "event.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reject(csgp_reject *why, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(csgp_reject *why, const char *kind, const char *fmt, ...)
{
    if (why) {
        why->kind = kind;
        va_list ap;
        va_start(ap, fmt);
        csg_errbuf_vset(why->reason, sizeof why->reason, fmt, ap);
        va_end(ap);
    }
    return -CSG_EINVAL;
}

const char *csgp_decision_str(csgp_decision d)
{
    switch (d) {
    case CSGP_DEC_APPROVE: return "approve";
    case CSGP_DEC_DECLINE: return "decline";
    case CSGP_DEC_REVIEW: return "review";
    default: return NULL;
    }
}

/* Every key of DESIGN §6 must be present (null where allowed). */
static const char *const required_keys[] = {
    "event_id", "experiment_id", "applicant_id", "transport", "champion_model",
    "challenger_model", "champion_score", "challenger_score", "champion_decision",
    "challenger_decision", "decision_match", "latency_champion_ms", "latency_challenger_ms",
    "decision_diff", "income", "loan_amount", "credit_history", "timestamp", "status",
};

static bool no_controls(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* A non-null string of 1..max bytes without control characters, copied to out. */
static int get_str(json_t *root, const char *key, size_t max, bool nullable, char *out,
                   bool *present, csgp_reject *why)
{
    json_t *v = json_object_get(root, key);
    if (json_is_null(v) && nullable) {
        out[0] = 0;
        if (present)
            *present = false;
        return 0;
    }
    if (!json_is_string(v))
        return reject(why, "invalid_field", "field \"%s\": must be a string%s", key,
                      nullable ? " or null" : "");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n < 1 || n > max || !no_controls(s, n))
        return reject(why, "invalid_field",
                      "field \"%s\": must be 1-%zu characters without control characters", key,
                      max);
    memcpy(out, s, n + 1);
    if (present)
        *present = true;
    return 0;
}

static int get_num(json_t *root, const char *key, bool nullable, double lo, double hi,
                   bool lo_open, double *out, bool *present, csgp_reject *why)
{
    json_t *v = json_object_get(root, key);
    if (json_is_null(v) && nullable) {
        *out = 0;
        if (present)
            *present = false;
        return 0;
    }
    if (!json_is_number(v))
        return reject(why, "invalid_field", "field \"%s\": must be a number%s", key,
                      nullable ? " or null" : "");
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi || (lo_open && d == lo))
        return reject(why, "invalid_field", "field \"%s\": %.17g is out of range %c%g, %g]",
                      key, d, lo_open ? '(' : '[', lo, hi);
    *out = d;
    if (present)
        *present = true;
    return 0;
}

static int get_decision(json_t *root, const char *key, bool nullable, csgp_decision *out,
                        csgp_reject *why)
{
    json_t *v = json_object_get(root, key);
    if (json_is_null(v) && nullable) {
        *out = CSGP_DEC_NULL;
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "approve"))
        *out = CSGP_DEC_APPROVE;
    else if (s && !strcmp(s, "decline"))
        *out = CSGP_DEC_DECLINE;
    else if (s && !strcmp(s, "review"))
        *out = CSGP_DEC_REVIEW;
    else
        return reject(why, "invalid_field", "field \"%s\": must be \"approve\", \"decline\", "
                      "\"review\"%s", key, nullable ? " or null" : "");
    return 0;
}

static int get_config_version(json_t *root, csgp_event *ev, csgp_reject *why)
{
    json_t *v = json_object_get(root, "config_version");
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    bool ok = s && json_string_length(v) == CSG_EVENT_CONFIG_VERSION_LEN;
    for (size_t i = 0; ok && i < CSG_EVENT_CONFIG_VERSION_LEN; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return reject(why, "invalid_field", "field \"config_version\": must be %d lowercase "
                      "hex characters or null", CSG_EVENT_CONFIG_VERSION_LEN);
    memcpy(ev->config_version, s, CSG_EVENT_CONFIG_VERSION_LEN + 1);
    return 0;
}

/* champion_reasons / challenger_reasons: optional; null or an array of reason codes. */
static int get_reasons(json_t *root, const char *key, bool answered, csgp_reasons *out,
                       csgp_reject *why)
{
    json_t *v = json_object_get(root, key);
    out->present = false;
    out->n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return reject(why, "invalid_field", "field \"%s\": must be an array of reason codes "
                      "or null", key);
    size_t n = json_array_size(v);
    if (n > CSG_REASONS_MAX)
        return reject(why, "invalid_field", "field \"%s\": %zu reasons (at most %d)", key, n,
                      CSG_REASONS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(v, i);
        const char *s = json_string_value(c);
        size_t len = s ? json_string_length(c) : 0;
        if (!s || !csg_reason_code_ok(s, len))
            return reject(why, "invalid_field", "field \"%s[%zu]\": must be a reason code "
                          "([A-Z0-9_]{1,%d})", key, i, CSG_REASON_CODE_MAX);
        memcpy(out->code[i], s, len + 1);
    }
    /* Only a model that answered has reasons (DESIGN §6: null on timeout, error,
     * fallback, no challenger). */
    if (!answered)
        return reject(why, "invalid_field", "field \"%s\": must be null when the model gave "
                      "no answer (its score is null)", key);
    out->present = true;
    out->n = (int)n;
    return 0;
}

/* A brief column left null at the top level takes the feature of the same name when that
 * value satisfies the column's own rule (else the column stays NULL). */
static void fill_from_features(json_t *features, csgp_event *ev)
{
    json_t *v;
    double d;
    if (!ev->has_income && json_is_number(v = json_object_get(features, "income")) &&
        (d = json_number_value(v)) >= 0 && d <= CSG_EVENT_AMOUNT_MAX) {
        ev->income = d;
        ev->has_income = true;
    }
    if (!ev->has_loan_amount && json_is_number(v = json_object_get(features, "loan_amount")) &&
        (d = json_number_value(v)) > 0 && d <= CSG_EVENT_AMOUNT_MAX) {
        ev->loan_amount = d;
        ev->has_loan_amount = true;
    }
    if (!ev->has_credit_history &&
        json_is_integer(v = json_object_get(features, "credit_history")) &&
        json_integer_value(v) >= 0) {
        ev->credit_history = json_integer_value(v);
        ev->has_credit_history = true;
    }
}

/* features: optional; validated entry by entry, stored as compact JSON with sorted keys. */
static int get_features(json_t *root, csgp_event *ev, csgp_reject *why)
{
    json_t *f = json_object_get(root, "features");
    if (!f || json_is_null(f))
        return 0;
    if (!json_is_object(f))
        return reject(why, "invalid_field", "field \"features\": must be an object or null");
    if (json_object_size(f) > CSG_EVENT_MAX_FEATURES)
        return reject(why, "invalid_field", "field \"features\": %zu features (at most %d)",
                      json_object_size(f), CSG_EVENT_MAX_FEATURES);
    const char *name;
    json_t *v;
    json_object_foreach(f, name, v) {
        size_t n = strlen(name);
        if (!csg_event_feature_name_ok(name, n)) {
            /* Show the name only when it is short printable ASCII (the reason is JSON). */
            bool show = n <= 40;
            for (size_t i = 0; show && i < n; i++)
                show = name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"' && name[i] != '\\';
            return reject(why, "invalid_field", "field \"features\": %s%s%s is not a feature "
                          "name ([a-z][a-z0-9_]{0,31})", show ? "\"" : "a key",
                          show ? name : "", show ? "\"" : "");
        }
        bool ok = json_is_boolean(v) || json_is_integer(v) ||
                  (json_is_real(v) && isfinite(json_real_value(v)));
        if (json_is_string(v)) {
            size_t len = json_string_length(v);
            ok = len >= 1 && len <= CSG_EVENT_CATEGORY_MAX &&
                 no_controls(json_string_value(v), len);
        }
        if (!ok)
            return reject(why, "invalid_field", "field \"features.%s\": must be a finite "
                          "number, true/false or a string of 1-%d bytes without control "
                          "characters", name, CSG_EVENT_CATEGORY_MAX);
    }
    fill_from_features(f, ev);
    ev->features = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (!ev->features)
        return reject(why, "invalid_field", "field \"features\": out of memory");
    return 0;
}

int csgp_event_parse(const char *json, size_t len, csgp_event *ev, csgp_reject *why)
{
    if (len > CSGP_MAX_MESSAGE_BYTES)
        return reject(why, "too_large", "message too large: %zu bytes (limit %d)", len,
                      CSGP_MAX_MESSAGE_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return reject(why, "invalid_json", "invalid JSON at position %d: %s", jerr.position,
                      jerr.text);
    int rc = -CSG_EINVAL;
    if (!json_is_object(root)) {
        rc = reject(why, "not_object", "the event must be a JSON object");
        goto out;
    }
    for (size_t i = 0; i < sizeof required_keys / sizeof *required_keys; i++) {
        if (!json_object_get(root, required_keys[i])) {
            rc = reject(why, "missing_field", "missing field \"%s\"", required_keys[i]);
            goto out;
        }
    }
    memset(ev, 0, sizeof *ev);
    ev->decision_match = -1;

    json_t *v = json_object_get(root, "event_id");
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    bool ok = s && n >= 1 && n <= CSG_EVENT_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x21 && s[i] <= 0x7e;
    if (!ok) {
        rc = reject(why, "invalid_field",
                    "field \"event_id\": must be 1-%d printable ASCII characters",
                    CSG_EVENT_ID_MAX);
        goto out;
    }
    memcpy(ev->event_id, s, n + 1);

    v = json_object_get(root, "status");
    s = json_string_value(v);
    static const char *const statuses[] = {"OK", "CHALLENGER_TIMEOUT", "CHALLENGER_ERROR",
                                           "CHAMPION_TIMEOUT", "CHAMPION_ERROR"};
    ok = false;
    for (size_t i = 0; s && i < 5; i++)
        ok = ok || !strcmp(s, statuses[i]);
    if (!ok) {
        rc = reject(why, "invalid_field", "field \"status\": must be one of OK, "
                    "CHALLENGER_TIMEOUT, CHALLENGER_ERROR, CHAMPION_TIMEOUT, CHAMPION_ERROR");
        goto out;
    }
    snprintf(ev->status, sizeof ev->status, "%s", s);
    bool champion_failed = !strncmp(ev->status, "CHAMPION_", 9);

    /* Bounds: lib/csg_event_schema.h, the same the gateway writes events within. */
    const double smin = CSG_EVENT_SCORE_MIN, smax = CSG_EVENT_SCORE_MAX;
    const double lmax = CSG_EVENT_LATENCY_MS_MAX, amax = CSG_EVENT_AMOUNT_MAX;
    if (get_str(root, "experiment_id", CSG_EVENT_NAME_MAX, false, ev->experiment_id, NULL,
                why) ||
        get_str(root, "applicant_id", CSG_EVENT_APPLICANT_ID_MAX, false, ev->applicant_id, NULL,
                why) ||
        get_str(root, "transport", CSG_EVENT_TRANSPORT_MAX, false, ev->transport, NULL, why) ||
        get_str(root, "champion_model", CSG_EVENT_NAME_MAX, false, ev->champion_model, NULL,
                why) ||
        get_str(root, "challenger_model", CSG_EVENT_NAME_MAX, true, ev->challenger_model,
                &ev->has_challenger_model, why) ||
        get_num(root, "champion_score", champion_failed, smin, smax, false, &ev->champion_score,
                &ev->has_champion_score, why) ||
        get_num(root, "challenger_score", true, smin, smax, false, &ev->challenger_score,
                &ev->has_challenger_score, why) ||
        get_decision(root, "champion_decision", champion_failed, &ev->champion_decision, why) ||
        get_decision(root, "challenger_decision", true, &ev->challenger_decision, why) ||
        get_num(root, "latency_champion_ms", false, 0, lmax, false, &ev->latency_champion_ms,
                NULL, why) ||
        get_num(root, "latency_challenger_ms", true, 0, lmax, false, &ev->latency_challenger_ms,
                &ev->has_latency_challenger, why) ||
        get_num(root, "decision_diff", true, smin, smax, false, &ev->decision_diff,
                &ev->has_decision_diff, why) ||
        get_num(root, "income", true, 0, amax, false, &ev->income, &ev->has_income, why) ||
        get_num(root, "loan_amount", true, 0, amax, true, &ev->loan_amount, &ev->has_loan_amount,
                why))
        goto out;
    if (!champion_failed && !ev->has_champion_score) {
        rc = reject(why, "invalid_field", "field \"champion_score\": null only when the "
                    "champion failed");
        goto out;
    }

    v = json_object_get(root, "decision_match");
    if (json_is_boolean(v)) {
        ev->decision_match = json_is_true(v);
    } else if (!json_is_null(v)) {
        rc = reject(why, "invalid_field", "field \"decision_match\": must be true, false or null");
        goto out;
    }

    /* jansson's integers end where the schema's bound does (larger ones are not JSON it
     * parses: invalid_json). */
    _Static_assert(CSG_EVENT_CREDIT_HISTORY_MAX == LLONG_MAX, "credit_history bound");
    v = json_object_get(root, "credit_history");
    if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0)) {
        rc = reject(why, "invalid_field",
                    "field \"credit_history\": must be an integer >= 0 or null");
        goto out;
    }
    ev->has_credit_history = !json_is_null(v);
    ev->credit_history = ev->has_credit_history ? json_integer_value(v) : 0;

    v = json_object_get(root, "timestamp");
    if (!json_is_string(v) ||
        csgp_parse_rfc3339(json_string_value(v), json_string_length(v), &ev->ts_ms) != 0) {
        rc = reject(why, "invalid_field", "field \"timestamp\": must be an RFC 3339 time "
                    "(e.g. 2025-10-07T13:35:42.123Z)");
        goto out;
    }
    csgp_format_ms(ev->ts_ms, ev->timestamp);

    if (!ev->has_challenger_model) {
        const char *bad = ev->has_challenger_score ? "challenger_score"
                          : ev->challenger_decision ? "challenger_decision"
                          : ev->decision_match >= 0 ? "decision_match"
                          : ev->has_latency_challenger ? "latency_challenger_ms"
                          : ev->has_decision_diff ? "decision_diff"
                                                  : NULL;
        if (bad) {
            rc = reject(why, "invalid_field", "field \"%s\": must be null when challenger_model "
                        "is null", bad);
            goto out;
        }
    }
    /* features last: it allocates, and a refused event has nothing to release. */
    if ((rc = get_config_version(root, ev, why)) ||
        (rc = get_reasons(root, "champion_reasons", ev->has_champion_score,
                          &ev->champion_reasons, why)) ||
        (rc = get_reasons(root, "challenger_reasons", ev->has_challenger_score,
                          &ev->challenger_reasons, why)) ||
        (rc = get_features(root, ev, why)))
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void csgp_event_release(csgp_event *ev)
{
    free(ev->features);
    ev->features = NULL;
}

const char *csgp_reasons_text(const csgp_reasons *r, char open, char close,
                              char out[CSGP_REASONS_TEXT_SIZE])
{
    size_t len = 0;
    out[len++] = open;
    for (int i = 0; i < r->n; i++) {
        size_t n = strlen(r->code[i]);
        if (i)
            out[len++] = ',';
        out[len++] = '"';
        memcpy(out + len, r->code[i], n);
        len += n;
        out[len++] = '"';
    }
    out[len++] = close;
    out[len] = '\0';
    return out;
}
