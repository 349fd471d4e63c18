/*
 * app_scan.c — see app_scan.h. The grammar is jansson 2.14's (RFC 8259,
 * strict UTF-8 in strings, integers within int64, reals that do not
 * overflow, duplicate keys refused); a value is read the way
 * application.c's jansson path reads it.
 */
#include "app_scan.h"
#include "application.h"

#include "csg_utf8.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Unknown keys remembered for the duplicate check; more → jansson path. */
#define SCAN_MAX_UNKNOWN 16
/* Longest number token read here (a stack copy for strtod). */
#define SCAN_NUM_MAX 64

typedef enum { TOK_STRING, TOK_INT, TOK_REAL, TOK_TRUE, TOK_FALSE, TOK_NULL } tok_kind;

typedef struct scan {
    const char *p, *end;
} scan;

typedef struct token {
    tok_kind kind;
    const char *s; /* a string's bytes (unescaped: the scanner takes no escapes) */
    size_t len;
    int64_t i;
    double d;
} token;

static void skip_ws(scan *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\n' || *sc->p == '\r' || *sc->p == '\t'))
        sc->p++;
}

/* A string after its opening quote, up to the closing one. */
static bool scan_string(scan *sc, token *t)
{
    const char *s = sc->p;
    while (sc->p < sc->end) {
        unsigned char c = (unsigned char)*sc->p;
        if (c == '"') {
            t->kind = TOK_STRING;
            t->s = s;
            t->len = (size_t)(sc->p - s);
            sc->p++;
            return true;
        }
        if (c == '\\' || c < 0x20)
            return false;
        if (c < 0x80) {
            sc->p++;
            continue;
        }
        size_t k = csg_utf8_seq((const unsigned char *)sc->p, (size_t)(sc->end - sc->p));
        if (!k)
            return false;
        sc->p += k;
    }
    return false;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* int64 from an integer token: false past the range (jansson: "too big"). */
static bool to_int64(const char *s, size_t n, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (size_t k = neg; k < n; k++) {
        uint64_t dgt = (uint64_t)(s[k] - '0');
        if (v > (lim - dgt) / 10)
            return false;
        v = v * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool scan_number(scan *sc, token *t)
{
    const char *s = sc->p, *e = sc->end, *p = s;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return false;
    if (*p == '0') {
        p++;
        if (p < e && is_digit(*p))
            return false;
    } else {
        while (p < e && is_digit(*p))
            p++;
    }
    bool real = false;
    if (p < e && *p == '.') {
        real = true;
        p++;
        if (p >= e || !is_digit(*p))
            return false;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return false;
        while (p < e && is_digit(*p))
            p++;
    }
    size_t n = (size_t)(p - s);
    sc->p = p;
    if (!real) {
        t->kind = TOK_INT;
        return to_int64(s, n, &t->i);
    }
    if (n >= SCAN_NUM_MAX)
        return false;
    char buf[SCAN_NUM_MAX];
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    t->kind = TOK_REAL;
    char *end;
    t->d = strtod(buf, &end);
    /* Not all of it read: a host locale whose decimal point is not '.' (jansson
     * converts; leave it to jansson). */
    if (end != buf + n)
        return false;
    return !((t->d == HUGE_VAL || t->d == -HUGE_VAL) && errno == ERANGE); /* jansson: overflow */
}

static bool scan_literal(scan *sc, const char *word, size_t n)
{
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n))
        return false;
    sc->p += n;
    return true;
}

/* One member value: a scalar (objects and arrays are left to jansson). */
static bool scan_value(scan *sc, token *t)
{
    if (sc->p >= sc->end)
        return false;
    switch (*sc->p) {
    case '"': sc->p++; return scan_string(sc, t);
    case 't': t->kind = TOK_TRUE; return scan_literal(sc, "true", 4);
    case 'f': t->kind = TOK_FALSE; return scan_literal(sc, "false", 5);
    case 'n': t->kind = TOK_NULL; return scan_literal(sc, "null", 4);
    default: return scan_number(sc, t);
    }
}

/* Feature f's value from token t, as application.c's feature_value reads
 * jansson's: false when it breaks the rule. */
static bool feature_value(const csg_feature *f, const token *t, app_val *out)
{
    switch (f->type) {
    case CSG_FEATURE_NUMBER: {
        double d;
        if (t->kind == TOK_INT)
            d = (double)t->i;
        else if (t->kind == TOK_REAL)
            d = t->d;
        else
            return false;
        if (!csg_app_number_in_rule(f, d))
            return false;
        out->d = d;
        return true;
    }
    case CSG_FEATURE_INTEGER:
        if (t->kind != TOK_INT || t->i < f->imin || t->i > f->imax)
            return false;
        out->i = t->i;
        return true;
    case CSG_FEATURE_CATEGORY: {
        if (t->kind != TOK_STRING)
            return false;
        int k = csg_feature_find_value(f, t->s, t->len);
        if (k < 0)
            return false;
        out->k = (uint32_t)k;
        return true;
    }
    case CSG_FEATURE_BOOLEAN:
        if (t->kind != TOK_TRUE && t->kind != TOK_FALSE)
            return false;
        out->b = t->kind == TOK_TRUE;
        return true;
    }
    return false;
}

static bool key_is(const token *k, const char *lit, size_t n)
{
    return k->len == n && !memcmp(k->s, lit, n);
}

/* State across the members of the object. */
typedef struct members {
    bool have_id, have_rid;
    const char *unknown[SCAN_MAX_UNKNOWN];
    size_t unknown_len[SCAN_MAX_UNKNOWN];
    unsigned n_unknown;
} members;

/* A key not in the schema: false when repeated, refused, or one too many. */
static bool unknown_member(const csg_schema *schema, members *m, const token *k)
{
    if (schema->reject_unknown || m->n_unknown == SCAN_MAX_UNKNOWN)
        return false;
    for (unsigned u = 0; u < m->n_unknown; u++)
        if (m->unknown_len[u] == k->len && !memcmp(m->unknown[u], k->s, k->len))
            return false;
    m->unknown[m->n_unknown] = k->s;
    m->unknown_len[m->n_unknown++] = k->len;
    return true;
}

static bool member(const csg_schema *schema, members *m, const token *k, const token *v,
                   app_fields *out, char *request_id)
{
    if (key_is(k, "applicant_id", 12)) {
        if (m->have_id || v->kind != TOK_STRING || !csg_app_valid_applicant_id(v->s, v->len))
            return false;
        m->have_id = true;
        memcpy(out->id, v->s, v->len);
        out->id[v->len] = '\0';
        return true;
    }
    if (key_is(k, "request_id", 10)) {
        if (m->have_rid)
            return false;
        m->have_rid = true;
        if (!request_id)
            return true; /* any value: the caller does not read it */
        if (v->kind != TOK_STRING || !csg_valid_request_id(v->s, v->len))
            return false;
        memcpy(request_id, v->s, v->len);
        request_id[v->len] = '\0';
        return true;
    }
    int i = csg_schema_find(schema, k->s, k->len);
    if (i < 0)
        return unknown_member(schema, m, k);
    if (out->present >> i & 1u || !feature_value(&schema->f[i], v, &out->v[i]))
        return false;
    out->present |= (uint64_t)1 << i;
    return true;
}

bool csg_app_scan(const csg_schema *schema, const char *json, size_t len, app_fields *out,
                  char *request_id)
{
    scan sc = {json, json + len};
    members m = {0};
    out->present = 0;
    if (request_id)
        request_id[0] = '\0';
    skip_ws(&sc);
    if (sc.p >= sc.end || *sc.p++ != '{')
        return false;
    for (;;) {
        token k, v;
        skip_ws(&sc);
        if (sc.p >= sc.end || *sc.p++ != '"' || !scan_string(&sc, &k))
            return false; /* "{}" has no applicant_id either */
        skip_ws(&sc);
        if (sc.p >= sc.end || *sc.p++ != ':')
            return false;
        skip_ws(&sc);
        if (!scan_value(&sc, &v) || !member(schema, &m, &k, &v, out, request_id))
            return false;
        skip_ws(&sc);
        if (sc.p >= sc.end)
            return false;
        char c = *sc.p++;
        if (c == '}')
            break;
        if (c != ',')
            return false;
    }
    skip_ws(&sc);
    if (sc.p != sc.end || !m.have_id)
        return false;
    for (unsigned i = 0; i < schema->n; i++)
        if (schema->f[i].required && !(out->present >> i & 1u))
            return false;
    return true;
}
