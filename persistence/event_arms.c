/*
 * event_arms.c — see event_arms.h.
 */
#include "event_arms.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_json_scan.h"

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

static const char *reasons(const csgp_jv *v, size_t i, bool answered, csgp_reasons *out,
                           char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (v->t == CSGP_JV_ABSENT || v->t == CSGP_JV_NULL)
        return NULL;
    if (v->t != CSGP_JV_ARRAY || v->n > CSG_REASONS_MAX)
        return say(msg, cap, "field \"challengers[%zu].reasons\": must be null or an array of "
                   "at most %d reason codes", i, CSG_REASONS_MAX);
    if (!answered)
        return say(msg, cap, "field \"challengers[%zu].reasons\": must be null when the model "
                   "gave no answer", i);
    for (size_t k = 0; k < v->n; k++) {
        csgp_jv c;
        csgp_jv_item(v, k, &c);
        if (c.t != CSGP_JV_STRING || !csg_reason_code_ok(c.s, c.n))
            return say(msg, cap, "field \"challengers[%zu].reasons[%zu]\": must be a reason "
                       "code ([A-Z0-9_]{1,%d})", i, k, CSG_REASON_CODE_MAX);
        memcpy(out->code[k], c.s, c.n);
        out->code[k][c.n] = '\0';
    }
    out->present = true;
    out->n = (int)v->n;
    return NULL;
}

/* An element's members, by name (absent: CSGP_JV_ABSENT). */
enum { C_MODEL, C_SCORE, C_DECISION, C_LATENCY, C_STATUS, C_REASONS, C_MODE, C_TRIAL, C_KEYS };
static const char *const keys[C_KEYS] = {"model",  "score",   "decision", "latency_ms",
                                          "status", "reasons", "mode",     "trial"};

/* A string value as the C string jansson's json_string_value gives (NULL: not a string),
 * cut to cap - 1 bytes (every string compared here is shorter). */
static const char *cstr(const csgp_jv *v, char *buf, size_t cap)
{
    if (v->t != CSGP_JV_STRING)
        return NULL;
    size_t n = v->n < cap - 1 ? v->n : cap - 1;
    memcpy(buf, v->s, n);
    buf[n] = '\0';
    return buf;
}

/* Element i of the array, from its members' values, into r. */
static const char *element(const csgp_jv *o, size_t i, csgp_chal_result *r, char *msg,
                           size_t cap)
{
    char buf[32];
    memset(r, 0, sizeof *r);
    const csgp_jv *v = &o[C_MODEL];
    if (v->t != CSGP_JV_STRING || !name_ok(v->s, v->n))
        return say(msg, cap, "field \"challengers[%zu].model\": must be 1-%d characters without "
                   "control characters", i, CSG_EVENT_NAME_MAX);
    memcpy(r->model, v->s, v->n);
    r->model[v->n] = '\0';
    const char *st = cstr(&o[C_STATUS], buf, sizeof buf);
    if (!csg_event_status_parse(st, &r->status) ||
        (r->status != CSG_EVENT_OK && r->status != CSG_EVENT_CHALLENGER_TIMEOUT &&
         r->status != CSG_EVENT_CHALLENGER_ERROR))
        return say(msg, cap, "field \"challengers[%zu].status\": must be OK, CHALLENGER_TIMEOUT "
                   "or CHALLENGER_ERROR", i);
    const csgp_jv *sc = &o[C_SCORE], *dc = &o[C_DECISION];
    bool sc_num = sc->t == CSGP_JV_INT || sc->t == CSGP_JV_REAL;
    r->has_score = r->status == CSG_EVENT_OK;
    if (r->has_score) {
        double d = sc_num ? sc->d : 0;
        if (!sc_num || !(d >= CSG_EVENT_SCORE_MIN && d <= CSG_EVENT_SCORE_MAX))
            return say(msg, cap, "field \"challengers[%zu].score\": must be a number in [0, 1] "
                       "when status is OK", i);
        r->score = d;
        r->decision = dc->t == CSGP_JV_STRING ? csg_decision_parse(dc->s, dc->n)
                                              : CSG_DECISION_NONE;
        if (r->decision == CSG_DECISION_NONE)
            return say(msg, cap, "field \"challengers[%zu].decision\": must be a decision when "
                       "status is OK", i);
    } else if (sc->t != CSGP_JV_NULL || dc->t != CSGP_JV_NULL) {
        return say(msg, cap, "field \"challengers[%zu]\": score and decision must be null when "
                   "the challenger gave no answer", i);
    }
    v = &o[C_LATENCY];
    bool lat_num = v->t == CSGP_JV_INT || v->t == CSGP_JV_REAL;
    double lat = lat_num ? v->d : 0;
    if (!lat_num || !(lat >= 0 && lat <= CSG_EVENT_LATENCY_MS_MAX))
        return say(msg, cap, "field \"challengers[%zu].latency_ms\": must be a number in [0, 1e9]",
                   i);
    r->latency_ms = lat;
    const char *mode = cstr(&o[C_MODE], buf, sizeof buf);
    if (!mode || (strcmp(mode, CSG_MODE_SHADOW_NAME) && strcmp(mode, CSG_MODE_LIVE_NAME)))
        return say(msg, cap, "field \"challengers[%zu].mode\": must be shadow or live", i);
    r->live = !strcmp(mode, CSG_MODE_LIVE_NAME);
    v = &o[C_TRIAL];
    if (v->t != CSGP_JV_ABSENT && v->t != CSGP_JV_TRUE && v->t != CSGP_JV_FALSE)
        return say(msg, cap, "field \"challengers[%zu].trial\": must be true or false (or absent)",
                   i);
    r->trial = v->t == CSGP_JV_TRUE;
    return reasons(&o[C_REASONS], i, r->has_score, &r->reasons, msg, cap);
}

