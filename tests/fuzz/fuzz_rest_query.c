/* fuzz_rest_query.c — libFuzzer target for csg-persist's REST query parameters
 * (persistence/query.c): every GET /metrics/… query string goes through
 * csgp_query_parse before any of it reaches SQL.
 *
 * Input: byte 0 picks the endpoint (mod CSGP_Q_KINDS), the rest is the query string
 * (cut at the first NUL, as a request line cannot carry one).
 * Oracles: on success the struct is within the documented bounds (times ordered in ms
 * and as stored text, text filters bounded UTF-8, numbers finite and in range, bands
 * strictly increasing, feature names and values within the event schema's rules) and
 * the WHERE terms use only known columns and operators, one per filter set; on failure the parameter and message are non-empty UTF-8. Differential:
 * libevent's evhttp_parse_query_str (what api.c used before) accepts exactly the strings
 * csgp_query_next_pair splits without a malformed piece, into the same pairs. */
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            __builtin_trap();                                                                  \
    } while (0)

static bool text_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n < cap && csgp_utf8_valid(s, n);
}

static bool in_query(const csgp_query *q, const char *p)
{
    return p >= (const char *)q && p < (const char *)(q + 1);
}

static void check_ok(const csgp_query *q)
{
    if (q->has_from)
        CHECK(strlen(q->from) == CSGP_TS_LEN);
    if (q->has_to)
        CHECK(strlen(q->to) == CSGP_TS_LEN);
    /* SQLite compares the stored text: text order must agree with time order. */
    if (q->has_from && q->has_to)
        CHECK(q->from_ms <= q->to_ms && strcmp(q->from, q->to) <= 0);
    const char *texts[] = {q->experiment_id, q->challenger_model, q->applicant_id};
    for (size_t i = 0; i < 3; i++)
        CHECK(text_ok(texts[i], CSGP_QUERY_TEXT_MAX + 1) || texts[i][0] == '\0');
    if (q->has_min_income)
        CHECK(isfinite(q->min_income));
    if (q->has_max_income)
        CHECK(isfinite(q->max_income));
    if (q->has_min_income && q->has_max_income)
        CHECK(q->min_income <= q->max_income);
    CHECK(q->bucket && ((!strcmp(q->bucket, "10s") && q->bucket_seconds == 10) ||
                        (!strcmp(q->bucket, "1m") && q->bucket_seconds == 60) ||
                        (!strcmp(q->bucket, "5m") && q->bucket_seconds == 300) ||
                        (!strcmp(q->bucket, "1h") && q->bucket_seconds == 3600)));
    CHECK(q->bins >= 1 && q->bins <= 1000);
    CHECK(q->limit >= 1 && q->limit <= 1000);
    CHECK(q->offset >= 0 && q->offset <= 1000000000);
    bool column = q->by && (!strcmp(q->by, "income") || !strcmp(q->by, "loan_amount") ||
                            !strcmp(q->by, "credit_history"));
    CHECK(column != q->by_is_feature);
    if (q->by_is_feature)
        CHECK(q->by == q->by_feature.name && csg_event_feature_name_ok(q->by, strlen(q->by)));
    CHECK(q->nbands >= (q->by_is_feature ? 0 : 1) && q->nbands <= CSGP_QUERY_MAX_BANDS);
    /* Feature filters: well-named (the name and SQLite path reach SQL as parameters only),
     * finite ordered bounds, values bounded UTF-8 that belong to a feature, untyped. */
    CHECK(q->nfeatures >= 0 && q->nfeatures <= CSGP_QUERY_MAX_FEATURES);
    CHECK(q->nvalues >= 0 && q->nvalues <= CSGP_QUERY_MAX_FEATURE_VALUES);
    int counted = 0;
    for (int i = 0; i < q->nfeatures; i++) {
        const csgp_query_feature *f = &q->features[i];
        size_t len = strlen(f->name);
        CHECK(csg_event_feature_name_ok(f->name, len) && f->type == CSGP_FT_UNKNOWN);
        CHECK(!strncmp(f->path, "$.", 2) && !strcmp(f->path + 2, f->name));
        CHECK(!f->has_min || isfinite(f->min));
        CHECK(!f->has_max || isfinite(f->max));
        CHECK(!(f->has_min && f->has_max) || f->min <= f->max);
        counted += f->nvalues;
    }
    CHECK(counted == q->nvalues);
    for (int i = 0; i < q->nvalues; i++)
        CHECK(q->values[i].feature >= 0 && q->values[i].feature < q->nfeatures &&
              q->values[i].text[0] && text_ok(q->values[i].text, CSG_EVENT_CATEGORY_MAX + 1));
    for (int i = 0; i < q->nbands; i++)
        CHECK(isfinite(q->bands[i]) && (i == 0 || q->bands[i] > q->bands[i - 1]));

    csgp_query_term t[CSGP_QUERY_MAX_TERMS];
    int n = csgp_query_terms(q, t);
    int want = q->has_from + q->has_to + (q->experiment_id[0] != 0) +
               (q->challenger_model[0] != 0) + (q->applicant_id[0] != 0) + q->has_min_income +
               q->has_max_income;
    CHECK(n == want);
    for (int i = 0; i < n; i++) {
        static const char *const cols[] = {"\"timestamp\"", "experiment_id", "challenger_model",
                                           "applicant_id", "income"};
        bool col = false, op = false;
        for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
            col |= !strcmp(t[i].column, cols[c]);
        for (const char *const *o = (const char *const[]){">=", "<", "=", "<=", NULL}; *o; o++)
            op |= !strcmp(t[i].op, *o);
        CHECK(col && op);
        if (t[i].param.type == CSGP_P_TEXT)
            CHECK(in_query(q, t[i].param.text) && text_ok(t[i].param.text, CSGP_QUERY_TEXT_MAX + 1));
        else
            CHECK(t[i].param.type == CSGP_P_REAL && isfinite(t[i].param.real));
    }
}

