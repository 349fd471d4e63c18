/*
 * test_config.c — core/config.c over tests/config/good and bad fixtures:
 * every good file passes what --check-config runs (csg_config_load, then
 * csg_gateway_check); every bad file yields exactly the errors listed in its
 * .expect file (message and line, all of them, in order).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "gateway.h"
#include "test_helpers.h"

static int load_fixture(const char *path, csg_config **cfg, csg_errlist *errs)
{
    char *raw = slurp(path, NULL);
    assert_non_null(raw);
    char *text = subst_fixtures(raw);
    int rc = csg_config_load_string(path, text, strlen(text), test_registry(), cfg, errs);
    free(raw);
    free(text);
    return rc;
}

/* What --check-config runs (main.c): load, then what start and SIGHUP add. */
static int check_fixture(const char *path, csg_config **cfg, csg_errlist *errs)
{
    int rc = load_fixture(path, cfg, errs);
    if (rc == 0 && (rc = csg_gateway_check(*cfg, errs)) != 0) {
        csg_config_unref(*cfg);
        *cfg = NULL;
    }
    return rc;
}

static int yaml_files(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml"))
            snprintf(names[n++], 256, "%.100s/%.150s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static void test_good_files(void **state)
{
    (void)state;
    char names[64][256];
    int n = yaml_files("tests/config/good", names, 64);
    assert_true(n >= 3);
    for (int i = 0; i < n; i++) {
        csg_config *cfg = NULL;
        csg_errlist errs = {0};
        int rc = check_fixture(names[i], &cfg, &errs);
        for (size_t k = 0; k < errs.count; k++)
            print_error("%s: unexpected: %s\n", names[i], errs.items[k]);
        assert_int_equal(rc, 0);
        assert_int_equal(errs.count, 0);
        assert_non_null(cfg);
        csg_config_unref(cfg);
        csg_errlist_free(&errs);
    }
}

static void test_bad_files(void **state)
{
    (void)state;
    char names[64][256];
    int n = yaml_files("tests/config/bad", names, 64);
    assert_true(n >= 10);
    int failures = 0;
    for (int i = 0; i < n; i++) {
        char expect_path[300];
        snprintf(expect_path, sizeof expect_path, "%.*s.expect", (int)(strlen(names[i]) - 5),
                 names[i]);
        char *raw = slurp(expect_path, NULL);
        if (!raw) {
            print_error("%s: missing %s\n", names[i], expect_path);
            failures++;
            continue;
        }
        char *expect = subst_fixtures(raw);
        free(raw);
        csg_config *cfg = NULL;
        csg_errlist errs = {0};
        int rc = check_fixture(names[i], &cfg, &errs);
        if (rc == 0 || cfg) {
            print_error("%s: loaded, expected errors\n", names[i]);
            failures++;
        }
        size_t k = 0;
        for (char *line = strtok(expect, "\n"); line; line = strtok(NULL, "\n"), k++) {
            if (k >= errs.count) {
                print_error("%s: missing error: %s\n", names[i], line);
                failures++;
                continue;
            }
            if (!strstr(errs.items[k], line)) {
                print_error("%s: error %zu\n   got: %s\n  want: %s\n", names[i], k,
                            errs.items[k], line);
                failures++;
            }
        }
        for (; k < errs.count; k++) {
            print_error("%s: unexpected extra error: %s\n", names[i], errs.items[k]);
            failures++;
        }
        csg_errlist_free(&errs);
        csg_config_unref(cfg);
        free(expect);
    }
    assert_int_equal(failures, 0);
}

/* The values of good/full.yaml, key by key. */
static void test_full_values(void **state)
{
    (void)state;
    csg_config *c = NULL;
    csg_errlist errs = {0};
    assert_int_equal(load_fixture("tests/config/good/full.yaml", &c, &errs), 0);
    assert_int_equal(c->workers, 3);
    assert_int_equal(c->drain_timeout_ms, 2500);
    assert_string_equal(c->lock_dir, "/tmp");
    assert_int_equal(c->n_transports, 2);
    assert_string_equal(c->transports[0].listen, "127.0.0.1:20002");
    assert_string_equal(c->transports[1].listen, "[::1]:20003");
    /* option values in table order: banner, backlog, verbose, upstream */
    const csg_option_value *tv = c->transports[0].options;
    assert_string_equal(tv[0].str, "hello");
    assert_int_equal(tv[1].i, 32);
    assert_true(tv[1].is_set);
    assert_true(tv[2].b);
    assert_string_equal(tv[3].str, "http://127.0.0.1:9/x");
    const csg_option_value *t2 = c->transports[1].options;
    assert_int_equal(t2[1].i, 16); /* default */
    assert_false(t2[1].is_set);
    assert_false(t2[2].b);
    assert_null(t2[3].str);
    assert_string_equal(c->experiment_id, "exp-full");
    assert_string_equal(c->salt, "2026-q4");
    assert_int_equal(c->assignment, CSG_ASSIGN_RANDOM);
    assert_int_equal(c->reply, CSG_REPLY_AFTER_ALL);
    assert_string_equal(c->champion.name, "champion-lr-v1");
    assert_int_equal(c->champion.timeout_ms, 150);
    assert_int_equal(c->champion.fallback_decision, CSG_DECISION_REVIEW);
    assert_true(c->champion.options[0].d == 0.25);
    assert_string_equal(c->champion.options[1].str, "decline");
    assert_int_equal(c->n_challengers, 3);
    static const struct {
        const char *name;
        double weight;
        unsigned timeout;
    } chal[] = {{"challenger-a", 0.2, 300}, {"challenger-b", 0.7, 1000}, {"challenger-c", 0.1, 1000}};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(c->challengers[i].name, chal[i].name);
        assert_true(c->challengers[i].weight == chal[i].weight);
        assert_int_equal(c->challengers[i].timeout_ms, chal[i].timeout);
    }
    assert_true(c->challengers[1].options[3].b);
    assert_string_equal(c->challengers[1].options[4].str, "http://[::1]:8082/score");
    assert_string_equal(c->sink, "file:var/test/events.ndjson");
    assert_string_equal(c->kafka_brokers, "127.0.0.1:19092");
    assert_string_equal(c->topic, "t1");
    assert_int_equal(c->queue_capacity, 1024);
    assert_string_equal(c->spool_dir, "var/test/spool");
    assert_int_equal(c->spool_max_bytes, 1048576);
    assert_int_equal(c->max_body_bytes, 4096);
    assert_int_equal(c->max_line_bytes, 2048);
    assert_int_equal(c->max_connections, 100);
    assert_int_equal(c->idle_timeout_ms, 5000);
    csg_config_unref(c);
    csg_errlist_free(&errs);
}

/* Defaults when a section is absent. */
static void test_defaults(void **state)
{
    (void)state;
    csg_config *c = NULL;
    csg_errlist errs = {0};
    assert_int_equal(load_fixture("tests/config/good/minimal.yaml", &c, &errs), 0);
    assert_true(c->workers >= 1);
    assert_int_equal(c->assignment, CSG_ASSIGN_HASH);
    assert_int_equal(c->reply, CSG_REPLY_AFTER_CHAMPION);
    assert_string_equal(c->salt, "");
    assert_int_equal(c->champion.timeout_ms, 1000);
    assert_int_equal(c->champion.fallback_decision, CSG_DECISION_NONE);
    assert_int_equal(c->n_challengers, 0);
    assert_string_equal(c->sink, "kafka");
    assert_string_equal(c->topic, "credit_score_metrics");
    assert_int_equal(c->queue_capacity, 65536);
    assert_int_equal(c->max_body_bytes, 65536);
    assert_int_equal(c->max_line_bytes, 16384);
    /* the rest of the core tables' defaults (config.c's rows) */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c->workers, ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);
    assert_int_equal(c->drain_timeout_ms, 10000);
    assert_string_equal(c->lock_dir, "/tmp");
    assert_string_equal(c->kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(c->spool_dir, "var/spool");
    assert_int_equal(c->spool_max_bytes, 1073741824);
    assert_int_equal(c->max_connections, 20000);
    assert_int_equal(c->idle_timeout_ms, 60000);
    assert_int_equal(c->read_timeout_ms, 10000);
    csg_config_unref(c);
    csg_errlist_free(&errs);
}

/* The `application:` block, read into the schema; without it, the 1.x three. */
static void test_application_block(void **state)
{
    (void)state;
    csg_config *c = NULL;
    csg_errlist errs = {0};
    assert_int_equal(load_fixture("tests/config/good/application.yaml", &c, &errs), 0);
    const csg_schema *s = c->schema;
    assert_true(s->reject_unknown);
    assert_int_equal(s->n, 6);
    assert_string_equal(s->f[0].name, "income");
    assert_true(s->f[0].required && s->f[0].has_min && !s->f[0].has_max);
    assert_true(s->f[1].min == -1.5 && s->f[1].max == 2 && s->f[1].min_exclusive &&
                s->f[1].max_exclusive);
    assert_int_equal(s->f[2].type, CSG_FEATURE_INTEGER);
    assert_true(s->f[2].imin == 18 && s->f[2].imax == 120);
    assert_true(s->f[3].imin == INT64_MIN && s->f[3].imax == INT64_MAX);
    assert_int_equal(s->f[4].n_values, 3);
    assert_string_equal(s->f[4].values[2], "with space");
    assert_int_equal(s->f[5].type, CSG_FEATURE_BOOLEAN);
    assert_false(s->f[5].required);
    assert_string_equal(s->f[1].rule, "ratio must be a finite number in (-1.5, 2)");
    assert_int_equal(strlen(c->version), 16);
    csg_config_unref(c);
    assert_int_equal(load_fixture("tests/config/good/minimal.yaml", &c, &errs), 0);
    assert_int_equal(c->schema->n, 3);
    assert_false(c->schema->reject_unknown);
    assert_string_equal(c->schema->f[2].rule,
                        "credit_history must be an integer in [0, 2147483647]");
    csg_config_unref(c);
    csg_errlist_free(&errs);
}

/* config_version hashes what the sections mean, not how they are written:
 * comments, spacing, quoting, key order and a default spelt out keep it; a
 * weight, an adapter option or a feature change it; sections outside the
 * experiment (limits) do not count. */
static void test_config_version(void **state)
{
    (void)state;
    static const char base[] =
        "gateway: { plugin_dir: \"@FIXTURES@\" }\n"
        "transports: [{ plugin: good_transport.so, listen: \"127.0.0.1:20034\", banner: b }]\n"
        "application: { features: [{ name: income, type: number, min: 0 }] }\n"
        "experiment: { id: exp, salt: s }\n"
        "champion: { name: champ, adapter: good_adapter.so, score: 0.5 }\n"
        "challengers: [{ name: c, adapter: good_adapter.so, weight: 0.2 }]\n";
    static const struct {
        const char *text;
        bool same;
    } v[] = {
        {"# a comment\n"
         "gateway:\n  plugin_dir: '@FIXTURES@'\n"
         "transports:\n  - { plugin: good_transport.so, listen: \"127.0.0.1:20034\", banner: b }\n"
         "application:\n  features:\n    - { type: number, name: \"income\", min: 0.0 }\n"
         "experiment: { salt: \"s\", id: exp, assignment: hash }\n"
         "champion: { adapter: good_adapter.so, name: champ, score: 0.50, decision: approve }\n"
         "challengers:\n  - { name: c, adapter: good_adapter.so, weight: 0.20 }\n"
         "limits: { max_body_bytes: 4096 }\n",
         true},
        {"gateway: { plugin_dir: \"@FIXTURES@\" }\n"
         "transports: [{ plugin: good_transport.so, listen: \"127.0.0.1:20034\", banner: b }]\n"
         "application: { features: [{ name: income, type: number, min: 0 }] }\n"
         "experiment: { id: exp, salt: s }\n"
         "champion: { name: champ, adapter: good_adapter.so, score: 0.5 }\n"
         "challengers: [{ name: c, adapter: good_adapter.so, weight: 0.3 }]\n",
         false},
        {"gateway: { plugin_dir: \"@FIXTURES@\" }\n"
         "transports: [{ plugin: good_transport.so, listen: \"127.0.0.1:20034\", banner: b }]\n"
         "application: { features: [{ name: income, type: number, min: 0 }] }\n"
         "experiment: { id: exp, salt: s }\n"
         "champion: { name: champ, adapter: good_adapter.so, score: 0.6 }\n"
         "challengers: [{ name: c, adapter: good_adapter.so, weight: 0.2 }]\n",
         false},
        {"gateway: { plugin_dir: \"@FIXTURES@\" }\n"
         "transports: [{ plugin: good_transport.so, listen: \"127.0.0.1:20034\", banner: b }]\n"
         "application: { features: [{ name: income, type: number, min: 0 },"
         " { name: age, type: integer }] }\n"
         "experiment: { id: exp, salt: s }\n"
         "champion: { name: champ, adapter: good_adapter.so, score: 0.5 }\n"
         "challengers: [{ name: c, adapter: good_adapter.so, weight: 0.2 }]\n",
         false},
    };
    char want[17];
    csg_errlist errs = {0};
    csg_config *c = NULL;
    char *text = subst_fixtures(base);
    assert_int_equal(csg_config_load_string("t.yaml", text, strlen(text), test_registry(), &c, &errs), 0);
    free(text);
    memcpy(want, c->version, sizeof want);
    assert_int_equal(strspn(want, "0123456789abcdef"), 16);
    csg_config_unref(c);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        text = subst_fixtures(v[i].text);
        int rc = csg_config_load_string("t.yaml", text, strlen(text), test_registry(), &c, &errs);
        free(text);
        if (rc != 0)
            fail_msg("variant %zu: %s", i, errs.count ? errs.items[0] : "?");
        if (v[i].same != !strcmp(c->version, want))
            fail_msg("variant %zu: version %s vs %s", i, c->version, want);
        csg_config_unref(c);
    }
    csg_errlist_free(&errs);
}

