/*
 * Unit tests of persistence/query.c: the REST query string → csgp_query → WHERE terms.
 * Table-driven: accepted queries with the fields they must produce, refused ones with the
 * parameter the 400 names and a word of its message. The same rules run against a real
 * csg-persist in tests/persist/test_api.py.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

#define X16 "xxxxxxxxxxxxxxxx"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16

/* Fields left 0/NULL expect the default (nothing set; bucket 1m, bins 20, by income with
 * its 4 default edges, limit 100, offset 0). */
static const struct ok_case {
    csgp_query_kind kind;
    const char *query;
    const char *from, *to; /* canonical text */
    const char *experiment_id, *challenger_model, *applicant_id;
    const char *min_income, *max_income; /* as text, NULL = not set */
    const char *bucket;
    int64_t bins;
    const char *by;
    int nbands;
    double band_first, band_last;
    int64_t limit, offset;
} ok_cases[] = {
    {CSGP_Q_SUMMARY, NULL, .from = NULL},
    {CSGP_Q_SUMMARY, "", .from = NULL},
    {CSGP_Q_SUMMARY, "experiment_id=x&", .experiment_id = "x"}, /* one trailing '&' */
    {CSGP_Q_SUMMARY, "from=2026-11-25T10:00:00Z", .from = "2026-11-25T10:00:00.000Z"},
    {CSGP_Q_REASONS, "challenger_model=m&experiment_id=x&min_income=5", .challenger_model = "m",
     .experiment_id = "x", .min_income = "5"},
    {CSGP_Q_PERFORMANCE, "from=1764064800.25&to=1764064800.25", .from = "2025-11-25T10:00:00.250Z",
     .to = "2025-11-25T10:00:00.250Z"},
    {CSGP_Q_SUMMARY, "to=2026-11-25T12:00:00%2B02:00", .to = "2026-11-25T10:00:00.000Z"},
    {CSGP_Q_SUMMARY, "to=2026-11-25T12:00:00.123456-01:30", .to = "2026-11-25T13:30:00.123Z"},
    /* decoding: '+' is a space, %XX a byte, a broken escape stays, names decode too */
    {CSGP_Q_SUMMARY, "applicant_id=a+b%2Bc", .applicant_id = "a b+c"},
    {CSGP_Q_SUMMARY, "experiment_id=caf%C3%a9", .experiment_id = "caf\xc3\xa9"},
    {CSGP_Q_SUMMARY, "experiment_id=a%zz%4%", .experiment_id = "a%zz%4%"},
    {CSGP_Q_SUMMARY, "challenger%5Fmodel=m&applicant_id=a=b", .challenger_model = "m",
     .applicant_id = "a=b"},
    /* empty values mean "not set", for every kind of parameter */
    {CSGP_Q_SUMMARY, "from=&to=&experiment_id=&challenger_model=&applicant_id=&min_income=&max_income=", .from = NULL},
    {CSGP_Q_SEGMENTS, "by=&bands=", .from = NULL},
    {CSGP_Q_EVENTS, "limit=&offset=", .from = NULL},
    {CSGP_Q_SUMMARY, "applicant_id=" X128, .applicant_id = X128},
    {CSGP_Q_SUMMARY, "min_income=-5&max_income=-5", .min_income = "-5", .max_income = "-5"},
    {CSGP_Q_SUMMARY, "min_income=1e3&max_income=250000.5", .min_income = "1000",
     .max_income = "250000.5"},
    /* every amount an event may carry can be a filter or an edge (issue 15): the largest
     * double, denormals, and an underflow read as the nearest double (0), like JSON */
    {CSGP_Q_SUMMARY, "min_income=5e-324&max_income=1.7976931348623157e308",
     .min_income = "5e-324", .max_income = "1.7976931348623157e308"},
    {CSGP_Q_SUMMARY, "max_income=1e-400", .max_income = "0"},
    {CSGP_Q_SEGMENTS, "by=loan_amount&bands=5e-324,2.2250738585072014e-308,1e308",
     .by = "loan_amount", .nbands = 3, .band_first = 5e-324, .band_last = 1e308},
    {CSGP_Q_LATENCY, "bucket=10s", .bucket = "10s"},
    {CSGP_Q_LATENCY, "bucket=1h&from=2026-01-01T00:00:00Z", .bucket = "1h",
     .from = "2026-01-01T00:00:00.000Z"},
    {CSGP_Q_DISTRIBUTION, "bins=1", .bins = 1},
    {CSGP_Q_DISTRIBUTION, "bins=1000", .bins = 1000},
    {CSGP_Q_SEGMENTS, "by=loan_amount", .by = "loan_amount", .nbands = 5, .band_last = 25000},
    {CSGP_Q_SEGMENTS, "by=credit_history&bands=-1.5,0,1e1", .by = "credit_history", .nbands = 3,
     .band_first = -1.5, .band_last = 10},
    {CSGP_Q_SEGMENTS, "bands=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
                      "25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49",
     .nbands = 50, .band_last = 49},
    {CSGP_Q_EVENTS, "limit=1&offset=1000000000", .limit = 1, .offset = 1000000000},
    {CSGP_Q_EVENTS, "offset=0&limit=1000", .limit = 1000},
    {CSGP_Q_EXPORT, "limit=10000&after_id=9223372036854775807&labelled=false", .limit = 10000},
};

