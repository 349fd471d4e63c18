/*
 * csg_outcome_stats.c — AUC/Gini/KS/Brier/ROC, PSI and DeLong's ΔAUC test (see
 * csg_outcome_stats.h for the exact definitions, docs/analytics.md for how to read them).
 *
 * Everything that depends on ranks works on one sort of (score, label, index) by score and
 * walks it group by group of tied scores, so ties are handled once, the same way, by every
 * statistic: O(n log n) time, O(n) memory.
 */
#include "csg_outcome_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csg_error.h"

#define Z975 1.959963984540054 /* standard normal 97.5% quantile */

typedef struct item {
    double s;
    size_t idx;
    unsigned char bad;
} item;

static int cmp_item(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    if (a->s < b->s)
        return -1;
    if (a->s > b->s)
        return 1;
    /* Stable, deterministic order inside a tie (irrelevant to the results). */
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Sorted copy of (score, bad); NULL on allocation failure (n > 0). */
static item *sorted_items(const double *score, const unsigned char *bad, size_t n)
{
    item *it = malloc((n ? n : 1) * sizeof *it);
    if (!it)
        return NULL;
    for (size_t i = 0; i < n; i++)
        it[i] = (item){.s = score[i], .idx = i, .bad = bad[i] ? 1 : 0};
    qsort(it, n, sizeof *it, cmp_item);
    return it;
}

/* End (exclusive) of the group of ties starting at i. */
static size_t group_end(const item *it, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && it[j].s == it[i].s)
        j++;
    return j;
}

static size_t count_bad(const unsigned char *bad, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += bad[i] ? 1 : 0;
    return c;
}

/* AUC and KS from a sorted array. */
static void rank_stats(const item *it, size_t n, size_t n_bad, double *auc, double *ks)
{
    size_t n_good = n - n_bad;
    double sum = 0.0, best = 0.0;
    size_t bad_below = 0, good_below = 0;
    for (size_t i = 0; i < n;) {
        size_t j = group_end(it, n, i), gb = 0, gg;
        for (size_t k = i; k < j; k++)
            gb += it[k].bad;
        gg = (j - i) - gb;
        /* Each good in the group beats every bad below and ties with the group's bads. */
        sum += (double)gg * ((double)bad_below + 0.5 * (double)gb);
        bad_below += gb;
        good_below += gg;
        double d = fabs((double)good_below / (double)n_good - (double)bad_below / (double)n_bad);
        if (d > best)
            best = d;
        i = j;
    }
    *auc = sum / ((double)n_good * (double)n_bad);
    *ks = best;
}

double csg_auc(const double *score, const unsigned char *bad, size_t n, int *rc)
{
    if (rc)
        *rc = 0;
    size_t nb = count_bad(bad, n);
    if (nb == 0 || nb == n)
        return NAN;
    item *it = sorted_items(score, bad, n);
    if (!it) {
        if (rc)
            *rc = -CSG_ENOMEM;
        return NAN;
    }
    double auc, ks;
    rank_stats(it, n, nb, &auc, &ks);
    free(it);
    return auc;
}

int csg_perf_compute(const double *score, const unsigned char *bad, const signed char *approve,
                      size_t n, csg_perf *out, csg_error *err)
{
    memset(out, 0, sizeof *out);
    out->bad_rate = out->auc = out->gini = out->ks = out->brier = NAN;
    out->approval_rate = out->bad_rate_approved = NAN;
    out->count = n;
    out->bad_count = count_bad(bad, n);
    if (n == 0) {
        out->note = "no labelled applicants in this population";
        return 0;
    }
    double brier = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = score[i] - (bad[i] ? 0.0 : 1.0);
        brier += e * e;
        if (approve && approve[i] >= 0) {
            out->decided++;
            if (approve[i] == 1) {
                out->approved++;
                out->approved_bad += bad[i] ? 1 : 0;
            }
        }
    }
    out->brier = brier / (double)n;
    out->bad_rate = (double)out->bad_count / (double)n;
    if (out->decided)
        out->approval_rate = (double)out->approved / (double)out->decided;
    if (out->approved)
        out->bad_rate_approved = (double)out->approved_bad / (double)out->approved;
    if (out->bad_count == 0 || out->bad_count == n) {
        out->note = out->bad_count ? "every applicant defaulted: AUC, Gini and KS need both classes"
                                   : "no applicant defaulted: AUC, Gini and KS need both classes";
    } else {
        item *it = sorted_items(score, bad, n);
        if (!it)
            return csg_fail(err, CSG_ENOMEM, "out of memory (%zu scores)", n);
        rank_stats(it, n, out->bad_count, &out->auc, &out->ks);
        out->gini = 2.0 * out->auc - 1.0;
        free(it);
    }
    if (!out->note && !out->decided)
        out->note = "no decisions: approval rates unavailable";
    else if (!out->note && !out->approved)
        out->note = "no approvals: bad_rate_approved unavailable";
    return 0;
}

