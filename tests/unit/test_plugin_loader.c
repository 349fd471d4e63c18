/*
 * test_plugin_loader.c — core/plugin_loader.c against every fixture plugin
 * (tests/fixtures): each failure has its own message naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_loader.h"
#include "test_helpers.h"

/* The gateway's ABI as the loader prints it, e.g. "1.2" (follows plugin.h). */
#define STR_(x) #x
#define STR(x) STR_(x)
#define GW_ABI STR(CSG_ABI_MAJOR) "." STR(CSG_ABI_MINOR)

static const struct case_ {
    const char *file;
    csg_plugin_kind kind;
    const char *want; /* NULL = loads; else the message after "<path>: " (prefix) */
} cases[] = {
    {"good_transport.so", CSG_PLUGIN_TRANSPORT, NULL},
    {"good_adapter.so", CSG_PLUGIN_MODEL_ADAPTER, NULL},
    {"failing_init.so", CSG_PLUGIN_TRANSPORT, NULL}, /* fails later, in create() */
    /* a smaller descriptor without the optional tail (test_older_minor) */
    {"older_minor.so", CSG_PLUGIN_MODEL_ADAPTER, NULL},
    /* a 1.x plugin, PostgreSQL style: both versions named */
    {"wrong_abi.so", CSG_PLUGIN_MODEL_ADAPTER,
     "ABI mismatch: gateway ABI " GW_ABI ", plugin ABI 1.2; rebuild the plugin against this gateway's "
     "csg/plugin.h"},
    {"newer_minor.so", CSG_PLUGIN_MODEL_ADAPTER,
     "ABI mismatch: gateway ABI " GW_ABI ", plugin ABI " STR(CSG_ABI_MAJOR) ".9 (plugin is newer"},
    {"no_entry.so", CSG_PLUGIN_MODEL_ADAPTER,
     "no entry point: the plugin does not export csg_plugin_entry() ("},
    {"init_null.so", CSG_PLUGIN_MODEL_ADAPTER,
     "init failed: csg_plugin_entry() returned NULL"},
    {"wrong_kind.so", CSG_PLUGIN_TRANSPORT,
     "wrong kind: expected a transport plugin, found a model adapter \"fixture-adapter\""},
    {"good_transport.so", CSG_PLUGIN_MODEL_ADAPTER,
     "wrong kind: expected a model adapter, found a transport plugin \"fixture-transport\""},
    {"bad_magic.so", CSG_PLUGIN_MODEL_ADAPTER,
     "bad magic: 0xdeadbeef, expected 0x31475343 (\"CSG1\"); not a CSG plugin"},
    {"small_size.so", CSG_PLUGIN_MODEL_ADAPTER,
     "descriptor size 8 is smaller than the plugin header"},
    {"missing.so", CSG_PLUGIN_MODEL_ADAPTER, "cannot open: no such file"},
    {"CMakeFiles", CSG_PLUGIN_MODEL_ADAPTER, "cannot open: not a regular file"},
    {"cmake_install.cmake", CSG_PLUGIN_MODEL_ADAPTER, "cannot open: "},
};

static void test_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", fixture_dir(), cases[i].file);
        csg_plugin *p = (csg_plugin *)0x1;
        csg_error err = {{0}};
        int rc = csg_plugin_load(path, cases[i].kind, &p, &err);
        if (!cases[i].want) {
            if (rc != 0)
                fail_msg("%s: %s", cases[i].file, err.message);
            assert_non_null(p);
            assert_int_equal(p->kind, cases[i].kind);
            assert_string_equal(p->path, path);
            csg_plugin_unload(p);
            continue;
        }
        assert_int_not_equal(rc, 0);
        assert_null(p);
        char want[1600];
        snprintf(want, sizeof want, "%s: %s", path, cases[i].want);
        if (strncmp(err.message, want, strlen(want)) != 0)
            fail_msg("%s:\n   got: %s\n  want: %s…", cases[i].file, err.message, want);
    }
}

