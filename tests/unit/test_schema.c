/*
 * test_schema.c — core/schema.c: what a SIGHUP may change in the feature
 * schema (csg_schema_reload_compatible), one row per change, with the
 * feature named in every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "schema.h"

/* A schema from a compact text: "name:type[!][=v1,v2]" items separated by
 * spaces; '!' = required, '=' = category values, "<N" a max bound. */
static csg_schema *schema(const char *spec)
{
    csg_schema *s = csg_schema_new();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        *colon = '\0';
        char *type = colon + 1, *values = strchr(type, '='), *max = strchr(type, '<');
        if (values)
            *values++ = '\0';
        if (max)
            *max++ = '\0';
        bool req = type[strlen(type) - 1] == '!';
        if (req)
            type[strlen(type) - 1] = '\0';
        csg_feature_type t = !strcmp(type, "n")   ? CSG_FEATURE_NUMBER
                             : !strcmp(type, "i") ? CSG_FEATURE_INTEGER
                             : !strcmp(type, "c") ? CSG_FEATURE_CATEGORY
                                                  : CSG_FEATURE_BOOLEAN;
        csg_feature *f = csg_schema_add(s, tok, t);
        f->required = req;
        if (max) {
            f->has_max = true;
            f->max = (double)(f->max_i = (int64_t)atoi(max));
        }
        for (char *vs = NULL, *v = values ? strtok_r(values, ",", &vs) : NULL; v;
             v = strtok_r(NULL, ",", &vs))
            csg_feature_add_value(f, v);
    }
    csg_schema_finish(s);
    return s;
}

static const struct case_ {
    const char *old, *nw;
    const char *refusal; /* NULL = the reload may apply it */
} cases[] = {
    {"a:n! b:i", "a:n! b:i", NULL},
    {"a:n! b:i", "z:b a:n! m:c=x b:i", NULL},          /* optional ones added anywhere */
    {"a:n! b:i", "b:i a:n!", NULL},                    /* reordered */
    {"a:n! b:i", "a:n b:i", NULL},                     /* required → optional */
    {"a:n! b:i<10", "a:n! b:i<5", NULL},               /* bounds */
    {"a:c=x,y", "a:c=y,x,z", NULL},                    /* a value added */
    {"a:n! b:i", "a:n!", "feature \"b\" was removed"},
    {"a:n! b:i", "a:n! b:n", "feature \"b\" changes type from integer to number"},
    {"a:n! b:i", "a:n! b:i!", "feature \"b\" becomes required"},
    {"a:c=x,y", "a:c=x", "feature \"a\" loses the category value \"y\""},
    {"a:n", "a:n c:b!", "added feature \"c\" is required (only optional features can be added by a reload)"},
};

static void test_reload_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csg_schema *a = schema(cases[i].old), *b = schema(cases[i].nw);
        char why[256] = "";
        bool ok = csg_schema_reload_compatible(a, b, why, sizeof why);
        if (ok != !cases[i].refusal)
            fail_msg("case %zu (%s → %s): %s", i, cases[i].old, cases[i].nw, ok ? "allowed" : why);
        if (cases[i].refusal)
            assert_string_equal(why, cases[i].refusal);
        csg_schema_unref(a);
        csg_schema_unref(b);
    }
}

/* The canonical text (config_version's input) names every rule. */
static void test_canonical(void **state)
{
    (void)state;
    csg_schema *s = schema("a:n! b:i<7 k:c=x,y f:b");
    char buf[512];
    csg_jsonw w = {buf, sizeof buf, 0};
    csg_schema_canonical(s, &w);
    csg_jsonw_finish(&w);
    assert_string_equal(buf, "application unknown_fields=ignore\n"
                             "feature a number required=1\n"
                             "feature b integer required=0 max=7\n"
                             "feature k category required=0 value=x value=y\n"
                             "feature f boolean required=0\n");
    assert_int_equal(w.pos, strlen(buf));
    assert_null(csg_schema_add(s, "a", CSG_FEATURE_NUMBER)); /* a name is taken once */
    csg_schema_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_rules),
        cmocka_unit_test(test_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