static void test_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof *ok_cases; i++) {
        const struct ok_case *c = &ok_cases[i];
        csgp_query q;
        csgp_query_error err;
        int rc = csgp_query_parse(c->kind, c->query, &q, &err);
        if (rc) {
            fail_msg("case %zu \"%s\": refused: %s: %s", i, c->query, err.param, err.message);
        }
        assert_int_equal(q.kind, c->kind);
        assert_int_equal(q.has_from, c->from != NULL);
        if (c->from)
            assert_string_equal(q.from, c->from);
        assert_int_equal(q.has_to, c->to != NULL);
        if (c->to)
            assert_string_equal(q.to, c->to);
        assert_string_equal(q.experiment_id, c->experiment_id ? c->experiment_id : "");
        assert_string_equal(q.challenger_model, c->challenger_model ? c->challenger_model : "");
        assert_string_equal(q.applicant_id, c->applicant_id ? c->applicant_id : "");
        assert_int_equal(q.has_min_income, c->min_income != NULL);
        if (c->min_income)
            assert_true(q.min_income == atof(c->min_income));
        assert_int_equal(q.has_max_income, c->max_income != NULL);
        if (c->max_income)
            assert_true(q.max_income == atof(c->max_income));
        assert_string_equal(q.bucket, c->bucket ? c->bucket : "1m");
        assert_int_equal(q.bins, c->bins ? c->bins : 20);
        assert_string_equal(q.by, c->by ? c->by : "income");
        assert_int_equal(q.nbands, c->nbands ? c->nbands : 4);
        if (c->nbands) {
            assert_true(q.bands[0] == c->band_first);
            assert_true(q.bands[q.nbands - 1] == c->band_last);
        }
        assert_int_equal(q.limit, c->limit ? c->limit : 100);
        assert_int_equal(q.offset, c->offset);
    }
}

