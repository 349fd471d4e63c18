/*
 * test_fdlimit.c — core/fdlimit.c: the soft open-file limit is raised to the
 * hard one, and the start-up warning appears exactly when the limit cannot
 * hold every transport's max_connections plus the gateway's own descriptors,
 * naming the limit and max_connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "fdlimit.h"

static const struct case_ {
    uint64_t soft;
    size_t transports;
    uint64_t max_connections;
    const char *want[3]; /* substrings of the warning; want[0] NULL = no warning */
} cases[] = {
    {1024, 1, 768, {NULL}},                      /* 768 + 256 fits exactly */
    {1023, 1, 768, {"is 1023,", "max_connections is 768 per", "about 1024"}},
    {300, 1, 1000, {"is 300,", "max_connections is 1000 per", "1 transport(s)"}},
    {20000, 3, 20000, {"is 20000,", "max_connections is 20000 per", "about 60256"}},
    {1048576, 3, 20000, {NULL}},
    {RLIM_INFINITY, 3, 1000000, {NULL}},
    {50000, 0, 1000000, {NULL}}, /* no transports: only the reserve */
};

static void test_short_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *k = &cases[i];
        csg_fdlimit lim = {.before = k->soft, .soft = k->soft, .hard = k->soft};
        char msg[512] = "";
        bool warned = csg_fdlimit_short(&lim, k->transports, k->max_connections, msg, sizeof msg);
        if (warned != (k->want[0] != NULL)) {
            print_error("case %zu: warned %d, want %d: %s\n", i, warned, k->want[0] != NULL, msg);
            failures++;
            continue;
        }
        for (int j = 0; j < 3 && k->want[j]; j++)
            if (!strstr(msg, k->want[j])) {
                print_error("case %zu: \"%s\" not in: %s\n", i, k->want[j], msg);
                failures++;
            }
    }
    assert_int_equal(failures, 0);
}

static void test_raise_to_hard_limit(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 128)
        skip();
    rl.rlim_cur = 64; /* lower only the soft limit: allowed, and undone below */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    csg_fdlimit lim;
    csg_error err = {{0}};
    assert_int_equal(csg_fdlimit_raise(&lim, &err), 0);
    assert_int_equal(lim.before, 64);
    assert_true(lim.soft > 64);
    if (rl.rlim_max != RLIM_INFINITY)
        assert_int_equal(lim.soft, rl.rlim_max);
    struct rlimit now;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
    assert_int_equal(now.rlim_cur, lim.soft);
    assert_int_equal(now.rlim_max, rl.rlim_max); /* the hard limit is left alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_cases),
        cmocka_unit_test(test_raise_to_hard_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
