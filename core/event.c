/*
 * event.c — MetricEvent serialisation with the small buffer writer: the
 * publisher thread turns ~100k events/s into JSON, where jansson's
 * serialiser alone would cost ~2 µs each. Its keys, in order, are the field table's
 * (lib/csg_event_schema.h), the table csg-persist reads events with.
 */
#include "event.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "config.h"
#include "jsonw.h"
#include "util.h"

/* Configured names are copied into events whole (never cut by copy_str). */
_Static_assert(CSG_EXPERIMENT_ID_MAX <= CSG_EVENT_NAME_MAX, "experiment_id bound");
_Static_assert(CSG_MODEL_NAME_MAX <= CSG_EVENT_NAME_MAX, "model name bound");

/* Latencies keep microsecond resolution: the clock difference's float noise
 * (1.8399999999) says nothing and costs bytes in every row. One longer than the
 * schema's bound (only a process stopped for days measures that) is written as the
 * bound, so the event is still stored. */
static double latency(double ms)
{
    return round(fmin(ms, CSG_EVENT_LATENCY_MS_MAX) * 1000.0) / 1000.0;
}

/* csg_format_rfc3339_ms with the calendar part cached per thread for the
 * current second: gmtime_r (and its time-zone lock) once a second instead
 * of once per event; only the milliseconds change in between. */
static void format_timestamp(int64_t wall_ms, char ts[25])
{
    static _Thread_local int64_t cached_sec = -1;
    static _Thread_local char cached[25];
    if (wall_ms < 0) {
        csg_format_rfc3339_ms(wall_ms, ts);
        return;
    }
    int64_t sec = wall_ms / 1000;
    if (sec != cached_sec) {
        csg_format_rfc3339_ms(sec * 1000, cached);
        cached_sec = sec;
    }
    memcpy(ts, cached, 25);
    unsigned ms = (unsigned)(wall_ms % 1000);
    ts[20] = (char)('0' + ms / 100);
    ts[21] = (char)('0' + ms / 10 % 10);
    ts[22] = (char)('0' + ms % 10);
}

/* A model's reason codes (already checked: [A-Z0-9_], nothing to escape), or
 * null when it gave no answer. */
static void write_codes(csg_jsonw *w, bool answered, const csg_reason_codes *rc)
{
    if (!answered) {
        csg_jsonw_lit(w, "null");
        return;
    }
    csg_jsonw_lit(w, "[");
    for (unsigned i = 0; i < rc->count && i < CSG_REASONS_MAX; i++) {
        csg_jsonw_lit(w, i ? ",\"" : "\"");
        csg_jsonw_raw(w, rc->code[i], strnlen(rc->code[i], CSG_REASON_CODE_MAX));
        csg_jsonw_lit(w, "\"");
    }
    csg_jsonw_lit(w, "]");
}

/* The `challengers` array: every challenger result of the request. */
static void write_challengers(csg_jsonw *w, const csg_event *e)
{
    csg_jsonw_lit(w, "[");
    for (unsigned i = 0; i < e->n_chal; i++) {
        const csg_event_chal *c = &e->chal[i];
        csg_jsonw_lit(w, i ? ",{\"model\":" : "{\"model\":");
        csg_jsonw_str(w, c->model);
        csg_jsonw_lit(w, ",\"score\":");
        csg_jsonw_double(w, c->ok ? c->score : NAN);
        csg_jsonw_lit(w, ",\"decision\":");
        csg_jsonw_str(w, c->ok ? csg_decision_name(c->decision) : NULL);
        csg_jsonw_lit(w, ",\"latency_ms\":");
        csg_jsonw_double(w, latency(c->latency_ms));
        csg_jsonw_lit(w, ",\"status\":\"");
        csg_jsonw_lit(w, csg_event_status_name(c->status));
        csg_jsonw_lit(w, "\",\"reasons\":");
        write_codes(w, c->ok, &c->reasons);
        csg_jsonw_lit(w, c->live ? ",\"mode\":\"" CSG_MODE_LIVE_NAME "\""
                                 : ",\"mode\":\"" CSG_MODE_SHADOW_NAME "\"");
        /* only on a trial call, so every other event keeps its bytes */
        csg_jsonw_lit(w, c->trial ? ",\"trial\":true}" : "}");
    }
    csg_jsonw_lit(w, "]");
}

/* The brief's top-level amounts, which the event takes from the features of the same name. */
static const csg_event_field_id brief_fields[3] = {CSG_EF_INCOME, CSG_EF_LOAN_AMOUNT,
                                                  CSG_EF_CREDIT_HISTORY};

/* A key of the field table (lib/csg_event_schema.c), with the comma before every key but
 * the first and the colon after: the writer spells no key of its own. */
static void key(csg_jsonw *w, csg_event_field_id id)
{
    const csg_event_field *f = &csg_event_fields[id];
    csg_jsonw_lit(w, id == 0 ? "{\"" : ",\"");
    csg_jsonw_raw(w, f->name, f->name_len);
    csg_jsonw_lit(w, "\":");
}