/* Element i of a jansson array. */
static const char *element_json(json_t *o, size_t i, csgp_chal_result *r, char *msg, size_t cap)
{
    if (!json_is_object(o)) {
        memset(r, 0, sizeof *r);
        return say(msg, cap, "field \"challengers[%zu]\": must be an object", i);
    }
    csgp_jv vals[C_KEYS];
    for (int k = 0; k < C_KEYS; k++)
        csgp_jv_from_json(json_object_get(o, keys[k]), &vals[k]);
    return element(vals, i, r, msg, cap);
}

/* The next element of the scanner's array text at *p (past '[' or ','), or a refusal:
 * the jansson path words it (an unknown key is left to it as well). */
static const char *element_scanned(const char **p, const char *end, size_t i,
                                   csgp_chal_result *r, char *msg, size_t cap)
{
    const char *names[C_KEYS];
    size_t lens[C_KEYS];
    csgp_jv got[C_KEYS], vals[C_KEYS];
    memset(r, 0, sizeof *r);
    int n = csgp_scan_members(*p, (size_t)(end - *p), names, lens, got, C_KEYS, p);
    if (n < 0)
        return say(msg, cap, "field \"challengers[%zu]\": not read by the scanner", i);
    for (int k = 0; k < C_KEYS; k++)
        vals[k] = (csgp_jv){.t = CSGP_JV_ABSENT};
    for (int m = 0; m < n; m++) {
        int k = 0;
        while (k < C_KEYS && !(strlen(keys[k]) == lens[m] && !memcmp(keys[k], names[m], lens[m])))
            k++;
        if (k == C_KEYS)
            return say(msg, cap, "field \"challengers[%zu]\": not read by the scanner", i);
        vals[k] = got[m];
    }
    return element(vals, i, r, msg, cap);
}

/* The challengers array: jansson's node a, or (a NULL) the scanner's text s[0..len). */
static const char *array(json_t *a, const char *s, size_t len, csgp_event *ev, char *msg,
                         size_t cap)
{
    if (a && (!json_is_array(a) || json_array_size(a) > CSG_EVENT_MAX_CHALLENGERS))
        return say(msg, cap, "field \"challengers\": must be null or an array of at most %d "
                   "challenger results", CSG_EVENT_MAX_CHALLENGERS);
    /* the scanner's array: its syntax is checked, its length known at its end */
    size_t n = a ? json_array_size(a) : CSG_EVENT_MAX_CHALLENGERS;
    const char *end = s + len, *p = a ? NULL : csg_jscan_ws(s + 1, end);
    bool more = p && p < end && *p != ']';
    ev->chal = calloc(n ? n : 1, sizeof *ev->chal);
    if (!ev->chal)
        return say(msg, cap, "field \"challengers\": out of memory");
    size_t i = 0;
    for (; a ? i < n : more; i++) {
        const char *bad;
        if (a)
            bad = element_json(json_array_get(a, i), i, &ev->chal[i], msg, cap);
        else if (i == n)
            bad = say(msg, cap, "field \"challengers\": more than %d results", (int)n);
        else if (!(bad = element_scanned(&p, end, i, &ev->chal[i], msg, cap)))
            p = csg_jscan_next(p, end, ']', &more);
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
    ev->n_chal = (int)i;
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
        /* jansson's node, or the scanner's text of an array of objects (its empty array
         * is a CSGP_JV_ARRAY of no strings); any other value is refused (jansson words it) */
        const csgp_jv *c = challengers;
        bool scanned = !c->j && (c->t == CSGP_JV_OBJECTS || (c->t == CSGP_JV_ARRAY && !c->n));
        const char *bad =
            c->j || scanned
                ? array(c->j, c->t == CSGP_JV_OBJECTS ? c->s : "[]",
                        c->t == CSGP_JV_OBJECTS ? c->n : 2, ev, msg, cap)
                : say(msg, cap, "field \"challengers\": must be null or an array of at most %d "
                      "challenger results", CSG_EVENT_MAX_CHALLENGERS);
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