static void test_missing_file(void **state)
{
    (void)state;
    csg_config *c = NULL;
    csg_errlist errs = {0};
    assert_int_not_equal(csg_config_load("tests/config/does-not-exist.yaml", test_registry(), &c, &errs), 0);
    assert_null(c);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0], "does-not-exist.yaml: cannot read the configuration"));
    csg_errlist_free(&errs);
}

/* ------------------------------------------------------------------------ */
/* Reading the YAML: one document, at most 32 levels of mappings and lists.  */

typedef enum nest {
    NEST_NONE, NEST_FLOW_SEQ, NEST_FLOW_MAP, NEST_BLOCK_SEQ, NEST_BLOCK_MAP, NEST_WIDE_MAP, NEST_WIDE_SEQ
} nest;

/* Line 10 holds "  salt:"; a flow nesting follows on it, a block one starts
 * on line 11. The top level is level 1 and `experiment` level 2, so salt's
 * value nested n deep reaches level 2 + n. */
static const char yaml_base[] = "transports:\n"                                             /* 1 */
                                "  - { plugin: good_transport.so, listen: \"127.0.0.1:20001\", "
                                "banner: hello }\n"                                         /* 2 */
                                "gateway:\n"                                                /* 3 */
                                "  plugin_dir: \"@FIXTURES@\"\n"                            /* 4 */
                                "champion:\n"                                               /* 5 */
                                "  name: champ\n"                                           /* 6 */
                                "  adapter: good_adapter.so\n"                              /* 7 */
                                "experiment:\n"                                             /* 8 */
                                "  id: exp\n"                                               /* 9 */
                                "  salt:";                                                  /* 10 */

