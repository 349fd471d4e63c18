/*
 * test_router.c — core/router.c: shares match the weights (±1 point over
 * 100,000 applicants), assignment is sticky, a new salt reshuffles, and
 * weights summing to < 1 leave the rest without a challenger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "router.h"

#define N_IDS 100000

static const struct case_ {
    const char *name;
    csg_assignment mode;
    unsigned n;
    double weights[4];
} cases[] = {
    {"one challenger at 20%", CSG_ASSIGN_HASH, 1, {0.20}},
    {"two challengers 10/30", CSG_ASSIGN_HASH, 2, {0.10, 0.30}},
    {"three summing to 1", CSG_ASSIGN_HASH, 3, {0.5, 0.25, 0.25}},
    {"zero-weight challenger", CSG_ASSIGN_HASH, 2, {0.0, 0.2}},
    {"challenger at 100%", CSG_ASSIGN_HASH, 1, {1.0}},
    {"no challenger", CSG_ASSIGN_HASH, 0, {0}},
    {"random 20%", CSG_ASSIGN_RANDOM, 1, {0.20}},
    {"random 10/30/5", CSG_ASSIGN_RANDOM, 3, {0.10, 0.30, 0.05}},
};

static void test_shares(void **state)
{
    (void)state;
    csg_rng rng;
    csg_rng_seed(&rng);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        csg_router *r = csg_router_new(cases[c].mode, "2026-q4", cases[c].weights, cases[c].n);
        assert_non_null(r);
        unsigned counts[5] = {0}; /* [4] = unassigned */
        char id[32];
        for (int i = 0; i < N_IDS; i++) {
            snprintf(id, sizeof id, "%d", 100000 + i);
            int k = csg_router_pick(r, id, &rng);
            assert_true(k >= -1 && k < (int)cases[c].n);
            counts[k < 0 ? 4 : k]++;
        }
        double rest = 1.0;
        for (unsigned k = 0; k < cases[c].n; k++) {
            double share = (double)counts[k] / N_IDS;
            rest -= cases[c].weights[k];
            if (fabs(share - cases[c].weights[k]) > 0.01)
                fail_msg("%s: challenger %u share %.4f, weight %.2f", cases[c].name, k, share,
                         cases[c].weights[k]);
            if (cases[c].weights[k] == 0.0)
                assert_int_equal(counts[k], 0);
        }
        double unassigned = (double)counts[4] / N_IDS;
        if (fabs(unassigned - rest) > 0.01)
            fail_msg("%s: unassigned share %.4f, expected %.2f", cases[c].name, unassigned, rest);
        if (rest <= 0)
            assert_int_equal(counts[4], 0);
        csg_router_free(r);
    }
}

static void test_sticky(void **state)
{
    (void)state;
    double w[] = {0.3, 0.3};
    csg_router *a = csg_router_new(CSG_ASSIGN_HASH, "salt", w, 2);
    csg_router *b = csg_router_new(CSG_ASSIGN_HASH, "salt", w, 2); /* a "restart" */
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "applicant-%d", i);
        int k = csg_router_pick(a, id, NULL);
        assert_int_equal(csg_router_pick(a, id, NULL), k);
        assert_int_equal(csg_router_pick(b, id, NULL), k);
    }
    csg_router_free(a);
    csg_router_free(b);
}

/* Documented contract: the point of an applicant never changes between
 * releases (it decides which arm people are in). */
static void test_hash_is_stable(void **state)
{
    (void)state;
    /* Golden points, computed once by an independent implementation of the documented
     * function (FNV-1a 64 over salt, a 0 byte and the id, then the murmur3 fmix64
     * finaliser, top 53 bits as a fraction). A change here moves applicants between arms. */
    static const struct {
        const char *salt, *id;
        double point;
    } pts[] = {{"2026-q4", "12345", 0x1.4466f791601bep-2},
               {"", "a", 0x1.8378976ff738ep-2},
               {"s", "", 0x1.b434397476a00p-4},
               {"exp-salt", "cd-0001", 0x1.4623eb5ff7016p-1}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++)
        assert_true(csg_router_point(pts[i].salt, pts[i].id) == pts[i].point);
    /* salt ‖ 0 ‖ id: moving characters across the boundary changes the point */
    assert_true(csg_router_point("ab", "c") != csg_router_point("a", "bc"));
}

static void test_salt_reshuffles(void **state)
{
    (void)state;
    double w[] = {0.5};
    csg_router *a = csg_router_new(CSG_ASSIGN_HASH, "2026-q3", w, 1);
    csg_router *b = csg_router_new(CSG_ASSIGN_HASH, "2026-q4", w, 1);
    int moved = 0, both = 0;
    char id[32];
    for (int i = 0; i < N_IDS; i++) {
        snprintf(id, sizeof id, "%d", i);
        int ka = csg_router_pick(a, id, NULL), kb = csg_router_pick(b, id, NULL);
        moved += ka != kb;
        both += ka == 0 && kb == 0;
    }
    /* independent 50/50 draws: half move, a quarter stay in the challenger arm */
    assert_true(fabs((double)moved / N_IDS - 0.5) < 0.01);
    assert_true(fabs((double)both / N_IDS - 0.25) < 0.01);
    csg_router_free(a);
    csg_router_free(b);
}

/* Adding a challenger at the end keeps everyone already in an arm there. */
static void test_append_keeps_arms(void **state)
{
    (void)state;
    double w1[] = {0.2}, w2[] = {0.2, 0.1};
    csg_router *a = csg_router_new(CSG_ASSIGN_HASH, "s", w1, 1);
    csg_router *b = csg_router_new(CSG_ASSIGN_HASH, "s", w2, 2);
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "%d", i);
        if (csg_router_pick(a, id, NULL) == 0)
            assert_int_equal(csg_router_pick(b, id, NULL), 0);
    }
    csg_router_free(a);
    csg_router_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares),          cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_hash_is_stable),  cmocka_unit_test(test_salt_reshuffles),
        cmocka_unit_test(test_append_keeps_arms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