int csg_roc(const double *score, const unsigned char *bad, size_t n, size_t max_points,
             double *fpr, double *tpr, size_t *npoints, csg_error *err)
{
    *npoints = 0;
    size_t nb = count_bad(bad, n), ng = n - nb;
    if (nb == 0 || ng == 0 || max_points < 2)
        return 0;
    item *it = sorted_items(score, bad, n);
    double *fx = malloc((n + 1) * sizeof *fx), *ty = malloc((n + 1) * sizeof *ty);
    if (!it || !fx || !ty) {
        free(it);
        free(fx);
        free(ty);
        return csg_fail(err, CSG_ENOMEM, "out of memory (%zu scores)", n);
    }
    size_t m = 0, cb = 0, cg = 0;
    fx[m] = 0.0;
    ty[m++] = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = group_end(it, n, i);
        for (size_t k = i; k < j; k++) {
            cb += it[k].bad;
            cg += !it[k].bad;
        }
        fx[m] = (double)cg / (double)ng;
        ty[m++] = (double)cb / (double)nb;
        i = j;
    }
    /* Thin evenly by index, always keeping both ends. */
    size_t outn = m <= max_points ? m : max_points;
    for (size_t k = 0; k < outn; k++) {
        size_t src = outn == m ? k : (size_t)((double)k * (double)(m - 1) / (double)(outn - 1) + 0.5);
        if (src >= m)
            src = m - 1;
        fpr[k] = fx[src];
        tpr[k] = ty[src];
    }
    *npoints = outn;
    free(it);
    free(fx);
    free(ty);
    return 0;
}

double csg_sorted_percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
    if (hi >= n)
        hi = n - 1;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* Bin of x among the inner edges e[0..CSG_PSI_BINS-1): number of edges strictly below x,
 * so bin k = (e_{k-1}, e_k]. */
static int psi_bin(const double *e, double x)
{
    int k = 0;
    while (k < CSG_PSI_BINS - 1 && x > e[k])
        k++;
    return k;
}

double csg_psi_term(double e_share, double a_share)
{
    double e = fmax(e_share, CSG_PSI_FLOOR), a = fmax(a_share, CSG_PSI_FLOOR);
    return (a - e) * log(a / e);
}

double csg_psi(const double *expected, const double *actual, size_t n, double *edges,
                double *e_share, double *a_share, int *rc)
{
    if (rc)
        *rc = 0;
    if (n == 0)
        return NAN;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        if (rc)
            *rc = -CSG_ENOMEM;
        return NAN;
    }
    memcpy(sorted, expected, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double e[CSG_PSI_BINS - 1];
    for (int k = 0; k < CSG_PSI_BINS - 1; k++)
        e[k] = csg_sorted_percentile(sorted, n, (double)(k + 1) / CSG_PSI_BINS);
    free(sorted);
    size_t ce[CSG_PSI_BINS] = {0}, ca[CSG_PSI_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        ce[psi_bin(e, expected[i])]++;
        ca[psi_bin(e, actual[i])]++;
    }
    double psi = 0.0;
    for (int k = 0; k < CSG_PSI_BINS; k++) {
        double pe = fmax((double)ce[k] / (double)n, CSG_PSI_FLOOR);
        double pa = fmax((double)ca[k] / (double)n, CSG_PSI_FLOOR);
        psi += csg_psi_term(pe, pa);
        if (e_share)
            e_share[k] = pe;
        if (a_share)
            a_share[k] = pa;
    }
    if (edges)
        memcpy(edges, e, sizeof e);
    return psi;
}

/* DeLong's structural components of one model, written by original index into v:
 * for a good i, V10_i = P(score_i > score of a bad) + ½ P(tie); for a bad j,
 * V01_j = P(score of a good > score_j) + ½ P(tie). Returns the AUC. */