static const struct bad_case {
    csgp_query_kind kind;
    const char *query;
    const char *param;   /* named in the 400 */
    const char *needle;  /* part of the message */
} bad_cases[] = {
    /* the string itself */
    {CSGP_Q_SUMMARY, "&", "query", "malformed"},
    {CSGP_Q_SUMMARY, "from", "query", "malformed"},
    {CSGP_Q_SUMMARY, "=x", "query", "malformed"},
    {CSGP_Q_SUMMARY, "from=1&&to=2", "query", "malformed"},
    {CSGP_Q_SUMMARY, "bogus=1&x", "query", "malformed"}, /* reported before the unknown name */
    /* names */
    {CSGP_Q_SUMMARY, "bogus=1", "bogus", "unknown"},
    {CSGP_Q_SUMMARY, "From=1", "From", "unknown"},
    {CSGP_Q_SUMMARY, "bucket=1m", "bucket", "unknown"}, /* another endpoint's key */
    {CSGP_Q_EVENTS, "bins=5", "bins", "unknown"},
    {CSGP_Q_LATENCY, "limit=5", "limit", "unknown"},
    {CSGP_Q_REASONS, "bins=5", "bins", "unknown"}, /* reasons: filters only */
    {CSGP_Q_REASONS, "by=home", "by", "unknown"},
    {CSGP_Q_EVENTS, "source=rows", "source", "unknown"},
    {CSGP_Q_SUMMARY, "source=cache", "source", "auto, rows or rollup"},
    {CSGP_Q_SUMMARY, "from%00x=1", "query", "NUL"},
    {CSGP_Q_SUMMARY, "%FF=1", "query", "UTF-8"},
    {CSGP_Q_SUMMARY, X128 "=1", X16 X16 X16 "xxxxxxxxxxxxxxx", "unknown"}, /* name cut to 63 */
    {CSGP_Q_DISTRIBUTION, "bins=0&bogus=1", "bogus", "unknown"}, /* pairs before values */
    /* repeated keys, empty or not */
    {CSGP_Q_SUMMARY, "experiment_id=a&experiment_id=b", "experiment_id", "more than once"},
    {CSGP_Q_SUMMARY, "from=&from=1", "from", "more than once"},
    {CSGP_Q_EVENTS, "limit=5&offset=1&limit=5", "limit", "more than once"},
    /* values: length, NUL, UTF-8 */
    {CSGP_Q_SUMMARY, "applicant_id=" X128 "x", "applicant_id", "at most 128"},
    {CSGP_Q_SUMMARY, "experiment_id=" X128 X128 X128 X128 X128 X128 X128 X128 "x",
     "experiment_id", "too long"},
    {CSGP_Q_SUMMARY, "applicant_id=a%00b", "applicant_id", "NUL"},
    {CSGP_Q_SUMMARY, "challenger_model=%FF%FE", "challenger_model", "UTF-8"},
    {CSGP_Q_SUMMARY, "experiment_id=%C3", "experiment_id", "UTF-8"},
    /* times */
    {CSGP_Q_SUMMARY, "from=yesterday", "from", "RFC 3339"},
    {CSGP_Q_SUMMARY, "to=2026-13-01T00:00:00Z", "to", "RFC 3339"},
    {CSGP_Q_SUMMARY, "from=-1", "from", "epoch"},
    {CSGP_Q_SUMMARY, "from=253402300800", "from", "epoch"},
    {CSGP_Q_SUMMARY, "from=2026-11-25T10:00:00Z&to=2026-11-25T09:59:59.999Z", "to", "earlier"},
    {CSGP_Q_SUMMARY, "min_income=abc&from=bad", "from", "RFC 3339"}, /* fixed order */
    /* incomes */
    {CSGP_Q_SUMMARY, "min_income=abc", "min_income", "finite"},
    {CSGP_Q_SUMMARY, "max_income=nan", "max_income", "finite"},
    {CSGP_Q_SUMMARY, "max_income=inf", "max_income", "finite"},
    {CSGP_Q_SUMMARY, "min_income=0x10", "min_income", "finite"},
    {CSGP_Q_SUMMARY, "min_income=+1e999", "min_income", "finite"},
    {CSGP_Q_SUMMARY, "min_income=%201", "min_income", "finite"},
    {CSGP_Q_SUMMARY, "min_income=10&max_income=5", "max_income", "less than"},
    /* endpoint keys */
    {CSGP_Q_LATENCY, "bucket=2m", "bucket", "10s"},
    {CSGP_Q_LATENCY, "bucket=1M", "bucket", "10s"},
    {CSGP_Q_DISTRIBUTION, "bins=0", "bins", "from 1 to 1000"},
    {CSGP_Q_DISTRIBUTION, "bins=1001", "bins", "from 1 to 1000"},
    {CSGP_Q_DISTRIBUTION, "bins=3.5", "bins", "integer"},
    {CSGP_Q_DISTRIBUTION, "bins=+5", "bins", "integer"},
    {CSGP_Q_SEGMENTS, "by=Age", "by", "feature name"},
    {CSGP_Q_SEGMENTS, "by=a-b&bands=x", "by", "income"},
    {CSGP_Q_SEGMENTS, "by=age&bands=x", "bands", "comma-separated"},
    /* feature filters: the syntax here, the catalogue in catalogue.c */
    {CSGP_Q_SUMMARY, "f.Home=rent", "f.Home", "feature name"},
    {CSGP_Q_SUMMARY, "f.=rent", "f.", "feature name"},
    {CSGP_Q_SUMMARY, "f.home.mid=1", "f.home.mid", "feature name"},
    {CSGP_Q_SUMMARY, "f.0x=1", "f.0x", "feature name"},
    {CSGP_Q_SUMMARY, "f." X16 X16 "y=1", "f." X16 X16 "y", "feature name"},
    {CSGP_Q_SUMMARY, "f.age.min=abc", "f.age.min", "finite"},
    {CSGP_Q_SUMMARY, "f.age.max=inf", "f.age.max", "finite"},
    {CSGP_Q_SUMMARY, "f.age.min=1&f.age.min=2", "f.age.min", "more than once"},
    {CSGP_Q_SUMMARY, "f.age.max=1&f.age.min=2", "f.age.max", "less than"},
    {CSGP_Q_SUMMARY, "f.home=a%00b", "f.home", "NUL"},
    {CSGP_Q_SUMMARY, "f.home=%FF", "f.home", "UTF-8"},
    {CSGP_Q_SUMMARY, "f.home=" X128 X128 "x", "f.home", "UTF-8"},
    {CSGP_Q_SUMMARY, "f.a=1&f.b=1&f.c=1&f.d=1&f.e=1&f.f=1&f.g=1&f.h=1&f.i=1&f.j=1&f.k=1&f.l=1"
                     "&f.m=1&f.n=1&f.o=1&f.p=1&f.q=1", "f.q", "at most 16"},
    {CSGP_Q_SEGMENTS, "bands=10,5", "bands", "strictly increasing"},
    {CSGP_Q_SEGMENTS, "bands=1,1", "bands", "strictly increasing"},
    {CSGP_Q_SEGMENTS, "bands=0,,5", "bands", "comma-separated"},
    {CSGP_Q_SEGMENTS, "bands=0,x", "bands", "comma-separated"},
    {CSGP_Q_SEGMENTS, "bands=0,5,", "bands", "comma-separated"},
    {CSGP_Q_SEGMENTS, "bands=,0", "bands", "comma-separated"},
    {CSGP_Q_SEGMENTS, "bands=0,1e999", "bands", "comma-separated"},
    {CSGP_Q_SEGMENTS, "bands=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
                      "25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50",
     "bands", "at most 50"},
    {CSGP_Q_EVENTS, "limit=0", "limit", "from 1 to 1000"},
    {CSGP_Q_EVENTS, "after_id=1", "after_id", "unknown"},
    {CSGP_Q_EXPORT, "offset=1", "offset", "unknown"},
    {CSGP_Q_EXPORT, "limit=0", "limit", "from 1 to 10000"},
    {CSGP_Q_EXPORT, "limit=10001", "limit", "from 1 to 10000"},
    {CSGP_Q_EXPORT, "after_id=-1", "after_id", "from 0 to"},
    {CSGP_Q_EXPORT, "after_id=9223372036854775808", "after_id", "from 0 to"},
    {CSGP_Q_EXPORT, "labelled=yes", "labelled", "true or false"},
    {CSGP_Q_STABILITY, "bucket=10s", "bucket", "1m, 1h, 1d"},
    {CSGP_Q_LATENCY, "bucket=1d", "bucket", "10s, 1m, 5m, 1h"},
    {CSGP_Q_STABILITY, "reference_from=2026-11-25T10:00:00Z", "reference_to", "go together"},
    {CSGP_Q_STABILITY, "reference_to=2026-11-25T10:00:00Z", "reference_from", "go together"},
    {CSGP_Q_STABILITY, "reference_from=2026-11-25T10:00:00Z&reference_to=2026-11-25T10:00:00Z",
     "reference_to", "later than"},
    {CSGP_Q_STABILITY, "reference_from=yesterday&reference_to=1", "reference_from", "RFC 3339"},
    {CSGP_Q_STABILITY, "bins=5", "bins", "unknown"}, /* source= is taken (rollups or rows) */
    {CSGP_Q_SUMMARY, "reference_from=1", "reference_from", "unknown"},
    {CSGP_Q_EVENTS, "limit=1001", "limit", "from 1 to 1000"},
    {CSGP_Q_EVENTS, "offset=-1", "offset", "from 0 to 1000000000"},
    {CSGP_Q_EVENTS, "offset=1000000001", "offset", "from 0 to 1000000000"},
    {CSGP_Q_EVENTS, "offset=99999999999999999999", "offset", "integer"},
    {CSGP_Q_EVENTS, "offset=-1&limit=0", "limit", "from 1 to 1000"}, /* limit checked first */
};

