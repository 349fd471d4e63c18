/*
 * event.c — MetricEvent validation (see event.h for the rules). The keys, types, bounds
 * and nullability come from the field table of lib/csg_event_schema.h, which the
 * gateway's writer (core/event.c) takes its keys from; the statuses and decisions from
 * lib/csg_vocab.h. What joins several fields (a challenger's fields null without a
 * challenger, reasons only from a model that answered) is written out below.
 */
#include "event.h"

#include <jansson.h>

#include "event_arms.h"
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

bool csgp_no_controls(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* A non-null string of 1..max bytes without control characters, copied to out (which
 * holds max + 1 bytes). */
static int get_str(json_t *root, const csg_event_field *f, size_t max, bool nullable,
                   char *out, bool *present, csgp_reject *why)
{
    const char *key = f->name;
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
    if (n < 1 || n > max || !csgp_no_controls(s, n))
        return reject(why, "invalid_field",
                      "field \"%s\": must be 1-%zu characters without control characters", key,
                      max);
    memcpy(out, s, n + 1);
    if (present)
        *present = true;
    return 0;
}

/* A finite number within the field's bounds. */
static int get_num(json_t *root, const csg_event_field *f, bool nullable, double *out,
                   bool *present, csgp_reject *why)
{
    const char *key = f->name;
    double lo = f->min, hi = f->max;
    bool lo_open = f->flags & CSG_EF_MIN_OPEN;
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
        *out = CSG_DECISION_NONE;
        return 0;
    }
    *out = json_is_string(v) ? csg_decision_parse(json_string_value(v), json_string_length(v))
                             : CSG_DECISION_NONE;
    if (*out == CSG_DECISION_NONE)
        return reject(why, "invalid_field", "field \"%s\": must be \"%s\", \"%s\", \"%s\"%s",
                      key, csg_decision_name(CSG_DECISION_APPROVE),
                      csg_decision_name(CSG_DECISION_DECLINE),
                      csg_decision_name(CSG_DECISION_REVIEW), nullable ? " or null" : "");
    return 0;
}

