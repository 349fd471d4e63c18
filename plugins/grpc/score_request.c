/*
 * score_request.c — csg.v1.ScoreRequest → flat JSON application → the core's
 * parser. Owns the gRPC side of DESIGN §5 "Features": fields 2-4 or the
 * features map, never both; map entries become JSON members. The field rules
 * themselves are the core's (see score_request.h).
 */
#include "score_request.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_event_schema.h" /* the feature name rule (DESIGN §3), one copy */
#include "csg_utf8.h" /* proto3 strings are not checked on the wire; JSON text is UTF-8 */
#include "score_wire.h"

_Static_assert(CSG_SR_NAME_MAX == CSG_EVENT_FEATURE_NAME_MAX, "one feature name bound");

/* ------------------------------------------------------------------------ */
/* What cannot be written as the JSON application                            */

static csg_sr_status refuse(csg_sr_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static csg_sr_status refuse(csg_sr_error *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    csg_errbuf_vset(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return CSG_SR_INVALID_FIELD;
}

/* A key for an error message: printable ASCII, the rest as \xNN, cut at 40. */
static void quote_key(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < 40 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (len > 40 && o + 4 < cap)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

/* A map entry before the last-entry-wins rule: its place on the wire breaks ties. */
typedef struct {
    const csg_sw_entry *e;
    size_t index;
} kept;

/* memcmp's order, inline: keys are short and differ early. */
static int kept_cmp(const kept *a, const kept *b)
{
    const unsigned char *x = (const unsigned char *)a->e->key.p;
    const unsigned char *y = (const unsigned char *)b->e->key.p;
    size_t n = a->e->key.len < b->e->key.len ? a->e->key.len : b->e->key.len, i = 0;
    while (i < n && x[i] == y[i])
        i++;
    if (i < n)
        return x[i] < y[i] ? -1 : 1;
    if (a->e->key.len != b->e->key.len)
        return a->e->key.len < b->e->key.len ? -1 : 1;
    return a->index < b->index ? -1 : 1;
}

/* Key order (then wire order): the refusal named first and the members'
 * order do not depend on the order a client wrote the map in. Insertion
 * sort: an application has a dozen features, a libc qsort call costs more. */
static void sort_kept(kept *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        kept x = v[i];
        size_t j = i;
        for (; j > 0 && kept_cmp(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static bool same_key(const csg_sw_entry *a, const csg_sw_entry *b)
{
    return a->key.len == b->key.len && memcmp(a->key.p, b->key.p, a->key.len) == 0;
}

/* Checks the entries (in key order) and leaves the survivors in v[0..*n). */
static csg_sr_status check_features(kept *v, size_t *n, csg_sr_error *err)
{
    sort_kept(v, *n);
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        if (i + 1 < *n && same_key(v[i].e, v[i + 1].e))
            continue; /* a later entry has the same key */
        const csg_sw_entry *e = v[i].e;
        if (!csg_event_feature_name_ok(e->key.p, e->key.len)) {
            char q[200];
            quote_key(e->key.p, e->key.len, q, sizeof q);
            return refuse(err, "features", "key \"%s\" is not a feature name ([a-z][a-z0-9_]{0,31})",
                          q);
        }
        if (e->key.len == 12 && memcmp(e->key.p, "applicant_id", 12) == 0)
            return refuse(err, "applicant_id", "is field 1 of ScoreRequest, not a feature");
        /* Wire strings are not NUL-terminated: a copy for refuse's field name. */
        char name[CSG_SR_NAME_MAX + 1];
        memcpy(name, e->key.p, e->key.len);
        name[e->key.len] = '\0';
        switch (e->has_value ? e->kind : CSG_SW_UNSET) {
        case CSG_SW_NUMBER:
            if (!isfinite(e->number))
                return refuse(err, name, "must be a finite number (JSON has no NaN or Infinity)");
            break;
        case CSG_SW_CATEGORY:
            if (memchr(e->category.p, '\0', e->category.len))
                return refuse(err, name, "category must not contain a NUL character");
            if (!csg_utf8_valid((const unsigned char *)e->category.p, e->category.len))
                return refuse(err, name, "category must be valid UTF-8");
            break;
        case CSG_SW_FLAG:
            break;
        default:
            return refuse(err, name, "FeatureValue has no value (set number, category or flag)");
        }
        v[out++] = v[i];
    }
    *n = out;
    return CSG_SR_OK;
}

/* ------------------------------------------------------------------------ */
/* Writing the JSON text (snprintf semantics: pos counts what is needed)     */

static void put(char *buf, size_t cap, size_t *pos, char c)
{
    if (*pos + 1 < cap)
        buf[*pos] = c;
    (*pos)++;
}

/* n bytes at once: what fits before the NUL's place is written. */
static void put_n(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + 1 < cap) {
        size_t room = cap - 1 - *pos;
        memcpy(buf + *pos, s, n < room ? n : room);
    }
    *pos += n;
}

static void put_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    put_n(buf, cap, pos, s, strlen(s));
}

/* Bytes a JSON string holds as they are (no escape): runs of them are copied at once. */
static bool plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

static void put_string(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char short_esc[0x20] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',
                                         ['\f'] = 'f', ['\r'] = 'r'};
    put(buf, cap, pos, '"');
    for (size_t i = 0; i < len;) {
        size_t run = i;
        while (run < len && plain((unsigned char)s[run]))
            run++;
        put_n(buf, cap, pos, s + i, run - i);
        if ((i = run) == len)
            break;
        unsigned char c = (unsigned char)s[i++];
        put(buf, cap, pos, '\\');
        if (c == '"' || c == '\\') {
            put(buf, cap, pos, (char)c);
        } else if (short_esc[c]) {
            put(buf, cap, pos, short_esc[c]);
        } else {
            put_raw(buf, cap, pos, "u00");
            put(buf, cap, pos, hex[c >> 4]);
            put(buf, cap, pos, hex[c & 15]);
        }
    }
    put(buf, cap, pos, '"');
}

/* A finite double, exactly: %.17g reads back as the same double. Integral
 * values below 1e17 come out as JSON integers ("40", as a JSON client writes
 * an integer feature); -0 as 0; the exponent as jansson writes it ("1e300"). */
static void put_number(char *buf, size_t cap, size_t *pos, double d)
{
    char t[32];
    if (d == floor(d) && fabs(d) < 1e17) { /* the same digits as %.17g, 20x faster */
        uint64_t u = (uint64_t)fabs(d);
        size_t i = sizeof t;
        t[--i] = '\0';
        do
            t[--i] = (char)('0' + u % 10);
        while (u /= 10);
        if (d < 0)
            t[--i] = '-';
        put_raw(buf, cap, pos, t + i);
        return;
    }
    snprintf(t, sizeof t, "%.17g", d);
    char *e = strchr(t, 'e');
    if (e) {
        char *digits = e + 1 + (e[1] == '-');
        char *from = e + 1 + (e[1] == '-' || e[1] == '+');
        while (from[0] == '0' && from[1])
            from++;
        memmove(digits, from, strlen(from) + 1);
    }
    put_raw(buf, cap, pos, t);
}

/* name: a feature name or a fixed member, nothing to escape. */
static void put_member(char *buf, size_t cap, size_t *pos, const char *name, size_t nlen)
{
    put(buf, cap, pos, ',');
    put(buf, cap, pos, '"');
    put_n(buf, cap, pos, name, nlen);
    put_n(buf, cap, pos, "\":", 2);
}

static size_t write_json(const csg_sw_request *m, const kept *v, size_t n, char *buf,
                         size_t cap)
{
    size_t pos = 0;
    put_raw(buf, cap, &pos, "{\"applicant_id\":");
    put_string(buf, cap, &pos, m->applicant_id.p, m->applicant_id.len);
    if (n == 0) { /* fields 2-4, read as before the features map existed */
        char t[16];
        put_member(buf, cap, &pos, "income", 6);
        put_number(buf, cap, &pos, m->income);
        put_member(buf, cap, &pos, "loan_amount", 11);
        put_number(buf, cap, &pos, m->loan_amount);
        put_member(buf, cap, &pos, "credit_history", 14);
        snprintf(t, sizeof t, "%d", (int)m->credit_history);
        put_raw(buf, cap, &pos, t);
    }
    for (size_t i = 0; i < n; i++) {
        const csg_sw_entry *e = v[i].e;
        put_member(buf, cap, &pos, e->key.p, e->key.len);
        if (e->kind == CSG_SW_NUMBER)
            put_number(buf, cap, &pos, e->number);
        else if (e->kind == CSG_SW_CATEGORY)
            put_string(buf, cap, &pos, e->category.p, e->category.len);
        else
            put_raw(buf, cap, &pos, e->flag ? "true" : "false");
    }
    put(buf, cap, &pos, '}');
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

/* Fields 2-4 when the features map is used: unset (0), else naming the
 * first one set. NULL: none. */
static const char *legacy_field_set(const csg_sw_request *m)
{
    if (m->income != 0) /* NaN too */
        return "income";
    if (m->loan_amount != 0)
        return "loan_amount";
    if (m->credit_history != 0)
        return "credit_history";
    return NULL;
}

/* An ordinary application's entries fit on the stack; more are read again into the heap. */
#define SMALL_ENTRIES 32

csg_sr_status csg_score_request_json(const uint8_t *msg, size_t len, size_t max_json, char *buf,
                                     size_t cap, char **json, size_t *json_len, csg_sr_error *err)
{
    csg_sw_entry small_e[SMALL_ENTRIES], *ent = small_e;
    kept small_k[SMALL_ENTRIES], *v = small_k;
    csg_sw_request m;
    csg_sr_status st = CSG_SR_OK;
    *json = NULL;
    *json_len = 0;
    if (!msg || !csg_sw_read(msg, len, &m, small_e, SMALL_ENTRIES)) {
        snprintf(err->message, sizeof err->message, "%s",
                 msg ? "malformed ScoreRequest" : "missing ScoreRequest message");
        err->field[0] = '\0';
        return CSG_SR_MALFORMED;
    }
    size_t n = m.n_features;
    if (!csg_utf8_valid((const unsigned char *)m.applicant_id.p, m.applicant_id.len))
        return refuse(err, "applicant_id", "must be valid UTF-8");
    const char *both = n ? legacy_field_set(&m) : NULL;
    if (both)
        return refuse(err, both, "set either the field or features, not both");
    if (n == 0 && !isfinite(m.income))
        return refuse(err, "income", "must be a finite number (JSON has no NaN or Infinity)");
    if (n == 0 && !isfinite(m.loan_amount))
        return refuse(err, "loan_amount", "must be a finite number (JSON has no NaN or Infinity)");
    if (n > SMALL_ENTRIES) {
        ent = malloc(n * sizeof *ent);
        v = malloc(n * sizeof *v);
        if (!ent || !v) {
            st = refuse(err, "features", "out of memory");
            goto out;
        }
        (void)csg_sw_read(msg, len, &m, ent, n); /* accepted above: the same again */
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (kept){.e = &ent[i], .index = i};
    if (n && (st = check_features(v, &n, err)) != CSG_SR_OK)
        goto out;
    size_t need = write_json(&m, v, n, buf, cap);
    if (need > max_json) {
        snprintf(err->message, sizeof err->message,
                 "the application is %zu bytes as JSON, over limits.max_body_bytes (%zu)", need,
                 max_json);
        err->field[0] = '\0';
        st = CSG_SR_TOO_LARGE;
        goto out;
    }
    *json = buf;
    if (need >= cap) {
        if (!(*json = malloc(need + 1))) {
            st = refuse(err, "features", "out of memory");
            goto out;
        }
        write_json(&m, v, n, *json, need + 1);
    }
    *json_len = need;
out:
    if (ent != small_e)
        free(ent);
    if (v != small_k)
        free(v);
    return st;
}

/* "<field>: <why>". The core's messages start with the field's name
 * ("income must be …"); it is said once. */
static void compose(char *details, size_t cap, const char *field, const char *message)
{
    size_t fl = strlen(field);
    if (strncmp(message, field, fl) == 0 && message[fl] == ' ')
        message += fl + 1;
    snprintf(details, cap, "%s: %s", field, message);
}

csg_sr_status csg_score_request_parse(const uint8_t *msg, size_t len, const csg_core_api *api,
                                      csg_worker *w, csg_application **app, char *details,
                                      size_t cap)
{
    *app = NULL;
    char buf[2048], *json;
    size_t jlen;
    csg_sr_error err;
    size_t max = api->max_body_bytes ? api->max_body_bytes : 65536; /* as http.so */
    csg_sr_status st = csg_score_request_json(msg, len, max, buf, sizeof buf, &json, &jlen, &err);
    if (st != CSG_SR_OK) {
        if (st == CSG_SR_INVALID_FIELD)
            compose(details, cap, err.field, err.message);
        else
            snprintf(details, cap, "%s", err.message);
        return st;
    }
    char rid[CSG_REQUEST_ID_MAX + 1]; /* as http.so: checked, not used */
    csg_parse_error perr;
    memset(&perr, 0, sizeof perr);
    csg_parse_status ps = api->parse_application(w, json, jlen, app, rid, &perr);
    if (json != buf)
        free(json);
    if (ps == CSG_PARSE_OK)
        return CSG_SR_OK;
    if (ps == CSG_PARSE_INVALID_FIELD && perr.field[0]) {
        compose(details, cap, perr.field, perr.message);
        return CSG_SR_INVALID_FIELD;
    }
    snprintf(details, cap, "%s", perr.message[0] ? perr.message : "invalid application");
    return CSG_SR_MALFORMED;
}
