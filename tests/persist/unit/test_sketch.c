/*
 * Unit tests of persistence/sketch.c: every positive value is within α of its bucket's
 * representative; percentiles of a sketch are within α of percentile_cont of the values
 * (lib/csg_outcome_stats.c csg_sorted_percentile); merging in any order gives the same answer.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csg_outcome_stats.h"
#include "sketch.h"

static uint64_t rng = 88172645463325252ULL;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_bucket_accuracy(void **state)
{
    (void)state;
    static const double fixed[] = {1e-300, 1e-9, 0.001, 0.5, 1.0, 1.0202, 2.0, 300.0, 1e12, 1e300};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        double v = csgp_sketch_value(csgp_sketch_bucket(fixed[i]));
        assert_true(fabs(v - fixed[i]) <= CSGP_SKETCH_ALPHA * fixed[i] * (1 + 1e-12));
    }
    for (int i = 0; i < 200000; i++) {
        double x = exp(uniform() * 30.0 - 15.0);
        double v = csgp_sketch_value(csgp_sketch_bucket(x));
        assert_true(fabs(v - x) <= CSGP_SKETCH_ALPHA * x * (1 + 1e-12));
    }
    assert_int_equal(csgp_sketch_bucket(0.0), CSGP_SKETCH_ZERO);
    assert_int_equal(csgp_sketch_bucket(-1.0), CSGP_SKETCH_ZERO);
    assert_true(csgp_sketch_value(CSGP_SKETCH_ZERO) == 0.0);
}

static void test_percentiles_within_accuracy(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 10, 101, 5000};
    static const double ps[] = {0.0, 0.01, 0.5, 0.95, 0.99, 1.0};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        double *v = malloc(n * sizeof *v);
        csgp_sketch a = {0}, b = {0};
        for (size_t i = 0; i < n; i++) {
            v[i] = i % 17 == 0 ? 0.0 : exp(uniform() * 8.0 - 2.0); /* zeros too */
            assert_int_equal(csgp_sketch_add(&a, csgp_sketch_bucket(v[i]), 1), 0);
        }
        for (size_t i = n; i-- > 0;) /* the other order, in two halves: a merge */
            assert_int_equal(csgp_sketch_add(&b, csgp_sketch_bucket(v[i]), 1), 0);
        qsort(v, n, sizeof *v, cmp_double);
        for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++) {
            double want = csg_sorted_percentile(v, n, ps[pi]);
            double got = csgp_sketch_percentile(&a, ps[pi]);
            assert_true(fabs(got - want) <= CSGP_SKETCH_ALPHA * want * (1 + 1e-12) + 1e-300);
            assert_true(got == csgp_sketch_percentile(&b, ps[pi]));
        }
        csgp_sketch_free(&a);
        csgp_sketch_free(&b);
        free(v);
    }
    csgp_sketch empty = {0};
    assert_true(isnan(csgp_sketch_percentile(&empty, 0.5)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_accuracy),
        cmocka_unit_test(test_percentiles_within_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
