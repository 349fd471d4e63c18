/*
 * rest_reply.c — see rest_reply.h. Owns the verdict on a model's reply body.
 *
 * Why two paths: the usual {"score":0.72,"decision":"approve"} (also with
 * "points" and a "reasons" list of escape-free strings) is decided by a small
 * scanner without building a jansson tree (it runs for every model call);
 * anything the scanner does not handle goes to jansson, and the scanner gives
 * the same verdict and the same words wherever it answers (the unit test and
 * fuzz_model_reply compare it with rest_reply_check_jansson).
 */
#include "rest_reply.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csg_json_scan.h"
#include "csg_reason.h"

#define FR_KEYS_MAX 8 /* keys the fast path tracks; a reply with more goes to jansson */

/* A model's decision (DESIGN §5 Model API): approve or decline, in lib/csg_vocab.h's
 * spelling; review is the gateway's own fallback, never a model's. */
static bool model_decision(const char *s, size_t n, csg_decision *out)
{
    csg_decision d = csg_decision_parse(s, n);
    if (d != CSG_DECISION_APPROVE && d != CSG_DECISION_DECLINE)
        return false;
    *out = d;
    return true;
}

static const char *reason_error(int why);

/* One reason's fields as they stand in the body (escape-free), NULL when absent. */
typedef struct fr_reason {
    const char *v[3]; /* code, feature, text */
    size_t n[3];
} fr_reason;

/* A reasons list of at most CSG_REASONS_MAX flat objects whose values are all
 * plain strings, p just past its '['. Anything else (more entries, another
 * value type, a repeated key, escapes) returns NULL: jansson decides. */
static const char *fr_reasons(const char *p, const char *end, fr_reason *rs, unsigned *count)
{
    static const char *const names[3] = {"code", "feature", "text"};
    *count = 0;
    p = csg_jscan_ws(p, end);
    if (p < end && *p == ']')
        return p + 1;
    for (;;) {
        if (*count == CSG_REASONS_MAX || p >= end || *p != '{')
            return NULL;
        fr_reason *r = &rs[(*count)++];
        memset(r, 0, sizeof *r);
        const char *seen[FR_KEYS_MAX];
        size_t seen_n[FR_KEYS_MAX], nseen = 0;
        p = csg_jscan_ws(p + 1, end);
        if (p < end && *p == '}') {
            p++;
        } else {
            for (;;) {
                const char *k, *v;
                size_t kn, vn;
                p = csg_jscan_str(p, end, &k, &kn);
                if (!p || nseen == FR_KEYS_MAX)
                    return NULL;
                for (size_t i = 0; i < nseen; i++)
                    if (seen_n[i] == kn && memcmp(seen[i], k, kn) == 0)
                        return NULL;
                seen[nseen] = k;
                seen_n[nseen++] = kn;
                p = csg_jscan_ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p = csg_jscan_str(csg_jscan_ws(p + 1, end), end, &v, &vn);
                if (!p)
                    return NULL;
                for (int f = 0; f < 3; f++)
                    if (kn == strlen(names[f]) && memcmp(k, names[f], kn) == 0)
                        r->v[f] = v, r->n[f] = vn;
                bool more;
                if (!(p = csg_jscan_next(p, end, '}', &more)))
                    return NULL;
                if (!more)
                    break;
            }
        }
        bool more;
        if (!(p = csg_jscan_next(p, end, ']', &more)) || !more)
            return p;
    }
}

/* The model reply without building a jansson tree: a flat object whose keys
 * and strings are plain ASCII and whose values are scalars. Anything else
 * (nesting other than a reasons list fr_reasons reads, escapes, duplicate
 * keys, more than FR_KEYS_MAX keys, numbers jansson would reject, a "points"
 * that is not a number, trailing bytes) returns false and the caller takes the jansson
 * path, so the verdict and error text are always the ones below.
 * true: *out set, or err. */
