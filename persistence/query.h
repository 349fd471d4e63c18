/*
 * query.h — the REST API's query string (DESIGN §7) turned into a validated filter set,
 * and that set turned into the terms of a parameterised WHERE clause.
 *
 * Pure: no database, no libevent, no allocation. api.c calls csgp_query_parse once per
 * request and answers 400 invalid_parameter with the error it fills; the fuzz target
 * (tests/fuzz/fuzz_rest_query.c) and the unit test (tests/persist/unit/test_query.c)
 * drive it directly.
 *
 * The rules (docs/persistence.md): the query is application/x-www-form-urlencoded —
 * name=value pairs joined by '&', '+' is a space, %XX a byte (a '%' not followed by two
 * hex digits stays literal), as libevent's evhttp_parse_query_str reads it, except that
 * names are decoded too. A piece without '=' or with an empty name is malformed (a single
 * trailing '&' is allowed). Unknown names, repeated names, values longer than 1024
 * decoded bytes and values holding a NUL byte are refused. An empty value means "not
 * set". Errors are checked in a fixed order, so the parameter named is predictable:
 * the pairs left to right, then from, to, the text filters, min_income, max_income,
 * then the endpoint's own keys in the order of csgp_query's fields.
 *
 * Feature filters (every endpoint): f.<name>.min and f.<name>.max (finite numbers; each at
 * most once) and f.<name>=value, repeatable (a category value or true/false; OR within a
 * feature, AND across features); <name> follows the feature-name rule of
 * lib/csg_event_schema.h, values are 1–256 bytes of UTF-8. Whether the feature exists and
 * has the right kind is the catalogue's to say (catalogue.c, csgp_features_check), not this
 * pure parser's: it leaves type CSGP_FT_UNKNOWN. segments' `by` is one of the three
 * columns or any feature name (then `bands` is optional: deciles or categories).
 */
#ifndef CSGP_QUERY_H
#define CSGP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csg_event_schema.h"
#include "db.h"
#include "util.h"

#define CSGP_QUERY_MAX_PARAMS 96   /* pairs in one query string */
#define CSGP_QUERY_KEY_MAX 63      /* decoded name bytes kept (longer: unknown anyway) */
#define CSGP_QUERY_VALUE_MAX 1024  /* decoded value bytes */
#define CSGP_QUERY_TEXT_MAX 128    /* experiment_id, challenger_model, applicant_id */
#define CSGP_QUERY_MAX_BANDS 50    /* segment band edges */
#define CSGP_QUERY_MAX_TERMS 7     /* WHERE terms: one per filter */
#define CSGP_QUERY_MAX_FEATURES 16 /* distinct features filtered in one query */
#define CSGP_QUERY_MAX_FEATURE_VALUES 64 /* f.<name>=value pairs in one query, in all */

/* A feature's kind, as the catalogue (catalogue.c) knows it. */
typedef enum csgp_feature_type {
    CSGP_FT_UNKNOWN = 0,
    CSGP_FT_NUMBER,
    CSGP_FT_CATEGORY,
    CSGP_FT_BOOLEAN,
} csgp_feature_type;

/* A feature named in the query: as a filter or as segments' `by`. */
typedef struct csgp_query_feature {
    char name[CSG_EVENT_FEATURE_NAME_MAX + 1];
    char path[CSG_EVENT_FEATURE_NAME_MAX + 3]; /* "$.name": SQLite's JSON path */
    bool has_min, has_max;
    double min, max;       /* finite; min <= max when both are set */
    int nvalues;           /* f.<name>=value pairs (values[] with feature == this index) */
    csgp_feature_type type; /* CSGP_FT_UNKNOWN until csgp_features_check */
} csgp_query_feature;

/* The endpoints that take query parameters; each allows the filters plus its own keys. */
typedef enum csgp_query_kind {
    CSGP_Q_SUMMARY,      /* filters only */
    CSGP_Q_LATENCY,      /* + bucket */
    CSGP_Q_DISTRIBUTION, /* + bins */
    CSGP_Q_SEGMENTS,     /* + by, bands */
    CSGP_Q_EVENTS,       /* + limit, offset */
    CSGP_Q_PERFORMANCE,  /* filters only */
    CSGP_Q_REASONS,      /* filters only */
    CSGP_Q_STABILITY,    /* + bucket (1m|1h|1d), reference_from, reference_to */
    CSGP_Q_EXPORT,       /* + limit, after_id, labelled (GET /export/events) */
    CSGP_Q_KINDS
} csgp_query_kind;

/* Where an aggregate endpoint reads (DESIGN §7 "Scale", docs/persistence.md): auto = the
 * rollups when the query allows it, else the rows; rows = always the rows; rollup = the
 * rollups or 400 when the query needs rows. */
typedef enum csgp_source {
    CSGP_SOURCE_AUTO = 0,
    CSGP_SOURCE_ROWS,
    CSGP_SOURCE_ROLLUP,
} csgp_source;

