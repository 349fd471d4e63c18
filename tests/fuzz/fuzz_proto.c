/* fuzz_proto.c — libFuzzer target for the gRPC wire end: grpc.so's
 * translation of csg.v1.ScoreRequest into the JSON application
 * (plugins/grpc/score_request.c, the code grpc.so runs on every message), then
 * protobuf-c itself with the C generated at build time from
 * proto/csg/v1/credit_score.proto: a re-encode and decode that must give the
 * same message back.
 *
 * Invariants:
 *  - The translation is valid JSON holding exactly what was decoded: the
 *    applicant_id, fields 2-4 when the features map is empty, else one member
 *    per map key (the last entry of a key wins) with its value exactly.
 *  - It refuses (naming a field) only what JSON cannot carry or the proto
 *    shape forbids; everything else reaches the core.
 *  - Transport parity: the application built here independently from the
 *    decoded message (with jansson's encoder), parsed by the JSON transports'
 *    parser (core/application.c), gives the same status, field and values as
 *    grpc.so's path — no transport lets through what another refuses. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "csg/v1/credit_score.pb-c.h"
#include "score_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_JSON 3000 /* below what a 4 KiB input can need: CSG_SR_TOO_LARGE is reached */

/* ---------------------------------------------------------------- oracle decode */
/* protobuf-c with an allocator that remembers each block's size: a string is
 * one block of its wire length + 1, so NUL bytes inside are seen (independent of
 * score_request.c's own bookkeeping). */
#define SLOTS 16384
static struct {
    void *p;
    size_t n;
} blocks[SLOTS];

static size_t slot_of(uintptr_t p) /* not a pointer: GCC would think it is read */
{
    size_t h = (p >> 4) * 0x9e3779b97f4a7c15u % SLOTS;
    while (blocks[h].p && (uintptr_t)blocks[h].p != p)
        h = (h + 1) % SLOTS;
    return h;
}

static void *rec_alloc(void *d, size_t n)
{
    (void)d;
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    size_t s = slot_of((uintptr_t)p);
    blocks[s].p = p, blocks[s].n = n;
    return p;
}

static void rec_free(void *d, void *p)
{
    (void)d;
    free(p); /* the table is cleared per input; a reused address overwrites its slot */
}

static ProtobufCAllocator rec = {.alloc = rec_alloc, .free = rec_free};

static size_t true_len(const char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return 0;
    size_t h = slot_of((uintptr_t)s);
    if (!blocks[h].p || blocks[h].n == 0)
        __builtin_trap(); /* a string protobuf-c did not allocate as one block */
    return blocks[h].n - 1;
}

/* Length of the last field-1 string on the wire (proto3: the last one wins),
 * SIZE_MAX when absent: a second oracle for true_len's premise. */
