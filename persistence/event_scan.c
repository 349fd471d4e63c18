/*
 * event_scan.c — see event_scan.h.
 */
#include "event_scan.h"

#include <string.h>

#include "csg_json_scan.h"

/* The schema field named k[0..n); the gateway writes them in the table's order, so the
 * one after the previous key is tried first. -1: not a schema key. */
static int field_of(const char *k, size_t n, int hint)
{
    for (int step = 0; step < CSG_EF_COUNT; step++) {
        int i = (hint + step) % CSG_EF_COUNT;
        const char *name = csg_event_fields[i].name;
        if (strncmp(name, k, n) == 0 && name[n] == '\0')
            return i;
    }
    return -1;
}

/* An array of plain strings, p just past its '['. */
static const char *scan_array(const char *p, const char *end, csgp_jv *v)
{
    v->t = CSGP_JV_ARRAY;
    v->n = 0;
    p = csg_jscan_ws(p, end);
    if (p < end && *p == ']')
        return p + 1;
    for (;;) {
        if (v->n == CSG_REASONS_MAX)
            return NULL;
        p = csg_jscan_str(p, end, &v->item[v->n], &v->item_n[v->n]);
        if (!p)
            return NULL;
        v->n++;
        bool more;
        if (!(p = csg_jscan_next(p, end, ']', &more)) || !more)
            return p;
    }
}

static int scan_members(const char *text, size_t len, const char **names, size_t *lens,
                        csgp_jv *vals, int max, const char **next, bool convert);

/* convert false: a number's syntax only (its value is read on the pass that uses it). */
static const char *scan_scalar(const char *p, const char *end, csgp_jv *v, bool convert)
{
    if (p >= end)
        return NULL;
    if (*p == '"') {
        v->t = CSGP_JV_STRING;
        return csg_jscan_str(p, end, &v->s, &v->n);
    }
    if (*p == '[')
        return scan_array(p + 1, end, v);
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        bool is_int;
        const char *q = csg_jscan_num(p, end, &is_int);
        if (!q || (convert && !csg_jscan_num_value(p, (size_t)(q - p), is_int, &v->i, &v->d)))
            return NULL;
        v->t = is_int ? CSGP_JV_INT : CSGP_JV_REAL;
        return q;
    }
    static const struct {
        const char *word;
        csgp_jv_type t;
    } words[] = {{"null", CSGP_JV_NULL}, {"true", CSGP_JV_TRUE}, {"false", CSGP_JV_FALSE}};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t n = strlen(words[w].word);
        if ((size_t)(end - p) >= n && memcmp(p, words[w].word, n) == 0) {
            v->t = words[w].t;
            return p + n;
        }
    }
    return NULL; /* an object, or not JSON */
}

/* Past the flat object at p ('{'), members checked as csgp_scan_members reads them. */
static const char *skip_object(const char *p, const char *end)
{
    const char *names[CSG_EVENT_MAX_FEATURES], *next;
    size_t lens[CSG_EVENT_MAX_FEATURES];
    csgp_jv vals[CSG_EVENT_MAX_FEATURES];
    if (scan_members(p, (size_t)(end - p), names, lens, vals, CSG_EVENT_MAX_FEATURES, &next,
                     false) < 0)
        return NULL;
    return next;
}

/* A value of the event: a scalar, an array of strings, a flat object or an array of
 * flat objects (their text in s/n). */
static const char *scan_value(const char *p, const char *end, csgp_jv *v)
{
    if (p < end && *p == '{') {
        const char *q = skip_object(p, end);
        v->t = CSGP_JV_OBJECT;
        v->s = p;
        v->n = q ? (size_t)(q - p) : 0;
        return q;
    }
    const char *q = p < end && *p == '[' ? csg_jscan_ws(p + 1, end) : NULL;
    if (!q || q >= end || *q != '{')
        return scan_scalar(p, end, v, true);
    for (;;) {
        bool more;
        if (!(q = skip_object(q, end)) || !(q = csg_jscan_next(q, end, ']', &more)))
            return NULL;
        if (!more)
            break;
    }
    v->t = CSGP_JV_OBJECTS;
    v->s = p;
    v->n = (size_t)(q - p);
    return q;
}

static int scan_members(const char *text, size_t len, const char **names, size_t *lens,
                        csgp_jv *vals, int max, const char **next, bool convert)
{
    const char *p = text, *end = text + len;
    int n = 0;
    p = csg_jscan_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = csg_jscan_ws(p + 1, end);
    bool more = p < end && *p != '}';
    if (!more)
        p++;
    while (more) {
        const char *k;
        size_t kn;
        if (n == max || !(p = csg_jscan_key(p, end, &k, &kn)))
            return -1;
        for (int i = 0; i < n; i++)
            if (lens[i] == kn && !memcmp(names[i], k, kn))
                return -1; /* jansson refuses duplicates (JSON_REJECT_DUPLICATES) */
        vals[n].j = NULL;
        if (!(p = scan_scalar(p, end, &vals[n], convert)) ||
            !(p = csg_jscan_next(p, end, '}', &more)))
            return -1;
        names[n] = k;
        lens[n++] = kn;
    }
    if (next)
        *next = p;
    return n;
}

