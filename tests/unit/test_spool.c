/*
 * test_spool.c — core/spool.c: append, replay order, persistence across a
 * restart, torn tails, CRC mismatches, the size bound, rewind, the lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char g_dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/csg-test-spool-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *de;
        char p[600];
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", g_dir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(g_dir);
    return 0;
}

static csg_spool *open_spool(uint64_t max, uint64_t seg)
{
    csg_spool *sp = NULL;
    csg_error err = {{0}};
    int rc = csg_spool_open(g_dir, max, seg, &sp, &err);
    if (rc != 0)
        print_error("open: %s\n", err.message);
    assert_int_equal(rc, 0);
    return sp;
}

static void append_n(csg_spool *sp, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char key[32], val[128];
        int kl = snprintf(key, sizeof key, "app-%d", i % 7);
        int vl = snprintf(val, sizeof val, "{\"event_id\":\"e-%06d\",\"n\":%d}", i, i);
        assert_int_equal(csg_spool_append(sp, key, (size_t)kl, val, (size_t)vl, NULL), 0);
    }
}

/* Read everything unread; check it is records [from, from+n) in order; ack
 * them when asked. Returns how many were read. */
static int read_expect(csg_spool *sp, int from, int n, int ack)
{
    csg_spool_record r;
    int got = 0;
    uint64_t *segs = calloc((size_t)n + 1, sizeof *segs);
    while (csg_spool_next(sp, &r) == 1) {
        assert_true(got < n);
        char key[32], val[128];
        int i = from + got;
        int kl = snprintf(key, sizeof key, "app-%d", i % 7);
        int vl = snprintf(val, sizeof val, "{\"event_id\":\"e-%06d\",\"n\":%d}", i, i);
        assert_int_equal(r.key_len, (size_t)kl);
        assert_memory_equal(r.key, key, (size_t)kl);
        assert_int_equal(r.val_len, (size_t)vl);
        assert_memory_equal(r.val, val, (size_t)vl);
        segs[got++] = r.segment;
    }
    if (ack)
        for (int i = 0; i < got; i++)
            csg_spool_ack(sp, segs[i]);
    free(segs);
    return got;
}

static int count_segments(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".csgspool"))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ order cases */

struct order_case {
    const char *name;
    uint64_t seg_bytes; /* small → many segments */
    int batches[4];     /* appended, then read+acked, alternately: a1 r a2 r … */
    int reopen;         /* close and reopen between append and read */
};

static const struct order_case order_cases[] = {
    {"one record", 0, {1, 0, 0, 0}, 0},
    {"many in one segment", 0, {500, 0, 0, 0}, 0},
    {"across segments", 2048, {500, 0, 0, 0}, 0},
    {"interleaved append/read", 2048, {100, 37, 300, 1}, 0},
    {"after restart", 4096, {400, 0, 0, 0}, 1},
    {"after restart, many segments", 1024, {250, 250, 0, 0}, 1},
};

static void test_replay_order(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof order_cases / sizeof *order_cases; c++) {
        const struct order_case *tc = &order_cases[c];
        print_message("case: %s\n", tc->name);
        csg_spool *sp = open_spool(1 << 24, tc->seg_bytes);
        int next = 0, total = 0;
        for (int b = 0; b < 4 && tc->batches[b]; b++) {
            append_n(sp, total, tc->batches[b]);
            total += tc->batches[b];
            if (tc->reopen) {
                csg_spool_close(sp);
                sp = open_spool(1 << 24, tc->seg_bytes);
            }
            assert_true(csg_spool_has_unread(sp));
            next += read_expect(sp, next, total - next, 1);
            assert_int_equal(next, total);
            assert_false(csg_spool_has_unread(sp));
        }
        /* every record acknowledged → no segment left, no bytes accounted */
        assert_int_equal(csg_spool_inflight(sp), 0);
        assert_int_equal(csg_spool_bytes(sp), 0);
        assert_int_equal(count_segments(), 0);
        assert_int_equal(csg_spool_torn(sp) + csg_spool_corrupt(sp), 0);
        csg_spool_close(sp);
        teardown(NULL);
        setup(NULL);
    }
}

