/*
 * report.c — see report.h. The population rule and the JSON shapes are the API's: rows
 * filtered first (both OK, outcome known), then each applicant's latest (timestamp, id),
 * then lib/csg_outcome_stats's csg_pair_json, which /metrics/performance calls too.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csg_outcome_stats.h"

#define SKIP_EXAMPLES 5

struct rp_report {
    rp_row *rows;
    size_t n, cap;
    size_t skipped;
    json_t *skip_examples;
};

rp_report *rp_report_new(void)
{
    rp_report *r = calloc(1, sizeof *r);
    if (r)
        r->skip_examples = json_array();
    return r;
}

void rp_report_free(rp_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free((char *)r->rows[i].applicant_id);
    free(r->rows);
    json_decref(r->skip_examples);
    free(r);
}

int rp_report_add(rp_report *r, const rp_row *row)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 4096;
        rp_row *nr = realloc(r->rows, nc * sizeof *nr);
        if (!nr)
            return -CSG_ENOMEM;
        r->rows = nr;
        r->cap = nc;
    }
    char *id = strdup(row->applicant_id);
    if (!id)
        return -CSG_ENOMEM;
    r->rows[r->n] = *row;
    r->rows[r->n++].applicant_id = id;
    return 0;
}

void rp_report_skip(rp_report *r, const char *applicant_id, const char *why)
{
    r->skipped++;
    if (json_array_size(r->skip_examples) < SKIP_EXAMPLES)
        json_array_append_new(r->skip_examples,
                              json_pack("{s:s, s:s}", "applicant_id", applicant_id, "error", why));
}

size_t rp_report_rows(const rp_report *r)
{
    return r->n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Applicant, then newest first: the first row of each applicant is its latest. */
static int cmp_latest(const void *a, const void *b)
{
    const rp_row *x = *(const rp_row *const *)a, *y = *(const rp_row *const *)b;
    int c = strcmp(x->applicant_id, y->applicant_id);
    if (c)
        return c;
    if (x->timestamp_ms != y->timestamp_ms)
        return x->timestamp_ms < y->timestamp_ms ? 1 : -1;
    return (x->id < y->id) - (x->id > y->id);
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The paired population → csg_pair_json's models, swap_sets, psi and promotion. */
static int outcome_part(const rp_report *r, const rp_meta *m, json_t *rep, csg_error *err)
{
    const rp_row **p = malloc((r->n ? r->n : 1) * sizeof(const rp_row *));
    double *sa = malloc((r->n ? r->n : 1) * sizeof *sa);
    double *sb = malloc((r->n ? r->n : 1) * sizeof *sb);
    signed char *da = malloc(r->n ? r->n : 1), *db = malloc(r->n ? r->n : 1);
    unsigned char *bad = malloc(r->n ? r->n : 1);
    int rc = 0;
    if (!p || !sa || !sb || !da || !db || !bad) {
        rc = csg_fail(err, CSG_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0, n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rp_row *x = &r->rows[i];
        if (x->champion_ok && x->candidate_ok && x->defaulted >= 0)
            p[k++] = x;
    }
    qsort((void *)p, k, sizeof(const rp_row *), cmp_latest);
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && !strcmp(p[i]->applicant_id, p[i - 1]->applicant_id))
            continue; /* an older event of the same applicant */
        sa[n] = p[i]->s_champion;
        sb[n] = p[i]->s_candidate;
        da[n] = p[i]->d_champion;
        db[n] = p[i]->d_candidate;
        bad[n] = (unsigned char)p[i]->defaulted;
        n++;
    }
    json_t *models = json_array(), *swaps = json_array(), *psi = json_array(),
           *promo = json_array();
    json_object_set_new(rep, "population",
                        json_string("paired: each applicant's latest replayed event where the "
                                    "stored champion and the candidate both answered OK and "
                                    "the outcome is known"));
    json_object_set_new(rep, "paired", json_integer((json_int_t)n));
    json_object_set_new(rep, "models", models);
    json_object_set_new(rep, "swap_sets", swaps);
    json_object_set_new(rep, "psi", psi);
    json_object_set_new(rep, "promotion", promo);
    if (n > 0) {
        csg_pair_input in = {.champion = m->champion, .challenger = m->candidate,
                             .s_champion = sa, .s_challenger = sb, .d_champion = da,
                             .d_challenger = db, .bad = bad, .n = n};
        if ((rc = csg_pair_json(&in, models, swaps, psi, promo, err)))
            goto done;
    }
    /* The comparison keys of /metrics/performance's promotion entry, at the top too. */
    json_t *pr = json_array_get(promo, 0);
    static const char *const keys[] = {"delta_auc", "ci95", "p_value", "outcome", "verdict"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = pr ? json_object_get(pr, keys[i]) : NULL;
        json_object_set(rep, keys[i], v ? v : json_null());
    }
    if (!pr)
        json_object_set_new(rep, "note",
                            json_string("no replayed applicant has a known outcome with both "
                                        "answers OK: ΔAUC needs outcomes (POST /outcomes)"));
done:
    free(p);
    free(sa);
    free(sb);
    free(da);
    free(db);
    free(bad);
    return rc;
}