/* The descriptor fields of the good plugins are readable after the checks. */
static void test_descriptor(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/good_adapter.so", fixture_dir());
    csg_plugin *p;
    csg_error err;
    assert_int_equal(csg_plugin_load(path, CSG_PLUGIN_MODEL_ADAPTER, &p, &err), 0);
    assert_string_equal(p->header->name, "fixture-adapter");
    assert_string_equal(p->header->version, "0.1.0");
    assert_non_null(p->adapter->score_async);
    assert_string_equal(p->options[0].name, "score");
    csg_plugin_unload(p);
}

/* An older minor's smaller descriptor loads; the fields it does not have
 * read as absent (NULL), from the loader's zero-padded copy — never from
 * past the plugin's object (the fixture's object is exactly that small, so
 * ASan would catch a read past it). */
static void test_older_minor(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/older_minor.so", fixture_dir());
    csg_plugin *p;
    csg_error err;
    assert_int_equal(csg_plugin_load(path, CSG_PLUGIN_MODEL_ADAPTER, &p, &err), 0);
    assert_int_equal(p->header->struct_size, CSG_ADAPTER_BASELINE_SIZE);
    assert_true(p->header->struct_size < sizeof(csg_model_adapter));
    assert_null(p->adapter->required_features);
    assert_non_null(p->adapter->create);
    assert_non_null(p->adapter->destroy);
    assert_string_equal(p->options[0].name, "score");
    csg_plugin_unload(p);
    /* The current layout carries the tail. */
    snprintf(path, sizeof path, "%s/good_adapter.so", fixture_dir());
    assert_int_equal(csg_plugin_load(path, CSG_PLUGIN_MODEL_ADAPTER, &p, &err), 0);
    assert_non_null(p->adapter->required_features);
    assert_string_equal(p->adapter->required_features[0], "income");
    csg_plugin_unload(p);
}

/* CSG_API_HAS: a field is there when the table's size covers all of it. */
static void test_api_has(void **state)
{
    (void)state;
    csg_core_api api = {.size = sizeof api};
    assert_true(CSG_API_HAS(&api, app_flag)); /* the last field */
    assert_true(CSG_API_HAS(&api, log));
    api.size = (uint32_t)offsetof(csg_core_api, app_flag); /* an older core */
    assert_false(CSG_API_HAS(&api, app_flag));
    assert_true(CSG_API_HAS(&api, app_category));
    api.size = (uint32_t)(offsetof(csg_core_api, app_flag) + sizeof api.app_flag - 1);
    assert_false(CSG_API_HAS(&api, app_flag)); /* partly there is not there */
    csg_score_result r = {.size = sizeof r};
    assert_true(CSG_STRUCT_HAS(&r, csg_score_result, error));
}

/* A plugin anyone could rewrite is refused, file or directory. */
static void test_permissions(void **state)
{
    (void)state;
    char dir[] = "/tmp/csg-loader-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char src[1200], dst[1300], cmd[3000];
    snprintf(src, sizeof src, "%s/good_adapter.so", fixture_dir());
    snprintf(dst, sizeof dst, "%s/adapter.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    static const struct {
        mode_t file, dir;
        const char *want;
    } modes[] = {
        {0644, 0700, NULL},
        {0666, 0700, "refusing to load: the file is group/world-writable (mode 0666)"},
        {0664, 0700, "refusing to load: the file is group/world-writable (mode 0664)"},
        {0644, 0777, "refusing to load: its directory"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(dst, modes[i].file), 0);
        assert_int_equal(chmod(dir, modes[i].dir), 0);
        csg_plugin *p = NULL;
        csg_error err = {{0}};
        int rc = csg_plugin_load(dst, CSG_PLUGIN_MODEL_ADAPTER, &p, &err);
        if (!modes[i].want) {
            assert_int_equal(rc, 0);
            csg_plugin_unload(p);
        } else {
            assert_int_not_equal(rc, 0);
            if (!strstr(err.message, modes[i].want))
                fail_msg("mode %o/%o: %s", modes[i].file, modes[i].dir, err.message);
        }
    }
    chmod(dir, 0700);
    unlink(dst);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_older_minor),
        cmocka_unit_test(test_api_has),
        cmocka_unit_test(test_permissions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