static double delong_components(const item *it, size_t n, size_t nb, double *v)
{
    size_t ng = n - nb, bad_below = 0, good_below = 0;
    double sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = group_end(it, n, i), gb = 0, gg;
        for (size_t k = i; k < j; k++)
            gb += it[k].bad;
        gg = (j - i) - gb;
        double v10 = ((double)bad_below + 0.5 * (double)gb) / (double)nb;
        double v01 = ((double)(ng - good_below - gg) + 0.5 * (double)gg) / (double)ng;
        for (size_t k = i; k < j; k++)
            v[it[k].idx] = it[k].bad ? v01 : v10;
        sum += (double)gg * v10;
        bad_below += gb;
        good_below += gg;
        i = j;
    }
    return sum / (double)ng;
}

int csg_delong_compare(const double *a, const double *b, const unsigned char *bad, size_t n,
                        csg_delong *out, csg_error *err)
{
    memset(out, 0, sizeof *out);
    out->auc_a = out->auc_b = out->delta = out->se = out->lo = out->hi = NAN;
    out->z = out->p_value = out->more_needed = NAN;
    out->n = n;
    out->n_bad = count_bad(bad, n);
    out->n_good = n - out->n_bad;
    if (n == 0) {
        out->note = "no labelled applicants scored by both models";
        return 0;
    }
    if (out->n_bad == 0 || out->n_good == 0) {
        out->note = "AUC needs both defaulted and repaid applicants";
        return 0;
    }
    int rc = 0;
    item *ia = sorted_items(a, bad, n), *ib = sorted_items(b, bad, n);
    double *va = malloc(n * sizeof *va), *vb = malloc(n * sizeof *vb);
    if (!ia || !ib || !va || !vb) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory (%zu scores)", n);
        goto done;
    }
    out->auc_a = delong_components(ia, n, out->n_bad, va);
    out->auc_b = delong_components(ib, n, out->n_bad, vb);
    out->delta = out->auc_b - out->auc_a;
    if (out->n_bad < 2 || out->n_good < 2) {
        out->note = "the DeLong variance needs at least 2 defaulted and 2 repaid applicants";
        goto done;
    }
    /* Var(ΔAUC) = S10[d]/m + S01[d]/n where d = V_b − V_a per applicant, S10 the sample
     * variance over goods and S01 over bads (the usual S_AA + S_BB − 2 S_AB, written as
     * the variance of the difference). */
    double mean_g = 0.0, mean_b = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = vb[i] - va[i];
        if (bad[i])
            mean_b += d;
        else
            mean_g += d;
    }
    mean_g /= (double)out->n_good;
    mean_b /= (double)out->n_bad;
    double ss_g = 0.0, ss_b = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = vb[i] - va[i];
        if (bad[i])
            ss_b += (d - mean_b) * (d - mean_b);
        else
            ss_g += (d - mean_g) * (d - mean_g);
    }
    double var = ss_g / (double)(out->n_good - 1) / (double)out->n_good +
                 ss_b / (double)(out->n_bad - 1) / (double)out->n_bad;
    out->se = sqrt(var);
    out->lo = out->delta - Z975 * out->se;
    out->hi = out->delta + Z975 * out->se;
    if (out->se > 0.0) {
        out->z = out->delta / out->se;
        out->p_value = erfc(fabs(out->z) / sqrt(2.0));
    }
    if (out->lo > 0.0)
        out->verdict = 1;
    else if (out->hi < 0.0)
        out->verdict = -1;
    if (out->verdict != 0) {
        out->more_needed = 0.0;
    } else if (out->delta != 0.0) {
        /* se shrinks like 1/sqrt(n) at a constant class mix: the CI just excludes 0 when
         * n' = n·(z·se/|Δ|)². A rough planning figure (about 50% power), not a promise. */
        double need = (double)n * (Z975 * out->se / fabs(out->delta)) * (Z975 * out->se / fabs(out->delta));
        out->more_needed = ceil(need - (double)n);
        if (out->more_needed < 1.0)
            out->more_needed = 1.0;
    } else {
        out->note = "the two models rank these applicants identically (ΔAUC = 0)";
    }
done:
    free(ia);
    free(ib);
    free(va);
    free(vb);
    return rc;
}