static int get_config_version(json_t *root, csgp_event *ev, csgp_reject *why)
{
    const csg_event_field *f = &csg_event_fields[CSG_EF_CONFIG_VERSION];
    json_t *v = json_object_get(root, f->name);
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    bool ok = s && json_string_length(v) == f->max_len;
    for (size_t i = 0; ok && i < f->max_len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return reject(why, "invalid_field", "field \"%s\": must be %u lowercase hex characters "
                      "or null", f->name, f->max_len);
    _Static_assert(sizeof ev->config_version == CSG_EVENT_CONFIG_VERSION_LEN + 1, "buffer");
    memcpy(ev->config_version, s, f->max_len + 1);
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
    json_t *f = json_object_get(root, csg_event_fields[CSG_EF_FEATURES].name);
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
                 csgp_no_controls(json_string_value(v), len);
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

/* Where a string, number or decision field lands in ev, and its presence flag (NULL: it
 * is never null); *cap: a string's buffer size. NULL for the fields parsed by their own
 * code below. */
#define STR(field) (*cap = sizeof ev->field, ev->field)
static void *slot(csgp_event *ev, csg_event_field_id id, bool **present, size_t *cap)
{
    *present = NULL;
    *cap = 0;
    switch (id) {
    case CSG_EF_EXPERIMENT_ID: return STR(experiment_id);
    case CSG_EF_APPLICANT_ID: return STR(applicant_id);
    case CSG_EF_TRANSPORT: return STR(transport);
    case CSG_EF_CHAMPION_MODEL: return STR(champion_model);
    case CSG_EF_CHALLENGER_MODEL:
        *present = &ev->has_challenger_model;
        return STR(challenger_model);
    case CSG_EF_CHAMPION_SCORE: *present = &ev->has_champion_score; return &ev->champion_score;
    case CSG_EF_CHALLENGER_SCORE:
        *present = &ev->has_challenger_score;
        return &ev->challenger_score;
    case CSG_EF_CHAMPION_DECISION: return &ev->champion_decision;
    case CSG_EF_CHALLENGER_DECISION: return &ev->challenger_decision;
    case CSG_EF_LATENCY_CHAMPION_MS: return &ev->latency_champion_ms;
    case CSG_EF_LATENCY_CHALLENGER_MS:
        *present = &ev->has_latency_challenger;
        return &ev->latency_challenger_ms;
    case CSG_EF_DECISION_DIFF: *present = &ev->has_decision_diff; return &ev->decision_diff;
    case CSG_EF_INCOME: *present = &ev->has_income; return &ev->income;
    case CSG_EF_LOAN_AMOUNT: *present = &ev->has_loan_amount; return &ev->loan_amount;
    default: return NULL;
    }
}

#undef STR

/* The strings, numbers and decisions, in the table's order, each within its row's rule. */
static int get_fields(json_t *root, csgp_event *ev, bool champion_failed, csgp_reject *why)
{
    for (int i = 0; i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        bool *present;
        size_t cap;
        void *out = slot(ev, (csg_event_field_id)i, &present, &cap);
        if (!out)
            continue;
        /* The champion's answer is null only when the champion failed. */
        bool nullable = (f->flags & CSG_EF_NULLABLE) &&
                        (!(f->flags & CSG_EF_CHAMPION) || champion_failed);
        int rc = 0;
        switch (f->type) {
        case CSG_EFT_STRING:
            /* The buffers are sized by the same bounds (test_event_contract checks it);
             * never past one in any case. */
            rc = get_str(root, f, f->max_len < cap ? f->max_len : cap - 1, nullable, out, present,
                         why);
            break;
        case CSG_EFT_NUMBER: rc = get_num(root, f, nullable, out, present, why); break;
        case CSG_EFT_DECISION: rc = get_decision(root, f->name, nullable, out, why); break;
        default: break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int get_status(json_t *root, csgp_event *ev, csgp_reject *why)
{
    const char *s = json_string_value(json_object_get(root, csg_event_fields[CSG_EF_STATUS].name));
    if (!csg_event_status_parse(s, &ev->status_id)) {
        char list[128];
        size_t n = 0;
        for (int i = 0; i < CSG_EVENT_STATUS_COUNT && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                                  csg_event_status_name((csg_event_status)i));
        return reject(why, "invalid_field", "field \"status\": must be one of %s", list);
    }
    snprintf(ev->status, sizeof ev->status, "%s", csg_event_status_name(ev->status_id));
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
    /* Every key of DESIGN §6 must be present (null where allowed), but the (next)-era
     * ones older gateways do not write. */
    for (int i = 0; i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        if (!(f->flags & CSG_EF_OPTIONAL) && !json_object_get(root, f->name)) {
            rc = reject(why, "missing_field", "missing field \"%s\"", f->name);
            goto out;
        }
    }
    memset(ev, 0, sizeof *ev);
    ev->decision_match = -1;

    const csg_event_field *fid = &csg_event_fields[CSG_EF_EVENT_ID];
    json_t *v = json_object_get(root, fid->name);
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    bool ok = s && n >= 1 && n <= fid->max_len;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x21 && s[i] <= 0x7e;
    if (!ok) {
        rc = reject(why, "invalid_field",
                    "field \"event_id\": must be 1-%u printable ASCII characters", fid->max_len);
        goto out;
    }
    memcpy(ev->event_id, s, n + 1);

    if ((rc = get_status(root, ev, why)))
        goto out;
    bool champion_failed = csg_event_status_champion_failed(ev->status_id);
    if ((rc = get_fields(root, ev, champion_failed, why)))
        goto out;

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
    const csg_event_field *fch = &csg_event_fields[CSG_EF_CREDIT_HISTORY];
    v = json_object_get(root, fch->name);
    if (!json_is_null(v) && (!json_is_integer(v) || (double)json_integer_value(v) < fch->min)) {
        rc = reject(why, "invalid_field",
                    "field \"credit_history\": must be an integer >= 0 or null");
        goto out;
    }
    ev->has_credit_history = !json_is_null(v);
    ev->credit_history = ev->has_credit_history ? json_integer_value(v) : 0;

    v = json_object_get(root, csg_event_fields[CSG_EF_TIMESTAMP].name);
    if (!json_is_string(v) ||
        csgp_parse_rfc3339(json_string_value(v), json_string_length(v), &ev->ts_ms) != 0) {
        rc = reject(why, "invalid_field", "field \"timestamp\": must be an RFC 3339 time "
                    "(e.g. 2025-10-07T13:35:42.123Z)");
        goto out;
    }
    csgp_format_ms(ev->ts_ms, ev->timestamp);

    /* Without a challenger, every field of its answer is null. */
    for (int i = 0; !ev->has_challenger_model && i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        if ((f->flags & CSG_EF_CHALLENGER) && !json_is_null(json_object_get(root, f->name))) {
            rc = reject(why, "invalid_field", "field \"%s\": must be null when challenger_model "
                        "is null", f->name);
            goto out;
        }
    }
    /* features last: it allocates, and a refused event has nothing to release. */
    if ((rc = get_config_version(root, ev, why)) ||
        (rc = get_reasons(root, csg_event_fields[CSG_EF_CHAMPION_REASONS].name,
                          ev->has_champion_score, &ev->champion_reasons, why)) ||
        (rc = get_reasons(root, csg_event_fields[CSG_EF_CHALLENGER_REASONS].name,
                          ev->has_challenger_score, &ev->challenger_reasons, why)) ||
        (rc = get_features(root, ev, why)))
        goto out;
    char msg[sizeof why->reason];
    const char *bad = csgp_event_arms(root, ev, msg, sizeof msg);
    if (bad) {
        csgp_event_release(ev); /* a refused event has nothing to release */
        rc = reject(why, "invalid_field", "%s", bad);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void csgp_event_release(csgp_event *ev)
{
    free(ev->features);
    ev->features = NULL;
    free(ev->chal);
    ev->chal = NULL;
    ev->n_chal = 0;
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