csg_event *csg_event_new(const csg_application *app, unsigned n_chal)
{
    size_t cap = csg_app_features_json(app, NULL, 0) + 1;
    size_t chal_bytes = (size_t)n_chal * sizeof(csg_event_chal);
    csg_event *e = malloc(sizeof *e + chal_bytes + cap);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e + chal_bytes);
    e->chal = (csg_event_chal *)(e + 1);
    e->n_chal = n_chal;
    char *f = (char *)(e + 1) + chal_bytes;
    csg_app_features_json(app, f, cap);
    e->features = f;
    const csg_schema *s = csg_app_schema(app);
    for (int i = 0; i < 3; i++) {
        size_t len;
        const csg_event_field *bf = &csg_event_fields[brief_fields[i]];
        const char *v = csg_app_value_text(app, csg_schema_find(s, bf->name, bf->name_len), &len);
        if (v && len < sizeof e->brief[i]) {
            memcpy(e->brief[i], v, len);
            e->brief[i][len] = '\0';
        }
    }
    const char *id = csg_app_applicant_id(app);
    memcpy(e->applicant_id, id, strnlen(id, CSG_APPLICANT_ID_MAX) + 1);
    return e;
}

size_t csg_event_to_json(const csg_event *e, char *buf, size_t cap)
{
    csg_jsonw w = {buf, cap, 0};
    bool chal = e->challenger_model[0] != '\0';
    bool both = e->champion_ok && chal && e->challenger_ok;
    char ts[25];
    format_timestamp(e->timestamp_ms, ts);

    key(&w, CSG_EF_EVENT_ID);
    csg_jsonw_str(&w, e->event_id);
    key(&w, CSG_EF_EXPERIMENT_ID);
    csg_jsonw_str(&w, e->experiment_id);
    key(&w, CSG_EF_APPLICANT_ID);
    csg_jsonw_str(&w, e->applicant_id);
    key(&w, CSG_EF_TRANSPORT);
    csg_jsonw_str(&w, e->transport);
    key(&w, CSG_EF_CHAMPION_MODEL);
    csg_jsonw_str(&w, e->champion_model);
    key(&w, CSG_EF_CHALLENGER_MODEL);
    csg_jsonw_str(&w, chal ? e->challenger_model : NULL);
    key(&w, CSG_EF_CHAMPION_SCORE);
    csg_jsonw_double(&w, e->champion_ok ? e->champion_score : NAN);
    key(&w, CSG_EF_CHALLENGER_SCORE);
    csg_jsonw_double(&w, chal && e->challenger_ok ? e->challenger_score : NAN);
    key(&w, CSG_EF_CHAMPION_DECISION);
    csg_jsonw_str(&w, e->champion_ok ? csg_decision_name(e->champion_decision) : NULL);
    key(&w, CSG_EF_CHALLENGER_DECISION);
    csg_jsonw_str(&w, chal && e->challenger_ok ? csg_decision_name(e->challenger_decision) : NULL);
    key(&w, CSG_EF_DECISION_MATCH);
    csg_jsonw_lit(&w, !both ? "null"
                            : e->champion_decision == e->challenger_decision ? "true"
                                                                             : "false");
    key(&w, CSG_EF_LATENCY_CHAMPION_MS);
    csg_jsonw_double(&w, latency(e->latency_champion_ms));
    key(&w, CSG_EF_LATENCY_CHALLENGER_MS);
    /* A held-off (suspended) challenger was not called: no latency. */
    csg_jsonw_double(&w, chal && e->status != CSG_EVENT_CHALLENGER_SUSPENDED
                             ? latency(e->latency_challenger_ms)
                             : NAN);
    key(&w, CSG_EF_DECISION_DIFF);
    csg_jsonw_double(&w, both ? fabs(e->champion_score - e->challenger_score) : NAN);
    for (int i = 0; i < 3; i++) {
        key(&w, brief_fields[i]);
        csg_jsonw_lit(&w, e->brief[i][0] ? e->brief[i] : "null");
    }
    key(&w, CSG_EF_FEATURES);
    csg_jsonw_lit(&w, e->features ? e->features : "{}");
    key(&w, CSG_EF_CONFIG_VERSION);
    csg_jsonw_lit(&w, "\"");
    csg_jsonw_lit(&w, e->config_version);
    csg_jsonw_lit(&w, "\"");
    key(&w, CSG_EF_CHAMPION_REASONS);
    write_codes(&w, e->champion_ok, &e->champion_reasons);
    key(&w, CSG_EF_CHALLENGER_REASONS);
    write_codes(&w, chal && e->challenger_ok, &e->challenger_reasons);
    key(&w, CSG_EF_DECIDED_BY);
    csg_jsonw_lit(&w, e->decided_by_challenger ? "\"" CSG_ARM_CHALLENGER "\""
                                               : "\"" CSG_ARM_CHAMPION "\"");
    key(&w, CSG_EF_CHALLENGERS);
    write_challengers(&w, e);
    key(&w, CSG_EF_TIMESTAMP);
    csg_jsonw_lit(&w, "\"");
    csg_jsonw_lit(&w, ts);
    csg_jsonw_lit(&w, "\"");
    key(&w, CSG_EF_STATUS);
    csg_jsonw_lit(&w, "\"");
    csg_jsonw_lit(&w, csg_event_status_name(e->status));
    csg_jsonw_lit(&w, "\"}");
    return csg_jsonw_finish(&w);
}
