/*
 * event_arms.c — see event_arms.h.
 */
#include "event_arms.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *say(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *say(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return msg;
}

static bool name_ok(const char *s, size_t n)
{
    return n >= 1 && n <= CSG_EVENT_NAME_MAX && csgp_no_controls(s, n);
}

/* An older event: its one challenger from the top-level keys. */
static void from_top(const csgp_event *ev, csgp_chal_result *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->model, ev->challenger_model, sizeof r->model);
    r->has_score = ev->has_challenger_score;
    r->score = ev->challenger_score;
    r->decision = ev->challenger_decision;
    r->latency_ms = ev->latency_challenger_ms;
    r->reasons = ev->challenger_reasons;
    r->status = r->has_score ? CSG_EVENT_OK
                : ev->status_id == CSG_EVENT_CHALLENGER_TIMEOUT ? CSG_EVENT_CHALLENGER_TIMEOUT
                                                                : CSG_EVENT_CHALLENGER_ERROR;
}

static const char *reasons(json_t *v, size_t i, bool answered, csgp_reasons *out, char *msg,
                           size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v) || json_array_size(v) > CSG_REASONS_MAX)
        return say(msg, cap, "field \"challengers[%zu].reasons\": must be null or an array of "
                   "at most %d reason codes", i, CSG_REASONS_MAX);
    if (!answered)
        return say(msg, cap, "field \"challengers[%zu].reasons\": must be null when the model "
                   "gave no answer", i);
    for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *c = json_array_get(v, k);
        const char *s = json_string_value(c);
        size_t len = s ? json_string_length(c) : 0;
        if (!s || !csg_reason_code_ok(s, len))
            return say(msg, cap, "field \"challengers[%zu].reasons[%zu]\": must be a reason "
                       "code ([A-Z0-9_]{1,%d})", i, k, CSG_REASON_CODE_MAX);
        memcpy(out->code[k], s, len + 1);
    }
    out->present = true;
    out->n = (int)json_array_size(v);
    return NULL;
}

/* Element i of the array into r. */
static const char *element(json_t *o, size_t i, csgp_chal_result *r, char *msg, size_t cap)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(o))
        return say(msg, cap, "field \"challengers[%zu]\": must be an object", i);
    json_t *v = json_object_get(o, "model");
    if (!json_is_string(v) || !name_ok(json_string_value(v), json_string_length(v)))
        return say(msg, cap, "field \"challengers[%zu].model\": must be 1-%d characters without "
                   "control characters", i, CSG_EVENT_NAME_MAX);
    memcpy(r->model, json_string_value(v), json_string_length(v) + 1);
    const char *st = json_string_value(json_object_get(o, "status"));
    if (!csg_event_status_parse(st, &r->status) ||
        (r->status != CSG_EVENT_OK && r->status != CSG_EVENT_CHALLENGER_TIMEOUT &&
         r->status != CSG_EVENT_CHALLENGER_ERROR))
        return say(msg, cap, "field \"challengers[%zu].status\": must be OK, CHALLENGER_TIMEOUT "
                   "or CHALLENGER_ERROR", i);
    json_t *sc = json_object_get(o, "score"), *dc = json_object_get(o, "decision");
    r->has_score = r->status == CSG_EVENT_OK;
    if (r->has_score) {
        double d = json_number_value(sc);
        if (!json_is_number(sc) || !(d >= CSG_EVENT_SCORE_MIN && d <= CSG_EVENT_SCORE_MAX))
            return say(msg, cap, "field \"challengers[%zu].score\": must be a number in [0, 1] "
                       "when status is OK", i);
        r->score = d;
        const char *dn = json_string_value(dc);
        r->decision = dn ? csg_decision_parse(dn, json_string_length(dc)) : CSG_DECISION_NONE;
        if (r->decision == CSG_DECISION_NONE)
            return say(msg, cap, "field \"challengers[%zu].decision\": must be a decision when "
                       "status is OK", i);
    } else if (!json_is_null(sc) || !json_is_null(dc)) {
        return say(msg, cap, "field \"challengers[%zu]\": score and decision must be null when "
                   "the challenger gave no answer", i);
    }
    v = json_object_get(o, "latency_ms");
    double lat = json_number_value(v);
    if (!json_is_number(v) || !(lat >= 0 && lat <= CSG_EVENT_LATENCY_MS_MAX))
        return say(msg, cap, "field \"challengers[%zu].latency_ms\": must be a number in [0, 1e9]",
                   i);
    r->latency_ms = lat;
    const char *mode = json_string_value(json_object_get(o, "mode"));
    if (!mode || (strcmp(mode, CSG_MODE_SHADOW_NAME) && strcmp(mode, CSG_MODE_LIVE_NAME)))
        return say(msg, cap, "field \"challengers[%zu].mode\": must be shadow or live", i);
    r->live = !strcmp(mode, CSG_MODE_LIVE_NAME);
    json_t *t = json_object_get(o, "trial");
    if (t && !json_is_boolean(t))
        return say(msg, cap, "field \"challengers[%zu].trial\": must be true or false (or absent)",
                   i);
    r->trial = json_is_true(t);
    return reasons(json_object_get(o, "reasons"), i, r->has_score, &r->reasons, msg, cap);
}