/* The pairs as libevent reads them versus csgp_query_next_pair. */
static void check_split(const char *query)
{
    struct evkeyvalq kv;
    int ev_rc = evhttp_parse_query_str(query, &kv);
    csgp_query_pair *pair = malloc(sizeof *pair);
    CHECK(pair);
    const char *cur = query;
    int rc, n = 0;
    while ((rc = csgp_query_next_pair(&cur, pair)) == 1)
        n++;
    CHECK((ev_rc == 0) == (rc == 0));
    if (ev_rc == 0) {
        struct evkeyval *e;
        cur = query;
        TAILQ_FOREACH(e, &kv, next)
        {
            CHECK(csgp_query_next_pair(&cur, pair) == 1);
            n--;
            /* libevent leaves names undecoded; compare those decoding cannot change. */
            if (!strpbrk(e->key, "%+"))
                CHECK(strlen(e->key) == pair->key_len &&
                      !strncmp(e->key, pair->key, CSGP_QUERY_KEY_MAX));
            /* libevent's value ends at a decoded NUL; ours keeps its full length. */
            size_t evlen = strlen(e->value);
            CHECK(evlen <= pair->value_len &&
                  !strncmp(e->value, pair->value, CSGP_QUERY_VALUE_MAX));
        }
        CHECK(n == 0);
        evhttp_clear_headers(&kv);
    }
    free(pair);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    csgp_query_kind kind = (csgp_query_kind)(data[0] % CSGP_Q_KINDS);
    char *query = malloc(size);
    CHECK(query);
    memcpy(query, data + 1, size - 1);
    query[size - 1] = '\0';

    csgp_query q;
    csgp_query_error err;
    int rc = csgp_query_parse(kind, query, &q, &err);
    if (rc == 0) {
        CHECK(q.kind == kind);
        check_ok(&q);
    } else {
        CHECK(rc == -CSG_EINVAL);
        CHECK(err.param[0] && text_ok(err.param, sizeof err.param));
        CHECK(err.message[0] && text_ok(err.message, sizeof err.message));
    }
    check_split(query);
    free(query);
    return 0;
}
