/*
 * Unit tests of lib/csg_outcome_stats.c and persistence/outcomes.c (parsing only; storing
 * is tested against real databases by tests/analytics). Hand-computed expectations; the
 * pytest suite compares the same statistics with scikit-learn/scipy on larger data.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "csg_outcome_stats.h"
#include "outcomes.h"

#define EPS 1e-12
#define MAXN 8

struct perf_case {
    const char *name;
    size_t n;
    double score[MAXN];
    unsigned char bad[MAXN];
    signed char approve[MAXN];
    double auc, ks, brier, approval_rate, bad_rate_approved; /* NAN = expect NAN */
    const char *note_part; /* substring of the note, NULL = no note */
};

static const struct perf_case perf_cases[] = {
    {"separable-ish", 4, {0.1, 0.4, 0.35, 0.8}, {1, 1, 0, 0}, {0, 1, 0, 1},
     0.75, 0.5, 0.6325 / 4, 0.5, 0.5, NULL},
    {"all tied count half", 3, {0.5, 0.5, 0.5}, {0, 0, 1}, {1, 1, 1},
     0.5, 0.0, (0.25 + 0.25 + 0.25) / 3, 1.0, 1.0 / 3, NULL},
    {"partial tie", 3, {0.5, 0.5, 0.2}, {0, 1, 1}, {1, 1, 0},
     0.75, 0.5, (0.25 + 0.25 + 0.04) / 3, 2.0 / 3, 0.5, NULL},
    {"perfect", 4, {0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}, {1, 1, 0, 0},
     1.0, 1.0, (0.01 + 0.04 + 0.04 + 0.01) / 4, 0.5, 0.0, NULL},
    {"inverted", 2, {0.1, 0.9}, {0, 1}, {0, 1}, 0.0, 1.0, (0.81 + 0.81) / 2, 0.5, 1.0, NULL},
    {"no defaults", 3, {0.1, 0.5, 0.9}, {0, 0, 0}, {0, 1, 1},
     NAN, NAN, (0.81 + 0.25 + 0.01) / 3, 2.0 / 3, 0.0, "no applicant defaulted"},
    {"all defaulted", 2, {0.1, 0.5}, {1, 1}, {0, 0}, NAN, NAN, (0.01 + 0.25) / 2, 0.0, NAN,
     "every applicant defaulted"},
    {"empty", 0, {0}, {0}, {0}, NAN, NAN, NAN, NAN, NAN, "no labelled applicants"},
    {"no decisions", 2, {0.2, 0.7}, {1, 0}, {-1, -1}, 1.0, 1.0, (0.04 + 0.09) / 2, NAN, NAN,
     "no decisions"},
};

static void expect_num(const char *what, const char *name, double want, double got)
{
    if (isnan(want)) {
        if (!isnan(got))
            fail_msg("%s: %s: want NAN, got %.17g", name, what, got);
        return;
    }
    if (!(fabs(want - got) <= EPS))
        fail_msg("%s: %s: want %.17g, got %.17g", name, what, want, got);
}

static void test_perf_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof perf_cases / sizeof perf_cases[0]; c++) {
        const struct perf_case *k = &perf_cases[c];
        csg_perf p;
        csg_error err;
        assert_int_equal(csg_perf_compute(k->score, k->bad, k->approve, k->n, &p, &err), 0);
        expect_num("auc", k->name, k->auc, p.auc);
        expect_num("gini", k->name, isnan(k->auc) ? NAN : 2 * k->auc - 1, p.gini);
        expect_num("ks", k->name, k->ks, p.ks);
        expect_num("brier", k->name, k->brier, p.brier);
        expect_num("approval_rate", k->name, k->approval_rate, p.approval_rate);
        expect_num("bad_rate_approved", k->name, k->bad_rate_approved, p.bad_rate_approved);
        if (k->note_part) {
            if (!p.note || !strstr(p.note, k->note_part))
                fail_msg("%s: note %s lacks %s", k->name, p.note ? p.note : "(null)", k->note_part);
        } else if (p.note) {
            fail_msg("%s: unexpected note %s", k->name, p.note);
        }
        /* The JSON never carries NaN: jansson refuses it, and nulls stand in. */
        json_t *j = csg_perf_json("m", "champion", &p);
        char *s = json_dumps(j, 0);
        assert_non_null(s);
        assert_null(strstr(s, "nan"));
        free(s);
        json_decref(j);
        expect_num("auc()", k->name, k->auc, csg_auc(k->score, k->bad, k->n, NULL));
    }
}

static double trapezoid(const double *x, const double *y, size_t n)
{
    double a = 0;
    for (size_t i = 1; i < n; i++)
        a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return a;
}

