/*
 * test_assign.c — core/assign.c and the router's ranges (issue 21 item 3): without
 * ranges every applicant keeps today's list-order arm; over 100,000 applicants and
 * random weight edits followed by csg_assign_rebalance, no applicant ever moves from
 * one challenger to another (whenever the raises fit in the space no challenger held:
 * always for a single-weight edit), a raised weight only gains applicants, a lowered one
 * only loses them, shares follow the weights, and the result passes csg_assign_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "router.h"

#define N_IDS 100000
#define SALT "2026-q4"

static char ids[N_IDS][12];

static void make_ids(void)
{
    for (int i = 0; i < N_IDS; i++)
        snprintf(ids[i], sizeof ids[i], "a%d", i);
}

/* A small deterministic PRNG (the test must replay the same edits). */
static uint64_t seed_state = 0x9e3779b97f4a7c15ull;
static double unit(void)
{
    seed_state ^= seed_state << 13;
    seed_state ^= seed_state >> 7;
    seed_state ^= seed_state << 17;
    return (double)(seed_state >> 11) / 9007199254740992.0;
}

/* Today's rule, written out independently: the first cumulative weight above u. */
static int list_order_arm(const double *w, unsigned n, double u)
{
    double sum = 0;
    for (unsigned i = 0; i < n; i++) {
        sum += w[i];
        if (u < sum)
            return (int)i;
    }
    return -1;
}

static void test_no_ranges_is_todays_assignment(void **state)
{
    (void)state;
    static const double cases[][3] = {{0.2, 0, 0}, {0.1, 0.3, 0}, {0.5, 0.25, 0.25}, {0, 0.2, 0.1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        csg_router *r = csg_router_new(CSG_ASSIGN_HASH, SALT, cases[c], 3);
        assert_non_null(r);
        for (int i = 0; i < N_IDS; i++)
            assert_int_equal(csg_router_pick(r, ids[i], NULL),
                             list_order_arm(cases[c], 3, csg_router_point(SALT, ids[i])));
        csg_router_free(r);
    }
}

static void arms_of(const csg_ranges *rs, unsigned n, signed char *out)
{
    csg_router *r = csg_router_new_ranges(CSG_ASSIGN_HASH, SALT, rs, n);
    assert_non_null(r);
    for (int i = 0; i < N_IDS; i++)
        out[i] = (signed char)csg_router_pick(r, ids[i], NULL);
    csg_router_free(r);
}

/* Random weights for n challengers summing to at most 1. */
static void random_weights(double *w, unsigned n)
{
    double left = 1.0;
    for (unsigned i = 0; i < n; i++) {
        w[i] = unit() < 0.15 ? 0 : floor(unit() * fmin(left, 0.6) * 1000) / 1000;
        left -= w[i];
    }
}

static void test_edits_never_move_between_challengers(void **state)
{
    (void)state;
    static signed char before[N_IDS], after[N_IDS];
    for (unsigned n = 2; n <= 5; n++) {
        double w[CSG_MAX_CHALLENGERS], old[CSG_MAX_CHALLENGERS];
        csg_ranges rs[CSG_MAX_CHALLENGERS];
        random_weights(w, n);
        csg_assign_list_order(w, n, rs);
        arms_of(rs, n, before);
        for (int edit = 0; edit < 25; edit++) {
            for (unsigned i = 0; i < n; i++)
                old[i] = w[i];
            /* Edit one weight (or, now and then, all of them), keeping the sum <= 1. */
            if (unit() < 0.2) {
                random_weights(w, n);
            } else {
                unsigned k = (unsigned)(unit() * n);
                double others = 0;
                for (unsigned i = 0; i < n; i++)
                    others += i == k ? 0 : w[i];
                w[k] = floor(unit() * (1.0 - others) * 1000) / 1000;
            }
            /* Moving applicants between challengers is only unavoidable when the raises
             * exceed the space no challenger held before the edit. */
            double raised = 0, held = 0;
            for (unsigned i = 0; i < n; i++) {
                raised += fmax(0, w[i] - old[i]);
                held += old[i];
            }
            bool feasible = raised <= 1.0 - held + 1e-9;
            char msg[256];
            double moved;
            if (csg_assign_rebalance(rs, w, n, &moved, msg, sizeof msg) != 0)
                fail_msg("n=%u edit %d: %s", n, edit, msg);
            assert_true(!feasible || moved == 0);
            int who;
            if (csg_assign_check(rs, w, n, &who, msg, sizeof msg))
                fail_msg("n=%u edit %d: challenger %d: %s", n, edit, who, msg);
            arms_of(rs, n, after);
            unsigned count[CSG_MAX_CHALLENGERS] = {0};
            for (int i = 0; i < N_IDS; i++) {
                int a = before[i], b = after[i];
                if (a >= 0 && b >= 0 && a != b && feasible)
                    fail_msg("n=%u edit %d: applicant %s moved from challenger %d to %d", n,
                             edit, ids[i], a, b);
                if (a >= 0 && b != a && w[a] >= old[a])
                    fail_msg("n=%u edit %d: %s left challenger %d whose weight did not drop", n,
                             edit, ids[i], a);
                if (b >= 0 && a != b && w[b] <= old[b] && feasible)
                    fail_msg("n=%u edit %d: %s joined challenger %d whose weight did not rise", n,
                             edit, ids[i], b);
                if (b >= 0)
                    count[b]++;
            }
            for (unsigned i = 0; i < n; i++)
                if (fabs((double)count[i] / N_IDS - w[i]) > 0.01)
                    fail_msg("n=%u edit %d: challenger %u has share %.4f, weight %.4f", n, edit, i,
                             (double)count[i] / N_IDS, w[i]);
            for (int i = 0; i < N_IDS; i++)
                before[i] = after[i];
        }
    }
}

static void test_check_refuses_bad_ranges(void **state)
{
    (void)state;
    char msg[256];
    int who;
    double w[2] = {0.2, 0.1};
    csg_ranges rs[2] = {{1, {{0, 0.2}}}, {1, {{0.15, 0.25}}}};
    assert_non_null(csg_assign_check(rs, w, 2, &who, msg, sizeof msg));
    assert_int_equal(who, 1);
    assert_non_null(strstr(msg, "overlaps"));
    rs[1].r[0] = (csg_range){0.2, 0.25}; /* touching is fine, but 0.05 != 0.1 */
    assert_non_null(csg_assign_check(rs, w, 2, &who, msg, sizeof msg));
    assert_non_null(strstr(msg, "add up to"));
    rs[1].r[0] = (csg_range){0.9, 1.0};
    assert_null(csg_assign_check(rs, w, 2, &who, msg, sizeof msg));
    rs[1].r[0] = (csg_range){0.95, 1.05};
    assert_non_null(csg_assign_check(rs, w, 2, &who, msg, sizeof msg));
    /* more than the whole space cannot be handed out */
    double big[2] = {0.7, 0.4};
    csg_ranges fresh[2] = {{0}, {0}};
    assert_int_equal(csg_assign_rebalance(fresh, big, 2, NULL, msg, sizeof msg), -1);
}

int main(void)
{
    make_ids();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_ranges_is_todays_assignment),
        cmocka_unit_test(test_edits_never_move_between_challengers),
        cmocka_unit_test(test_check_refuses_bad_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
