/*
 * application.h — parse and validate a JSON loan application (DESIGN §5).
 *
 * Shared by the gateway (HTTP bodies, TCP lines), csg-model and the fuzz
 * targets, so every entry point applies the same rules and error texts.
 */
#ifndef CSG_APPLICATION_H
#define CSG_APPLICATION_H

#include <stdbool.h>
#include <stddef.h>

#include "csg/plugin.h"

/* Parse json[0..len) as one application object. Extra keys are ignored.
 * On success fills *app and, when request_id is non-NULL, copies an optional
 * "request_id" string member into it (CSG_REQUEST_ID_MAX + 1 bytes; "" when
 * absent). On failure fills *err (if non-NULL) and leaves *app undefined. */
csg_parse_status csg_parse_application(const char *json, size_t len, csg_application *app,
                                       char *request_id, csg_parse_error *err);

/* A client-chosen request id: 1–64 printable ASCII characters (0x21–0x7e). */
bool csg_valid_request_id(const char *id, size_t len);

/* Append the JSON string literal for s[0..len) (with quotes) to buf at *pos,
 * never writing past cap; *pos advances by the full length needed. */
void csg_json_escape(const char *s, size_t len, char *buf, size_t cap, size_t *pos);

/* Write {"error":{"code":…,"message":…[,"field":…]}} into buf (no newline);
 * field may be NULL. Returns the length needed (snprintf semantics). */
size_t csg_format_error(const char *code, const char *message, const char *field, char *buf,
                        size_t cap);

/* "invalid_json" / "invalid_field" for a parse status (NULL for OK). */
const char *csg_parse_status_code(csg_parse_status status);

#endif /* CSG_APPLICATION_H */
