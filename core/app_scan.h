/*
 * app_scan.h — the request path's application parser (application.c's
 * fast path): one pass over the text, no allocation. It accepts only what
 * the jansson path (csg_app_parse_jansson) accepts, with the same values;
 * everything else — errors, and the rare valid texts it leaves alone
 * (escapes in strings, nested objects or arrays, numbers over 63 bytes) —
 * goes to the jansson path, which decides and words the error. The
 * differential fuzz target (tests/fuzz/fuzz_app_scan.c) holds it to that.
 */
#ifndef CSG_APP_SCAN_H
#define CSG_APP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "schema.h"

typedef union app_val {
    double d;   /* NUMBER */
    int64_t i;  /* INTEGER */
    uint32_t k; /* CATEGORY: index into the feature's values */
    bool b;     /* BOOLEAN */
} app_val;

/* What a valid application holds, before it is rendered. */
typedef struct app_fields {
    uint64_t present; /* bit i: feature i present */
    app_val v[CSG_MAX_FEATURES];
    char id[CSG_APPLICANT_ID_MAX + 1];
} app_fields;

/* True when json[0..len) is an application the schema accepts, read into
 * *out (and a valid request_id into request_id when non-NULL, "" when
 * absent); false when it is not, or not one the scanner reads. */
bool csg_app_scan(const csg_schema *schema, const char *json, size_t len, app_fields *out,
                  char *request_id);

/* The rules both paths share (application.c). */
bool csg_app_valid_applicant_id(const char *s, size_t len);
bool csg_app_number_in_rule(const csg_feature *f, double d);

#endif /* CSG_APP_SCAN_H */