static bool fast_reply(const char *body, size_t len, rest_answer *out, const char **err)
{
    enum { T_MISSING, T_NUM, T_STR, T_OTHER };
    const char *p = body, *end = body + len;
    int st = T_MISSING, dt = T_MISSING;
    double sv = 0, pv = 0;
    bool has_points = false;
    fr_reason rs[CSG_REASONS_MAX];
    unsigned nrs = 0;
    const char *dv = NULL;
    size_t dn = 0;
    struct {
        const char *s;
        size_t n;
    } keys[FR_KEYS_MAX]; /* seen so far: a repeated key is malformed */
    size_t nkeys = 0;
    p = csg_jscan_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p = csg_jscan_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *k;
            size_t kn;
            p = csg_jscan_key(p, end, &k, &kn);
            if (!p || p >= end)
                return false;
            /* Escape-free keys: equal bytes are equal keys. A duplicate, or
             * more keys than a model reply has, is left to jansson. */
            if (nkeys == FR_KEYS_MAX)
                return false;
            for (size_t i = 0; i < nkeys; i++)
                if (keys[i].n == kn && memcmp(keys[i].s, k, kn) == 0)
                    return false;
            keys[nkeys].s = k;
            keys[nkeys++].n = kn;
            bool is_score = kn == 5 && memcmp(k, "score", 5) == 0;
            bool is_dec = kn == 8 && memcmp(k, "decision", 8) == 0;
            bool is_points = kn == 6 && memcmp(k, "points", 6) == 0;
            bool is_reasons = kn == 7 && memcmp(k, "reasons", 7) == 0;
            int t;
            if (is_reasons) {
                /* A reasons value of another type goes to jansson. */
                if (*p != '[' || !(p = fr_reasons(p + 1, end, rs, &nrs)))
                    return false;
                t = T_OTHER;
            } else if (*p == '"') {
                if (is_points)
                    return false;
                const char *v;
                size_t vn;
                p = csg_jscan_str(p, end, &v, &vn);
                if (!p)
                    return false;
                t = T_STR;
                if (is_dec) {
                    dv = v;
                    dn = vn;
                }
            } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
                bool is_int;
                const char *q = csg_jscan_num(p, end, &is_int);
                if (!q || (is_int && q - p > 15))
                    return false; /* malformed, or long: jansson's range rules apply */
                /* Any real token is read: one jansson cannot represent
                 * (1e999, in whatever key) makes it refuse the whole body. */
                if (is_score || is_points || !is_int) {
                    long long iv;
                    double v;
                    if (!csg_jscan_num_value(p, (size_t)(q - p), is_int, &iv, &v))
                        return false;
                    if (is_score)
                        sv = v;
                    else if (is_points)
                        pv = v, has_points = true;
                }
                p = q;
                t = T_NUM;
            } else if (is_points) {
                return false; /* not a number: jansson's path words the error */
            } else if ((size_t)(end - p) >= 4 &&
                       (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) {
                p += 4;
                t = T_OTHER;
            } else if ((size_t)(end - p) >= 5 && memcmp(p, "false", 5) == 0) {
                p += 5;
                t = T_OTHER;
            } else {
                return false; /* nested value or garbage */
            }
            if (is_score)
                st = t;
            if (is_dec)
                dt = t;
            bool more;
            if (!(p = csg_jscan_next(p, end, '}', &more)))
                return false;
            if (!more)
                break;
        }
    }
    if (csg_jscan_ws(p, end) != end)
        return false;
    /* Same checks, same order, same words as the jansson path. */
    if (st != T_NUM || !isfinite(sv) || sv < 0 || sv > 1)
        *err = "model reply has no score in [0,1]";
    else if (dt != T_STR)
        *err = "model reply has no decision";
    else if (!model_decision(dv, dn, &out->decision))
        *err = "model decision is neither approve nor decline";
    if (!*err && has_points && !isfinite(pv))
        *err = "malformed points: must be a finite number";
    if (!*err && nrs > 0 && out->decision == CSG_DECISION_APPROVE)
        *err = "malformed reasons: an approve carries none";
    for (unsigned i = 0; !*err && i < nrs; i++) {
        const fr_reason *r = &rs[i];
        int why = !r->v[0]   ? CSG_REASON_BAD_CODE
                  : !r->v[1] ? CSG_REASON_BAD_FEATURE
                  : !r->v[2] ? CSG_REASON_BAD_TEXT
                             : csg_reason_check(r->v[0], r->n[0], r->v[1], r->n[1], r->v[2],
                                                r->n[2], false);
        if (why != CSG_REASON_OK) {
            *err = reason_error(why);
            break;
        }
        for (unsigned k = 0; k < i && !*err; k++)
            if (rs[k].n[0] == r->n[0] && memcmp(rs[k].v[0], r->v[0], r->n[0]) == 0)
                *err = "malformed reasons: a code appears twice";
        rest_reason *o = &out->reasons[i];
        /* The check bounds every length to its field. */
        memcpy(o->code, r->v[0], r->n[0]), o->code[r->n[0]] = '\0';
        memcpy(o->feature, r->v[1], r->n[1]), o->feature[r->n[1]] = '\0';
        memcpy(o->text, r->v[2], r->n[2]), o->text[r->n[2]] = '\0';
    }
    if (!*err) {
        out->score = sv;
        out->has_points = has_points;
        out->points = pv;
        out->reason_count = nrs;
    }
    return true;
}