static bool read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = buf[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static size_t wire_field1_len(const uint8_t *buf, size_t len)
{
    size_t pos = 0, found = SIZE_MAX;
    uint64_t tag, n;
    while (pos < len) {
        if (!read_varint(buf, len, &pos, &tag))
            return SIZE_MAX;
        switch (tag & 7) {
        case 0:
            if (!read_varint(buf, len, &pos, &n))
                return SIZE_MAX;
            break;
        case 1:
        case 5:
            n = (tag & 7) == 1 ? 8 : 4;
            if (n > len - pos)
                return SIZE_MAX;
            pos += n;
            break;
        case 2:
            if (!read_varint(buf, len, &pos, &n) || n > len - pos)
                return SIZE_MAX;
            if (tag >> 3 == 1)
                found = (size_t)n;
            pos += (size_t)n;
            break;
        default:
            return SIZE_MAX;
        }
    }
    return found;
}

/* ---------------------------------------------------------------- the oracle JSON */

/* A double as a JSON client writes it: integral values as integers. */
static json_t *number(double d)
{
    if (d == floor(d) && fabs(d) < 1e17)
        return json_integer((json_int_t)d);
    return json_real(d);
}

static bool is_name(const char *s, size_t n)
{
    if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_", s[i]) || !s[i])
            return false;
    return true;
}

/* The application as a JSON transport would receive it, or NULL when the
 * message cannot be one (grpc.so must then refuse it naming a field). */
static json_t *as_json(const Csg__V1__ScoreRequest *m)
{
    json_t *o = json_object();
    json_t *id = json_stringn(m->applicant_id, true_len(m->applicant_id)); /* NULL: not UTF-8 */
    if (!id)
        goto no;
    json_object_set_new(o, "applicant_id", id);
    if (m->n_features == 0) {
        if (!isfinite(m->income) || !isfinite(m->loan_amount))
            goto no;
        json_object_set_new(o, "income", number(m->income));
        json_object_set_new(o, "loan_amount", number(m->loan_amount));
        json_object_set_new(o, "credit_history", json_integer(m->credit_history));
        return o;
    }
    if (m->income != 0 || m->loan_amount != 0 || m->credit_history != 0)
        goto no;
    for (size_t i = 0; i < m->n_features; i++) { /* in order: a later key replaces */
        const Csg__V1__ScoreRequest__FeaturesEntry *e = m->features[i];
        size_t kl = true_len(e->key);
        bool later = false;
        for (size_t k = i + 1; k < m->n_features && !later; k++)
            later = true_len(m->features[k]->key) == kl &&
                    memcmp(m->features[k]->key, e->key, kl) == 0;
        if (later)
            continue;
        if (!is_name(e->key, kl) || strcmp(e->key, "applicant_id") == 0 || !e->value)
            goto no;
        const Csg__V1__FeatureValue *v = e->value;
        json_t *j = NULL;
        if (v->kind_case == CSG__V1__FEATURE_VALUE__KIND_NUMBER && isfinite(v->number))
            j = number(v->number);
        else if (v->kind_case == CSG__V1__FEATURE_VALUE__KIND_CATEGORY &&
                 true_len(v->category) == strlen(v->category))
            j = json_string(v->category); /* NULL when not UTF-8 */
        else if (v->kind_case == CSG__V1__FEATURE_VALUE__KIND_FLAG)
            j = json_boolean(v->flag);
        if (!j)
            goto no;
        json_object_set_new(o, e->key, j);
    }
    return o;
no:
    json_decref(o);
    return NULL;
}

/* Same applicant and features: the canonical texts are equal. */
static bool same_app(const csg_application *a, const csg_application *b)
{
    size_t al, bl;
    const char *at = csg_app_json(a, &al), *bt = csg_app_json(b, &bl);
    return al == bl && memcmp(at, bt, al) == 0;
}

static void check_translation(const uint8_t *data, size_t size)
{
    memset(blocks, 0, sizeof blocks);
    Csg__V1__ScoreRequest *m = csg__v1__score_request__unpack(&rec, size, data);
    char small[256], *text;
    size_t tlen;
    csg_sr_error err;
    csg_sr_status st =
        csg_score_request_json(data, size, MAX_JSON, small, sizeof small, &text, &tlen, &err);
    if (!m) {
        if (st != CSG_SR_MALFORMED)
            __builtin_trap(); /* protobuf-c refused it: so must grpc.so */
        return;
    }
    if (true_len(m->applicant_id) != (m->applicant_id[0] || wire_field1_len(data, size) != SIZE_MAX
                                          ? wire_field1_len(data, size)
                                          : 0))
        __builtin_trap();
    json_t *want = as_json(m);
    if (!want) {
        if (st != CSG_SR_INVALID_FIELD || !err.field[0] || !err.message[0])
            __builtin_trap(); /* not expressible as JSON: refused, naming a field */
        goto done;
    }
    /* The same text as jansson writes, member order aside (so the bound is
     * that of a client's compact JSON body). */
    char *body = json_dumps(want, JSON_COMPACT);
    if (!body)
        abort();
    if (st == CSG_SR_TOO_LARGE) {
        if (strlen(body) <= MAX_JSON)
            __builtin_trap();
        free(body);
        goto done;
    }
    if (st != CSG_SR_OK || tlen != strlen(body) || strlen(text) != tlen)
        __builtin_trap();
    /* The translation holds exactly the oracle's members and values. */
    json_error_t jerr;
    json_t *got = json_loadb(text, tlen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!got || !json_equal(got, want))
        __builtin_trap();
    json_decref(got);

    /* Parity: grpc.so's whole path against the JSON transports' parser. */
    csg_application *via_http = NULL, *via_grpc = NULL;
    csg_parse_error perr;
    char rid[CSG_REQUEST_ID_MAX + 1], details[256];
    memset(&perr, 0, sizeof perr);
    csg_parse_status hs = csg_app_parse_default(NULL, body, strlen(body), &via_http, rid, &perr);
    free(body);
    static const csg_core_api api = {.size = sizeof api,
                                     .parse_application = csg_app_parse_default,
                                     .application_free = csg_app_free,
                                     .max_body_bytes = 65536};
    csg_sr_status gs = csg_score_request_parse(data, size, &api, NULL, &via_grpc, details,
                                               sizeof details);
    bool same = via_http && via_grpc && same_app(via_http, via_grpc);
    csg_app_free(via_http);
    csg_app_free(via_grpc);
    if (hs == CSG_PARSE_OK) {
        if (gs != CSG_SR_OK || !same)
            __builtin_trap();
    } else if (hs == CSG_PARSE_INVALID_FIELD) {
        size_t fl = strlen(perr.field);
        if (gs != CSG_SR_INVALID_FIELD || strncmp(details, perr.field, fl) != 0 ||
            details[fl] != ':')
            __builtin_trap(); /* same field named first */
    } else {
        __builtin_trap(); /* the oracle's JSON is always a JSON object */
    }
done:
    json_decref(want);
    if (text && text != small)
        free(text);
    csg__v1__score_request__free_unpacked(m, &rec);
}

/* ---------------------------------------------------------------- protobuf-c */

static bool same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return memcmp(&a, &b, sizeof a) == 0;
    return a == b;
}

