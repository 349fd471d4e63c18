/*
 * event_scan.h — a MetricEvent's top-level values, as csgp_event_parse's validator reads
 * them: from a jansson tree (the reference path) or from a scanner that reads the common
 * event without building one (the ingest hot path, issue 20).
 *
 * The scanner handles an object of the schema's keys (lib/csg_event_schema.h), each
 * once, whose values are null, true, false, numbers, plain ASCII strings without escapes
 * (lib/csg_json_scan.h), arrays of at most CSG_REASONS_MAX such strings, flat objects of
 * such values (features: CSGP_JV_OBJECT, its text in s/n) or arrays of flat objects
 * (challengers: CSGP_JV_OBJECTS). Anything else (another key, a repeated key, deeper
 * nesting, escapes, non-ASCII text, numbers at jansson's range limits, trailing bytes)
 * makes it decline, and the caller parses with jansson: the scanner only answers where
 * jansson reads the same values (tests/fuzz/fuzz_persist_event_fast.c and the unit test
 * compare the two paths). The objects' own members are read by csgp_scan_members.
 */
#ifndef CSGP_EVENT_SCAN_H
#define CSGP_EVENT_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "csg_event_schema.h"
#include "csg_reason.h"

typedef enum csgp_jv_type {
    CSGP_JV_ABSENT,
    CSGP_JV_NULL,
    CSGP_JV_TRUE,
    CSGP_JV_FALSE,
    CSGP_JV_INT,
    CSGP_JV_REAL,
    CSGP_JV_STRING,
    CSGP_JV_ARRAY,
    CSGP_JV_OBJECT,
    CSGP_JV_OBJECTS, /* from the scanner only: an array of flat objects (challengers) */
} csgp_jv_type;

/* One value. Strings are s[0..n), not NUL-terminated. */
typedef struct csgp_jv {
    csgp_jv_type t;
    long long i; /* CSGP_JV_INT */
    double d;    /* CSGP_JV_INT and CSGP_JV_REAL: the number as json_number_value gives it */
    const char *s;
    size_t n;    /* CSGP_JV_STRING: its bytes; CSGP_JV_ARRAY: its size; CSGP_JV_OBJECT and
                  * CSGP_JV_OBJECTS from the scanner: the bytes of its text s[0..n) */
    json_t *j;   /* from jansson: the node (arrays and objects are read through it) */
    /* CSGP_JV_ARRAY from the scanner: its items, all strings */
    const char *item[CSG_REASONS_MAX];
    size_t item_n[CSG_REASONS_MAX];
} csgp_jv;

/* The top-level values of json[0..len) by schema field (absent keys CSGP_JV_ABSENT);
 * false: not a document the scanner decides (parse it with jansson). */
bool csgp_event_scan(const char *json, size_t len, csgp_jv vals[CSG_EF_COUNT]);

/* The members of the flat object at text[0..len) (a CSGP_JV_OBJECT's text, or one
 * element of a CSGP_JV_OBJECTS') into names/lens/vals, at most max, each name once;
 * *next: the position after its '}' (NULL: not needed). -1 where the scanner declines. */
int csgp_scan_members(const char *text, size_t len, const char **names, size_t *lens,
                      csgp_jv *vals, int max, const char **next);

/* v (NULL: absent) as a csgp_jv. */
void csgp_jv_from_json(json_t *v, csgp_jv *out);

/* Item i (< a->n) of the array a, as a csgp_jv. */
void csgp_jv_item(const csgp_jv *a, size_t i, csgp_jv *out);

/* v is the string s (NUL-terminated). */
bool csgp_jv_is(const csgp_jv *v, const char *s);

/* One entry of a stored features object, as jansson reads it: t is CSGP_JV_INT or
 * CSGP_JV_REAL (d holds the number either way), CSGP_JV_STRING (s, NUL-terminated),
 * CSGP_JV_TRUE, CSGP_JV_FALSE or CSGP_JV_NULL. Valid until the next call on its iterator. */
typedef struct csgp_feature {
    const char *name;
    csgp_jv_type t;
    double d;
    const char *s;
} csgp_feature;

/* The entries of a features text (csgp_event.features, or the column read back), in the
 * text's order, without a jansson tree when the text is a flat object the scanner reads
 * (names and strings of plain ASCII; PostgreSQL's jsonb spacing is fine); anything else
 * (escapes, other bytes, repeated names) is read by jansson, the reference. The ingest
 * counts every event's features twice (catalogue, feature bins): jansson trees were a
 * fifth of csg-persist's CPU for gateway events (issue 20). */
typedef struct csgp_features_it {
    int i, n; /* the scanner's entries, read by open */
    const char *names[CSG_EVENT_MAX_FEATURES];
    size_t lens[CSG_EVENT_MAX_FEATURES];
    csgp_jv vals[CSG_EVENT_MAX_FEATURES];
    json_t *root; /* the jansson path */
    void *iter;
    char name[CSG_EVENT_FEATURE_NAME_MAX + 1];
    char str[CSG_EVENT_CATEGORY_MAX + 1];
} csgp_features_it;

/* Start on text (NULL: no features). false: nothing to iterate (no features, or not a
 * JSON object); the iterator needs no close then. */
bool csgp_features_open(csgp_features_it *it, const char *text);

/* The next entry into *f; false at the end. */
bool csgp_features_next(csgp_features_it *it, csgp_feature *f);

/* Release what open took (safe after a false open). */
void csgp_features_close(csgp_features_it *it);

#endif /* CSGP_EVENT_SCAN_H */