void csg_delong_verdict(const csg_delong *d, const char *champion, const char *challenger,
                         char *buf, size_t size)
{
    if (!isfinite(d->delta)) {
        snprintf(buf, size, "no verdict yet: %s", d->note ? d->note : "no data");
        return;
    }
    if (!isfinite(d->se)) {
        snprintf(buf, size, "no verdict yet: ΔAUC %+.4f (%s − %s) but %s", d->delta, challenger,
                 champion, d->note ? d->note : "no variance");
        return;
    }
    if (d->verdict > 0 || d->verdict < 0) {
        snprintf(buf, size, "%s ranks %s than %s: ΔAUC %+.4f (95%% CI %+.4f to %+.4f, DeLong, n = %zu)",
                 challenger, d->verdict > 0 ? "better" : "worse", champion, d->delta, d->lo, d->hi,
                 d->n);
        return;
    }
    if (isfinite(d->more_needed))
        snprintf(buf, size,
                 "%s and %s are not yet distinguishable: ΔAUC %+.4f (95%% CI %+.4f to %+.4f, "
                 "DeLong, n = %zu); at this effect roughly %.0f more labelled applicants would be "
                 "needed",
                 challenger, champion, d->delta, d->lo, d->hi, d->n, d->more_needed);
    else
        snprintf(buf, size,
                 "%s and %s are not distinguishable: ΔAUC %+.4f (95%% CI %+.4f to %+.4f, DeLong, "
                 "n = %zu)",
                 challenger, champion, d->delta, d->lo, d->hi, d->n);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *jsize(size_t v) { return json_integer((json_int_t)v); }

json_t *csg_perf_json(const char *model, const char *role, const csg_perf *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "role", json_string(role));
    json_object_set_new(o, "count", jsize(p->count));
    json_object_set_new(o, "bad_count", jsize(p->bad_count));
    json_object_set_new(o, "bad_rate", jnum(p->bad_rate));
    json_object_set_new(o, "auc", jnum(p->auc));
    json_object_set_new(o, "gini", jnum(p->gini));
    json_object_set_new(o, "ks", jnum(p->ks));
    json_object_set_new(o, "brier", jnum(p->brier));
    json_object_set_new(o, "approval_rate", jnum(p->approval_rate));
    json_object_set_new(o, "bad_rate_approved", jnum(p->bad_rate_approved));
    if (p->note)
        json_object_set_new(o, "note", json_string(p->note));
    return o;
}

json_t *csg_delong_json(const csg_delong *d, const char *champion, const char *challenger)
{
    char verdict[512];
    csg_delong_verdict(d, champion, challenger, verdict, sizeof verdict);
    json_t *o = json_object();
    json_object_set_new(o, "champion_model", json_string(champion));
    json_object_set_new(o, "challenger_model", json_string(challenger));
    json_object_set_new(o, "count", jsize(d->n));
    json_object_set_new(o, "delta_auc", jnum(d->delta));
    json_object_set_new(o, "se", jnum(d->se));
    json_t *ci = json_array();
    json_array_append_new(ci, jnum(d->lo));
    json_array_append_new(ci, jnum(d->hi));
    json_object_set_new(o, "ci95", ci);
    json_object_set_new(o, "z", jnum(d->z));
    json_object_set_new(o, "p_value", jnum(d->p_value));
    json_object_set_new(o, "more_outcomes_needed", jnum(d->more_needed));
    json_object_set_new(o, "outcome",
                        json_string(!isfinite(d->se) ? "insufficient_data"
                                    : d->verdict > 0 ? "challenger_better"
                                    : d->verdict < 0 ? "challenger_worse"
                                                     : "not_distinguishable"));
    json_object_set_new(o, "verdict", json_string(verdict));
    if (d->note)
        json_object_set_new(o, "note", json_string(d->note));
    return o;
}

static json_t *swap_json(size_t count, size_t bad)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", jsize(count));
    json_object_set_new(o, "bad_count", jsize(bad));
    json_object_set_new(o, "bad_rate", count ? json_real((double)bad / (double)count) : json_null());
    if (!count)
        json_object_set_new(o, "note", json_string("no applicants in this set"));
    return o;
}

