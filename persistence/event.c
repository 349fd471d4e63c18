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
#include "event_scan.h"
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
static int get_str(const csgp_jv *v, const csg_event_field *f, size_t max, bool nullable,
                   char *out, bool *present, csgp_reject *why)
{
    const char *key = f->name;
    if (v->t == CSGP_JV_NULL && nullable) {
        out[0] = 0;
        if (present)
            *present = false;
        return 0;
    }
    if (v->t != CSGP_JV_STRING)
        return reject(why, "invalid_field", "field \"%s\": must be a string%s", key,
                      nullable ? " or null" : "");
    size_t n = v->n;
    if (n < 1 || n > max || !csgp_no_controls(v->s, n))
        return reject(why, "invalid_field",
                      "field \"%s\": must be 1-%zu characters without control characters", key,
                      max);
    memcpy(out, v->s, n);
    out[n] = '\0';
    if (present)
        *present = true;
    return 0;
}

/* A finite number within the field's bounds. */
static int get_num(const csgp_jv *v, const csg_event_field *f, bool nullable, double *out,
                   bool *present, csgp_reject *why)
{
    const char *key = f->name;
    double lo = f->min, hi = f->max;
    bool lo_open = f->flags & CSG_EF_MIN_OPEN;
    if (v->t == CSGP_JV_NULL && nullable) {
        *out = 0;
        if (present)
            *present = false;
        return 0;
    }
    if (v->t != CSGP_JV_INT && v->t != CSGP_JV_REAL)
        return reject(why, "invalid_field", "field \"%s\": must be a number%s", key,
                      nullable ? " or null" : "");
    double d = v->d;
    if (!isfinite(d) || d < lo || d > hi || (lo_open && d == lo))
        return reject(why, "invalid_field", "field \"%s\": %.17g is out of range %c%g, %g]",
                      key, d, lo_open ? '(' : '[', lo, hi);
    *out = d;
    if (present)
        *present = true;
    return 0;
}

static int get_decision(const csgp_jv *v, const char *key, bool nullable, csgp_decision *out,
                        csgp_reject *why)
{
    if (v->t == CSGP_JV_NULL && nullable) {
        *out = CSG_DECISION_NONE;
        return 0;
    }
    *out = v->t == CSGP_JV_STRING ? csg_decision_parse(v->s, v->n) : CSG_DECISION_NONE;
    if (*out == CSG_DECISION_NONE)
        return reject(why, "invalid_field", "field \"%s\": must be \"%s\", \"%s\", \"%s\"%s",
                      key, csg_decision_name(CSG_DECISION_APPROVE),
                      csg_decision_name(CSG_DECISION_DECLINE),
                      csg_decision_name(CSG_DECISION_REVIEW), nullable ? " or null" : "");
    return 0;
}

