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

#include "csg/v1/credit_score.pb-c.h"
#include "csg_event_schema.h" /* the feature name rule (DESIGN §3), one copy */
#include "csg_utf8.h" /* protobuf-c does not check proto3 strings; JSON text is UTF-8 */

_Static_assert(CSG_SR_NAME_MAX == CSG_EVENT_FEATURE_NAME_MAX, "one feature name bound");

typedef Csg__V1__ScoreRequest__FeaturesEntry entry;

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */

/* protobuf-c allocator over a caller's stack buffer, malloc past its end: an
 * ordinary request decodes without touching the heap. Every block starts with
 * a header holding its size, because protobuf-c hands strings over
 * NUL-terminated: a string is one block of (wire length + 1) bytes
 * (protobuf-c.c, parse_required_member), so its true length — NUL bytes
 * inside included — is the block's size - 1 (see str_len). */
#define HDR 16u
#define HDR_MAGIC 0x5ca1ab1e

typedef struct {
    unsigned char *buf;
    size_t cap, used;
} arena;

static void *arena_alloc(void *data, size_t size)
{
    arena *a = data;
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t need = (size + HDR + 15u) & ~(size_t)15u;
    unsigned char *p;
    if (need <= a->cap - a->used) {
        p = a->buf + a->used;
        a->used += need;
    } else if (!(p = malloc(size + HDR))) {
        return NULL;
    }
    uint32_t magic = HDR_MAGIC;
    memcpy(p, &size, sizeof size);
    memcpy(p + sizeof size, &magic, sizeof magic);
    return p + HDR;
}

static void arena_free(void *data, void *ptr)
{
    arena *a = data;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    if ((uintptr_t)p - (uintptr_t)a->buf >= a->cap)
        free(p);
}

/* True length of a string protobuf-c decoded with arena_alloc. */
static size_t str_len(const char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return 0;
    size_t size;
    uint32_t magic;
    memcpy(&size, s - HDR, sizeof size);
    memcpy(&magic, s - HDR + sizeof size, sizeof magic);
    return magic == HDR_MAGIC && size > 0 ? size - 1 : strlen(s);
}

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

/* A surviving map entry (protobuf map semantics: the last entry of a key
 * wins; protobuf-c hands over every entry), with its key's true length. */
typedef struct {
    const entry *e;
    size_t klen, index;
} kept;

static int kept_cmp(const void *pa, const void *pb)
{
    const kept *a = pa, *b = pb;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->e->key, b->e->key, n);
    if (c == 0 && a->klen != b->klen)
        c = a->klen < b->klen ? -1 : 1;
    if (c == 0)
        c = a->index < b->index ? -1 : 1;
    return c;
}