static json_t *roc_json(const double *score, const unsigned char *bad, size_t n, int *rc,
                        csg_error *err)
{
    double fpr[CSG_ROC_MAX_POINTS], tpr[CSG_ROC_MAX_POINTS];
    size_t np = 0;
    *rc = csg_roc(score, bad, n, CSG_ROC_MAX_POINTS, fpr, tpr, &np, err);
    json_t *o = json_object(), *fx = json_array(), *ty = json_array();
    for (size_t k = 0; k < np; k++) {
        json_array_append_new(fx, json_real(fpr[k]));
        json_array_append_new(ty, json_real(tpr[k]));
    }
    json_object_set_new(o, "fpr", fx);
    json_object_set_new(o, "tpr", ty);
    return o;
}

int csg_pair_json(const csg_pair_input *in, json_t *models, json_t *swap_sets, json_t *psi,
                   json_t *promotion, csg_error *err)
{
    csg_perf pa, pb;
    csg_delong d;
    int rc;
    if ((rc = csg_perf_compute(in->s_champion, in->bad, in->d_champion, in->n, &pa, err)) ||
        (rc = csg_perf_compute(in->s_challenger, in->bad, in->d_challenger, in->n, &pb, err)) ||
        (rc = csg_delong_compare(in->s_champion, in->s_challenger, in->bad, in->n, &d, err)))
        return rc;

    const char *names[2] = {in->champion, in->challenger};
    const char *roles[2] = {"champion", "challenger"};
    const csg_perf *perf[2] = {&pa, &pb};
    const double *scores[2] = {in->s_champion, in->s_challenger};
    for (int k = 0; k < 2; k++) {
        json_t *m = csg_perf_json(names[k], roles[k], perf[k]);
        json_object_set_new(m, "paired_with", json_string(names[1 - k]));
        json_object_set_new(m, "roc", roc_json(scores[k], in->bad, in->n, &rc, err));
        json_array_append_new(models, m);
        if (rc)
            return rc;
    }

    size_t cnt[4] = {0}, bad[4] = {0}; /* champion-only, challenger-only, both approve, both decline */
    for (size_t i = 0; i < in->n; i++) {
        int a = in->d_champion ? in->d_champion[i] : -1, b = in->d_challenger ? in->d_challenger[i] : -1;
        int set = a == 1 && b == 0 ? 0 : a == 0 && b == 1 ? 1 : a == 1 && b == 1 ? 2 : a == 0 && b == 0 ? 3 : -1;
        if (set < 0)
            continue;
        cnt[set]++;
        bad[set] += in->bad[i] ? 1 : 0;
    }
    json_t *sw = json_object();
    json_object_set_new(sw, "champion_model", json_string(in->champion));
    json_object_set_new(sw, "challenger_model", json_string(in->challenger));
    json_object_set_new(sw, "champion_only", swap_json(cnt[0], bad[0]));
    json_object_set_new(sw, "challenger_only", swap_json(cnt[1], bad[1]));
    json_object_set_new(sw, "both_approve", swap_json(cnt[2], bad[2]));
    json_object_set_new(sw, "both_decline", swap_json(cnt[3], bad[3]));
    json_array_append_new(swap_sets, sw);

    double edges[CSG_PSI_BINS - 1], es[CSG_PSI_BINS], as[CSG_PSI_BINS];
    double v = csg_psi(in->s_champion, in->s_challenger, in->n, edges, es, as, &rc);
    if (rc)
        return csg_fail(err, CSG_ENOMEM, "out of memory (%zu scores)", in->n);
    json_t *p = json_object();
    json_object_set_new(p, "model", json_string(in->challenger));
    json_object_set_new(p, "reference_model", json_string(in->champion));
    json_object_set_new(p, "count", jsize(in->n));
    json_object_set_new(p, "psi", jnum(v));
    if (isfinite(v)) {
        json_t *je = json_array(), *jes = json_array(), *jas = json_array();
        for (int k = 0; k < CSG_PSI_BINS - 1; k++)
            // NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): csg_psi fills edges whenever v is finite (NAN is not modelled)
            json_array_append_new(je, json_real(edges[k]));
        for (int k = 0; k < CSG_PSI_BINS; k++) {
            json_array_append_new(jes, json_real(es[k]));
            json_array_append_new(jas, json_real(as[k]));
        }
        json_object_set_new(p, "edges", je);
        json_object_set_new(p, "expected_share", jes);
        json_object_set_new(p, "actual_share", jas);
    } else {
        json_object_set_new(p, "note", json_string("no applicants scored by both models"));
    }
    json_array_append_new(psi, p);
    json_array_append_new(promotion, csg_delong_json(&d, in->champion, in->challenger));
    return 0;
}