/* Unacknowledged records survive a restart; acknowledged segments do not. */
static void test_ack_persistence(void **state)
{
    (void)state;
    csg_spool *sp = open_spool(1 << 24, 1024);
    append_n(sp, 0, 100);
    assert_int_equal(read_expect(sp, 0, 100, 0), 100); /* read, never acked */
    assert_int_equal(csg_spool_inflight(sp), 100);
    csg_spool_close(sp);
    sp = open_spool(1 << 24, 1024);
    assert_int_equal(read_expect(sp, 0, 100, 1), 100); /* all still there */
    assert_int_equal(count_segments(), 0);
    csg_spool_close(sp);
}

/* Rewind re-reads what was read but not acked, from the oldest record. */
static void test_rewind(void **state)
{
    (void)state;
    csg_spool *sp = open_spool(1 << 24, 1024);
    append_n(sp, 0, 60);
    assert_int_equal(read_expect(sp, 0, 60, 0), 60);
    csg_spool_rewind(sp);
    assert_int_equal(csg_spool_inflight(sp), 0);
    assert_true(csg_spool_has_unread(sp));
    assert_int_equal(read_expect(sp, 0, 60, 1), 60);
    assert_int_equal(csg_spool_bytes(sp), 0);
    csg_spool_close(sp);
}

/* ----------------------------------------------------------- damage cases */

enum damage_kind { TRUNCATE, FLIP };

struct damage_case {
    const char *name;
    enum damage_kind kind;
    int record;     /* which record (0-based) of 5 */
    int offset;     /* byte within that record (header is 12 bytes) */
    int expect[5];  /* record numbers read back, -1 terminated */
    uint64_t torn, corrupt;
};

static const struct damage_case damage_cases[] = {
    {"torn inside the last header", TRUNCATE, 4, 5, {0, 1, 2, 3, -1}, 1, 0},
    {"torn inside the last body", TRUNCATE, 4, 20, {0, 1, 2, 3, -1}, 1, 0},
    {"torn right after a header", TRUNCATE, 4, 12, {0, 1, 2, 3, -1}, 1, 0},
    {"cut at a record boundary", TRUNCATE, 3, 0, {0, 1, 2, -1}, 0, 0},
    {"CRC mismatch in a payload", FLIP, 2, 30, {0, 1, 3, 4, -1}, 0, 1},
    {"CRC mismatch in the key", FLIP, 0, 15, {1, 2, 3, 4, -1}, 0, 1},
    {"CRC field flipped", FLIP, 1, 9, {0, 2, 3, 4, -1}, 0, 1},
    {"bad magic skips the rest", FLIP, 3, 0, {0, 1, 2, -1}, 0, 1},
    {"absurd length skips the rest", FLIP, 2, 7, {0, 1, -1}, 0, 1},
};

static void test_damage(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof damage_cases / sizeof *damage_cases; c++) {
        const struct damage_case *tc = &damage_cases[c];
        print_message("case: %s\n", tc->name);
        csg_spool *sp = open_spool(1 << 24, 0);
        /* records of equal size, so record k starts at k * size */
        append_n(sp, 10, 5);
        uint64_t rec_size = csg_spool_bytes(sp) / 5;
        csg_spool_close(sp);

        char path[600];
        DIR *d = opendir(g_dir);
        struct dirent *de;
        path[0] = 0;
        while ((de = readdir(d)))
            if (strstr(de->d_name, ".csgspool"))
                snprintf(path, sizeof path, "%s/%s", g_dir, de->d_name);
        closedir(d);
        assert_true(path[0] != 0);
        off_t at = (off_t)(tc->record * rec_size + (uint64_t)tc->offset);
        if (tc->kind == TRUNCATE) {
            assert_int_equal(truncate(path, at), 0);
        } else {
            int fd = open(path, O_RDWR);
            unsigned char b;
            assert_int_equal(pread(fd, &b, 1, at), 1);
            b ^= tc->offset == 7 ? 0x7f : 0x01; /* offset 7: top byte of the length */
            assert_int_equal(pwrite(fd, &b, 1, at), 1);
            close(fd);
        }

        sp = open_spool(1 << 24, 0);
        csg_spool_record r;
        int i = 0;
        while (csg_spool_next(sp, &r) == 1) {
            assert_true(tc->expect[i] >= 0);
            char val[128];
            int vl = snprintf(val, sizeof val, "{\"event_id\":\"e-%06d\",\"n\":%d}",
                              10 + tc->expect[i], 10 + tc->expect[i]);
            assert_int_equal(r.val_len, (size_t)vl);
            assert_memory_equal(r.val, val, (size_t)vl);
            csg_spool_ack(sp, r.segment);
            i++;
        }
        assert_int_equal(tc->expect[i], -1);
        assert_int_equal(csg_spool_torn(sp), tc->torn);
        assert_int_equal(csg_spool_corrupt(sp), tc->corrupt);
        /* damaged segment fully consumed → deleted; new appends still work */
        assert_int_equal(count_segments(), 0);
        append_n(sp, 0, 3);
        assert_int_equal(read_expect(sp, 0, 3, 1), 3);
        /* a rewind does not count the same damage twice (segment is gone) */
        csg_spool_rewind(sp);
        assert_int_equal(csg_spool_torn(sp) + csg_spool_corrupt(sp), tc->torn + tc->corrupt);
        csg_spool_close(sp);
        teardown(NULL);
        setup(NULL);
    }
}