/* Equal values; NaN payloads bit for bit. Not -0.0 vs 0.0: protobuf-c leaves a
 * proto3 double out when it compares equal to 0, so -0.0 decodes back as 0.0
 * (crash fixture crash-7a826e2d…; harmless, both are a valid income). */
static bool same_feature(const Csg__V1__FeatureValue *a, const Csg__V1__FeatureValue *b)
{
    if (!a || !b)
        return !a == !b || (a ? a : b)->kind_case == CSG__V1__FEATURE_VALUE__KIND__NOT_SET;
    if (a->kind_case != b->kind_case)
        return false;
    switch (a->kind_case) {
    case CSG__V1__FEATURE_VALUE__KIND_NUMBER:
        return memcmp(&a->number, &b->number, sizeof a->number) == 0; /* set in a oneof: kept */
    case CSG__V1__FEATURE_VALUE__KIND_CATEGORY:
        return strcmp(a->category, b->category) == 0;
    case CSG__V1__FEATURE_VALUE__KIND_FLAG:
        return !a->flag == !b->flag;
    default:
        return true;
    }
}

static void check_roundtrip(const Csg__V1__ScoreRequest *m)
{
    /* Re-encode the known fields only: protobuf-c 1.4.1 keeps unknown fields
     * it should have refused (field number 0 written as a non-minimal tag,
     * crash fixture crash-fda32125…) and re-packs them into bytes it then
     * rejects. grpc.so never reads unknown fields, so that is not ours. The
     * same for the map's entries and values. */
    size_t n = m->n_features;
    Csg__V1__ScoreRequest__FeaturesEntry *ent = calloc(n ? n : 1, sizeof *ent);
    Csg__V1__ScoreRequest__FeaturesEntry **ptr = calloc(n ? n : 1, sizeof *ptr);
    Csg__V1__FeatureValue *val = calloc(n ? n : 1, sizeof *val);
    if (!ent || !ptr || !val)
        abort();
    for (size_t i = 0; i < n; i++) {
        const Csg__V1__ScoreRequest__FeaturesEntry *e = m->features[i];
        csg__v1__score_request__features_entry__init(&ent[i]);
        ent[i].key = e->key;
        if (e->value) {
            csg__v1__feature_value__init(&val[i]);
            val[i].kind_case = e->value->kind_case;
            if (e->value->kind_case == CSG__V1__FEATURE_VALUE__KIND_NUMBER)
                val[i].number = e->value->number;
            else if (e->value->kind_case == CSG__V1__FEATURE_VALUE__KIND_CATEGORY)
                val[i].category = e->value->category;
            else if (e->value->kind_case == CSG__V1__FEATURE_VALUE__KIND_FLAG)
                val[i].flag = e->value->flag;
            ent[i].value = &val[i];
        }
        ptr[i] = &ent[i];
    }
    Csg__V1__ScoreRequest known = CSG__V1__SCORE_REQUEST__INIT;
    known.applicant_id = m->applicant_id;
    known.income = m->income;
    known.loan_amount = m->loan_amount;
    known.credit_history = m->credit_history;
    known.n_features = n;
    known.features = ptr;
    size_t need = csg__v1__score_request__get_packed_size(&known);
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf)
        abort();
    if (csg__v1__score_request__pack(&known, buf) != need)
        __builtin_trap();
    Csg__V1__ScoreRequest *m2 = csg__v1__score_request__unpack(NULL, need, buf);
    if (!m2 || strcmp(m->applicant_id, m2->applicant_id) != 0 ||
        !same_double(m->income, m2->income) || !same_double(m->loan_amount, m2->loan_amount) ||
        m->credit_history != m2->credit_history || m2->n_features != n)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->features[i]->key, m2->features[i]->key) != 0 ||
            !same_feature(m->features[i]->value, m2->features[i]->value))
            __builtin_trap();
    csg__v1__score_request__free_unpacked(m2, NULL);
    free(buf);
    free(val);
    free(ptr);
    free(ent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_translation(data, size);
    Csg__V1__ScoreRequest *m = csg__v1__score_request__unpack(NULL, size, data);
    if (!m)
        return 0;
    if (!m->applicant_id)
        __builtin_trap(); /* proto3 string: "" when absent, never NULL */
    check_roundtrip(m);

    /* Also the reply type grpc.so packs, from what was decoded. */
    Csg__V1__ScoreResponse r = CSG__V1__SCORE_RESPONSE__INIT;
    r.applicant_id = m->applicant_id;
    r.score = m->income;
    r.decision = m->applicant_id;
    size_t rn = csg__v1__score_response__get_packed_size(&r);
    uint8_t *rb = malloc(rn ? rn : 1);
    if (!rb)
        abort();
    if (csg__v1__score_response__pack(&r, rb) != rn)
        __builtin_trap();
    free(rb);
    csg__v1__score_request__free_unpacked(m, NULL);
    return 0;
}
