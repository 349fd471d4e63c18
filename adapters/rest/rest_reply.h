/*
 * rest_reply.h — the check of a model's reply body for rest.so (DESIGN §5
 * "Model API"): {"score": number in [0,1], "decision": "approve"|"decline"},
 * other keys allowed and ignored; a key given twice (at any depth) makes the
 * reply malformed.
 */
#ifndef CSG_REST_REPLY_H
#define CSG_REST_REPLY_H

#include <stddef.h>

#include "csg/plugin.h"

/* Check the body of a model's 200 reply (len bytes, need not be
 * NUL-terminated). Returns NULL with *score and *d set, or the reason it is
 * not a good reply (a static string) with *score and *d untouched. */
const char *rest_reply_check(const char *body, size_t len, double *score, csg_decision *d);

#endif
