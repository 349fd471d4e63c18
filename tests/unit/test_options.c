/*
 * test_options.c — core/options.c: a plugin's option values land in its own
 * struct at each row's target (options_apply, Fluent Bit's config_map), with
 * the table's defaults filled in (csg_options_defaults) — so a plugin states
 * each default once, in its table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

typedef struct target {
    int pad; /* a field before the first target: offsets are not 0 */
    const char *name;
    const char *url;
    int64_t count;
    double ratio;
    bool on;
    int64_t untouched;
} target;

static const csg_option table[] = {
    {CSG_OPT_STRING, "name", "anon", false, 1, 0, "a string", CSG_OPT_AT(target, name)},
    {CSG_OPT_URL, "url", NULL, false, 1, 0, "a URL without a default", CSG_OPT_AT(target, url)},
    {CSG_OPT_INT, "count", "16", false, 1, 100, "an integer", CSG_OPT_AT(target, count)},
    {CSG_OPT_DOUBLE, "ratio", "0.25", false, 0, 1, "a number", CSG_OPT_AT(target, ratio)},
    {CSG_OPT_BOOL, "on", "true", false, 1, 0, "a flag", CSG_OPT_AT(target, on)},
    {CSG_OPT_INT, "no_target", "7", false, 1, 0, "read from values[] only", 0},
    {0, NULL, NULL, false, 0, 0, NULL, 0},
};

static void test_defaults_then_apply(void **state)
{
    (void)state;
    csg_option_value v[6] = {{0}};
    v[2] = (csg_option_value){.is_set = true, .i = 42, .d = 42}; /* given in the YAML */
    assert_true(csg_options_defaults(table, v));
    target t = {.untouched = -1};
    csg_options_apply(table, v, &t);
    assert_string_equal(t.name, "anon"); /* default */
    assert_null(t.url);                  /* no default, not given */
    assert_int_equal(t.count, 42);       /* given */
    assert_true(t.ratio == 0.25);
    assert_true(t.on);
    assert_int_equal(t.untouched, -1); /* no row targets it */
    assert_int_equal(v[5].i, 7);       /* rows without a target still have their value */
    assert_false(v[0].is_set);         /* a default is not "set" */
    csg_options_free(NULL, 0);
    free((char *)v[0].str);
}

/* A default that does not parse is the plugin's bug: said, not applied. */
static void test_bad_default(void **state)
{
    (void)state;
    static const csg_option bad[] = {
        {CSG_OPT_INT, "n", "many", false, 1, 0, "not an integer", 0},
        {0, NULL, NULL, false, 0, 0, NULL, 0},
    };
    csg_option_value v[1] = {{0}};
    assert_false(csg_options_defaults(bad, v));
    assert_int_equal(csg_options_count(table), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_then_apply),
        cmocka_unit_test(test_bad_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
