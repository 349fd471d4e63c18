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

/* Decode buf[0..len) into *app. CSG_PARSE_INVALID_JSON: not a ScoreRequest
 * (the class of an undecodable body on every transport); CSG_PARSE_INVALID_FIELD:
 * a field breaks the rules the JSON transports apply. *why (both errors) is a
 * static message naming the field. Decodes into a stack buffer: no heap use
 * for an ordinary request. */
csg_parse_status csg_score_request_decode(const uint8_t *buf, size_t len, csg_application *app,
                                          const char **why);

#endif /* CSG_GRPC_SCORE_REQUEST_H */
