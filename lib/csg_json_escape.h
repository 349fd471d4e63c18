/*
 * csg_json_escape.h — writing JSON strings and the error object by hand, for the places
 * that answer without building a JSON tree (the gateway's replies and log lines, csg-model's
 * replies). One copy for every component (DESIGN §2: lib/ is neutral).
 *
 * Both write into buf[0..cap) and advance *pos by what the whole text needs, also past cap
 * (snprintf semantics: a caller that sees *pos >= cap knows the buffer was too small).
 */
#ifndef CSG_JSON_ESCAPE_H
#define CSG_JSON_ESCAPE_H

#include <stddef.h>

/* s[0..len) as a quoted JSON string: '"' and '\' escaped, control characters as \u00XX,
 * valid UTF-8 copied, each broken UTF-8 sequence written as \ufffd (the output is always
 * valid JSON, whatever bytes a client sent). */
void csg_json_escape(const char *s, size_t len, char *buf, size_t cap, size_t *pos);

/* {"error":{"code","message"[,"field"]}} (DESIGN §5) into buf, NUL-terminated when cap > 0;
 * field may be NULL or "". Returns the length it needs. */
size_t csg_json_error(const char *code, const char *message, const char *field, char *buf,
                      size_t cap);

#endif /* CSG_JSON_ESCAPE_H */
