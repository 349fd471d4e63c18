/*
 * query.c — REST query string → validated csgp_query → WHERE terms (see query.h for the
 * rules). Everything is bounded by the fixed sizes in query.h; nothing is allocated.
 */
#include "query.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Every name the API knows. The first seven are the filters every endpoint takes. */
enum {
    K_FROM,
    K_TO,
    K_EXPERIMENT_ID,
    K_CHALLENGER_MODEL,
    K_APPLICANT_ID,
    K_MIN_INCOME,
    K_MAX_INCOME,
    K_BUCKET,
    K_BINS,
    K_BY,
    K_BANDS,
    K_LIMIT,
    K_OFFSET,
    K_SOURCE,
    K_REF_FROM,
    K_REF_TO,
    K_AFTER_ID,
    K_LABELLED,
    K_ARM,
    K_COUNT
};
#define FILTER_KEYS ((1u << (K_MAX_INCOME + 1)) - 1)

static const char *const key_names[K_COUNT] = {
    "from",   "to",   "experiment_id", "challenger_model", "applicant_id", "min_income",
    "max_income", "bucket", "bins", "by", "bands", "limit", "offset", "source",
    "reference_from", "reference_to", "after_id", "labelled", "arm"};

static const struct {
    const char *name;
    unsigned keys; /* bit K_… set = allowed */
} kinds[CSGP_Q_KINDS] = {
    [CSGP_Q_SUMMARY] = {"summary", FILTER_KEYS | 1u << K_SOURCE | 1u << K_ARM},
    [CSGP_Q_LATENCY] = {"latency", FILTER_KEYS | 1u << K_BUCKET | 1u << K_SOURCE | 1u << K_ARM},
    [CSGP_Q_DISTRIBUTION] = {"distribution",
                             FILTER_KEYS | 1u << K_BINS | 1u << K_SOURCE | 1u << K_ARM},
    [CSGP_Q_SEGMENTS] = {"segments",
                         FILTER_KEYS | 1u << K_BY | 1u << K_BANDS | 1u << K_SOURCE | 1u << K_ARM},
    [CSGP_Q_EVENTS] = {"events", FILTER_KEYS | 1u << K_LIMIT | 1u << K_OFFSET},
    [CSGP_Q_PERFORMANCE] = {"performance", FILTER_KEYS | 1u << K_ARM},
    [CSGP_Q_REASONS] = {"reasons", FILTER_KEYS | 1u << K_SOURCE | 1u << K_ARM},
    [CSGP_Q_STABILITY] = {"stability",
                          FILTER_KEYS | 1u << K_BUCKET | 1u << K_REF_FROM | 1u << K_REF_TO |
                              1u << K_SOURCE},
    [CSGP_Q_EXPORT] = {"export", FILTER_KEYS | 1u << K_LIMIT | 1u << K_AFTER_ID | 1u << K_LABELLED},
};

static const struct {
    const char *name;
    int64_t seconds;
} buckets[] = {{"10s", 10}, {"1m", 60}, {"5m", 300}, {"1h", 3600}},
  stability_buckets[] = {{"1m", 60}, {"1h", 3600}, {"1d", 86400}};

static const struct {
    const char *column, *default_bands;
} segment_columns[] = {{"income", "0,20000,50000,100000"},
                       {"loan_amount", "0,1000,5000,10000,25000"},
                       {"credit_history", "0,1,2,5,10"}};

const char *csgp_query_kind_name(csgp_query_kind kind)
{
    return (unsigned)kind < CSGP_Q_KINDS ? kinds[kind].name : NULL;
}

/* ------------------------------------------------------------------------ */
/* Splitting and decoding                                                    */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..n) into dst (cap bytes, always NUL-terminated, truncated to fit); returns
 * the full decoded length. Like libevent, a '%' needs two hex digits after it, inside the
 * piece, to be an escape; otherwise it is kept as it is. */
