/*
 * csg_outcome_stats.h — outcome-based model statistics: csg-persist's GET
 * /metrics/performance and the outcome columns of /metrics/segments (DESIGN §7,
 * docs/analytics.md), and csg-replay's report (DESIGN §10). One implementation in lib/
 * (DESIGN §2), so a replay's numbers are the API's numbers.
 *
 * Pure functions over arrays: no database, no I/O, so the unit tests, the REST handlers and
 * csg-replay compute exactly the same numbers on PostgreSQL and SQLite.
 *
 * Conventions. A score is the model's probability that the applicant repays (higher =
 * safer); bad[i] != 0 means applicant i defaulted. "Not computable" is NAN in the structs
 * below together with a static note saying why; the JSON layer turns NAN into null + note,
 * so no NaN ever reaches a client.
 *  - AUC = P(score of a good > score of a bad) + ½·P(equal): ties count ½ (tree models tie
 *    often). NAN when either class is empty. Gini = 2·AUC − 1.
 *  - KS = max over thresholds t of |F_good(t) − F_bad(t)| (empirical CDFs, evaluated after
 *    each group of tied scores), i.e. the two-sample Kolmogorov–Smirnov statistic.
 *  - Brier = mean((score − repaid)²), the same as mean((1 − score − defaulted)²).
 *  - PSI of a challenger against the champion on the same applicants: bin edges are the
 *    champion's score deciles (percentile_cont at 0.1 … 0.9); bin k holds scores in
 *    (e_k, e_{k+1}] with e_0 = −∞, e_10 = +∞; shares below 1e-4 are floored at 1e-4;
 *    PSI = Σ (a − e)·ln(a / e), e = champion share, a = challenger share.
 *  - ΔAUC = AUC(challenger) − AUC(champion) with DeLong's variance for two correlated ROC
 *    curves on the same applicants (DeLong, DeLong & Clarke-Pearson 1988).
 */
#ifndef CSG_OUTCOME_STATS_H
#define CSG_OUTCOME_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "csg_error.h" /* lib/: csg_error and CSG_E… (never the ABI header) */

#define CSG_PSI_BINS 10
#define CSG_PSI_FLOOR 1e-4
#define CSG_ROC_MAX_POINTS 201 /* ROC curves are thinned to at most this many points */

/* One model on one population. */
typedef struct csg_perf {
    size_t count, bad_count;       /* applicants, of which defaulted */
    size_t decided, approved;      /* with a decision, of which approve */
    size_t approved_bad;           /* approved and defaulted */
    double bad_rate;               /* bad_count / count */
    double auc, gini, ks, brier;   /* NAN: see note */
    double approval_rate;          /* approved / decided */
    double bad_rate_approved;      /* approved_bad / approved */
    const char *note;              /* static text when something is NAN, else NULL */
} csg_perf;

/* Metrics of score[0..n) against bad[0..n). approve (may be NULL) is 1 approve, 0 decline,
 * -1 no decision. 0 or -CSG_ENOMEM (err filled). n == 0 is valid (all NAN + note). */
int csg_perf_compute(const double *score, const unsigned char *bad, const signed char *approve,
                      size_t n, csg_perf *out, csg_error *err);

/* AUC alone (ties ½); NAN when a class is empty; -CSG_ENOMEM via *rc (may be NULL). */
double csg_auc(const double *score, const unsigned char *bad, size_t n, int *rc);

/* ROC curve with defaults as the event: declining everyone with score <= t, fpr = share of
 * goods declined, tpr = share of bads declined, one point per distinct score plus (0,0);
 * the area under it (trapezoids) equals csg_auc. Thinned to at most max_points points
 * (first and last kept). fpr/tpr must hold max_points doubles. *npoints = 0 when a class is
 * empty. 0 or -CSG_ENOMEM. */
int csg_roc(const double *score, const unsigned char *bad, size_t n, size_t max_points,
             double *fpr, double *tpr, size_t *npoints, csg_error *err);

/* Population stability of actual[0..n) against expected[0..n) (same applicants; the edges
 * come from expected). edges (optional) gets the CSG_PSI_BINS − 1 inner edges, e_share and
 * a_share (optional) the floored shares per bin. NAN when n == 0. */
double csg_psi(const double *expected, const double *actual, size_t n,
                double *edges, double *e_share, double *a_share, int *rc);

/* One bin's PSI term, (a − e)·ln(a / e), with both shares floored at CSG_PSI_FLOOR (an
 * empty bin would otherwise make it infinite); summed over bins it is the PSI or CSI. */
double csg_psi_term(double e_share, double a_share);

/* DeLong comparison of two models scored on the same applicants. */
typedef struct csg_delong {
    size_t n, n_good, n_bad;
    double auc_a, auc_b;   /* a = champion, b = challenger */
    double delta;          /* auc_b − auc_a */
    double se;             /* standard error of delta */
    double lo, hi;         /* 95% confidence interval */
    double z, p_value;     /* delta / se and its two-sided p-value (NAN when se == 0) */
    double more_needed;    /* roughly how many more labelled applicants until the CI would
                              exclude 0 at the observed effect; 0 when it already does;
                              NAN when there is no effect to detect */
    int verdict;           /* +1 challenger better, -1 worse, 0 not yet distinguishable */
    const char *note;      /* static text when NAN fields, else NULL */
} csg_delong;

int csg_delong_compare(const double *a, const double *b, const unsigned char *bad, size_t n,
                        csg_delong *out, csg_error *err);

/* One line for people: "challenger-x ranks better than champion-y: ΔAUC +0.0330 (95% CI
 * +0.0120 to +0.0540, DeLong, n = 1114)" or "not yet distinguishable … roughly N more". */
void csg_delong_verdict(const csg_delong *d, const char *champion, const char *challenger,
                         char *buf, size_t size);

/* Percentile with PostgreSQL percentile_cont semantics over v[0..n) sorted ascending. */
double csg_sorted_percentile(const double *v, size_t n, double p);

/* ---- JSON (for the REST handlers) -------------------------------------------------- */

/* {"model","role",count,bad_count,bad_rate,auc,gini,ks,brier,approval_rate,
 *  bad_rate_approved, "note"?} — NAN as null. */
json_t *csg_perf_json(const char *model, const char *role, const csg_perf *p);
/* {"delta_auc","se","ci95":[lo,hi],"z","p_value","more_outcomes_needed","verdict","note"?} */
json_t *csg_delong_json(const csg_delong *d, const char *champion, const char *challenger);

/* A whole paired comparison of champion and one challenger on n labelled applicants:
 * appends the two model entries (with "paired_with" and "roc") to models, and one entry each
 * to swap_sets, psi and promotion. 0 or -CSG_ENOMEM. */
typedef struct csg_pair_input {
    const char *champion, *challenger;
    const double *s_champion, *s_challenger;
    const signed char *d_champion, *d_challenger; /* 1 approve, 0 decline, -1 none */
    const unsigned char *bad;
    size_t n;
} csg_pair_input;
int csg_pair_json(const csg_pair_input *in, json_t *models, json_t *swap_sets, json_t *psi,
                   json_t *promotion, csg_error *err);

#endif /* CSG_OUTCOME_STATS_H */