/* The "malformed reasons: …" text for a csg_reason_check answer (static). */
static const char *reason_error(int why)
{
    switch (why) {
    case CSG_REASON_BAD_CODE:
        return "malformed reasons: code must be 1-16 characters of A-Z, 0-9, _";
    case CSG_REASON_BAD_FEATURE:
        return "malformed reasons: feature must be a feature name [a-z][a-z0-9_]{0,31}";
    default:
        return "malformed reasons: text must be 1-200 bytes of UTF-8 without control characters";
    }
}

/* "points" and "reasons" of a reply already known to be good otherwise. */
static const char *check_extras(json_t *root, rest_answer *out)
{
    json_t *pt = json_object_get(root, "points");
    out->has_points = pt != NULL;
    out->points = 0;
    out->reason_count = 0;
    if (pt) {
        if (!json_is_number(pt) || !isfinite(json_number_value(pt)))
            return "malformed points: must be a finite number";
        out->points = json_number_value(pt);
    }
    json_t *rs = json_object_get(root, "reasons");
    if (!rs)
        return NULL; /* a model without reasons (e.g. from before them) */
    if (!json_is_array(rs))
        return "malformed reasons: not an array";
    if (json_array_size(rs) > CSG_REASONS_MAX)
        return "malformed reasons: more than 4";
    if (json_array_size(rs) > 0 && out->decision == CSG_DECISION_APPROVE)
        return "malformed reasons: an approve carries none";
    size_t i;
    json_t *r;
    json_array_foreach(rs, i, r) {
        if (!json_is_object(r))
            return "malformed reasons: an entry is not an object";
        json_t *c = json_object_get(r, "code"), *f = json_object_get(r, "feature"),
               *t = json_object_get(r, "text");
        int why = !json_is_string(c)   ? CSG_REASON_BAD_CODE
                  : !json_is_string(f) ? CSG_REASON_BAD_FEATURE
                  : !json_is_string(t) ? CSG_REASON_BAD_TEXT
                                       : csg_reason_check(json_string_value(c), json_string_length(c),
                                                          json_string_value(f), json_string_length(f),
                                                          json_string_value(t), json_string_length(t),
                                                          false);
        if (why != CSG_REASON_OK)
            return reason_error(why);
        rest_reason *o = &out->reasons[i];
        for (size_t k = 0; k < i; k++)
            if (strcmp(out->reasons[k].code, json_string_value(c)) == 0)
                return "malformed reasons: a code appears twice";
        /* The checks bound every length to its field. */
        memcpy(o->code, json_string_value(c), json_string_length(c) + 1);
        memcpy(o->feature, json_string_value(f), json_string_length(f) + 1);
        memcpy(o->text, json_string_value(t), json_string_length(t) + 1);
    }
    out->reason_count = (unsigned)json_array_size(rs);
    return NULL;
}


const char *rest_reply_check(const char *body, size_t len, rest_answer *out)
{
    const char *err = NULL;
    if (fast_reply(body, len, out, &err))
        return err; /* the usual {"score":0.72,"decision":"approve"}: decided without jansson */
    return rest_reply_check_jansson(body, len, out);
}

const char *rest_reply_check_jansson(const char *body, size_t len, rest_answer *out)
{
    const char *err = NULL;
    /* A key twice is malformed, never "the last one wins" (jansson's default). */
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *s = root ? json_object_get(root, "score") : NULL;
    json_t *dv = root ? json_object_get(root, "decision") : NULL;
    if (!root && json_error_code(&jerr) == json_error_duplicate_key) {
        err = "model reply has a duplicate key";
    } else if (!root || !json_is_object(root)) {
        err = "model reply is not a JSON object";
    } else if (!json_is_number(s) || !isfinite(json_number_value(s)) ||
               json_number_value(s) < 0 || json_number_value(s) > 1) {
        err = "model reply has no score in [0,1]";
    } else if (!json_is_string(dv)) {
        err = "model reply has no decision";
    } else {
        out->score = json_number_value(s);
        if (!model_decision(json_string_value(dv), json_string_length(dv), &out->decision))
            err = "model decision is neither approve nor decline";
        if (!err)
            err = check_extras(root, out);
    }
    json_decref(root);
    return err;
}