static const char *array(json_t *a, csgp_event *ev, char *msg, size_t cap)
{
    if (!json_is_array(a) || json_array_size(a) > CSG_EVENT_MAX_CHALLENGERS)
        return say(msg, cap, "field \"challengers\": must be null or an array of at most %d "
                   "challenger results", CSG_EVENT_MAX_CHALLENGERS);
    size_t n = json_array_size(a);
    ev->chal = calloc(n ? n : 1, sizeof *ev->chal);
    if (!ev->chal)
        return say(msg, cap, "field \"challengers\": out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *bad = element(json_array_get(a, i), i, &ev->chal[i], msg, cap);
        for (size_t k = 0; !bad && k < i; k++)
            if (!strcmp(ev->chal[k].model, ev->chal[i].model))
                bad = say(msg, cap, "field \"challengers[%zu].model\": \"%s\" is listed twice",
                          i, ev->chal[i].model);
        if (bad) {
            free(ev->chal);
            ev->chal = NULL;
            return bad;
        }
    }
    ev->n_chal = (int)n;
    return NULL;
}

const char *csgp_event_arms(const csgp_jv *decided_by, const csgp_jv *challengers,
                            csgp_event *ev, char *msg, size_t cap)
{
    ev->n_chal = 0;
    ev->chal = NULL;
    const csgp_jv *d = decided_by;
    if (d->t != CSGP_JV_ABSENT && d->t != CSGP_JV_NULL && !csgp_jv_is(d, CSG_ARM_CHAMPION) &&
        !csgp_jv_is(d, CSG_ARM_CHALLENGER))
        return say(msg, cap, "field \"decided_by\": must be champion, challenger or null");
    ev->decided_by_challenger = csgp_jv_is(d, CSG_ARM_CHALLENGER);
    if (challengers->t != CSGP_JV_ABSENT && challengers->t != CSGP_JV_NULL) {
        /* Its elements are objects: only the jansson path reads them (j is its node). */
        const char *bad = array(challengers->j, ev, msg, cap);
        if (bad)
            return bad;
    } else if (ev->has_challenger_model) {
        if (!(ev->chal = calloc(1, sizeof *ev->chal)))
            return say(msg, cap, "field \"challengers\": out of memory");
        from_top(ev, &ev->chal[0]);
        ev->n_chal = 1;
    }
    if (ev->decided_by_challenger &&
        !(ev->n_chal > 0 && ev->chal[0].live && ev->chal[0].status == CSG_EVENT_OK)) {
        free(ev->chal);
        ev->chal = NULL;
        ev->n_chal = 0;
        return say(msg, cap, "field \"decided_by\": \"challenger\" needs a live challenger that "
                   "answered (the first of \"challengers\")");
    }
    return NULL;
}
