/*
 * test_helpers.h — small helpers shared by the core unit tests (header-only).
 */
#ifndef CSG_TEST_HELPERS_H
#define CSG_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"

/* $CSG_BUILD_DIR/<sub> (ctest sets CSG_BUILD_DIR). */
static inline const char *build_path(char *buf, size_t cap, const char *sub)
{
    if (!buf[0]) {
        const char *b = getenv("CSG_BUILD_DIR");
        snprintf(buf, cap, "%s/%s", b && *b ? b : "build", sub);
    }
    return buf;
}

/* The fixture plugins (tests/fixtures) and the real ones (build/lib/csg). */
static inline const char *fixture_dir(void)
{
    static char dir[1024];
    return build_path(dir, sizeof dir, "tests/fixtures");
}

static inline const char *plugin_build_dir(void)
{
    static char dir[1024];
    return build_path(dir, sizeof dir, "lib/csg");
}

/* One plugin registry per test process, as a gateway process has one. */
static inline csg_registry *test_registry(void)
{
    static csg_registry *r;
    if (!r)
        r = csg_registry_new();
    return r;
}

/* Poll cond (an expression) every 2 ms until it holds or ms milliseconds
 * have passed; the caller asserts cond afterwards. A bounded wait for a
 * condition, never a sleep that hopes something happened meanwhile. */
#define WAIT_UNTIL(cond, ms)                                                  \
    do {                                                                      \
        for (int wait_i_ = 0; wait_i_ < (ms) / 2 && !(cond); wait_i_++) {     \
            struct timespec wait_ts_ = {0, 2000000};                          \
            nanosleep(&wait_ts_, NULL);                                       \
        }                                                                     \
    } while (0)

/* Read a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

/* Replace every "@FIXTURES@" in s with fixture_dir() and every "@PLUGINS@"
 * with plugin_build_dir() (malloc'd). */
static inline char *subst_fixtures(const char *s)
{
    static const struct {
        const char *token;
        size_t len;
    } tokens[] = {{"@FIXTURES@", 10}, {"@PLUGINS@", 9}};
    const char *dirs[] = {fixture_dir(), plugin_build_dir()};
    size_t cap = strlen(s) + 1;
    for (size_t t = 0; t < 2; t++)
        for (const char *p = s; (p = strstr(p, tokens[t].token)); p += tokens[t].len)
            cap += strlen(dirs[t]);
    char *out = malloc(cap);
    char *o = out;
    while (*s) {
        size_t t = 0;
        while (t < 2 && strncmp(s, tokens[t].token, tokens[t].len) != 0)
            t++;
        if (t < 2) {
            size_t dl = strlen(dirs[t]);
            memcpy(o, dirs[t], dl);
            o += dl;
            s += tokens[t].len;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

#endif
