/*
 * score_request.h — one csg.v1.ScoreRequest → the flat JSON application the
 * HTTP and TCP transports receive → the core's parser (DESIGN §5).
 *
 * grpc.so applies no field rule of its own: what an application may contain
 * (which features, types, bounds, required) is decided by the core's
 * parse_application, so the three transports answer identically. This module
 * only refuses what cannot be written as that JSON text (strings that are not
 * UTF-8, a NaN or infinite double, a map key that is not a feature name) and
 * what the proto shape makes ambiguous (fields 2-4 and the features map both
 * set).
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

/* A feature name, as a features-map key: [a-z][a-z0-9_]{0,31}. */
#define CSG_SR_NAME_MAX 32

typedef enum csg_sr_status {
    CSG_SR_OK = 0,
    CSG_SR_MALFORMED = 1,     /* not a ScoreRequest (or the core found no JSON object):
                               * INVALID_ARGUMENT, counted "invalid_json" */
    CSG_SR_INVALID_FIELD = 2, /* INVALID_ARGUMENT, "invalid_field"; details start "<field>: " */
    CSG_SR_TOO_LARGE = 3,     /* the application's JSON text is over max_json bytes:
                               * RESOURCE_EXHAUSTED, "payload_too_large" (as an HTTP body) */
} csg_sr_status;

typedef struct csg_sr_error {
    char field[CSG_SR_NAME_MAX + 1]; /* INVALID_FIELD: the JSON member named, e.g. "income" */
    char message[160];               /* without the field name, e.g. "must be a finite number" */
} csg_sr_error;

/* Translate msg[0..len) (msg NULL: no message, CSG_SR_MALFORMED) into the JSON application text
 * ({"applicant_id":…,"income":…,…}). Written into buf (cap bytes) when it fits,
 * else into a malloc'd buffer: *json is buf or that buffer (the caller frees it
 * when *json != buf); NUL-terminated, length in *json_len. Fills *err on any
 * status but OK. A text longer than max_json is CSG_SR_TOO_LARGE. */
csg_sr_status csg_score_request_json(const uint8_t *msg, size_t len, size_t max_json, char *buf,
                                     size_t cap, char **json, size_t *json_len, csg_sr_error *err);

/* What grpc.so runs on each message (on worker w's thread): translate
 * (bounded by api->max_body_bytes, as an HTTP body), then
 * api->parse_application into *app (the caller's: submit it or free it with
 * api->application_free; NULL on any error) — the only use of the core's
 * ABI here. On an error,
 * details (cap bytes) gets the gRPC status message: "<field>: <why>" for
 * CSG_SR_INVALID_FIELD, whoever refused it. A "request_id" feature is
 * checked as an HTTP body's member is and otherwise ignored (gRPC takes the
 * id from x-request-id metadata). No heap use for an ordinary request. */
csg_sr_status csg_score_request_parse(const uint8_t *msg, size_t len, const csg_core_api *api,
                                      csg_worker *w, csg_application **app, char *details,
                                      size_t cap);

#endif /* CSG_GRPC_SCORE_REQUEST_H */