typedef struct csgp_query {
    csgp_query_kind kind;
    /* Filters (every endpoint). Text filters are "" when not set. */
    bool has_from, has_to, has_min_income, has_max_income;
    int64_t from_ms, to_ms;                /* from_ms <= to_ms when both are set */
    char from[CSGP_TS_SIZE], to[CSGP_TS_SIZE]; /* canonical text of from_ms / to_ms */
    double min_income, max_income;         /* finite; min <= max when both are set */
    char experiment_id[CSGP_QUERY_TEXT_MAX + 1];
    char challenger_model[CSGP_QUERY_TEXT_MAX + 1];
    char applicant_id[CSGP_QUERY_TEXT_MAX + 1];
    /* Feature filters, in order of first mention, and their category/boolean values. */
    csgp_query_feature features[CSGP_QUERY_MAX_FEATURES];
    int nfeatures;
    struct {
        int feature; /* index into features[] */
        char text[CSG_EVENT_CATEGORY_MAX + 1];
    } values[CSGP_QUERY_MAX_FEATURE_VALUES];
    int nvalues;
    /* latency: "10s" | "1m" (default) | "5m" | "1h"; stability: "1m" | "1h" | "1d" (default);
     * and its length in seconds */
    const char *bucket;
    int64_t bucket_seconds;
    /* stability: a reference window instead of the stored baselines (both or neither;
     * from < to) */
    bool has_ref_from, has_ref_to;
    int64_t ref_from_ms, ref_to_ms;
    char ref_from[CSGP_TS_SIZE], ref_to[CSGP_TS_SIZE];
    /* distribution: 1–1000, default 20 */
    int64_t bins;
    /* segments: by = the column ("income" default, "credit_history", "loan_amount"), and
     * 1–50 strictly increasing finite band edges (the column's defaults when not given);
     * or, with by_is_feature, a feature (by = by_feature.name), 0 edges when bands is
     * not given. */
    const char *by;
    bool by_is_feature;
    csgp_query_feature by_feature;
    double bands[CSGP_QUERY_MAX_BANDS];
    int nbands;
    int by_column;      /* 0 income, 1 loan_amount, 2 credit_history; -1 a feature */
    bool bands_default; /* a column's default bands (no bands= given) */
    /* events: limit 1–1000 (default 100), offset 0–1e9 (default 0); export: limit 1–10000
     * (default 1000), rows with id > after_id (default 0), labelled=true: only applicants
     * with a known outcome */
    int64_t limit, offset, after_id;
    bool labelled_only;
    /* summary, latency, distribution, segments, reasons: source=auto|rows|rollup (default auto) */
    csgp_source source;
    /* summary, latency, distribution, segments, performance, reasons: arm=live|shadow ("" =
     * both): only request–challenger pairs where the live challenger decided, or the others
     * (read from the view challenger_pairs). */
    char arm[8];
    /* Set by the API, not parsed: some request has more than one challenger result
     * (assignment: all), so per-challenger numbers read challenger_pairs and not the
     * rollups, which describe the first challenger only. */
    bool pairs;
} csgp_query;

/* Why a query was refused: the parameter to name in the 400 reply ("query" when the string
 * itself is malformed or the name cannot be shown) and a sentence; both valid UTF-8. */
typedef struct csgp_query_error {
    char param[CSGP_QUERY_KEY_MAX + 1];
    char message[256];
} csgp_query_error;

/* Parse query (NULL or "" = no parameters) for endpoint kind. 0 and *out filled (the
 * endpoint's defaults for what is absent), or -CSG_EINVAL and *err filled. */
int csgp_query_parse(csgp_query_kind kind, const char *query, csgp_query *out,
                     csgp_query_error *err);

/* One name=value pair read from a query string, decoded. */
typedef struct csgp_query_pair {
    char key[CSGP_QUERY_KEY_MAX + 1];
    char value[CSGP_QUERY_VALUE_MAX + 1];
    size_t key_len, value_len; /* decoded lengths, possibly more than was kept */
} csgp_query_pair;

/* Read the pair at *cursor and advance *cursor past it (and its '&'). 1 = a pair (key and
 * value NUL-terminated, truncated to fit; they may hold NUL bytes of their own), 0 = no
 * more pairs, -1 = malformed (a piece without '=' or with an empty name). */
int csgp_query_next_pair(const char **cursor, csgp_query_pair *out);

/* One "column op placeholder" term of a WHERE clause. column and op are constants of this
 * module, never input; param's text points into the csgp_query, which must outlive it. */
typedef struct csgp_query_term {
    const char *column; /* already quoted where SQL needs it ("\"timestamp\"") */
    const char *op;     /* ">=", "<", "=", "<=" */
    csgp_param param;
    const char *pg_cast; /* for csgp_db_ph: applied on PostgreSQL only */
} csgp_query_term;

/* The filters of q as AND-ed terms, in a fixed order; returns how many (0–7). */
int csgp_query_terms(const csgp_query *q, csgp_query_term out[CSGP_QUERY_MAX_TERMS]);

/* The default band edges of segment column `column` (csgp_query.by_column) into edges;
 * returns how many (0 for a bad column). */
int csgp_query_default_bands(int column, double edges[CSGP_QUERY_MAX_BANDS]);

/* "summary", "latency", … for logs and tests; NULL when kind is out of range. */
const char *csgp_query_kind_name(csgp_query_kind kind);

#endif /* CSGP_QUERY_H */