json_t *rp_report_json(const rp_report *r, const rp_meta *m, csg_error *err)
{
    json_t *rep = json_object();
    json_object_set_new(rep, "experiment_id", json_string(m->experiment_id));
    json_object_set_new(rep, "source_experiment", json_string(m->source_experiment));
    json_object_set_new(rep, "champion_model", json_string(m->champion));
    json_object_set_new(rep, "challenger_model", json_string(m->candidate));
    json_object_set_new(rep, "config_version", json_string(m->config_version));
    json_object_set_new(rep, "complete", json_boolean(m->stopped == NULL));
    json_object_set_new(rep, "stopped", m->stopped ? json_string(m->stopped) : json_null());
    json_object_set_new(rep, "elapsed_s", json_real(m->elapsed_s));

    size_t ok = 0, errors = 0, timeouts = 0, compared = 0, differ = 0;
    double diff_sum = 0.0;
    double *lat = malloc((r->n ? r->n : 1) * sizeof *lat);
    if (!lat) {
        json_decref(rep);
        csg_fail(err, CSG_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        const rp_row *x = &r->rows[i];
        if (x->candidate_status == 0)
            lat[ok++] = x->latency_ms;
        else if (x->candidate_status == 2)
            timeouts++;
        else
            errors++;
        if (x->champion_ok && x->candidate_ok) {
            compared++;
            differ += x->d_champion != x->d_candidate;
            diff_sum += fabs(x->s_champion - x->s_candidate);
        }
    }
    json_object_set_new(rep, "rows", json_integer((json_int_t)r->n));
    json_object_set_new(rep, "scored", json_integer((json_int_t)ok));
    json_object_set_new(rep, "errors", json_integer((json_int_t)errors));
    json_object_set_new(rep, "timeouts", json_integer((json_int_t)timeouts));
    json_object_set_new(rep, "skipped", json_integer((json_int_t)r->skipped));
    if (r->skipped)
        json_object_set(rep, "skipped_examples", r->skip_examples);
    qsort(lat, ok, sizeof *lat, cmp_double);
    json_t *l = json_object();
    json_object_set_new(l, "p50", ok ? jnum(csg_sorted_percentile(lat, ok, 0.5)) : json_null());
    json_object_set_new(l, "p99", ok ? jnum(csg_sorted_percentile(lat, ok, 0.99)) : json_null());
    json_object_set_new(rep, "latency_ms", l);
    free(lat);
    json_t *dv = json_object();
    json_object_set_new(dv, "compared", json_integer((json_int_t)compared));
    json_object_set_new(dv, "divergence_rate",
                        compared ? json_real((double)differ / (double)compared) : json_null());
    json_object_set_new(dv, "avg_decision_diff",
                        compared ? json_real(diff_sum / (double)compared) : json_null());
    json_object_set_new(rep, "divergence", dv);
    if (outcome_part(r, m, rep, err)) {
        json_decref(rep);
        return NULL;
    }
    return rep;
}

static double num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_set(FILE *out, const char *label, const json_t *s)
{
    double rate = num(s, "bad_rate");
    fprintf(out, "  %-22s %6lld", label, (long long)json_integer_value(json_object_get(s, "count")));
    if (isfinite(rate))
        fprintf(out, "   bad rate %5.1f%%\n", 100.0 * rate);
    else
        fprintf(out, "   bad rate  -\n");
}

void rp_report_print(const json_t *rep, FILE *out)
{
    const char *stopped = json_string_value(json_object_get(rep, "stopped"));
    fprintf(out, "\nReplay report — %s%s\n", json_string_value(json_object_get(rep, "experiment_id")),
            stopped ? " (PARTIAL)" : "");
    if (stopped)
        fprintf(out, "  stopped early: %s\n", stopped);
    fprintf(out, "  candidate %s vs stored champion %s answers (experiment %s)\n",
            json_string_value(json_object_get(rep, "challenger_model")),
            json_string_value(json_object_get(rep, "champion_model")),
            json_string_value(json_object_get(rep, "source_experiment")));
    fprintf(out, "  rows replayed %lld in %.1f s: scored %lld, errors %lld, timeouts %lld, skipped %lld\n",
            (long long)json_integer_value(json_object_get(rep, "rows")), num(rep, "elapsed_s"),
            (long long)json_integer_value(json_object_get(rep, "scored")),
            (long long)json_integer_value(json_object_get(rep, "errors")),
            (long long)json_integer_value(json_object_get(rep, "timeouts")),
            (long long)json_integer_value(json_object_get(rep, "skipped")));
    const json_t *l = json_object_get(rep, "latency_ms");
    if (isfinite(num(l, "p50")))
        fprintf(out, "  candidate latency p50 %.3f ms, p99 %.3f ms\n", num(l, "p50"), num(l, "p99"));
    const json_t *dv = json_object_get(rep, "divergence");
    if (isfinite(num(dv, "divergence_rate")))
        fprintf(out, "  divergence %.1f%% of %lld decisions differ; mean |score diff| %.4f\n",
                100.0 * num(dv, "divergence_rate"),
                (long long)json_integer_value(json_object_get(dv, "compared")),
                num(dv, "avg_decision_diff"));
    fprintf(out, "  paired population %lld applicants (latest event each, both OK, outcome known)\n",
            (long long)json_integer_value(json_object_get(rep, "paired")));
    const json_t *models = json_object_get(rep, "models"), *mm;
    size_t i;
    json_array_foreach(models, i, mm)
    {
        double auc = num(mm, "auc");
        const char *role = json_string_value(json_object_get(mm, "role"));
        fprintf(out, "  AUC %-9s %-28s ", role && !strcmp(role, "challenger") ? "candidate" : "champion",
                json_string_value(json_object_get(mm, "model")));
        if (isfinite(auc))
            fprintf(out, "%.4f\n", auc);
        else
            fprintf(out, "-\n");
    }
    const json_t *ci = json_object_get(rep, "ci95");
    if (isfinite(num(rep, "delta_auc")) && json_array_size(ci) == 2)
        fprintf(out, "  ΔAUC %+.4f (95%% CI %+.4f to %+.4f, DeLong, p = %.4g): %s\n",
                num(rep, "delta_auc"), json_number_value(json_array_get(ci, 0)),
                json_number_value(json_array_get(ci, 1)), num(rep, "p_value"),
                json_string_value(json_object_get(rep, "outcome")));
    const char *verdict = json_string_value(json_object_get(rep, "verdict"));
    if (verdict)
        fprintf(out, "  %s\n", verdict);
    const json_t *sw = json_array_get(json_object_get(rep, "swap_sets"), 0);
    if (sw) {
        fprintf(out, "  swap sets:\n");
        print_set(out, "champion-only approve", json_object_get(sw, "champion_only"));
        print_set(out, "candidate-only approve", json_object_get(sw, "challenger_only"));
        print_set(out, "both approve", json_object_get(sw, "both_approve"));
        print_set(out, "both decline", json_object_get(sw, "both_decline"));
    }
    const json_t *psi = json_array_get(json_object_get(rep, "psi"), 0);
    if (psi && isfinite(num(psi, "psi")))
        fprintf(out, "  PSI of the candidate's scores vs the champion's: %.4f\n", num(psi, "psi"));
    const char *note = json_string_value(json_object_get(rep, "note"));
    if (note)
        fprintf(out, "  note: %s\n", note);
}
