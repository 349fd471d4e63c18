/*
 * rest_reply.h — the check of a model's reply body for rest.so (DESIGN §5
 * "Model API"): {"score": number in [0,1], "decision": "approve"|"decline",
 * "points"?: finite number, "reasons"?: [{"code","feature","text"}, …]},
 * other keys allowed and ignored; a key given twice (at any depth) makes the
 * reply malformed. Reasons follow lib/csg_reason.h: at most CSG_REASONS_MAX,
 * no code twice, none on an approve; a reply that breaks any of it is a
 * model error, never passed on in part.
 */
#ifndef CSG_REST_REPLY_H
#define CSG_REST_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "csg/plugin.h"
#include "csg_event_schema.h"

_Static_assert(CSG_REASONS_MAX == CSG_REASONS_MAX_ABI, "reasons bound");

/* One reason, copied out of the body (NUL-terminated). */
typedef struct rest_reason {
    char code[CSG_REASON_CODE_MAX + 1];
    char feature[CSG_EVENT_FEATURE_NAME_MAX + 1];
    char text[CSG_REASON_TEXT_MAX + 1];
} rest_reason;

/* What a good reply says. */
typedef struct rest_answer {
    double score;
    csg_decision decision;
    bool has_points;
    double points;
    unsigned reason_count;
    rest_reason reasons[CSG_REASONS_MAX];
} rest_answer;

/* Check the body of a model's 200 reply (len bytes, need not be
 * NUL-terminated). Returns NULL with *out filled, or the reason it is not a
 * good reply (a static string, e.g. "malformed reasons: more than 4"); *out
 * is then unspecified. */
const char *rest_reply_check(const char *body, size_t len, rest_answer *out);

/* The same check through jansson alone (rest_reply_check first tries an
 * allocation-free scanner on the usual replies and must agree with this:
 * the unit test and fuzz_model_reply compare the two). */
const char *rest_reply_check_jansson(const char *body, size_t len, rest_answer *out);

#endif