static int get_config_version(const csgp_jv *v, csgp_event *ev, csgp_reject *why)
{
    const csg_event_field *f = &csg_event_fields[CSG_EF_CONFIG_VERSION];
    if (v->t == CSGP_JV_ABSENT || v->t == CSGP_JV_NULL)
        return 0;
    const char *s = v->s;
    bool ok = v->t == CSGP_JV_STRING && v->n == f->max_len;
    for (size_t i = 0; ok && i < f->max_len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return reject(why, "invalid_field", "field \"%s\": must be %u lowercase hex characters "
                      "or null", f->name, f->max_len);
    _Static_assert(sizeof ev->config_version == CSG_EVENT_CONFIG_VERSION_LEN + 1, "buffer");
    memcpy(ev->config_version, s, f->max_len);
    ev->config_version[f->max_len] = '\0';
    return 0;
}

/* champion_reasons / challenger_reasons: optional; null or an array of reason codes. */
static int get_reasons(const csgp_jv *v, const char *key, bool answered, csgp_reasons *out,
                       csgp_reject *why)
{
    out->present = false;
    out->n = 0;
    if (v->t == CSGP_JV_ABSENT || v->t == CSGP_JV_NULL)
        return 0;
    if (v->t != CSGP_JV_ARRAY)
        return reject(why, "invalid_field", "field \"%s\": must be an array of reason codes "
                      "or null", key);
    size_t n = v->n;
    if (n > CSG_REASONS_MAX)
        return reject(why, "invalid_field", "field \"%s\": %zu reasons (at most %d)", key, n,
                      CSG_REASONS_MAX);
    for (size_t i = 0; i < n; i++) {
        csgp_jv c;
        csgp_jv_item(v, i, &c);
        if (c.t != CSGP_JV_STRING || !csg_reason_code_ok(c.s, c.n))
            return reject(why, "invalid_field", "field \"%s[%zu]\": must be a reason code "
                          "([A-Z0-9_]{1,%d})", key, i, CSG_REASON_CODE_MAX);
        memcpy(out->code[i], c.s, c.n);
        out->code[i][c.n] = '\0';
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

static bool jv_number(const csgp_jv *v, double *d)
{
    *d = v->d;
    return v->t == CSGP_JV_INT || v->t == CSGP_JV_REAL;
}

/* A brief column left null at the top level takes the feature of the same name when that
 * value satisfies the column's own rule (else the column stays NULL). */
static void fill_from_features(const csgp_jv *income, const csgp_jv *loan_amount,
                               const csgp_jv *credit_history, csgp_event *ev)
{
    double d;
    if (!ev->has_income && jv_number(income, &d) && d >= 0 && d <= CSG_EVENT_AMOUNT_MAX) {
        ev->income = d;
        ev->has_income = true;
    }
    if (!ev->has_loan_amount && jv_number(loan_amount, &d) && d > 0 &&
        d <= CSG_EVENT_AMOUNT_MAX) {
        ev->loan_amount = d;
        ev->has_loan_amount = true;
    }
    if (!ev->has_credit_history && credit_history->t == CSGP_JV_INT && credit_history->i >= 0) {
        ev->credit_history = credit_history->i;
        ev->has_credit_history = true;
    }
}

/* jansson's text of a real (json_dumps: "%.17g", a ".0" when it would read as an integer,
 * no '+' and no leading zeros in the exponent), so both paths store the same features. */
static size_t format_real(char out[40], double d)
{
    int len = snprintf(out, 40, "%.17g", d);
    if (len < 0 || len >= 36)
        return 0;
    size_t n = (size_t)len;
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(out, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n + 1 - (size_t)(end - out));
            n -= (size_t)(end - start);
        }
    }
    return n;
}

/* features as the scanner read them (its text in fv->s/n): accepted only when every entry
 * is valid (any refusal is worded by the jansson path), stored as jansson would store it. */
static int get_features_scanned(const csgp_jv *fv, csgp_event *ev, csgp_reject *why)
{
    const char *names[CSG_EVENT_MAX_FEATURES];
    size_t lens[CSG_EVENT_MAX_FEATURES], size = 3;
    csgp_jv vals[CSG_EVENT_MAX_FEATURES];
    int idx[CSG_EVENT_MAX_FEATURES];
    int n = csgp_scan_members(fv->s, fv->n, names, lens, vals, CSG_EVENT_MAX_FEATURES, NULL);
    if (n < 0)
        return reject(why, "invalid_field", "field \"features\": not read by the scanner");
    static const csgp_jv absent = {.t = CSGP_JV_ABSENT};
    const csgp_jv *col[3] = {&absent, &absent, &absent};
    static const char *const cols[3] = {"income", "loan_amount", "credit_history"};
    for (int i = 0; i < n; i++) {
        const csgp_jv *v = &vals[i];
        bool ok = v->t == CSGP_JV_INT || v->t == CSGP_JV_REAL || v->t == CSGP_JV_TRUE ||
                  v->t == CSGP_JV_FALSE ||
                  (v->t == CSGP_JV_STRING && v->n >= 1 && v->n <= CSG_EVENT_CATEGORY_MAX &&
                   csgp_no_controls(v->s, v->n));
        if (!ok || !csg_event_feature_name_ok(names[i], lens[i]))
            return reject(why, "invalid_field", "field \"features\": not read by the scanner");
        for (int c = 0; c < 3; c++)
            if (strlen(cols[c]) == lens[i] && !memcmp(cols[c], names[i], lens[i]))
                col[c] = v;
        size += lens[i] + 4 + (v->t == CSGP_JV_STRING ? v->n + 2 : 40);
        /* name order (JSON_SORT_KEYS: strcmp; names are [a-z0-9_]) */
        int k = i;
        for (; k > 0; k--) {
            int j = idx[k - 1];
            size_t m = lens[j] < lens[i] ? lens[j] : lens[i];
            int c = memcmp(names[j], names[i], m);
            if (c < 0 || (c == 0 && lens[j] < lens[i]))
                break;
            idx[k] = j;
        }
        idx[k] = i;
    }
    char *out = malloc(size), *o = out;
    if (!out)
        return reject(why, "invalid_field", "field \"features\": out of memory");
    *o++ = '{';
    for (int k = 0; k < n; k++) {
        const csgp_jv *v = &vals[idx[k]];
        if (k)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, names[idx[k]], lens[idx[k]]);
        o += lens[idx[k]];
        memcpy(o, "\":", 2);
        o += 2;
        if (v->t == CSGP_JV_STRING) {
            *o++ = '"';
            memcpy(o, v->s, v->n);
            o += v->n;
            *o++ = '"';
        } else if (v->t == CSGP_JV_INT) {
            o += snprintf(o, 24, "%lld", v->i);
        } else if (v->t == CSGP_JV_REAL) {
            char num[40];
            size_t len = format_real(num, v->d);
            if (!len) {
                free(out);
                return reject(why, "invalid_field", "field \"features\": not read by the scanner");
            }
            memcpy(o, num, len);
            o += len;
        } else {
            const char *b = v->t == CSGP_JV_TRUE ? "true" : "false";
            memcpy(o, b, strlen(b));
            o += strlen(b);
        }
    }
    *o++ = '}';
    *o = '\0';
    fill_from_features(col[0], col[1], col[2], ev);
    ev->features = out;
    return 0;
}