/* ------------------------------------------------------------- size bound */

struct bound_case {
    const char *name;
    uint64_t max_bytes, seg_bytes;
};

static const struct bound_case bound_cases[] = {
    {"one segment", 4096, 1 << 20},
    {"many segments", 8192, 1024},
    {"bound smaller than a record", 20, 0},
};

static void test_size_bound(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof bound_cases / sizeof *bound_cases; c++) {
        const struct bound_case *tc = &bound_cases[c];
        print_message("case: %s\n", tc->name);
        csg_spool *sp = open_spool(tc->max_bytes, tc->seg_bytes);
        int ok = 0, full = 0;
        for (int i = 0; i < 1000; i++) {
            char val[128];
            int vl = snprintf(val, sizeof val, "{\"event_id\":\"e-%06d\",\"n\":%06d}", i, i);
            int rc = csg_spool_append(sp, "app-0", 5, val, (size_t)vl, NULL);
            assert_true(rc == 0 || rc == CSG_SPOOL_FULL);
            if (rc == 0) {
                assert_int_equal(full, 0); /* nothing accepted after the first refusal */
                ok++;
            } else {
                full++;
            }
        }
        uint64_t rec = CSG_SPOOL_HEADER + 2 + 5 + 34; /* every value is 34 bytes */
        assert_int_equal((uint64_t)ok, tc->max_bytes / rec);
        assert_true(csg_spool_bytes(sp) <= tc->max_bytes);
        assert_int_equal(full, 1000 - ok);
        /* draining frees room again (segment deletion) */
        csg_spool_record r;
        int n = 0;
        while (csg_spool_next(sp, &r) == 1) {
            csg_spool_ack(sp, r.segment);
            n++;
        }
        assert_int_equal(n, ok);
        assert_int_equal(csg_spool_bytes(sp), 0);
        if (ok)
            assert_int_equal(csg_spool_append(sp, "k", 1, "v", 1, NULL), 0);
        csg_spool_close(sp);
        teardown(NULL);
        setup(NULL);
    }
    /* too large a record is refused even in an empty spool */
    csg_spool *sp = open_spool(UINT64_MAX / 2, 0);
    char *big = calloc(1, CSG_SPOOL_MAX_RECORD);
    assert_int_equal(csg_spool_append(sp, "k", 1, big, CSG_SPOOL_MAX_RECORD, NULL),
                     CSG_SPOOL_FULL);
    free(big);
    csg_spool_close(sp);
}

/* Two owners of one spool_dir are refused. */
static void test_lock(void **state)
{
    (void)state;
    csg_spool *a = open_spool(1 << 20, 0), *b = NULL;
    csg_error err = {{0}};
    assert_int_not_equal(csg_spool_open(g_dir, 1 << 20, 0, &b, &err), 0);
    assert_non_null(strstr(err.message, "in use"));
    csg_spool_close(a);
    b = open_spool(1 << 20, 0);
    csg_spool_close(b);
}

static void test_crc32(void **state)
{
    (void)state;
    /* the standard check value */
    assert_int_equal(csg_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(csg_crc32(0, "", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test_setup_teardown(test_replay_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