static void test_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const struct bad_case *c = &bad_cases[i];
        csgp_query q;
        csgp_query_error err;
        int rc = csgp_query_parse(c->kind, c->query, &q, &err);
        if (rc != -CSG_EINVAL || strcmp(err.param, c->param) || !strstr(err.message, c->needle))
            fail_msg("case %zu \"%.60s\": rc %d, param \"%s\", message \"%s\"; want \"%s\", \"%s\"",
                     i, c->query, rc, err.param, err.message, c->param, c->needle);
    }
}

/* Feature filters and by=<feature>: parsed here, typed later by the catalogue. */
static void test_features(void **state)
{
    (void)state;
    static const struct {
        csgp_query_kind kind;
        const char *query;
        int nfeatures, nvalues;
        const char *name0, *path0, *by;
        bool has_min, has_max;
        double min, max;
        int nbands;
    } cases[] = {
        {CSGP_Q_SUMMARY, "f.age.min=18&f.age.max=65.5", 1, 0, "age", "$.age", "income", true,
         true, 18, 65.5, 4},
        {CSGP_Q_EVENTS, "f.home=rent&f.job=fixed&f.home=owner", 2, 3, "home", "$.home", "income",
         false, false, 0, 0, 4},
        {CSGP_Q_SUMMARY, "f.min.max=3", 1, 0, "min", "$.min", "income", false, true, 0, 3, 4},
        {CSGP_Q_SUMMARY, "f.home=&f.age.min=", 2, 0, "home", "$.home", "income", false, false, 0,
         0, 4}, /* empty: not set */
        {CSGP_Q_SEGMENTS, "by=home", 0, 0, NULL, NULL, "home", false, false, 0, 0, 0},
        {CSGP_Q_SEGMENTS, "by=age&bands=18,30,50", 0, 0, NULL, NULL, "age", false, false, 0, 0, 3},
        {CSGP_Q_SEGMENTS, "by=loan_amount", 0, 0, NULL, NULL, "loan_amount", false, false, 0, 0, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        csgp_query q;
        csgp_query_error err;
        if (csgp_query_parse(cases[i].kind, cases[i].query, &q, &err))
            fail_msg("case %zu \"%s\": refused: %s: %s", i, cases[i].query, err.param,
                     err.message);
        assert_int_equal(q.nfeatures, cases[i].nfeatures);
        assert_int_equal(q.nvalues, cases[i].nvalues);
        assert_string_equal(q.by, cases[i].by);
        assert_int_equal(q.nbands, cases[i].nbands);
        assert_int_equal(q.by_is_feature, strcmp(cases[i].by, "income") &&
                                              strcmp(cases[i].by, "loan_amount"));
        if (!cases[i].name0)
            continue;
        const csgp_query_feature *f = &q.features[0];
        assert_string_equal(f->name, cases[i].name0);
        assert_string_equal(f->path, cases[i].path0);
        assert_int_equal(f->type, CSGP_FT_UNKNOWN);
        assert_int_equal(f->has_min, cases[i].has_min);
        assert_int_equal(f->has_max, cases[i].has_max);
        if (f->has_min)
            assert_true(f->min == cases[i].min);
        if (f->has_max)
            assert_true(f->max == cases[i].max);
    }
    /* values keep their feature and their order; OR within a feature */
    csgp_query q;
    csgp_query_error err;
    assert_int_equal(csgp_query_parse(CSGP_Q_SUMMARY, "f.home=rent&f.job=a+b&f.home=owner", &q,
                                      &err), 0);
    assert_int_equal(q.features[0].nvalues, 2);
    assert_int_equal(q.features[1].nvalues, 1);
    assert_int_equal(q.values[0].feature, 0);
    assert_string_equal(q.values[0].text, "rent");
    assert_int_equal(q.values[1].feature, 1);
    assert_string_equal(q.values[1].text, "a b");
    assert_string_equal(q.values[2].text, "owner");
    /* 64 values are fine, the 65th is refused */
    char big[2048] = "";
    for (int i = 0; i < 65; i++)
        strcat(big, i ? "&f.home=v" : "f.home=v");
    assert_int_equal(csgp_query_parse(CSGP_Q_SUMMARY, big, &q, &err), -CSG_EINVAL);
    assert_string_equal(err.param, "f.home");
    big[strlen(big) - strlen("&f.home=v")] = '\0';
    assert_int_equal(csgp_query_parse(CSGP_Q_SUMMARY, big, &q, &err), 0);
    assert_int_equal(q.nvalues, 64);
}

/* The pair splitter: libevent's rules (malformed pieces, trailing '&', '=' in values). */
static void test_pairs(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        int pairs;     /* read before the end or the malformed piece */
        int last_rc;   /* 0 end, -1 malformed */
        const char *key0, *value0;
    } cases[] = {
        {"", 0, 0, NULL, NULL},
        {"a=1", 1, 0, "a", "1"},
        {"a=1&", 1, 0, "a", "1"},
        {"a=1&&", 1, -1, "a", "1"},
        {"a=&b=2", 2, 0, "a", ""},
        {"a==b", 1, 0, "a", "=b"},
        {"%61+b=%3d%3D", 1, 0, "a b", "=="},
        {"a=%4", 1, 0, "a", "%4"},
        {"a=%%41", 1, 0, "a", "%A"},
        {"x&a=1", 0, -1, NULL, NULL},
        {"=1", 0, -1, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *cur = cases[i].query;
        csgp_query_pair p;
        int n = 0, rc;
        while ((rc = csgp_query_next_pair(&cur, &p)) == 1) {
            if (n == 0) {
                assert_string_equal(p.key, cases[i].key0);
                assert_string_equal(p.value, cases[i].value0);
                assert_int_equal(p.value_len, strlen(cases[i].value0));
            }
            n++;
        }
        assert_int_equal(n, cases[i].pairs);
        assert_int_equal(rc, cases[i].last_rc);
    }
    /* Overlong names and values are cut to fit but report their full length. */
    char big[3000];
    memset(big, 'k', 100);
    big[100] = '=';
    memset(big + 101, 'v', 2000);
    big[2101] = '\0';
    const char *cur = big;
    csgp_query_pair p;
    assert_int_equal(csgp_query_next_pair(&cur, &p), 1);
    assert_int_equal(p.key_len, 100);
    assert_int_equal(strlen(p.key), CSGP_QUERY_KEY_MAX);
    assert_int_equal(p.value_len, 2000);
    assert_int_equal(strlen(p.value), CSGP_QUERY_VALUE_MAX);
    assert_int_equal(csgp_query_next_pair(&cur, &p), 0);
}

/* The WHERE terms: one per filter set, constant columns and operators, values as params. */
static void test_terms(void **state)
{
    (void)state;
    csgp_query q;
    csgp_query_error err;
    csgp_query_term t[CSGP_QUERY_MAX_TERMS];
    assert_int_equal(csgp_query_parse(CSGP_Q_SUMMARY, "", &q, &err), 0);
    assert_int_equal(csgp_query_terms(&q, t), 0);
    assert_int_equal(
        csgp_query_parse(CSGP_Q_EVENTS,
                         "max_income=9&applicant_id=a'%3B+DROP+TABLE+x--&from=1&to=2"
                         "&experiment_id=e&challenger_model=c&min_income=1&limit=5",
                         &q, &err),
        0);
    static const struct {
        const char *column, *op, *text, *cast;
        double real;
    } want[] = {
        {"\"timestamp\"", ">=", "1970-01-01T00:00:01.000Z", "timestamptz", 0},
        {"\"timestamp\"", "<", "1970-01-01T00:00:02.000Z", "timestamptz", 0},
        {"experiment_id", "=", "e", NULL, 0},
        {"challenger_model", "=", "c", NULL, 0},
        {"applicant_id", "=", "a'; DROP TABLE x--", NULL, 0},
        {"income", ">=", NULL, "float8", 1},
        {"income", "<=", NULL, "float8", 9},
    };
    assert_int_equal(csgp_query_terms(&q, t), 7);
    for (int i = 0; i < 7; i++) {
        assert_string_equal(t[i].column, want[i].column);
        assert_string_equal(t[i].op, want[i].op);
        if (want[i].text) {
            assert_int_equal(t[i].param.type, CSGP_P_TEXT);
            assert_string_equal(t[i].param.text, want[i].text);
        } else {
            assert_int_equal(t[i].param.type, CSGP_P_REAL);
            assert_true(t[i].param.real == want[i].real);
        }
        if (want[i].cast)
            assert_string_equal(t[i].pg_cast, want[i].cast);
        else
            assert_null(t[i].pg_cast);
    }
    assert_int_equal(q.limit, 5);
    assert_string_equal(csgp_query_kind_name(CSGP_Q_SEGMENTS), "segments");
    assert_string_equal(csgp_query_kind_name(CSGP_Q_REASONS), "reasons");
    assert_null(csgp_query_kind_name(CSGP_Q_KINDS));
    assert_int_equal(csgp_query_parse(CSGP_Q_KINDS, "", &q, &err), -CSG_EINVAL);
}

/* GET /export/events (csg-replay's pages): its defaults and its own keys. */
static void test_export(void **state)
{
    (void)state;
    csgp_query q;
    csgp_query_error err;
    assert_int_equal(csgp_query_parse(CSGP_Q_EXPORT, "", &q, &err), 0);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.after_id, 0);
    assert_false(q.labelled_only);
    assert_int_equal(csgp_query_parse(CSGP_Q_EXPORT, "after_id=42&labelled=true&experiment_id=x",
                                      &q, &err), 0);
    assert_int_equal(q.after_id, 42);
    assert_true(q.labelled_only);
    assert_string_equal(q.experiment_id, "x");
    assert_string_equal(csgp_query_kind_name(CSGP_Q_EXPORT), "export");
}

/* GET /metrics/stability: its buckets (default 1d) and the reference window. */
static void test_stability(void **state)
{
    (void)state;
    csgp_query q;
    csgp_query_error err;
    assert_int_equal(csgp_query_parse(CSGP_Q_STABILITY, "", &q, &err), 0);
    assert_string_equal(q.bucket, "1d");
    assert_int_equal(q.bucket_seconds, 86400);
    assert_false(q.has_ref_from);
    assert_int_equal(csgp_query_parse(CSGP_Q_STABILITY,
                                      "bucket=1m&reference_from=2026-11-25T10:00:00Z&"
                                      "reference_to=1795604400&experiment_id=x",
                                      &q, &err), 0);
    assert_int_equal(q.bucket_seconds, 60);
    assert_true(q.has_ref_from && q.has_ref_to);
    assert_string_equal(q.ref_from, "2026-11-25T10:00:00.000Z");
    assert_string_equal(q.ref_to, "2026-11-25T11:00:00.000Z");
    assert_false(q.has_from);
    assert_string_equal(csgp_query_kind_name(CSGP_Q_STABILITY), "stability");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_stability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
