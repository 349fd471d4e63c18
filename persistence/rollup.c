/* rollup.c — rollups written with the rows (see rollup.h): the accumulator and what each
 * event counts; rollup_write.c writes them. */
#include "rollup.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbins.h"
#include "rollup_private.h"

const struct tspec csgp_rollup_specs[T_TABLES] = {
    [T_COUNTS] = {"rollup_counts", 6, 0, 20, 1,
                  {"experiment_id", "config_version", "champion_model", "challenger_model",
                   "transport", "status"},
                  {0},
                  {COUNT_COLS},
                  {"sum_diff"},
                  false},
    [T_LATENCY] = {"rollup_latency", 3, 1, 1, 1,
                   {"experiment_id", "challenger_model", "model"},
                   {"role"},
                   {"count"},
                   {"total"},
                   true},
    [T_SCORES] = {"rollup_scores", 3, 1, 1, 0,
                  {"experiment_id", "challenger_model", "model"},
                  {"role"},
                  {"count"},
                  {0},
                  true},
    [T_SEGMENTS] = {"rollup_segments", 3, 2, 7, 0,
                    {"experiment_id", "challenger_model", "champion_model"},
                    {"by_col", "band"},
                    {SEGMENT_COLS},
                    {0},
                    false},
    [T_REASONS] = {"rollup_reason_codes", 4, 1, 2, 0,
                   {"experiment_id", "challenger_model", "model", "code"},
                   {"role"},
                   {"first", "any_count"},
                   {0},
                   false},
    /* fbins.c counts it (feature-bin rollups, migration 045) */
    [T_FEATURES] = {"rollup_features", 5, 1, 7, 0,
                    {"experiment_id", "challenger_model", "champion_model", "feature", "bin"},
                    {"kind"},
                    {SEGMENT_COLS},
                    {0},
                    false},
    /* One row per challenger result: rollup_counts' columns, arm, and the requests counted
     * once (ev_first: the request's first result; arm_first: its first in that arm). */
    [T_PCOUNTS] = {"rollup_pair_counts", 7, 0, 22, 1,
                   {"experiment_id", "config_version", "champion_model", "challenger_model",
                    "transport", "status", "arm"},
                   {0},
                   {COUNT_COLS, "ev_first", "arm_first"},
                   {"sum_diff"},
                   false},
    [T_PLATENCY] = {"rollup_pair_latency", 4, 1, 1, 1,
                    {"experiment_id", "challenger_model", "model", "arm"},
                    {"role"},
                    {"count"},
                    {"total"},
                    true},
    [T_PSCORES] = {"rollup_pair_scores", 4, 1, 1, 0,
                   {"experiment_id", "challenger_model", "model", "arm"},
                   {"role"},
                   {"count"},
                   {0},
                   true},
    /* Migration 075: rollup_segments / rollup_reason_codes / rollup_features per challenger
     * result, with the requests counted once as in rollup_pair_counts; any_first: a code's
     * requests counted once per arm (the champion's codes under arm=, as the rows'
     * count(DISTINCT id)). */
    [T_PSEGMENTS] = {"rollup_pair_segments", 4, 2, 9, 0,
                     {"experiment_id", "challenger_model", "champion_model", "arm"},
                     {"by_col", "band"},
                     {SEGMENT_COLS, "ev_first", "arm_first"},
                     {0},
                     false},
    [T_PREASONS] = {"rollup_pair_reason_codes", 5, 1, 3, 0,
                    {"experiment_id", "challenger_model", "model", "code", "arm"},
                    {"role"},
                    {"first", "any_count", "any_first"},
                    {0},
                    false},
    [T_PFEATURES] = {"rollup_pair_features", 6, 1, 9, 0,
                     {"experiment_id", "challenger_model", "champion_model", "feature", "bin",
                      "arm"},
                     {"kind"},
                     {SEGMENT_COLS, "ev_first", "arm_first"},
                     {0},
                     false},
};

csgp_rollup *csgp_rollup_new(void)
{
    csgp_rollup *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = 1024;
    if (!(r->e = calloc(r->cap, sizeof *r->e))) {
        free(r);
        return NULL;
    }
    r->minute_from = csgp_rollup_minute_from(time(NULL));
    return r;
}

csgp_rollup *csgp_rollup_new_minutes(void)
{
    csgp_rollup *r = csgp_rollup_new();
    if (r)
        r->minute_only = true;
    return r;
}

void csgp_rollup_clear(csgp_rollup *r)
{
    for (size_t i = 0; i < r->cap; i++)
        if (r->e[i].used) {
            for (int k = 0; k < MAX_STR; k++)
                free(r->e[i].str[k]);
            csgp_sketch_free(&r->e[i].sk);
        }
    memset(r->e, 0, r->cap * sizeof *r->e);
    r->n = 0;
}

