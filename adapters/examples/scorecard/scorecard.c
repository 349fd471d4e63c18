/*
 * scorecard.c — challenger-scorecard.so, an example in-process model
 * adapter: a points scorecard over income, loan_amount and credit_history,
 * scored inside the gateway with no network hop.
 *
 * It is the smallest complete model adapter, meant to be copied (see
 * docs/plugins.md): it includes only csg/plugin.h and libevent, declares its
 * options in a table the gateway validates and the features it reads in
 * required_features (a schema without them fails --check-config), looks
 * their indexes up once in create, reads them per request through the
 * core_api getters, and answers through a deferred callback (the ABI
 * forbids calling back from inside score_async).
 *
 * Scorecard: points = base_points
 *                   + history_points   (credit_history > 0, i.e. no adverse records)
 *                   + ratio band points (loan_amount / income, lower is safer)
 * and the probability of repayment follows the usual "points to double the
 * odds" scaling: score = 1 / (1 + 2^(-(points - even_odds_points) / pdo)).
 * decision = approve when score >= cutoff.
 *
 * A decline carries adverse-action reasons (ABI 2.1): the characteristics that
 * lost points against their maximum, most points lost first — the "points below
 * maximum" method of the bundled champion, with the same codes and texts.
 */
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "csg/plugin.h"

/* What the scorecard reads; the core checks the schema has them. */
static const char *const scorecard_features[] = {"income", "loan_amount", "credit_history", NULL};

typedef struct scorecard {
    struct event_base *base;
    const csg_core_api *api;
    int f_income, f_loan, f_history; /* feature indexes in the schema */
    /* options, stored by the core (options_apply): defaults only in the table */
    double cutoff, base_points, even, pdo, history;
} scorecard;

static const csg_option scorecard_options[] = {
    {CSG_OPT_DOUBLE, "cutoff", "0.5", false, 0, 1, "approve when score >= cutoff",
     CSG_OPT_AT(scorecard, cutoff)},
    {CSG_OPT_DOUBLE, "base_points", "600", false, 0, 10000, "points every applicant starts with",
     CSG_OPT_AT(scorecard, base_points)},
    {CSG_OPT_DOUBLE, "even_odds_points", "600", false, 0, 10000,
     "total points at which repay:default odds are 1:1 (score 0.5)", CSG_OPT_AT(scorecard, even)},
    {CSG_OPT_DOUBLE, "pdo", "20", false, 1, 1000, "points that double the odds of repayment",
     CSG_OPT_AT(scorecard, pdo)},
    {CSG_OPT_DOUBLE, "history_points", "40", false, 0, 1000,
     "added for credit_history > 0, subtracted for 0", CSG_OPT_AT(scorecard, history)},
    {0, NULL, NULL, false, 0, 0, NULL, 0},
};

#define RATIO_POINTS_MAX 40 /* ratio_points() of the safest band */

static const csg_reason reason_records = {
    "RECORDS", "credit_history", "Delinquent past or present credit obligations with others"};
static const csg_reason reason_income = {"INCOME", "income",
                                         "Income insufficient for amount of credit requested"};

/* One deferred answer: allocated in score_async, freed after the callback. */
typedef struct pending {
    csg_score_cb cb;
    void *ctx;
    csg_score_result result;
    csg_reason reasons[2]; /* what result.reasons points to */
} pending;

static int sc_create(const csg_adapter_config *cfg, const csg_core_api *api,
                     struct event_base *base, void **instance, csg_error *err)
{
    scorecard *sc = calloc(1, sizeof *sc);
    if (!sc) {
        snprintf(err->message, sizeof err->message, "scorecard: out of memory");
        return -CSG_ENOMEM;
    }
    sc->base = base;
    sc->api = api;
    /* Once here, not per request: the indexes hold for this instance. */
    sc->f_income = api->feature_index(cfg->schema, "income");
    sc->f_loan = api->feature_index(cfg->schema, "loan_amount");
    sc->f_history = api->feature_index(cfg->schema, "credit_history");
    api->options_apply(scorecard_options, cfg->options, sc);
    if (!(sc->pdo > 0)) {
        snprintf(err->message, sizeof err->message, "scorecard: pdo must be > 0");
        free(sc);
        return -CSG_EINVAL;
    }
    *instance = sc;
    return 0;
}

static double ratio_points(double income, double loan)
{
    if (!(income > 0))
        return -50;
    double r = loan / income;
    if (r <= 1)
        return 40;
    if (r <= 3)
        return 20;
    if (r <= 6)
        return 0;
    if (r <= 12)
        return -20;
    return -50;
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending *p = arg;
    p->cb(p->ctx, &p->result);
    free(p);
}

static void sc_score_async(void *instance, const csg_application *app, csg_score_cb cb, void *ctx)
{
    scorecard *sc = instance;
    pending *p = malloc(sizeof *p);
    if (!p)
        return; /* nothing can be deferred without memory; the gateway's timeout answers */
    p->cb = cb;
    p->ctx = ctx;
    /* An absent (optional) feature scores as the worst band. */
    const csg_core_api *api = sc->api;
    double income = 0, loan = 0, hist = 0;
    bool has_income = api->app_number(app, sc->f_income, &income);
    api->app_number(app, sc->f_loan, &loan);
    api->app_number(app, sc->f_history, &hist);
    double history_points = hist > 0 ? sc->history : -sc->history;
    double ratio = ratio_points(has_income ? income : 0, loan);
    double points = sc->base_points + history_points + ratio;
    double score = 1.0 / (1.0 + exp2(-(points - sc->even) / sc->pdo));
    csg_decision decision = score >= sc->cutoff ? CSG_DECISION_APPROVE : CSG_DECISION_DECLINE;
    /* Points below each characteristic's maximum; on a tie, schema order (income first). */
    double lost_history = sc->history - history_points, lost_ratio = RATIO_POINTS_MAX - ratio;
    unsigned n = 0;
    if (decision == CSG_DECISION_DECLINE) {
        bool ratio_first = lost_ratio >= lost_history;
        if (lost_history > 0 && !ratio_first)
            p->reasons[n++] = reason_records;
        if (lost_ratio > 0)
            p->reasons[n++] = reason_income;
        if (lost_history > 0 && ratio_first)
            p->reasons[n++] = reason_records;
    }
    p->result = (csg_score_result){
        .size = sizeof p->result,
        .status = CSG_SCORE_OK,
        .score = score,
        .decision = decision,
        .error = NULL,
        .points = points,
        .has_points = true,
        .reason_count = n,
        .reasons = n ? p->reasons : NULL,
    };
    /* A zero timeout runs on the next loop turn: never inside this call. */
    struct timeval zero = {0, 0};
    if (event_base_once(sc->base, -1, EV_TIMEOUT, deliver, p, &zero) != 0)
        free(p);
}

static void sc_destroy(void *instance) { free(instance); }

static const csg_model_adapter scorecard_adapter = {
    .header = CSG_PLUGIN_HEADER(CSG_PLUGIN_MODEL_ADAPTER, csg_model_adapter, "challenger-scorecard",
                                "1.0.0"),
    .options = scorecard_options,
    .create = sc_create,
    .score_async = sc_score_async,
    .destroy = sc_destroy,
    .required_features = scorecard_features,
};

__attribute__((visibility("default"))) const csg_plugin_header *csg_plugin_entry(void)
{
    return &scorecard_adapter.header;
}