/* Checks the entries (in key order) and leaves the survivors in v[0..*n). */
static csg_sr_status check_features(kept *v, size_t *n, csg_sr_error *err)
{
    qsort(v, *n, sizeof *v, kept_cmp);
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        if (i + 1 < *n && v[i].klen == v[i + 1].klen &&
            memcmp(v[i].e->key, v[i + 1].e->key, v[i].klen) == 0)
            continue; /* a later entry has the same key */
        const entry *e = v[i].e;
        if (!csg_event_feature_name_ok(e->key, v[i].klen)) {
            char q[200];
            quote_key(e->key, v[i].klen, q, sizeof q);
            return refuse(err, "features", "key \"%s\" is not a feature name ([a-z][a-z0-9_]{0,31})",
                          q);
        }
        if (strcmp(e->key, "applicant_id") == 0)
            return refuse(err, "applicant_id", "is field 1 of ScoreRequest, not a feature");
        const Csg__V1__FeatureValue *fv = e->value;
        switch (fv ? fv->kind_case : CSG__V1__FEATURE_VALUE__KIND__NOT_SET) {
        case CSG__V1__FEATURE_VALUE__KIND_NUMBER:
            if (!isfinite(fv->number))
                return refuse(err, e->key, "must be a finite number (JSON has no NaN or Infinity)");
            break;
        case CSG__V1__FEATURE_VALUE__KIND_CATEGORY: {
            size_t cl = str_len(fv->category);
            if (cl != strlen(fv->category))
                return refuse(err, e->key, "category must not contain a NUL character");
            if (!csg_utf8_valid((const unsigned char *)fv->category, cl))
                return refuse(err, e->key, "category must be valid UTF-8");
            break;
        }
        case CSG__V1__FEATURE_VALUE__KIND_FLAG:
            break;
        default:
            return refuse(err, e->key, "FeatureValue has no value (set number, category or flag)");
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

static void put_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    while (*s)
        put(buf, cap, pos, *s++);
}

static void put_string(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char short_esc[0x20] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',
                                         ['\f'] = 'f', ['\r'] = 'r'};
    put(buf, cap, pos, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(buf, cap, pos, '\\');
        } else if (c < 0x20 && short_esc[c]) {
            put(buf, cap, pos, '\\');
            c = (unsigned char)short_esc[c];
        } else if (c < 0x20) {
            put_raw(buf, cap, pos, "\\u00");
            put(buf, cap, pos, hex[c >> 4]);
            c = (unsigned char)hex[c & 15];
        }
        put(buf, cap, pos, (char)c);
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

static void put_member(char *buf, size_t cap, size_t *pos, const char *name, size_t nlen)
{
    put(buf, cap, pos, ',');
    put_string(buf, cap, pos, name, nlen);
    put(buf, cap, pos, ':');
}

static size_t write_json(const Csg__V1__ScoreRequest *m, size_t idlen, const kept *v, size_t n,
                         char *buf, size_t cap)
{
    size_t pos = 0;
    put_raw(buf, cap, &pos, "{\"applicant_id\":");
    put_string(buf, cap, &pos, m->applicant_id, idlen);
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
        const Csg__V1__FeatureValue *fv = v[i].e->value;
        put_member(buf, cap, &pos, v[i].e->key, v[i].klen);
        if (fv->kind_case == CSG__V1__FEATURE_VALUE__KIND_NUMBER)
            put_number(buf, cap, &pos, fv->number);
        else if (fv->kind_case == CSG__V1__FEATURE_VALUE__KIND_CATEGORY)
            put_string(buf, cap, &pos, fv->category, strlen(fv->category));
        else
            put_raw(buf, cap, &pos, fv->flag ? "true" : "false");
    }
    put(buf, cap, &pos, '}');
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

/* Fields 2-4 when the features map is used: unset (0), else naming the
 * first one set. NULL: none. */
static const char *legacy_field_set(const Csg__V1__ScoreRequest *m)
{
    if (m->income != 0) /* NaN too */
        return "income";
    if (m->loan_amount != 0)
        return "loan_amount";
    if (m->credit_history != 0)
        return "credit_history";
    return NULL;
}

csg_sr_status csg_score_request_json(const uint8_t *msg, size_t len, size_t max_json, char *buf,
                                     size_t cap, char **json, size_t *json_len, csg_sr_error *err)
{
    _Alignas(16) unsigned char scratch[4096];
    arena ar = {.buf = scratch, .cap = sizeof scratch};
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = &ar};
    kept small[32], *v = small;
    csg_sr_status st = CSG_SR_OK;
    *json = NULL;
    *json_len = 0;
    Csg__V1__ScoreRequest *m = msg ? csg__v1__score_request__unpack(&alloc, len, msg) : NULL;
    if (!m) {
        snprintf(err->message, sizeof err->message, "%s",
                 msg ? "malformed ScoreRequest" : "missing ScoreRequest message");
        err->field[0] = '\0';
        return CSG_SR_MALFORMED;
    }
    size_t idlen = str_len(m->applicant_id), n = m->n_features;
    if (!csg_utf8_valid((const unsigned char *)m->applicant_id, idlen)) {
        st = refuse(err, "applicant_id", "must be valid UTF-8");
        goto out;
    }
    if (n > sizeof small / sizeof small[0] && !(v = malloc(n * sizeof *v))) {
        st = refuse(err, "features", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (kept){.e = m->features[i], .klen = str_len(m->features[i]->key), .index = i};
    const char *both = n ? legacy_field_set(m) : NULL;
    if (both) {
        st = refuse(err, both, "set either the field or features, not both");
        goto out;
    }
    if (n == 0 && !isfinite(m->income))
        st = refuse(err, "income", "must be a finite number (JSON has no NaN or Infinity)");
    else if (n == 0 && !isfinite(m->loan_amount))
        st = refuse(err, "loan_amount", "must be a finite number (JSON has no NaN or Infinity)");
    else if (n)
        st = check_features(v, &n, err);
    if (st != CSG_SR_OK)
        goto out;
    size_t need = write_json(m, idlen, v, n, buf, cap);
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
        write_json(m, idlen, v, n, *json, need + 1);
    }
    *json_len = need;
out:
    if (v != small)
        free(v);
    csg__v1__score_request__free_unpacked(m, &alloc);
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