static const struct yaml_case {
    const char *head; /* before yaml_base (shifts every line) */
    nest nest;        /* salt's value: "s" or nested `levels` deep */
    unsigned levels;
    const char *tail;  /* after the salt line */
    const char *error; /* the one error expected (substring); NULL = loads */
} yaml_cases[] = {
    /* depth: 32 levels are read (then refused as a salt), 33 are not */
    {"", NEST_FLOW_SEQ, 30, "", "t.yaml:10: \"salt\" must be a string, not a list"},
    {"", NEST_FLOW_SEQ, 31, "", "t.yaml:10: mappings and lists nested more than 32 levels deep"},
    {"", NEST_FLOW_MAP, 30, "", "t.yaml:10: \"salt\" must be a string, not a mapping"},
    {"", NEST_FLOW_MAP, 31, "", "t.yaml:10: mappings and lists nested more than 32 levels deep"},
    {"", NEST_BLOCK_SEQ, 30, "", "t.yaml:11: \"salt\" must be a string, not a list"},
    {"", NEST_BLOCK_SEQ, 31, "", "t.yaml:11: mappings and lists nested more than 32 levels deep"},
    {"", NEST_BLOCK_MAP, 30, "", "t.yaml:11: \"salt\" must be a string, not a mapping"},
    /* block mappings: level 3 on line 11, so level 33 on line 41 */
    {"", NEST_BLOCK_MAP, 31, "", "t.yaml:41: mappings and lists nested more than 32 levels deep"},
    {"", NEST_BLOCK_MAP, 200, "", "t.yaml:41: mappings and lists nested more than 32 levels deep"},
    /* far deeper (libyaml's scanner is quadratic in flow depth): same answer */
    {"", NEST_FLOW_SEQ, 10000, "", "t.yaml:10: mappings and lists nested more than 32 levels deep"},
    {"", NEST_FLOW_MAP, 10000, "", "t.yaml:10: mappings and lists nested more than 32 levels deep"},
    {"", NEST_BLOCK_SEQ, 10000, "", "t.yaml:11: mappings and lists nested more than 32 levels deep"},
    /* the first problem stops the reading: a second document after it is not reached */
    {"", NEST_FLOW_SEQ, 40, "---\nx: 1\n",
     "t.yaml:10: mappings and lists nested more than 32 levels deep"},
    /* width: 1024 entries per mapping or list are read, 1025 are not (the checks
     * after the reading compare keys pairwise) */
    {"", NEST_WIDE_MAP, 1024, "", "t.yaml:10: \"salt\" must be a string, not a mapping"},
    {"", NEST_WIDE_MAP, 1025, "", "t.yaml:10: a mapping with more than 1024 entries"},
    {"", NEST_WIDE_SEQ, 1024, "", "t.yaml:10: \"salt\" must be a string, not a list"},
    {"", NEST_WIDE_SEQ, 1025, "", "t.yaml:10: a list with more than 1024 entries"},
    {"", NEST_WIDE_MAP, 100000, "", "t.yaml:10: a mapping with more than 1024 entries"},
    /* documents: exactly one */
    {"", NEST_NONE, 0, "", NULL},
    {"--- # explicit start\n", NEST_NONE, 0, "...\n", NULL},
    {"%YAML 1.1\n---\n", NEST_NONE, 0, "...\n# only a comment after the end\n", NULL},
    {"", NEST_NONE, 0, "---\ngateway: { workers: 1 }\n",
     "t.yaml:11: a second YAML document starts here; the configuration must be one document"},
    /* YAML 1.1 (libyaml): after the first document, the next needs its "---" */
    {"", NEST_NONE, 0, "...\ngateway: { workers: 1 }\n",
     "t.yaml:12: YAML syntax error: did not find expected <document start>"},
    {"", NEST_NONE, 0, "---\n",
     "t.yaml:11: a second YAML document starts here; the configuration must be one document"},
    {"", NEST_NONE, 0, "\n\n--- [ not, even, closed\n",
     "t.yaml:13: a second YAML document starts here; the configuration must be one document"},
    {"---\n", NEST_NONE, 0, "--- # third line from the end\n---\n",
     "t.yaml:12: a second YAML document starts here; the configuration must be one document"},
};

