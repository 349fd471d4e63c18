/*
 * test_latency.c — models/latency.c: --latency-ms specs parse or are refused,
 * and draws stay within each distribution's bounds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "latency.h"

struct parse_case {
    const char *spec;
    int ok;
    csg_latency_kind kind;
    double a, b;
};

static const struct parse_case cases[] = {
    {"20", 1, CSG_LATENCY_FIXED, 20, 0},
    {"0", 1, CSG_LATENCY_FIXED, 0, 0},
    {"2.5", 1, CSG_LATENCY_FIXED, 2.5, 0},
    {"uniform:5:50", 1, CSG_LATENCY_UNIFORM, 5, 50},
    {"uniform:5:5", 1, CSG_LATENCY_UNIFORM, 5, 5},
    {"exp:10", 1, CSG_LATENCY_EXP, 10, 0},
    {"normal:20:5", 1, CSG_LATENCY_NORMAL, 20, 5},
    {"", 0, 0, 0, 0},
    {"-1", 0, 0, 0, 0},
    {"abc", 0, 0, 0, 0},
    {"20ms", 0, 0, 0, 0},
    {"nan", 0, 0, 0, 0},
    {"inf", 0, 0, 0, 0},
    {"700000", 0, 0, 0, 0},
    {"uniform:50:5", 0, 0, 0, 0},
    {"uniform:5", 0, 0, 0, 0},
    {"uniform:5:6:7", 0, 0, 0, 0},
    {"exp:", 0, 0, 0, 0},
    {"exp::5", 0, 0, 0, 0},
    {"exp:5:", 0, 0, 0, 0},
    {"gamma:1:2", 0, 0, 0, 0},
    {"normal:20", 0, 0, 0, 0},
    {"1:2:3:4:5", 0, 0, 0, 0},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csg_latency l = {0};
        csg_model_error err = {{0}};
        int rc = csg_latency_parse(cases[i].spec, &l, &err);
        if ((rc == 0) != cases[i].ok) {
            print_error("\"%s\": rc %d (%s)\n", cases[i].spec, rc, err.message);
            fail();
        }
        if (cases[i].ok) {
            assert_int_equal(l.kind, cases[i].kind);
            assert_true(l.a == cases[i].a && l.b == cases[i].b);
        } else {
            assert_non_null(strstr(err.message, "bad latency"));
        }
    }
}

static void test_sample_bounds(void **state)
{
    (void)state;
    static const char *const specs[] = {"20", "uniform:5:50", "exp:10", "normal:20:5", "0"};
    static const double lo[] = {20, 5, 0, 0, 0}, hi[] = {20, 50, 600000, 600000, 0};
    csg_rng rng;
    csg_rng_seed(&rng, 42);
    for (size_t s = 0; s < 5; s++) {
        csg_latency l;
        assert_int_equal(csg_latency_parse(specs[s], &l, NULL), 0);
        double sum = 0;
        for (int i = 0; i < 20000; i++) {
            double v = csg_latency_sample(&l, &rng);
            assert_true(v >= lo[s] && v <= hi[s]);
            sum += v;
        }
        double mean = sum / 20000;
        /* Loose sanity on the means: 20, 27.5, 10, ~20, 0. */
        static const double want[] = {20, 27.5, 10, 20, 0};
        assert_true(fabs(mean - want[s]) <= 0.05 * want[s] + 1e-12);
    }
}

static void test_rng_uniform(void **state)
{
    (void)state;
    csg_rng rng;
    csg_rng_seed(&rng, 7);
    for (int i = 0; i < 100000; i++) {
        double u = csg_rng_uniform(&rng);
        assert_true(u >= 0 && u < 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sample_bounds),
        cmocka_unit_test(test_rng_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
