/* fuzz_proto.c — libFuzzer target for the gRPC wire end: grpc.so's own
 * decoding and checking of csg.v1.ScoreRequest (plugins/grpc/score_request.c,
 * the code grpc.so runs on every message), then protobuf-c itself with the C
 * generated at build time from proto/csg/v1/credit_score.proto: a re-encode
 * and decode that must give the same message back.
 *
 * Transport parity: an application grpc.so accepts, written as JSON, must be
 * accepted by the JSON transports' parser (core/application.c) with the same
 * values — no transport lets through what another refuses. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "csg/v1/credit_score.pb-c.h"
#include "score_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Equal values; NaN payloads bit for bit. Not -0.0 vs 0.0: protobuf-c leaves a
 * proto3 double out when it compares equal to 0, so -0.0 decodes back as 0.0
 * (crash fixture crash-7a826e2d…; harmless, both are a valid income). */
static bool same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return memcmp(&a, &b, sizeof a) == 0;
    return a == b;
}

static void check_parity(const uint8_t *data, size_t size)
{
    csg_score_fields app;
    csg_application_v1 again;
    const char *why = NULL;
    csg_parse_status st = csg_score_request_decode(data, size, &app, &why);
    if (st != CSG_PARSE_OK) {
        if (!why || !*why)
            __builtin_trap(); /* every refusal says why */
        return;
    }
    char json[512];
    size_t n = csg_score_fields_json(&app, json, sizeof json); /* what grpc.so hands the core */
    if (n == 0)
        __builtin_trap();
    csg_parse_error err;
    if (csg_parse_application(json, n, &again, NULL, &err) != CSG_PARSE_OK)
        __builtin_trap();
    if (strcmp(app.applicant_id, again.applicant_id) != 0 || app.income != again.income ||
        app.loan_amount != again.loan_amount || app.credit_history != again.credit_history)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parity(data, size);
    Csg__V1__ScoreRequest *m = csg__v1__score_request__unpack(NULL, size, data);
    if (!m)
        return 0;
    if (!m->applicant_id)
        __builtin_trap(); /* proto3 string: "" when absent, never NULL */
    /* Re-encode the known fields only: protobuf-c 1.4.1 keeps unknown fields
     * it should have refused (field number 0 written as a non-minimal tag,
     * crash fixture crash-fda32125…) and re-packs them into bytes it then
     * rejects. grpc.so never reads unknown fields, so that is not ours. */
    Csg__V1__ScoreRequest known = CSG__V1__SCORE_REQUEST__INIT;
    known.applicant_id = m->applicant_id;
    known.income = m->income;
    known.loan_amount = m->loan_amount;
    known.credit_history = m->credit_history;
    size_t need = csg__v1__score_request__get_packed_size(&known);
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf)
        abort();
    if (csg__v1__score_request__pack(&known, buf) != need)
        __builtin_trap();
    Csg__V1__ScoreRequest *m2 = csg__v1__score_request__unpack(NULL, need, buf);
    if (!m2 || strcmp(m->applicant_id, m2->applicant_id) != 0 ||
        !same_double(m->income, m2->income) || !same_double(m->loan_amount, m2->loan_amount) ||
        m->credit_history != m2->credit_history)
        __builtin_trap();
    csg__v1__score_request__free_unpacked(m2, NULL);
    free(buf);

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