/* Append n bytes of s to *buf (malloc'd, grown as needed). */
static void put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static char *yaml_case_text(const struct yaml_case *k)
{
    char *raw = NULL;
    size_t len = 0, cap = 0;
    put(&raw, &len, &cap, k->head, strlen(k->head));
    put(&raw, &len, &cap, yaml_base, strlen(yaml_base));
    switch (k->nest) {
    case NEST_NONE:
        put(&raw, &len, &cap, " s\n", 3);
        break;
    case NEST_FLOW_SEQ:
    case NEST_FLOW_MAP: {
        bool map = k->nest == NEST_FLOW_MAP;
        put(&raw, &len, &cap, " ", 1);
        for (unsigned i = 0; i < k->levels; i++)
            put(&raw, &len, &cap, map ? "{a: " : "[", map ? 4 : 1);
        put(&raw, &len, &cap, "x", 1);
        for (unsigned i = 0; i < k->levels; i++)
            put(&raw, &len, &cap, map ? "}" : "]", 1);
        put(&raw, &len, &cap, "\n", 1);
        break;
    }
    case NEST_WIDE_MAP: /* "{k0: 0, k1: 0, …}" or "[0, 0, …]" on one line */
    case NEST_WIDE_SEQ: {
        bool map = k->nest == NEST_WIDE_MAP;
        put(&raw, &len, &cap, map ? " {" : " [", 2);
        for (unsigned i = 0; i < k->levels; i++) {
            char item[32];
            int n = map ? snprintf(item, sizeof item, "%sk%u: 0", i ? ", " : "", i)
                        : snprintf(item, sizeof item, "%s0", i ? ", " : "");
            put(&raw, &len, &cap, item, (size_t)n);
        }
        put(&raw, &len, &cap, map ? "}\n" : "]\n", 2);
        break;
    }
    case NEST_BLOCK_SEQ: /* "- - - x" on one line */
        put(&raw, &len, &cap, "\n    ", 5);
        for (unsigned i = 0; i < k->levels; i++)
            put(&raw, &len, &cap, "- ", 2);
        put(&raw, &len, &cap, "x\n", 2);
        break;
    case NEST_BLOCK_MAP: /* one key per line, two more spaces each */
        put(&raw, &len, &cap, "\n", 1);
        for (unsigned i = 0; i < k->levels; i++) {
            for (unsigned s = 0; s < 4 + 2 * i; s++)
                put(&raw, &len, &cap, " ", 1);
            put(&raw, &len, &cap, i + 1 < k->levels ? "a:\n" : "a: x\n", i + 1 < k->levels ? 3 : 5);
        }
        break;
    }
    put(&raw, &len, &cap, k->tail, strlen(k->tail));
    char *text = subst_fixtures(raw);
    free(raw);
    return text;
}

static void test_yaml_reading(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof yaml_cases / sizeof yaml_cases[0]; i++) {
        const struct yaml_case *k = &yaml_cases[i];
        char *text = yaml_case_text(k);
        csg_config *cfg = NULL;
        csg_errlist errs = {0};
        int rc = csg_config_load_string("t.yaml", text, strlen(text), test_registry(), &cfg, &errs);
        free(text);
        bool ok = k->error ? rc != 0 && !cfg && errs.count == 1 && strstr(errs.items[0], k->error)
                           : rc == 0 && cfg && errs.count == 0;
        if (!ok) {
            print_error("case %zu (nest %d x %u, tail \"%s\"): rc %d, %zu error(s), first: %s\n"
                        "  want: %s\n",
                        i, (int)k->nest, k->levels, k->tail, rc, errs.count,
                        errs.count ? errs.items[0] : "(none)", k->error ? k->error : "(loads)");
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
        cmocka_unit_test(test_good_files),  cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_full_values), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_application_block), cmocka_unit_test(test_config_version),
        cmocka_unit_test(test_missing_file), cmocka_unit_test(test_yaml_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
