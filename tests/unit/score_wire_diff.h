/*
 * score_wire_diff.h — the oracle for plugins/grpc/score_wire.c: protobuf-c's
 * unpack of the same bytes (the C generated from proto/csg/v1/credit_score.proto)
 * must accept and refuse the same inputs and give the same values, bit for bit.
 * Header-only: tests/unit/test_score_request.c (in make test, over the fuzz
 * corpora and their mutations) and tests/fuzz/fuzz_score_wire.c share it.
 */
#ifndef CSG_TEST_SCORE_WIRE_DIFF_H
#define CSG_TEST_SCORE_WIRE_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csg/v1/credit_score.pb-c.h"
#include "score_wire.h"

/* protobuf-c hands strings over NUL-terminated in a block of (wire length + 1)
 * bytes: a size header before each block gives the true length back. */
#define SWD_HDR 16u

static void *swd_alloc(void *d, size_t n)
{
    (void)d;
    unsigned char *p = malloc(n + SWD_HDR);
    if (!p)
        abort();
    memcpy(p, &n, sizeof n);
    return p + SWD_HDR;
}

static void swd_free(void *d, void *p)
{
    (void)d;
    if (p)
        free((unsigned char *)p - SWD_HDR);
}

static size_t swd_len(const char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return 0;
    size_t n;
    memcpy(&n, s - SWD_HDR, sizeof n);
    return n - 1;
}

static bool swd_same_str(const char *pb, csg_sw_str w)
{
    size_t n = swd_len(pb);
    return n == w.len && (n == 0 || memcmp(pb, w.p, n) == 0);
}

static bool swd_same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0; /* NaN payloads and -0 too */
}

/* NULL when score_wire.c and protobuf-c agree on data[0..size), else what differs. */
static const char *swd_compare(const uint8_t *data, size_t size)
{
    ProtobufCAllocator al = {.alloc = swd_alloc, .free = swd_free};
    Csg__V1__ScoreRequest *m = csg__v1__score_request__unpack(&al, size, data);
    csg_sw_request w;
    csg_sw_entry *ent = calloc(size + 1, sizeof *ent); /* an entry takes >= 1 byte on the wire */
    if (!ent)
        abort();
    bool ok = csg_sw_read(data, size, &w, ent, size + 1);
    const char *why = NULL;
    if (!m != !ok) {
        why = m ? "protobuf-c accepts, score_wire refuses" : "protobuf-c refuses, score_wire accepts";
        goto out;
    }
    if (!m)
        goto out;
    if (!swd_same_str(m->applicant_id, w.applicant_id))
        why = "applicant_id";
    else if (!swd_same_double(m->income, w.income) ||
             !swd_same_double(m->loan_amount, w.loan_amount))
        why = "income or loan_amount";
    else if (m->credit_history != w.credit_history)
        why = "credit_history";
    else if (m->n_features != w.n_features)
        why = "number of map entries";
    for (size_t i = 0; !why && i < m->n_features; i++) {
        const Csg__V1__ScoreRequest__FeaturesEntry *e = m->features[i];
        const csg_sw_entry *x = &ent[i];
        const Csg__V1__FeatureValue *v = e->value;
        if (!swd_same_str(e->key, x->key))
            why = "an entry's key";
        else if (!v != !x->has_value || (v && (unsigned)v->kind_case != (unsigned)x->kind))
            why = "an entry's value kind";
        else if (v && v->kind_case == CSG__V1__FEATURE_VALUE__KIND_NUMBER &&
                 !swd_same_double(v->number, x->number))
            why = "an entry's number";
        else if (v && v->kind_case == CSG__V1__FEATURE_VALUE__KIND_CATEGORY &&
                 !swd_same_str(v->category, x->category))
            why = "an entry's category";
        else if (v && v->kind_case == CSG__V1__FEATURE_VALUE__KIND_FLAG && !v->flag != !x->flag)
            why = "an entry's flag";
    }
out:
    free(ent);
    if (m)
        csg__v1__score_request__free_unpacked(m, &al);
    return why;
}

#endif /* CSG_TEST_SCORE_WIRE_DIFF_H */
