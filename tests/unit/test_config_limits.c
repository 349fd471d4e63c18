/*
 * test_config_limits.c — the `limits:` section of core/config.c, key by key
 * for limits.read_timeout_ms (slowloris cut-off): its default, its range
 * [100, 3600000] (no "0 = off"), its type, and that every error names
 * file:line. One table of cases, each a complete small config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"
#include "test_helpers.h"

/* Line 10 of this text holds `limits:` and line 11 the case's line. */
static const char base_yaml[] = "transports:\n"                                         /* 1 */
                                "  - { plugin: good_transport.so, listen: \"127.0.0.1:20001\", "
                                "banner: hello }\n"                                     /* 2 */
                                "gateway:\n"                                            /* 3 */
                                "  plugin_dir: \"@FIXTURES@\"\n"                        /* 4 */
                                "experiment:\n"                                         /* 5 */
                                "  id: exp-limits\n"                                    /* 6 */
                                "champion:\n"                                           /* 7 */
                                "  name: champ\n"                                       /* 8 */
                                "  adapter: good_adapter.so\n"                          /* 9 */
                                "limits:\n"                                             /* 10 */
                                "  max_body_bytes: 4096\n";                             /* 11 */

static const struct case_ {
    const char *extra;       /* appended after line 11, at line 12; NULL = none */
    unsigned long long want; /* read_timeout_ms when the config loads */
    const char *error;       /* else the one error expected (substring) */
} cases[] = {
    {NULL, 10000, NULL}, /* default */
    {"  read_timeout_ms: 100\n", 100, NULL},
    {"  read_timeout_ms: 3600000\n", 3600000, NULL},
    {"  read_timeout_ms: 2500\n  idle_timeout_ms: 1000\n", 2500, NULL}, /* independent keys */
    {"  read_timeout_ms: 0\n", 0,
     "limits.yaml:12: \"read_timeout_ms\" must be within [100, 3600000]"}, /* no "off" */
    {"  read_timeout_ms: 99\n", 0,
     "limits.yaml:12: \"read_timeout_ms\" must be within [100, 3600000]"},
    {"  read_timeout_ms: 3600001\n", 0,
     "limits.yaml:12: \"read_timeout_ms\" must be within [100, 3600000]"},
    {"  read_timeout_ms: -1\n", 0,
     "limits.yaml:12: \"read_timeout_ms\" must be within [100, 3600000]"},
    {"  read_timeout_ms: \"5000\"\n", 0, "limits.yaml:12: \"read_timeout_ms\" must be an integer"},
    {"  read_timeout_ms: 1.5\n", 0, "limits.yaml:12: \"read_timeout_ms\" must be an integer"},
    {"  read_timeout_ms: [1000]\n", 0, "limits.yaml:12: \"read_timeout_ms\" must be an integer"},
    {"  max_line_bytes: 1024\n  read_timeout_ms: 10\n", 0,
     "limits.yaml:13: \"read_timeout_ms\" must be within [100, 3600000]"},
    {"  read_timeout_ms: 1000\n  read_timeout_ms: 2000\n", 0,
     "limits.yaml:13: duplicate key \"read_timeout_ms\""},
    {"  read_timeout: 1000\n", 0,
     "limits.yaml:12: unknown key \"read_timeout\" in limits (allowed: max_body_bytes, "
     "max_line_bytes, max_connections, idle_timeout_ms, read_timeout_ms)"},
};

static void test_read_timeout_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *k = &cases[i];
        char raw[2048];
        snprintf(raw, sizeof raw, "%s%s", base_yaml, k->extra ? k->extra : "");
        char *text = subst_fixtures(raw);
        csg_config *cfg = NULL;
        csg_errlist errs = {0};
        int rc = csg_config_load_string("limits.yaml", text, strlen(text), test_registry(), &cfg, &errs);
        free(text);
        const char *label = k->extra ? k->extra : "(absent)\n";
        if (!k->error) {
            if (rc != 0 || !cfg) {
                print_error("case %zu %s  did not load: %s\n", i, label,
                            errs.count ? errs.items[0] : "?");
                failures++;
            } else if (cfg->read_timeout_ms != k->want) {
                print_error("case %zu %s  read_timeout_ms %llu, want %llu\n", i, label,
                            (unsigned long long)cfg->read_timeout_ms, k->want);
                failures++;
            }
        } else if (rc == 0 || cfg || errs.count != 1 || !strstr(errs.items[0], k->error)) {
            print_error("case %zu %s  rc %d, %zu error(s), first: %s\n  want: %s\n", i, label, rc,
                        errs.count, errs.count ? errs.items[0] : "(none)", k->error);
            failures++;
        }
        csg_config_unref(cfg);
        csg_errlist_free(&errs);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_timeout_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