/* features: optional; validated entry by entry, stored as compact JSON with sorted keys. */
static int get_features(const csgp_jv *fv, csgp_event *ev, csgp_reject *why)
{
    if (fv->t == CSGP_JV_ABSENT || fv->t == CSGP_JV_NULL)
        return 0;
    if (fv->t == CSGP_JV_OBJECT && !fv->j)
        return get_features_scanned(fv, ev, why);
    json_t *f = fv->j;
    if (fv->t != CSGP_JV_OBJECT || !f)
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
    csgp_jv col[3];
    csgp_jv_from_json(json_object_get(f, "income"), &col[0]);
    csgp_jv_from_json(json_object_get(f, "loan_amount"), &col[1]);
    csgp_jv_from_json(json_object_get(f, "credit_history"), &col[2]);
    fill_from_features(&col[0], &col[1], &col[2], ev);
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
static int get_fields(const csgp_jv *vals, csgp_event *ev, bool champion_failed,
                      csgp_reject *why)
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
            rc = get_str(&vals[i], f, f->max_len < cap ? f->max_len : cap - 1, nullable, out,
                         present, why);
            break;
        case CSG_EFT_NUMBER: rc = get_num(&vals[i], f, nullable, out, present, why); break;
        case CSG_EFT_DECISION: rc = get_decision(&vals[i], f->name, nullable, out, why); break;
        default: break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int get_status(const csgp_jv *v, csgp_event *ev, csgp_reject *why)
{
    char s[CSG_EVENT_STATUS_NAME_MAX + 1];
    bool ok = v->t == CSGP_JV_STRING && v->n < sizeof s;
    if (ok) {
        memcpy(s, v->s, v->n);
        s[v->n] = '\0';
    }
    if (!ok || !csg_event_status_parse(s, &ev->status_id)) {
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

/* The event from its top-level values (both paths): 0, or -CSG_EINVAL and *why. */
static int parse_vals(const csgp_jv *vals, csgp_event *ev, csgp_reject *why)
{
    /* Every key of DESIGN §6 must be present (null where allowed), but the (next)-era
     * ones older gateways do not write. */
    for (int i = 0; i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        if (!(f->flags & CSG_EF_OPTIONAL) && vals[i].t == CSGP_JV_ABSENT)
            return reject(why, "missing_field", "missing field \"%s\"", f->name);
    }
    memset(ev, 0, sizeof *ev);
    ev->decision_match = -1;

    const csg_event_field *fid = &csg_event_fields[CSG_EF_EVENT_ID];
    const csgp_jv *v = &vals[CSG_EF_EVENT_ID];
    size_t n = v->t == CSGP_JV_STRING ? v->n : 0;
    bool ok = v->t == CSGP_JV_STRING && n >= 1 && n <= fid->max_len;
    for (size_t i = 0; ok && i < n; i++)
        ok = v->s[i] >= 0x21 && v->s[i] <= 0x7e;
    if (!ok)
        return reject(why, "invalid_field",
                      "field \"event_id\": must be 1-%u printable ASCII characters", fid->max_len);
    memcpy(ev->event_id, v->s, n);
    ev->event_id[n] = '\0';

    int rc;
    if ((rc = get_status(&vals[CSG_EF_STATUS], ev, why)))
        return rc;
    bool champion_failed = csg_event_status_champion_failed(ev->status_id);
    if ((rc = get_fields(vals, ev, champion_failed, why)))
        return rc;

    v = &vals[CSG_EF_DECISION_MATCH];
    if (v->t == CSGP_JV_TRUE || v->t == CSGP_JV_FALSE)
        ev->decision_match = v->t == CSGP_JV_TRUE;
    else if (v->t != CSGP_JV_NULL)
        return reject(why, "invalid_field", "field \"decision_match\": must be true, false or null");

    /* jansson's integers end where the schema's bound does (larger ones are not JSON it
     * parses: invalid_json). */
    _Static_assert(CSG_EVENT_CREDIT_HISTORY_MAX == LLONG_MAX, "credit_history bound");
    const csg_event_field *fch = &csg_event_fields[CSG_EF_CREDIT_HISTORY];
    v = &vals[CSG_EF_CREDIT_HISTORY];
    if (v->t != CSGP_JV_NULL && (v->t != CSGP_JV_INT || (double)v->i < fch->min))
        return reject(why, "invalid_field",
                      "field \"credit_history\": must be an integer >= 0 or null");
    ev->has_credit_history = v->t != CSGP_JV_NULL;
    ev->credit_history = ev->has_credit_history ? v->i : 0;

    v = &vals[CSG_EF_TIMESTAMP];
    if (v->t != CSGP_JV_STRING || csgp_parse_rfc3339(v->s, v->n, &ev->ts_ms) != 0)
        return reject(why, "invalid_field", "field \"timestamp\": must be an RFC 3339 time "
                      "(e.g. 2025-10-07T13:35:42.123Z)");
    csgp_format_ms(ev->ts_ms, ev->timestamp);

    /* Without a challenger, every field of its answer is null. */
    for (int i = 0; !ev->has_challenger_model && i < CSG_EF_COUNT; i++) {
        const csg_event_field *f = &csg_event_fields[i];
        if ((f->flags & CSG_EF_CHALLENGER) && vals[i].t != CSGP_JV_NULL)
            return reject(why, "invalid_field", "field \"%s\": must be null when "
                          "challenger_model is null", f->name);
    }
    /* features last: it allocates, and a refused event has nothing to release. */
    if ((rc = get_config_version(&vals[CSG_EF_CONFIG_VERSION], ev, why)) ||
        (rc = get_reasons(&vals[CSG_EF_CHAMPION_REASONS],
                          csg_event_fields[CSG_EF_CHAMPION_REASONS].name,
                          ev->has_champion_score, &ev->champion_reasons, why)) ||
        (rc = get_reasons(&vals[CSG_EF_CHALLENGER_REASONS],
                          csg_event_fields[CSG_EF_CHALLENGER_REASONS].name,
                          ev->has_challenger_score, &ev->challenger_reasons, why)) ||
        (rc = get_features(&vals[CSG_EF_FEATURES], ev, why)))
        return rc;
    char msg[sizeof why->reason];
    const char *bad = csgp_event_arms(&vals[CSG_EF_DECIDED_BY], &vals[CSG_EF_CHALLENGERS], ev,
                                      msg, sizeof msg);
    if (bad) {
        csgp_event_release(ev); /* a refused event has nothing to release */
        return reject(why, "invalid_field", "%s", bad);
    }
    return 0;
}

int csgp_event_parse_jansson(const char *json, size_t len, csgp_event *ev, csgp_reject *why)
{
    if (len > CSGP_MAX_MESSAGE_BYTES)
        return reject(why, "too_large", "message too large: %zu bytes (limit %d)", len,
                      CSGP_MAX_MESSAGE_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return reject(why, "invalid_json", "invalid JSON at position %d: %s", jerr.position,
                      jerr.text);
    int rc;
    if (!json_is_object(root)) {
        rc = reject(why, "not_object", "the event must be a JSON object");
    } else {
        csgp_jv vals[CSG_EF_COUNT];
        for (int i = 0; i < CSG_EF_COUNT; i++)
            csgp_jv_from_json(json_object_get(root, csg_event_fields[i].name), &vals[i]);
        rc = parse_vals(vals, ev, why);
    }
    json_decref(root);
    return rc;
}

int csgp_event_parse(const char *json, size_t len, csgp_event *ev, csgp_reject *why)
{
    /* The scanner reads the usual event; whatever it declines, and every refusal (so the
     * reasons are the reference path's), goes through jansson. */
    csgp_jv vals[CSG_EF_COUNT];
    if (len <= CSGP_MAX_MESSAGE_BYTES && csgp_event_scan(json, len, vals) &&
        parse_vals(vals, ev, NULL) == 0)
        return 0;
    return csgp_event_parse_jansson(json, len, ev, why);
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
