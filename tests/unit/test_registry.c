/*
 * test_registry.c — core/registry.c: each distinct plugin file is dlopened
 * once per registry (also a failure, also across config loads), a file
 * replaced on disk is loaded afresh while the old version stays usable, and
 * a file rewritten in place is refused with a message that says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "registry.h"
#include "test_helpers.h"

static void copy_file(const char *src, const char *dst)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 644 '%s'", src, dst, dst);
    assert_int_equal(system(cmd), 0);
}

static void fixture(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", fixture_dir(), name);
}

/* The same file (under two spellings) is one load and one csg_plugin; the
 * other kind and a failing file are answered from the cache. */
static void test_one_load_per_file(void **state)
{
    (void)state;
    csg_registry *r = csg_registry_new();
    char path[1200], other[1300];
    fixture(path, sizeof path, "good_adapter.so");
    snprintf(other, sizeof other, "%s/../fixtures/good_adapter.so", fixture_dir());
    const csg_plugin *a = NULL, *b = NULL;
    csg_error err = {{0}};
    assert_int_equal(csg_registry_get(r, path, CSG_PLUGIN_MODEL_ADAPTER, &a, &err), 0);
    assert_int_equal(csg_registry_get(r, other, CSG_PLUGIN_MODEL_ADAPTER, &b, &err), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(csg_registry_loads(r), 1);

    /* the other kind: the loader's message, from the loaded descriptor */
    assert_int_not_equal(csg_registry_get(r, path, CSG_PLUGIN_TRANSPORT, &b, &err), 0);
    assert_null(b);
    char want[1500];
    snprintf(want, sizeof want,
             "%s: wrong kind: expected a transport plugin, found a model adapter \"fixture-adapter\"",
             path);
    assert_string_equal(err.message, want);
    assert_int_equal(csg_registry_loads(r), 1);

    /* a failure is remembered, named with the path each caller gave */
    char bad[1200];
    fixture(bad, sizeof bad, "wrong_abi.so");
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(csg_registry_get(r, bad, CSG_PLUGIN_MODEL_ADAPTER, &b, &err), 0);
        assert_true(strncmp(err.message, bad, strlen(bad)) == 0);
        assert_non_null(strstr(err.message, ": ABI mismatch: gateway ABI "));
    }
    assert_int_equal(csg_registry_loads(r), 2);

    /* a missing file is no load at all */
    char missing[1200];
    fixture(missing, sizeof missing, "missing.so");
    assert_int_not_equal(csg_registry_get(r, missing, CSG_PLUGIN_MODEL_ADAPTER, &b, &err), 0);
    assert_non_null(strstr(err.message, "missing.so: cannot open: no such file"));
    assert_int_equal(csg_registry_loads(r), 2);
    csg_registry_unref(r);
}

/* A config naming one adapter for the champion and two challengers loads
 * two files (transport, adapter); loading it again (a SIGHUP, a second
 * --check-config pass) loads nothing. */
static void test_config_loads_each_file_once(void **state)
{
    (void)state;
    csg_registry *r = csg_registry_new();
    char yaml[2048];
    int n = snprintf(yaml, sizeof yaml,
                     "gateway: { workers: 1, plugin_dir: \"%s\" }\n"
                     "transports:\n"
                     "  - { plugin: good_transport.so, listen: \"127.0.0.1:21998\", banner: a }\n"
                     "  - { plugin: good_transport.so, listen: \"127.0.0.1:21997\", banner: b }\n"
                     "experiment: { id: e }\n"
                     "champion: { name: c, adapter: good_adapter.so }\n"
                     "challengers:\n"
                     "  - { name: x, adapter: good_adapter.so, weight: 0.1 }\n"
                     "  - { name: y, adapter: good_adapter.so, weight: 0.1 }\n",
                     fixture_dir());
    for (int round = 0; round < 2; round++) {
        csg_config *cfg = NULL;
        csg_errlist errs = {0};
        int rc = csg_config_load_string("t.yaml", yaml, (size_t)n, r, &cfg, &errs);
        if (rc != 0)
            fail_msg("%s", errs.count ? errs.items[0] : "?");
        assert_ptr_equal(cfg->champion.plugin, cfg->challengers[1].plugin);
        assert_ptr_equal(cfg->transports[0].plugin, cfg->transports[1].plugin);
        assert_int_equal(csg_registry_loads(r), 2);
        csg_config_unref(cfg);
        csg_errlist_free(&errs);
    }
    csg_registry_unref(r);
}

/* A new file moved over a loaded one is loaded (the old version stays
 * loaded and usable); a file touched or rewritten in place is refused. */
static void test_replaced_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/csg-registry-XXXXXX";
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    char src[1200], dst[1300], tmp[1300];
    fixture(src, sizeof src, "good_adapter.so");
    snprintf(dst, sizeof dst, "%s/adapter.so", dir);
    snprintf(tmp, sizeof tmp, "%s/adapter.so.new", dir);
    copy_file(src, dst);

    csg_registry *r = csg_registry_new();
    const csg_plugin *v1 = NULL, *v2 = NULL, *again = NULL;
    csg_error err = {{0}};
    assert_int_equal(csg_registry_get(r, dst, CSG_PLUGIN_MODEL_ADAPTER, &v1, &err), 0);
    uint32_t size1 = v1->header->struct_size;

    /* install(1) style: a new inode under the same name (a smaller,
     * older-minor descriptor, so the new version is recognisable) */
    fixture(src, sizeof src, "older_minor.so");
    copy_file(src, tmp);
    assert_int_equal(rename(tmp, dst), 0);
    assert_int_equal(csg_registry_get(r, dst, CSG_PLUGIN_MODEL_ADAPTER, &v2, &err), 0);
    assert_ptr_not_equal(v1, v2);
    assert_true(v2->header->struct_size < size1);
    assert_int_equal(v1->header->struct_size, size1); /* still mapped */
    assert_int_equal(csg_registry_loads(r), 2);
    assert_int_equal(csg_registry_get(r, dst, CSG_PLUGIN_MODEL_ADAPTER, &again, &err), 0);
    assert_ptr_equal(again, v2);

    /* and a third version: still a fresh load */
    fixture(src, sizeof src, "good_adapter.so");
    copy_file(src, tmp);
    assert_int_equal(rename(tmp, dst), 0);
    assert_int_equal(csg_registry_get(r, dst, CSG_PLUGIN_MODEL_ADAPTER, &again, &err), 0);
    assert_ptr_not_equal(again, v2);
    assert_int_equal(again->header->struct_size, size1);
    assert_int_equal(csg_registry_loads(r), 3);

    /* in place: same inode, new mtime */
    struct timespec ts[2] = {{0, UTIME_OMIT}, {12345, 0}};
    assert_int_equal(utimensat(AT_FDCWD, dst, ts, 0), 0);
    assert_int_not_equal(csg_registry_get(r, dst, CSG_PLUGIN_MODEL_ADAPTER, &again, &err), 0);
    assert_non_null(strstr(err.message, "changed on disk in place (same inode)"));
    assert_int_equal(csg_registry_loads(r), 3);

    csg_registry_unref(r);
    unlink(dst);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_load_per_file),
        cmocka_unit_test(test_config_loads_each_file_once),
        cmocka_unit_test(test_replaced_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
