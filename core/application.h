/*
 * application.h — parse and validate a JSON loan application against the
 * feature schema (DESIGN §3, §5): the one place that decides what a valid
 * application is. Every transport reaches it through
 * csg_core_api.parse_application; the fuzz targets call it directly.
 *
 * A csg_application (opaque in csg/plugin.h, defined in application.c) is
 * one heap block: the applicant id, a present bit and a typed value per
 * schema feature, and the canonical compact JSON text
 *   {"applicant_id":"…",<present features in schema order>}
 * with numbers in their shortest round-trip form. It holds a reference to
 * its schema.
 */
#ifndef CSG_APPLICATION_H
#define CSG_APPLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"
#include "schema.h"

/* Parse json[0..len) as one application object against schema. On
 * CSG_PARSE_OK *out is a new application (free with csg_app_free). On
 * failure *out is NULL and *err (if non-NULL) says why: invalid_json for
 * text that is not one JSON object (or holds a number jansson cannot
 * represent), invalid_field naming the field for a broken rule. Checked in
 * this order: applicant_id, the features in schema order (required, type,
 * rule), unknown fields under `unknown_fields: reject` (in document order),
 * request_id. When request_id is non-NULL, a valid "request_id" string
 * member is copied into it (CSG_REQUEST_ID_MAX + 1 bytes; "" otherwise),
 * also when another field is invalid. */
csg_parse_status csg_app_parse(const csg_schema *schema, const char *json, size_t len,
                               csg_application **out, char *request_id, csg_parse_error *err);

/* The same with jansson alone: the reference csg_app_parse's allocation-free
 * scanner (app_scan.h) is checked against, and what decides (and words the
 * error) for every text the scanner does not accept. */
csg_parse_status csg_app_parse_jansson(const csg_schema *schema, const char *json, size_t len,
                                       csg_application **out, char *request_id,
                                       csg_parse_error *err);

void csg_app_free(csg_application *app); /* NULL is fine */

/* The same application under schema nw (a reload's schema that
 * csg_schema_reload_compatible accepted): features matched by name. Frees
 * app; returns the new one, or NULL without memory (app is freed anyway). */
csg_application *csg_app_rebind(csg_application *app, const csg_schema *nw);

/* An application the readiness probe can send: applicant
 * "csg-readiness-probe", income 50000, loan_amount 10000, credit_history 1
 * where the schema has them, and a valid value for every other required
 * feature. NULL without memory. */
csg_application *csg_app_probe(const csg_schema *schema);

/* Accessors (the csg_core_api functions of the same names). */
const csg_schema *csg_app_schema(const csg_application *app);
const char *csg_app_applicant_id(const csg_application *app);
const char *csg_app_json(const csg_application *app, size_t *len);
/* The features part of the canonical JSON as an object text ("{}" when
 * none is present) into buf (snprintf semantics). */
size_t csg_app_features_json(const csg_application *app, char *buf, size_t cap);
/* Canonical JSON text of present feature i's value, or NULL (absent, out of
 * range); *len its length. Points into the application. */
const char *csg_app_value_text(const csg_application *app, int i, size_t *len);
bool csg_app_number(const csg_application *app, int i, double *out);
bool csg_app_integer(const csg_application *app, int i, int64_t *out);
const char *csg_app_category(const csg_application *app, int i);
bool csg_app_flag(const csg_application *app, int i, bool *out);

/* The default schema's parser with core_api.parse_application's signature
 * (w is ignored): for hosts without a configuration — test hosts that fake
 * the core, fuzz harnesses. */
csg_parse_status csg_app_parse_default(csg_worker *w, const char *json, size_t len,
                                       csg_application **app, char *request_id,
                                       csg_parse_error *err);

/* Fill api's feature_*, category_value, app_* and application_free. */
void csg_app_api_fill(csg_core_api *api);

/* csg_core_api's schema functions. */
unsigned csg_api_feature_count(const csg_schema *s);
const char *csg_api_feature_name(const csg_schema *s, int i);
int csg_api_feature_index(const csg_schema *s, const char *name);
csg_feature_type csg_api_feature_type(const csg_schema *s, int i);
const char *csg_api_category_value(const csg_schema *s, int i, unsigned k);

/* A client-chosen request id: 1–64 printable ASCII characters (0x21–0x7e). */
bool csg_valid_request_id(const char *id, size_t len);

/* csg_json_escape (a JSON string) and csg_json_error (the §5 error object): lib/. */
#include "csg_json_escape.h"

/* "invalid_json" / "invalid_field" for a parse status (NULL for OK). */
const char *csg_parse_status_code(csg_parse_status status);

#endif /* CSG_APPLICATION_H */
