/*
 * score_wire.h — a csg.v1.ScoreRequest read in place from its wire bytes: no
 * allocation, strings are views into the message. It replaces protobuf-c's
 * unpack on the request path (which allocated per map entry, key and value,
 * and copied every string), and decides exactly as protobuf-c 1.4.1 does:
 * same accept/reject, same values, quirks included (see score_wire.c). That
 * is checked against protobuf-c by tests/fuzz/fuzz_score_wire.c and, in
 * make test, by tests/unit/test_score_request.c over the fuzz corpora.
 *
 * Pure (no gRPC, no I/O, no heap).
 */
#ifndef CSG_GRPC_SCORE_WIRE_H
#define CSG_GRPC_SCORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A string as it is on the wire (NUL bytes and invalid UTF-8 included). */
typedef struct csg_sw_str {
    const char *p; /* never NULL: "" when absent */
    size_t len;
} csg_sw_str;

/* FeatureValue's oneof `kind`; the numbers are its field numbers, as protobuf-c's kind_case. */
typedef enum csg_sw_kind {
    CSG_SW_UNSET = 0,
    CSG_SW_NUMBER = 1,
    CSG_SW_CATEGORY = 2,
    CSG_SW_FLAG = 3,
} csg_sw_kind;

/* One features-map entry on the wire (protobuf-c hands over every entry, a
 * repeated key included; the last one wins later, in score_request.c). */
typedef struct csg_sw_entry {
    csg_sw_str key;
    bool has_value; /* field 2 present (it may still hold no kind) */
    csg_sw_kind kind;
    double number;
    csg_sw_str category;
    bool flag;
} csg_sw_entry;

typedef struct csg_sw_request {
    csg_sw_str applicant_id;
    double income, loan_amount;
    int32_t credit_history;
    size_t n_features; /* entries on the wire: more than fit in the caller's array is allowed */
} csg_sw_request;

/* Read msg[0..len). The first min(n_features, cap) entries land in
 * entries[]; when n_features > cap the caller reads again with room for all
 * of them. false: not a ScoreRequest protobuf-c would accept (nothing else
 * is said: grpc.so answers "malformed ScoreRequest"). */
bool csg_sw_read(const uint8_t *msg, size_t len, csg_sw_request *out, csg_sw_entry *entries,
                 size_t cap);

#endif /* CSG_GRPC_SCORE_WIRE_H */