static void test_roc_area_is_auc(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof perf_cases / sizeof perf_cases[0]; c++) {
        const struct perf_case *k = &perf_cases[c];
        double fpr[CSG_ROC_MAX_POINTS], tpr[CSG_ROC_MAX_POINTS];
        size_t np;
        assert_int_equal(csg_roc(k->score, k->bad, k->n, CSG_ROC_MAX_POINTS, fpr, tpr, &np, NULL), 0);
        if (isnan(k->auc)) {
            assert_int_equal(np, 0);
            continue;
        }
        assert_true(np >= 2);
        expect_num("roc start", k->name, 0.0, fpr[0] + tpr[0]);
        expect_num("roc end", k->name, 2.0, fpr[np - 1] + tpr[np - 1]);
        expect_num("roc area", k->name, k->auc, trapezoid(fpr, tpr, np));
    }
    /* Thinning keeps both ends and at most max_points points. */
    double s[500];
    unsigned char b[500];
    for (int i = 0; i < 500; i++) {
        s[i] = (double)i / 500;
        b[i] = (unsigned char)(i % 3 == 0);
    }
    double fpr[10], tpr[10];
    size_t np;
    assert_int_equal(csg_roc(s, b, 500, 10, fpr, tpr, &np, NULL), 0);
    assert_int_equal(np, 10);
    expect_num("thin start", "thin", 0.0, fpr[0]);
    expect_num("thin end", "thin", 1.0, tpr[9]);
}

static void test_percentile_cont(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3, 4};
    expect_num("p0", "pct", 1.0, csg_sorted_percentile(v, 4, 0.0));
    expect_num("p50", "pct", 2.5, csg_sorted_percentile(v, 4, 0.5));
    expect_num("p10", "pct", 1.3, csg_sorted_percentile(v, 4, 0.1));
    expect_num("p100", "pct", 4.0, csg_sorted_percentile(v, 4, 1.0));
    expect_num("one", "pct", 7.0, csg_sorted_percentile((const double[]){7}, 1, 0.9));
}

static void test_psi(void **state)
{
    (void)state;
    double a[100], b[100], e_share[CSG_PSI_BINS], a_share[CSG_PSI_BINS], edges[CSG_PSI_BINS - 1];
    for (int i = 0; i < 100; i++) {
        a[i] = (i + 0.5) / 100;
        b[i] = a[i];
    }
    int rc;
    expect_num("identical", "psi", 0.0, csg_psi(a, b, 100, edges, e_share, a_share, &rc));
    for (int k = 0; k < CSG_PSI_BINS; k++)
        expect_num("decile share", "psi", 0.1, e_share[k]);
    /* Everything in the top bin: nine bins floored at 1e-4, one at 1.0 against 0.1 each. */
    for (int i = 0; i < 100; i++)
        b[i] = 0.999;
    double want = 9 * (1e-4 - 0.1) * log(1e-4 / 0.1) + (1.0 - 0.1) * log(1.0 / 0.1);
    expect_num("shifted", "psi", want, csg_psi(a, b, 100, NULL, NULL, NULL, &rc));
    assert_true(isnan(csg_psi(a, b, 0, NULL, NULL, NULL, &rc)));
    /* A constant champion: all edges equal, everything in bin 0 for both → 0. */
    for (int i = 0; i < 100; i++)
        a[i] = b[i] = 0.5;
    expect_num("constant", "psi", 0.0, csg_psi(a, b, 100, NULL, NULL, NULL, &rc));
}

static void test_delong(void **state)
{
    (void)state;
    enum { N = 60 };
    double a[N], b[N];
    unsigned char bad[N];
    for (int i = 0; i < N; i++) {
        bad[i] = (unsigned char)(i % 4 == 0 || i % 7 == 0);
        a[i] = fmod(i * 0.37, 1.0) * 0.6 + (bad[i] ? 0.0 : 0.3);
        b[i] = round((fmod(i * 0.53, 1.0) * 0.5 + (bad[i] ? 0.0 : 0.45)) * 10) / 10; /* ties */
    }
    csg_delong d, r;
    assert_int_equal(csg_delong_compare(a, b, bad, N, &d, NULL), 0);
    assert_int_equal(csg_delong_compare(b, a, bad, N, &r, NULL), 0);
    expect_num("auc a", "delong", csg_auc(a, bad, N, NULL), d.auc_a);
    expect_num("auc b", "delong", csg_auc(b, bad, N, NULL), d.auc_b);
    expect_num("delta", "delong", d.auc_b - d.auc_a, d.delta);
    expect_num("antisymmetric", "delong", -d.delta, r.delta);
    expect_num("same se", "delong", d.se, r.se);
    assert_true(d.se > 0 && d.lo < d.delta && d.delta < d.hi);
    expect_num("ci width", "delong", 2 * 1.959963984540054 * d.se, d.hi - d.lo);
    char v[512];
    csg_delong_verdict(&d, "champ", "chall", v, sizeof v);
    assert_non_null(strstr(v, "ΔAUC"));

    /* Identical models: no difference, no variance, never NaN in the JSON. */
    assert_int_equal(csg_delong_compare(a, a, bad, N, &d, NULL), 0);
    expect_num("self delta", "delong", 0.0, d.delta);
    expect_num("self se", "delong", 0.0, d.se);
    assert_int_equal(d.verdict, 0);
    assert_non_null(d.note);
    json_t *j = csg_delong_json(&d, "champ", "chall");
    char *s = json_dumps(j, 0);
    assert_non_null(s);
    free(s);
    json_decref(j);

    /* Single class and empty: NAN + note, never a crash. */
    unsigned char none[N] = {0};
    assert_int_equal(csg_delong_compare(a, b, none, N, &d, NULL), 0);
    assert_true(isnan(d.delta) && d.note);
    assert_int_equal(csg_delong_compare(a, b, bad, 0, &d, NULL), 0);
    assert_true(isnan(d.delta) && d.note);
    j = csg_delong_json(&d, "champ", "chall");
    assert_true(json_is_null(json_object_get(j, "delta_auc")));
    json_decref(j);
}

