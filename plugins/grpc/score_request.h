/*
 * score_request.h — decode and check one csg.v1.ScoreRequest (DESIGN §5).
 *
 * Pure (no gRPC, no I/O): grpc.so calls it on each received message and the
 * fuzz target (tests/fuzz/fuzz_proto.c) on arbitrary bytes, so the code that
 * faces the wire is the code that is fuzzed.
 */
#ifndef CSG_GRPC_SCORE_REQUEST_H
#define CSG_GRPC_SCORE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

/* The brief's four ScoreRequest fields, checked. grpc.so writes them as the
 * flat JSON application (csg_score_fields_json) and has the core parse that
 * (api->parse_application), so the core's schema decides what is valid. */
typedef struct csg_score_fields {
    char applicant_id[CSG_APPLICANT_ID_MAX + 1];
    double income;
    double loan_amount;
    int64_t credit_history;
} csg_score_fields;

/* Decode buf[0..len) into *app. CSG_PARSE_INVALID_JSON: not a ScoreRequest
 * (the class of an undecodable body on every transport); CSG_PARSE_INVALID_FIELD:
 * a field breaks the rules the JSON transports apply. *why (both errors) is a
 * static message naming the field. Decodes into a stack buffer: no heap use
 * for an ordinary request. */
csg_parse_status csg_score_request_decode(const uint8_t *buf, size_t len, csg_score_fields *app,
                                          const char **why);

/* f as a JSON application object text (numbers round-trip exactly) into
 * buf; the length, or 0 when cap is too small (512 always suffices). */
size_t csg_score_fields_json(const csg_score_fields *f, char *buf, size_t cap);

#endif /* CSG_GRPC_SCORE_REQUEST_H */