static size_t decode(const char *s, size_t n, char *dst, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        char c = s[i];
        int hi, lo;
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                 (lo = hexval(s[i + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (j + 1 < cap)
            dst[j] = c;
    }
    dst[j + 1 < cap ? j : cap - 1] = '\0';
    return j;
}

int csgp_query_next_pair(const char **cursor, csgp_query_pair *out)
{
    const char *p = *cursor;
    if (!p || !*p)
        return 0;
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    *cursor = amp ? amp + 1 : p + n;
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p)
        return -1;
    out->key_len = decode(p, (size_t)(eq - p), out->key, sizeof out->key);
    out->value_len = decode(eq + 1, n - (size_t)(eq + 1 - p), out->value, sizeof out->value);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */

static int fail(csgp_query_error *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* How much of a decoded name the JSON error body can show: at most CSGP_QUERY_KEY_MAX
 * bytes, cut at a character boundary; 0 when it is not valid UTF-8. */
static size_t showable(const char *name)
{
    size_t n = csgp_utf8_trim(name, strnlen(name, CSGP_QUERY_KEY_MAX));
    return n && csgp_utf8_valid(name, n) ? n : 0;
}

/* param may be a decoded name from the request; "query" stands for one not showable. */
static int fail(csgp_query_error *err, const char *param, const char *fmt, ...)
{
    size_t n = showable(param);
    if (n == 0) {
        param = "query";
        n = strlen(param);
    }
    memcpy(err->param, param, n);
    err->param[n] = '\0';
    va_list ap;
    va_start(ap, fmt);
    csg_errbuf_vset(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -CSG_EINVAL;
}

/* The decoded values of the known names present, by K_… index. */
typedef struct seen {
    bool present[K_COUNT];
    char value[K_COUNT][CSGP_QUERY_VALUE_MAX + 1];
} seen;

/* The value of key, or NULL when absent or empty (an empty value means "not set"). */
static const char *val(const seen *s, int key)
{
    return s->present[key] && s->value[key][0] ? s->value[key] : NULL;
}

/* Fill f for a feature name: 0, or -1 when name breaks the feature-name rule. */
static int set_feature_name(csgp_query_feature *f, const char *name, size_t n)
{
    if (!csg_event_feature_name_ok(name, n))
        return -1;
    memcpy(f->name, name, n);
    f->name[n] = '\0';
    snprintf(f->path, sizeof f->path, "$.%s", f->name);
    return 0;
}

/* The filter of feature name[0..n), added on first mention; NULL when too many. */
static csgp_query_feature *feature_filter(csgp_query *q, const char *name, size_t n)
{
    for (int i = 0; i < q->nfeatures; i++)
        if (strlen(q->features[i].name) == n && !memcmp(q->features[i].name, name, n))
            return &q->features[i];
    if (q->nfeatures == CSGP_QUERY_MAX_FEATURES)
        return NULL;
    csgp_query_feature *f = &q->features[q->nfeatures++];
    memset(f, 0, sizeof *f);
    set_feature_name(f, name, n);
    return f;
}

/* One f.<name>.min, f.<name>.max or f.<name>=value pair (pair->key starts with "f."). */
static int read_feature_pair(const csgp_query_pair *pair, csgp_query *q, csgp_query_error *err)
{
    const char *key = pair->key, *name = key + 2;
    size_t klen = strlen(key), n = klen - 2;
    int bound = 0; /* 1 min, 2 max */
    if (klen > 6 && !strcmp(key + klen - 4, ".min"))
        bound = 1, n -= 4;
    else if (klen > 6 && !strcmp(key + klen - 4, ".max"))
        bound = 2, n -= 4;
    if (!csg_event_feature_name_ok(name, n))
        return fail(err, key, "unknown parameter: a feature filter is f.<name>, f.<name>.min "
                    "or f.<name>.max with a feature name ([a-z][a-z0-9_]{0,31})");
    if (pair->value_len > CSGP_QUERY_VALUE_MAX)
        return fail(err, key, "value too long (at most %d bytes)", CSGP_QUERY_VALUE_MAX);
    if (memchr(pair->value, '\0', pair->value_len))
        return fail(err, key, "must not contain a NUL byte (%%00)");
    csgp_query_feature *f = feature_filter(q, name, n);
    if (!f)
        return fail(err, key, "at most %d features can be filtered at once",
                    CSGP_QUERY_MAX_FEATURES);
    const char *v = pair->value;
    if (bound) {
        bool *has = bound == 1 ? &f->has_min : &f->has_max;
        double *d = bound == 1 ? &f->min : &f->max;
        if (*has)
            return fail(err, key, "parameter given more than once");
        if (!v[0])
            return 0; /* empty: not set */
        if (!csgp_parse_double(v, d))
            return fail(err, key, "must be a finite number");
        *has = true;
        if (f->has_min && f->has_max && f->max < f->min) {
            char max_key[CSGP_QUERY_KEY_MAX + 1];
            snprintf(max_key, sizeof max_key, "f.%s.max", f->name);
            return fail(err, max_key, "must not be less than f.%s.min", f->name);
        }
        return 0;
    }
    if (!v[0])
        return 0;
    if (pair->value_len > CSG_EVENT_CATEGORY_MAX || !csgp_utf8_valid(v, pair->value_len))
        return fail(err, key, "must be 1-%d bytes of valid UTF-8", CSG_EVENT_CATEGORY_MAX);
    if (q->nvalues == CSGP_QUERY_MAX_FEATURE_VALUES)
        return fail(err, key, "at most %d feature values in one query",
                    CSGP_QUERY_MAX_FEATURE_VALUES);
    q->values[q->nvalues].feature = (int)(f - q->features);
    memcpy(q->values[q->nvalues].text, v, pair->value_len + 1);
    q->nvalues++;
    f->nvalues++;
    return 0;
}

static int read_pairs(csgp_query_kind kind, const char *query, seen *s, csgp_query *out,
                      csgp_query_error *err)
{
    csgp_query_pair pair;
    const char *cur = query;
    int rc;
    /* A malformed piece anywhere is reported before anything else, as libevent did. */
    while ((rc = csgp_query_next_pair(&cur, &pair)) == 1)
        ;
    if (rc < 0)
        return fail(err, "query",
                    "the query string is malformed: every parameter must be name=value, "
                    "joined by '&'");
    int count = 0;
    cur = query;
    while (csgp_query_next_pair(&cur, &pair) == 1) {
        int k = -1;
        /* A name holding a decoded NUL byte matches nothing (strcmp would stop there). */
        size_t kept = pair.key_len < CSGP_QUERY_KEY_MAX ? pair.key_len : CSGP_QUERY_KEY_MAX;
        bool nul = strlen(pair.key) < kept;
        if (!nul)
            for (int i = 0; i < K_COUNT && k < 0; i++)
                if (kinds[kind].keys & 1u << i && !strcmp(pair.key, key_names[i]))
                    k = i;
        if (k < 0 && !nul && pair.key_len <= CSGP_QUERY_KEY_MAX && !strncmp(pair.key, "f.", 2)) {
            if (++count > CSGP_QUERY_MAX_PARAMS)
                return fail(err, pair.key, "too many parameters");
            if ((rc = read_feature_pair(&pair, out, err)))
                return rc;
            continue;
        }
        if (k < 0 && (nul || !showable(pair.key)))
            return fail(err, "query",
                        "unknown parameter (its name holds a NUL byte or is not valid UTF-8)");
        if (k < 0)
            return fail(err, pair.key, "unknown parameter");
        if (s->present[k])
            return fail(err, key_names[k], "parameter given more than once");
        if (++count > CSGP_QUERY_MAX_PARAMS)
            return fail(err, key_names[k], "too many parameters");
        if (pair.value_len > CSGP_QUERY_VALUE_MAX)
            return fail(err, key_names[k], "value too long (at most %d bytes)",
                        CSGP_QUERY_VALUE_MAX);
        if (memchr(pair.value, '\0', pair.value_len))
            return fail(err, key_names[k], "must not contain a NUL byte (%%00)");
        s->present[k] = true;
        memcpy(s->value[k], pair.value, pair.value_len + 1);
    }
    return 0;
}

static int parse_time(const seen *s, int key, bool *has, int64_t *ms, char *text,
                      csgp_query_error *err)
{
    const char *v = val(s, key);
    if (!v)
        return 0;
    if (csgp_parse_time_param(v, ms))
        return fail(err, key_names[key],
                    "must be an RFC 3339 time (2026-11-25T10:00:00Z) or epoch seconds");
    *has = true;
    csgp_format_ms(*ms, text);
    return 0;
}

static int parse_real(const seen *s, int key, bool *has, double *out, csgp_query_error *err)
{
    const char *v = val(s, key);
    if (!v)
        return 0;
    if (!csgp_parse_double(v, out))
        return fail(err, key_names[key], "must be a finite number");
    *has = true;
    return 0;
}

static int parse_int(const seen *s, int key, int64_t def, int64_t lo, int64_t hi, int64_t *out,
                     csgp_query_error *err)
{
    const char *v = val(s, key);
    *out = def;
    if (v && (!csgp_parse_int64(v, out) || *out < lo || *out > hi))
        return fail(err, key_names[key], "must be an integer from %lld to %lld", (long long)lo,
                    (long long)hi);
    return 0;
}

/* Text filters: offset of their field in csgp_query, for the parser and the WHERE terms. */
static const struct {
    int key;
    const char *column;
    size_t offset;
} text_filters[] = {
    {K_EXPERIMENT_ID, "experiment_id", offsetof(csgp_query, experiment_id)},
    {K_CHALLENGER_MODEL, "challenger_model", offsetof(csgp_query, challenger_model)},
    {K_APPLICANT_ID, "applicant_id", offsetof(csgp_query, applicant_id)},
};

static int parse_filters(const seen *s, csgp_query *q, csgp_query_error *err)
{
    int rc;
    if ((rc = parse_time(s, K_FROM, &q->has_from, &q->from_ms, q->from, err)) ||
        (rc = parse_time(s, K_TO, &q->has_to, &q->to_ms, q->to, err)))
        return rc;
    if (q->has_from && q->has_to && q->to_ms < q->from_ms)
        return fail(err, "to", "must not be earlier than from");
    for (size_t i = 0; i < sizeof text_filters / sizeof *text_filters; i++) {
        const char *v = val(s, text_filters[i].key);
        if (!v)
            continue;
        size_t n = strlen(v);
        if (n > CSGP_QUERY_TEXT_MAX)
            return fail(err, key_names[text_filters[i].key], "must be at most %d characters",
                        CSGP_QUERY_TEXT_MAX);
        /* PostgreSQL refuses invalid UTF-8 in a text parameter: that is the client's
         * error (400), not a database outage (503). */
        if (!csgp_utf8_valid(v, n))
            return fail(err, key_names[text_filters[i].key], "must be valid UTF-8");
        memcpy((char *)q + text_filters[i].offset, v, n + 1);
    }
    if ((rc = parse_real(s, K_MIN_INCOME, &q->has_min_income, &q->min_income, err)) ||
        (rc = parse_real(s, K_MAX_INCOME, &q->has_max_income, &q->max_income, err)))
        return rc;
    if (q->has_min_income && q->has_max_income && q->max_income < q->min_income)
        return fail(err, "max_income", "must not be less than min_income");
    return 0;
}

static int parse_bands(const char *text, csgp_query *q, csgp_query_error *err)
{
    q->nbands = 0;
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char tok[72];
        double v;
        if (q->nbands == CSGP_QUERY_MAX_BANDS)
            return fail(err, "bands", "at most %d edges", CSGP_QUERY_MAX_BANDS);
        if (n >= sizeof tok)
            n = sizeof tok - 1; /* still too long for csgp_parse_double: refused below */
        memcpy(tok, p, n);
        tok[n] = '\0';
        if (!csgp_parse_double(tok, &v))
            return fail(err, "bands", "must be comma-separated finite numbers, e.g. 0,20000,50000");
        if (q->nbands > 0 && v <= q->bands[q->nbands - 1])
            return fail(err, "bands", "edges must be strictly increasing");
        q->bands[q->nbands++] = v;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int parse_endpoint(const seen *s, csgp_query *q, csgp_query_error *err)
{
    const char *v;
    int rc;
    /* latency: 10s|1m|5m|1h, default 1m; stability: 1m|1h|1d, default 1d */
    bool stab = q->kind == CSGP_Q_STABILITY;
    size_t nb = stab ? sizeof stability_buckets / sizeof *stability_buckets
                     : sizeof buckets / sizeof *buckets;
    size_t i = stab ? nb - 1 : 1;
    if ((v = val(s, K_BUCKET))) {
        i = 0;
        while (i < nb && strcmp(v, (stab ? stability_buckets : buckets)[i].name))
            i++;
        if (i == nb)
            return fail(err, "bucket", stab ? "must be one of 1m, 1h, 1d"
                                             : "must be one of 10s, 1m, 5m, 1h");
    }
    q->bucket = (stab ? stability_buckets : buckets)[i].name;
    q->bucket_seconds = (stab ? stability_buckets : buckets)[i].seconds;
    if ((rc = parse_time(s, K_REF_FROM, &q->has_ref_from, &q->ref_from_ms, q->ref_from, err)) ||
        (rc = parse_time(s, K_REF_TO, &q->has_ref_to, &q->ref_to_ms, q->ref_to, err)))
        return rc;
    if (q->has_ref_from != q->has_ref_to)
        return fail(err, q->has_ref_from ? "reference_to" : "reference_from",
                    "reference_from and reference_to go together");
    if (q->has_ref_from && q->ref_from_ms >= q->ref_to_ms)
        return fail(err, "reference_to", "must be later than reference_from");
    if ((rc = parse_int(s, K_BINS, 20, 1, 1000, &q->bins, err)))
        return rc;
    size_t col = 0;
    if ((v = val(s, K_BY))) {
        while (col < sizeof segment_columns / sizeof *segment_columns &&
               strcmp(v, segment_columns[col].column))
            col++;
        if (col == sizeof segment_columns / sizeof *segment_columns &&
            set_feature_name(&q->by_feature, v, strlen(v)))
            return fail(err, "by", "must be income, credit_history, loan_amount or a feature "
                        "name ([a-z][a-z0-9_]{0,31})");
    }
    q->by_is_feature = col == sizeof segment_columns / sizeof *segment_columns;
    q->by_column = q->by_is_feature ? -1 : (int)col;
    q->bands_default = !q->by_is_feature && !val(s, K_BANDS);
    q->by = q->by_is_feature ? q->by_feature.name : segment_columns[col].column;
    const char *bands = val(s, K_BANDS);
    if (!bands && !q->by_is_feature)
        bands = segment_columns[col].default_bands;
    if (bands && (rc = parse_bands(bands, q, err)))
        return rc;
    bool export = q->kind == CSGP_Q_EXPORT; /* pages of up to 10000 rows, 1000 by default */
    if ((rc = parse_int(s, K_LIMIT, export ? 1000 : 100, 1, export ? 10000 : 1000, &q->limit,
                        err)) ||
        (rc = parse_int(s, K_OFFSET, 0, 0, 1000000000, &q->offset, err)) ||
        (rc = parse_int(s, K_AFTER_ID, 0, 0, INT64_MAX, &q->after_id, err)))
        return rc;
    if ((v = val(s, K_LABELLED))) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            return fail(err, "labelled", "must be true or false");
        q->labelled_only = !strcmp(v, "true");
    }
    q->source = CSGP_SOURCE_AUTO;
    if ((v = val(s, K_SOURCE))) {
        if (!strcmp(v, "rows"))
            q->source = CSGP_SOURCE_ROWS;
        else if (!strcmp(v, "rollup"))
            q->source = CSGP_SOURCE_ROLLUP;
        else if (strcmp(v, "auto"))
            return fail(err, "source", "must be auto, rows or rollup");
    }
    /* arm (issue 21): live = the challenger's decision was the reply; shadow = comparisons. */
    if ((v = val(s, K_ARM))) {
        if (strcmp(v, "live") && strcmp(v, "shadow"))
            return fail(err, "arm", "must be live or shadow");
        memcpy(q->arm, v, strlen(v) + 1); /* "live" or "shadow": fits */
    }
    return 0;
}

int csgp_query_default_bands(int column, double edges[CSGP_QUERY_MAX_BANDS])
{
    if (column < 0 || (size_t)column >= sizeof segment_columns / sizeof *segment_columns)
        return 0;
    csgp_query q;
    csgp_query_error err;
    if (parse_bands(segment_columns[column].default_bands, &q, &err))
        return 0;
    memcpy(edges, q.bands, (size_t)q.nbands * sizeof *edges);
    return q.nbands;
}

int csgp_query_parse(csgp_query_kind kind, const char *query, csgp_query *out,
                     csgp_query_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if ((unsigned)kind >= CSGP_Q_KINDS)
        return fail(err, "query", "no such endpoint");
    out->kind = kind;
    /* ~13 KiB: the REST thread's stack has room, and it keeps the parse allocation-free. */
    seen s;
    memset(s.present, 0, sizeof s.present);
    int rc;
    if ((rc = read_pairs(kind, query ? query : "", &s, out, err)) ||
        (rc = parse_filters(&s, out, err)) || (rc = parse_endpoint(&s, out, err)))
        return rc;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* WHERE terms                                                              */

int csgp_query_terms(const csgp_query *q, csgp_query_term out[CSGP_QUERY_MAX_TERMS])
{
    int n = 0;
    if (q->has_from)
        out[n++] = (csgp_query_term){"\"timestamp\"", ">=",
                                     {.type = CSGP_P_TEXT, .text = q->from}, "timestamptz"};
    if (q->has_to)
        out[n++] = (csgp_query_term){"\"timestamp\"", "<",
                                     {.type = CSGP_P_TEXT, .text = q->to}, "timestamptz"};
    for (size_t i = 0; i < sizeof text_filters / sizeof *text_filters; i++) {
        const char *v = (const char *)q + text_filters[i].offset;
        if (v[0])
            out[n++] = (csgp_query_term){text_filters[i].column, "=",
                                         {.type = CSGP_P_TEXT, .text = v}, NULL};
    }
    if (q->has_min_income)
        out[n++] = (csgp_query_term){"income", ">=",
                                     {.type = CSGP_P_REAL, .real = q->min_income}, "float8"};
    if (q->has_max_income)
        out[n++] = (csgp_query_term){"income", "<=",
                                     {.type = CSGP_P_REAL, .real = q->max_income}, "float8"};
    return n;
}