struct outcome_case {
    const char *name, *body;
    int rc;
    size_t accepted;
    const char *rejected; /* "index:substring;…" */
};

static const struct outcome_case outcome_cases[] = {
    {"array", "[{\"applicant_id\":\"a\",\"defaulted\":true},{\"applicant_id\":\"b\",\"defaulted\":false,"
              "\"observed_at\":\"2026-11-25T10:00:00Z\"}]", 0, 2, ""},
    {"array with bad items",
     "[{\"applicant_id\":\"a\",\"defaulted\":1},{\"defaulted\":true},7,"
     "{\"applicant_id\":\"c\",\"defaulted\":false,\"observed_at\":\"yesterday\"},"
     "{\"applicant_id\":\"\",\"defaulted\":false},{\"applicant_id\":\"ok\",\"defaulted\":false}]",
     0, 1, "0:defaulted;1:applicant_id;2:object;3:observed_at;4:applicant_id"},
    {"ndjson", "{\"applicant_id\":\"a\",\"defaulted\":true}\n\n{not json}\r\n"
               "{\"applicant_id\":\"b\",\"defaulted\":false}\n", 0, 2, "1:invalid JSON"},
    {"single object", "{\"applicant_id\":\"a\",\"defaulted\":true}", 0, 1, ""},
    {"empty", "  \n", -CSG_EINVAL, 0, ""},
    {"broken array", "[{\"applicant_id\":", -CSG_EINVAL, 0, ""},
    {"scalar", "42", -CSG_EINVAL, 0, ""},
    {"empty array", "[]", 0, 0, ""},
};

static void test_outcomes_parse(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof outcome_cases / sizeof outcome_cases[0]; c++) {
        const struct outcome_case *k = &outcome_cases[c];
        csgp_outcome *items = NULL;
        size_t n = 0;
        json_t *rej = json_array();
        csg_error err = {{0}};
        int rc = csgp_outcomes_parse(k->body, strlen(k->body), 1000, &items, &n, rej, &err);
        if (rc != k->rc)
            fail_msg("%s: rc %d, want %d (%s)", k->name, rc, k->rc, err.message);
        if (rc == 0) {
            if (n != k->accepted)
                fail_msg("%s: accepted %zu, want %zu", k->name, n, k->accepted);
            char want[256];
            snprintf(want, sizeof want, "%s", k->rejected);
            size_t nrej = 0;
            char *save = NULL;
            for (char *tok = strtok_r(want, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
                char *colon = strchr(tok, ':');
                *colon = 0;
                json_t *r = json_array_get(rej, nrej++);
                if (!r || json_integer_value(json_object_get(r, "index")) != atoi(tok) ||
                    !strstr(json_string_value(json_object_get(r, "error")), colon + 1))
                    fail_msg("%s: rejection %zu is not %s:%s", k->name, nrej - 1, tok, colon + 1);
            }
            if (json_array_size(rej) != nrej)
                fail_msg("%s: %zu rejections, want %zu", k->name, json_array_size(rej), nrej);
        } else {
            assert_true(err.message[0] != 0);
        }
        if (!strcmp(k->name, "array")) {
            assert_string_equal(items[0].applicant_id, "a");
            assert_true(items[0].defaulted);
            assert_int_equal(items[0].observed_ms, 1000); /* absent: the request time */
            assert_false(items[1].defaulted);
            assert_int_equal(items[1].observed_ms, INT64_C(1795600800000));
        }
        free(items);
        json_decref(rej);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perf_table),   cmocka_unit_test(test_roc_area_is_auc),
        cmocka_unit_test(test_percentile_cont), cmocka_unit_test(test_psi),
        cmocka_unit_test(test_delong),       cmocka_unit_test(test_outcomes_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