int csgp_scan_members(const char *text, size_t len, const char **names, size_t *lens,
                      csgp_jv *vals, int max, const char **next)
{
    return scan_members(text, len, names, lens, vals, max, next, true);
}

bool csgp_event_scan(const char *json, size_t len, csgp_jv vals[CSG_EF_COUNT])
{
    const char *p = json, *end = json + len;
    for (int i = 0; i < CSG_EF_COUNT; i++)
        vals[i].t = CSGP_JV_ABSENT, vals[i].j = NULL;
    p = csg_jscan_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p = csg_jscan_ws(p + 1, end);
    if (p < end && *p == '}')
        return csg_jscan_ws(p + 1, end) == end;
    int hint = 0;
    for (;;) {
        const char *k;
        size_t kn;
        p = csg_jscan_key(p, end, &k, &kn);
        if (!p)
            return false;
        int f = field_of(k, kn, hint);
        if (f < 0 || vals[f].t != CSGP_JV_ABSENT)
            return false; /* another key (jansson ignores it) or a repeated one */
        hint = f + 1;
        p = scan_value(p, end, &vals[f]);
        bool more;
        if (!p || !(p = csg_jscan_next(p, end, '}', &more)))
            return false;
        if (!more)
            return csg_jscan_ws(p, end) == end;
    }
}

void csgp_jv_from_json(json_t *v, csgp_jv *out)
{
    memset(out, 0, sizeof *out);
    out->j = v;
    if (!v)
        out->t = CSGP_JV_ABSENT;
    else if (json_is_null(v))
        out->t = CSGP_JV_NULL;
    else if (json_is_true(v))
        out->t = CSGP_JV_TRUE;
    else if (json_is_false(v))
        out->t = CSGP_JV_FALSE;
    else if (json_is_integer(v))
        out->t = CSGP_JV_INT, out->i = json_integer_value(v), out->d = json_number_value(v);
    else if (json_is_real(v))
        out->t = CSGP_JV_REAL, out->d = json_real_value(v);
    else if (json_is_string(v))
        out->t = CSGP_JV_STRING, out->s = json_string_value(v), out->n = json_string_length(v);
    else if (json_is_array(v))
        out->t = CSGP_JV_ARRAY, out->n = json_array_size(v);
    else
        out->t = CSGP_JV_OBJECT;
}

void csgp_jv_item(const csgp_jv *a, size_t i, csgp_jv *out)
{
    if (a->j) {
        csgp_jv_from_json(json_array_get(a->j, i), out);
        return;
    }
    memset(out, 0, sizeof *out);
    out->t = CSGP_JV_STRING;
    out->s = a->item[i];
    out->n = a->item_n[i];
}

bool csgp_jv_is(const csgp_jv *v, const char *s)
{
    return v->t == CSGP_JV_STRING && strlen(s) == v->n && memcmp(v->s, s, v->n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Features texts                                                           */

bool csgp_features_open(csgp_features_it *it, const char *text)
{
    it->i = it->n = 0;
    it->root = NULL;
    it->iter = NULL;
    if (!text)
        return false;
    /* A flat object the scanner reads whole (each name once, names and strings within the
     * event's bounds, no arrays), else jansson's. */
    size_t len = strlen(text);
    const char *next;
    int n = csgp_scan_members(text, len, it->names, it->lens, it->vals, CSG_EVENT_MAX_FEATURES,
                              &next);
    bool flat = n >= 0 && csg_jscan_ws(next, text + len) == text + len;
    for (int i = 0; flat && i < n; i++)
        flat = it->lens[i] >= 1 && it->lens[i] <= CSG_EVENT_FEATURE_NAME_MAX &&
               it->vals[i].t != CSGP_JV_ARRAY &&
               (it->vals[i].t != CSGP_JV_STRING || it->vals[i].n <= CSG_EVENT_CATEGORY_MAX);
    if (flat) {
        it->n = n;
        return true;
    }
    it->root = json_loads(text, 0, NULL);
    if (!json_is_object(it->root)) {
        json_decref(it->root);
        it->root = NULL;
        return false;
    }
    it->iter = json_object_iter(it->root);
    return true;
}

bool csgp_features_next(csgp_features_it *it, csgp_feature *f)
{
    csgp_jv jv;
    const csgp_jv *v = &jv;
    memset(f, 0, sizeof *f);
    if (it->root) {
        if (!it->iter)
            return false;
        f->name = json_object_iter_key(it->iter);
        csgp_jv_from_json(json_object_iter_value(it->iter), &jv);
        it->iter = json_object_iter_next(it->root, it->iter);
        f->s = jv.t == CSGP_JV_STRING ? jv.s : NULL;
    } else {
        if (it->i >= it->n)
            return false;
        int i = it->i++;
        v = &it->vals[i];
        memcpy(it->name, it->names[i], it->lens[i]);
        it->name[it->lens[i]] = '\0';
        f->name = it->name;
        if (v->t == CSGP_JV_STRING) {
            memcpy(it->str, v->s, v->n);
            it->str[v->n] = '\0';
            f->s = it->str;
        }
    }
    f->t = v->t;
    f->d = v->d;
    return true;
}

void csgp_features_close(csgp_features_it *it)
{
    json_decref(it->root);
    it->root = NULL;
}