void csgp_rollup_free(csgp_rollup *r)
{
    if (!r)
        return;
    csgp_rollup_clear(r);
    free(r->e);
    free(r);
}

/* A key being looked up: strings not yet copied. */
typedef struct key {
    int table;
    int32_t res;
    int64_t t;
    const char *str[MAX_STR];
    int32_t ints[MAX_INT];
} key;

/* A string by its length and its first and last eight bytes: a byte-wise FNV over every
 * key's strings was a tenth of csg-persist's CPU on gateway events (tens of look-ups per
 * event); key_eq still compares whole strings, so a collision costs a probe, not a miscount. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    size_t n = strlen(s);
    uint64_t a = 0, b = 0;
    memcpy(&a, s, n < 8 ? n : 8);
    if (n > 8)
        memcpy(&b, s + n - 8, 8);
    return mix(mix(h, a ^ ((uint64_t)n << 56)), b);
}

static uint64_t key_hash(const key *k)
{
    const struct tspec *s = &csgp_rollup_specs[k->table];
    uint64_t h = mix((uint64_t)k->table << 32 | (uint32_t)k->res, (uint64_t)k->t);
    for (int i = 0; i < s->nstr; i++)
        h = hash_str(h, k->str[i]);
    for (int i = 0; i < s->nint; i++)
        h = mix(h, (uint32_t)k->ints[i]);
    return h;
}

static bool key_eq(const entry *e, const key *k, uint64_t h)
{
    if (e->hash != h || e->table != k->table || e->res != k->res || e->t != k->t)
        return false;
    const struct tspec *s = &csgp_rollup_specs[k->table];
    for (int i = 0; i < s->nstr; i++)
        if (strcmp(e->str[i], k->str[i]))
            return false;
    for (int i = 0; i < s->nint; i++)
        if (e->ints[i] != k->ints[i])
            return false;
    return true;
}

static int grow(csgp_rollup *r)
{
    size_t cap = r->cap * 2;
    entry *ne = calloc(cap, sizeof *ne);
    if (!ne)
        return -CSG_ENOMEM;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->e[i].used)
            continue;
        size_t j = (size_t)r->e[i].hash & (cap - 1);
        while (ne[j].used)
            j = (j + 1) & (cap - 1);
        ne[j] = r->e[i];
    }
    free(r->e);
    r->e = ne;
    r->cap = cap;
    return 0;
}

/* The entry of k, created (zeroed values) when new; NULL when out of memory. */
static entry *lookup(csgp_rollup *r, const key *k)
{
    if (2 * (r->n + 1) > r->cap && grow(r))
        return NULL;
    uint64_t h = key_hash(k);
    size_t j = (size_t)h & (r->cap - 1);
    while (r->e[j].used) {
        if (key_eq(&r->e[j], k, h))
            return &r->e[j];
        j = (j + 1) & (r->cap - 1);
    }
    entry *e = &r->e[j];
    const struct tspec *s = &csgp_rollup_specs[k->table];
    *e = (entry){.table = k->table, .res = k->res, .t = k->t, .hash = h, .used = true};
    for (int i = 0; i < s->nstr; i++)
        if (!(e->str[i] = strdup(k->str[i]))) {
            for (int m = 0; m < i; m++)
                free(e->str[m]);
            *e = (entry){0};
            return NULL;
        }
    memcpy(e->ints, k->ints, sizeof e->ints);
    r->n++;
    return e;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int csgp_rollup_band(const double *edges, int n, double x)
{
    for (int k = n - 1; k >= 0; k--)
        if (x >= edges[k])
            return k;
    return -1;
}

/* Per minute for recent data, per hour and per day for all data, ascending
 * (csgp_rollup_res takes the coarsest that fits). Minute rows for every event halved the
 * drain (a backlog spans days of minutes, and a minute of low-rate traffic holds about as
 * many sketch buckets and feature bins as events), so they are written only for minutes
 * within the window before now, deleted once older (csgp_rollup_expire_minutes), and read
 * only by queries starting inside the window, where they are complete. Per-day rollups
 * keep an all-time query at a few thousand rows a day whatever the volume
 * (docs/persistence.md "Rollups"). */
static const int32_t resolutions[] = {CSGP_ROLLUP_MINUTE, 3600, 86400};

static _Atomic int64_t minute_window = CSGP_ROLLUP_MINUTE_WINDOW_DEFAULT;

void csgp_rollup_set_minute_window(int64_t seconds)
{
    atomic_store(&minute_window, seconds > 0 ? seconds : 0);
}

int64_t csgp_rollup_minute_from(int64_t now_s)
{
    int64_t w = atomic_load(&minute_window);
    return w > 0 ? now_s - w : INT64_MAX;
}

/* Whether r counts the period of resolution res starting at t. */
static bool level_on(const csgp_rollup *r, int32_t res, int64_t t)
{
    return res == CSGP_ROLLUP_MINUTE ? t >= r->minute_from : !r->minute_only;
}

/* The default band edges of the three segment columns (query.c), read once. */
static double edges[3][CSGP_QUERY_MAX_BANDS];
static int nedges[3];
static pthread_once_t edges_once = PTHREAD_ONCE_INIT;

static void load_edges(void)
{
    for (int c = 0; c < 3; c++)
        nedges[c] = csgp_query_default_bands(c, edges[c]);
}

/* A challenger result counted as a request of its own (rollup_pairs.c); NULL: an event. */
typedef struct pair_ctx {
    const char *arm;
    bool ev_first, arm_first;
} pair_ctx;

static int count_event(csgp_rollup *r, const csgp_event *e, const pair_ctx *pc)
{
    pthread_once(&edges_once, load_edges);

    csgp_decision cd = e->champion_decision, xd = e->challenger_decision;
    bool both = cd != CSG_DECISION_NONE && xd != CSG_DECISION_NONE;
    const char *ch = e->has_challenger_model ? e->challenger_model : "";
    int64_t pair[9] = {
        both,
        both && cd != xd,
        cd == CSG_DECISION_APPROVE && xd == CSG_DECISION_APPROVE,
        cd == CSG_DECISION_DECLINE && xd == CSG_DECISION_DECLINE,
        both && cd == CSG_DECISION_APPROVE && xd != CSG_DECISION_APPROVE,
        both && cd != CSG_DECISION_APPROVE && xd == CSG_DECISION_APPROVE,
        cd != CSG_DECISION_NONE,
        cd == CSG_DECISION_APPROVE,
        0,
    };
    for (size_t ri = 0; ri < sizeof resolutions / sizeof *resolutions; ri++) {
        int32_t res = resolutions[ri];
        int64_t t = floor_div(e->ts_ms, (int64_t)res * 1000) * res;
        if (!level_on(r, res, t))
            continue;
        entry *x;
        const char *arm = pc ? pc->arm : NULL; /* the pair tables' last text key */
        key k = {.table = pc ? T_PCOUNTS : T_COUNTS, .res = res, .t = t,
                 .str = {e->experiment_id, e->config_version, e->champion_model, ch,
                         e->transport, e->status, arm}};
        if (!(x = lookup(r, &k)))
            return -CSG_ENOMEM;
        if (pc) {
            x->val[20] += pc->ev_first;
            x->val[21] += pc->arm_first;
        }
        x->val[0] += 1;
        x->val[1] += e->has_challenger_model;
        x->val[2] += e->has_decision_diff;
        for (int i = 0; i < 8; i++)
            x->val[3 + i] += pair[i];
        x->val[11] += e->has_challenger_model && xd != CSG_DECISION_NONE;
        x->val[12] += e->has_challenger_model && xd == CSG_DECISION_APPROVE;
        x->val[13] += e->has_challenger_model && e->has_latency_challenger;
        /* Reasons (reasons.c's rules): a decline is decision decline with a score. */
        bool cdecl = cd == CSG_DECISION_DECLINE && e->has_champion_score;
        bool xdecl = e->has_challenger_model && xd == CSG_DECISION_DECLINE && e->has_challenger_score;
        bool listed = cdecl && xdecl && e->champion_reasons.present && e->champion_reasons.n > 0 &&
                      e->challenger_reasons.present && e->challenger_reasons.n > 0;
        x->val[14] += cdecl;
        x->val[15] += cdecl && !e->champion_reasons.present;
        x->val[16] += xdecl;
        x->val[17] += xdecl && !e->challenger_reasons.present;
        x->val[18] += listed;
        x->val[19] += listed && !strcmp(e->champion_reasons.code[0], e->challenger_reasons.code[0]);
        if (e->has_decision_diff)
            x->dbl[0] += e->decision_diff;
        for (int role = 0; role < 2; role++) {
            const csgp_reasons *rs = role ? &e->challenger_reasons : &e->champion_reasons;
            if (!(role ? xdecl : cdecl) || !rs->present)
                continue;
            for (int i = 0; i < rs->n; i++) {
                bool seen = false; /* a code repeated in one list counts once in any */
                for (int j = 0; j < i && !seen; j++)
                    seen = !strcmp(rs->code[j], rs->code[i]);
                if (seen && i > 0)
                    continue;
                k = (key){.table = pc ? T_PREASONS : T_REASONS, .res = res, .t = t,
                          .str = {e->experiment_id, ch,
                                  role ? e->challenger_model : e->champion_model, rs->code[i],
                                  arm},
                          .ints = {role}};
                if (!(x = lookup(r, &k)))
                    return -CSG_ENOMEM;
                x->val[0] += i == 0;
                x->val[1] += 1;
                if (pc)
                    x->val[2] += pc->arm_first;
            }
        }

        /* Latency sketches and score histograms, per role. */
        for (int role = 0; role < 2; role++) {
            if (role == 1 && !e->has_challenger_model)
                break;
            const char *model = role ? e->challenger_model : e->champion_model;
            bool has_lat = role ? e->has_latency_challenger : true;
            double lat = role ? e->latency_challenger_ms : e->latency_champion_ms;
            if (has_lat) {
                k = (key){.table = pc ? T_PLATENCY : T_LATENCY, .res = res, .t = t,
                          .str = {e->experiment_id, ch, model, arm}, .ints = {role}};
                if (!(x = lookup(r, &k)) || csgp_sketch_add(&x->sk, csgp_sketch_bucket(lat), 1))
                    return -CSG_ENOMEM;
                x->val[0] += 1;
                x->dbl[0] += lat;
            }
            bool has_score = role ? e->has_challenger_score : e->has_champion_score;
            double score = role ? e->challenger_score : e->champion_score;
            if (has_score) {
                /* The same expression as the rows' query (api.c): min(trunc(s·100), 99). */
                double f = score * (double)CSGP_ROLLUP_SCORE_BINS;
                int32_t bin = f >= (double)(CSGP_ROLLUP_SCORE_BINS - 1) ? CSGP_ROLLUP_SCORE_BINS - 1
                              : f <= 0.0                                 ? 0
                                                                         : (int32_t)f;
                k = (key){.table = pc ? T_PSCORES : T_SCORES, .res = res, .t = t,
                          .str = {e->experiment_id, ch, model, arm}, .ints = {role}};
                if (!(x = lookup(r, &k)) || csgp_sketch_add(&x->sk, bin, 1))
                    return -CSG_ENOMEM;
                x->val[0] += 1;
            }
        }

        /* Segments by the default bands of the three columns. */
        const bool has[3] = {e->has_income, e->has_loan_amount, e->has_credit_history};
        const double v[3] = {e->income, e->loan_amount, (double)e->credit_history};
        int64_t seg[CSGP_ROLLUP_SEGMENT_VALUES];
        csgp_rollup_segment_values(e, seg);
        for (int c = 0; c < 3; c++) {
            int band = has[c] ? csgp_rollup_band(edges[c], nedges[c], v[c]) : -1;
            if (band < 0)
                continue;
            k = (key){.table = pc ? T_PSEGMENTS : T_SEGMENTS, .res = res, .t = t,
                      .str = {e->experiment_id, ch, e->champion_model, arm}, .ints = {c, band}};
            if (!(x = lookup(r, &k)))
                return -CSG_ENOMEM;
            for (int i = 0; i < CSGP_ROLLUP_SEGMENT_VALUES; i++)
                x->val[i] += seg[i];
            if (pc) {
                x->val[CSGP_ROLLUP_SEGMENT_VALUES] += pc->ev_first;
                x->val[CSGP_ROLLUP_SEGMENT_VALUES + 1] += pc->arm_first;
            }
        }
    }
    return 0;
}

void csgp_rollup_decision_values(csgp_decision cd, csgp_decision xd, bool has_challenger,
                                 int64_t v[CSGP_ROLLUP_SEGMENT_VALUES])
{
    bool both = cd != CSG_DECISION_NONE && xd != CSG_DECISION_NONE;
    v[0] = 1;
    v[1] = both;
    v[2] = both && cd != xd;
    v[3] = cd != CSG_DECISION_NONE;
    v[4] = cd == CSG_DECISION_APPROVE;
    v[5] = has_challenger && xd != CSG_DECISION_NONE;
    v[6] = has_challenger && xd == CSG_DECISION_APPROVE;
}

void csgp_rollup_segment_values(const csgp_event *e, int64_t v[CSGP_ROLLUP_SEGMENT_VALUES])
{
    csgp_rollup_decision_values(e->champion_decision, e->challenger_decision,
                                e->has_challenger_model, v);
}

int csgp_rollup_count_feature(csgp_rollup *r, const csgp_event *e, const char *feature,
                              const char *bin, int kind, const int64_t *v,
                              const csgp_rollup_pairvals *pv)
{
    for (size_t ri = 0; ri < sizeof resolutions / sizeof *resolutions; ri++) {
        int32_t res = resolutions[ri];
        int64_t t = floor_div(e->ts_ms, (int64_t)res * 1000) * res;
        if (!level_on(r, res, t))
            continue;
        key k = {.table = T_FEATURES, .res = res, .t = t,
                 .str = {e->experiment_id, e->has_challenger_model ? e->challenger_model : "",
                         e->champion_model, feature, bin},
                 .ints = {kind}};
        entry *x = lookup(r, &k);
        if (!x)
            return -CSG_ENOMEM;
        for (int i = 0; i < CSGP_ROLLUP_SEGMENT_VALUES; i++)
            x->val[i] += v[i];
        /* the same bin per challenger result (rollup_pair_features) */
        for (int p = 0; pv && p < pv->n; p++) {
            k.table = T_PFEATURES;
            k.str[1] = pv->p[p].model;
            k.str[5] = pv->p[p].arm;
            if (!(x = lookup(r, &k)))
                return -CSG_ENOMEM;
            for (int i = 0; i < CSGP_ROLLUP_PAIR_VALUES; i++)
                x->val[i] += pv->p[p].v[i];
        }
    }
    return 0;
}

const char *csgp_rollup_table(int i)
{
    return i >= 0 && i < T_TABLES ? csgp_rollup_specs[i].name : NULL;
}

void csgp_rollup_only(csgp_rollup *r, unsigned tables)
{
    r->only = tables;
}

int csgp_rollup_event(csgp_rollup *r, const csgp_event *e)
{
    return count_event(r, e, NULL);
}

int csgp_rollup_pair(csgp_rollup *r, const csgp_event *pair, const char *arm, bool ev_first,
                     bool arm_first)
{
    const pair_ctx pc = {arm, ev_first, arm_first};
    return count_event(r, pair, &pc);
}

int csgp_rollup_add_into(csgp_rollup *r, csgp_db *db, const csgp_event *ev,
                         const unsigned char *fresh, size_t n, csg_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (fresh[i] && (csgp_rollup_event(r, &ev[i]) || csgp_rollup_pairs(r, &ev[i])))
            rc = csg_fail(err, CSG_ENOMEM, "out of memory");
    if (!rc)
        rc = csgp_fbins_add(db, r, ev, fresh, n, err); /* feature bins, into the same flush */
    return rc ? rc : csgp_rollup_flush(r, db, err);
}

/* The writers drop expired minute rows every few minutes, in a batch's transaction (the
 * service has no timer of its own; a few minutes of minute rows per run), keeping the
 * last EXPIRE_EVERY_S before the window's start: a concurrent batch that began earlier
 * may still be writing those, and a delete waiting on its row locks could deadlock. */
#define EXPIRE_EVERY_S 300
static _Atomic int64_t last_expiry;

int csgp_rollup_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                    csg_error *err)
{
    csgp_rollup *r = csgp_rollup_new();
    if (!r)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    int rc = csgp_rollup_add_into(r, db, ev, fresh, n, err);
    csgp_rollup_free(r);
    int64_t now = time(NULL), prev = atomic_load(&last_expiry);
    if (!rc && now - prev >= EXPIRE_EVERY_S &&
        atomic_compare_exchange_strong(&last_expiry, &prev, now))
        rc = csgp_rollup_expire_minutes(db, csgp_rollup_minute_from(now) - EXPIRE_EVERY_S, NULL,
                                        err);
    return rc;
}

int csgp_rollup_res(const csgp_query *q, int64_t bucket_s, bool per_challenger)
{
    if (q->applicant_id[0] || q->has_min_income || q->has_max_income || q->nfeatures ||
        q->nvalues || (!per_challenger && (q->arm[0] || q->pairs)))
        return 0;
    int64_t minute_from = csgp_rollup_minute_from(time(NULL));
    for (size_t i = sizeof resolutions / sizeof *resolutions; i-- > 0;) {
        int64_t ms = (int64_t)resolutions[i] * 1000;
        /* Minute rows are complete only from inside the window on (rollup.h). */
        if (resolutions[i] == CSGP_ROLLUP_MINUTE &&
            !(q->has_from && floor_div(q->from_ms, 1000) >= minute_from))
            continue;
        if ((q->has_from && q->from_ms % ms) || (q->has_to && q->to_ms % ms) ||
            (bucket_s && bucket_s % resolutions[i]))
            continue;
        return resolutions[i];
    }
    return 0;
}
