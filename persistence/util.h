/*
 * util.h — small helpers shared by csg-persist's modules: JSON-line logging,
 * RFC 3339 time parsing/formatting at millisecond precision, number formatting,
 * UTF-8 checks and base64.
 */
#ifndef CSGP_UTIL_H
#define CSGP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg_clock.h" /* lib/: the one clock module */
#include "csg_error.h" /* lib/: csg_error, CSG_E…, the one error setter */

/* Error codes of csg-persist beyond the ABI's CSG_E… (returned negated). */
enum {
    CSGP_EDB = 100,     /* database unreachable or transaction failed: retry later */
    CSGP_EDBDATA = 101, /* the database rejected the data itself: retrying will not help */
    CSGP_EKAFKA = 102,
};

/* Canonical timestamp text: "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars). */
#define CSGP_TS_LEN 24
#define CSGP_TS_SIZE 32

/* One JSON object per line on stderr: {"ts","level","component":"csg-persist","msg"}. */
void csgp_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Messages below this level are dropped: 0 debug, 1 info, 2 warn, 3 error. */
void csgp_log_set_level(int level);

/* Parse RFC 3339 ("2026-11-25T10:00:00Z", "…T10:00:00.123+02:00"; fraction truncated to
 * milliseconds; years 1000–9999) into milliseconds since the Unix epoch. 0 or -CSG_EINVAL. */
int csgp_parse_rfc3339(const char *s, size_t len, int64_t *ms);
/* Parse a filter time: RFC 3339 or epoch seconds ("1764064800", "1764064800.25"). */
int csgp_parse_time_param(const char *s, int64_t *ms);
/* Format ms since the epoch as the canonical text; out must hold CSGP_TS_SIZE bytes. */
void csgp_format_ms(int64_t ms, char *out);

/* Shortest text that reads back as exactly v (%.15g…%.17g). out: 32 bytes. */
void csgp_format_double(double v, char *out, size_t size);
/* Strict number parsers for query parameters: the whole string, finite. */
bool csgp_parse_double(const char *s, double *out);
bool csgp_parse_int64(const char *s, int64_t *out);

/* True when s[0..len) is valid UTF-8 without NUL bytes. */
bool csgp_utf8_valid(const char *s, size_t len);
/* Largest n <= len such that s[0..n) does not end inside a multi-byte sequence. */
size_t csgp_utf8_trim(const char *s, size_t len);
/* Base64 (RFC 4648, padded) of in[0..len); malloc'd NUL-terminated, caller frees. */
char *csgp_base64(const unsigned char *in, size_t len);


#endif /* CSGP_UTIL_H */
