/*
 * test_helpers.h — small helpers shared by the core unit tests (header-only).
 */
#ifndef CSG_TEST_HELPERS_H
#define CSG_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $CSG_BUILD_DIR/tests/fixtures (ctest sets CSG_BUILD_DIR). */
static inline const char *fixture_dir(void)
{
    static char dir[1024];
    if (!dir[0]) {
        const char *b = getenv("CSG_BUILD_DIR");
        snprintf(dir, sizeof dir, "%s/tests/fixtures", b && *b ? b : "build");
    }
    return dir;
}

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

/* Replace every "@FIXTURES@" in s with the fixture directory (malloc'd). */
static inline char *subst_fixtures(const char *s)
{
    const char *dir = fixture_dir();
    size_t dl = strlen(dir), cap = strlen(s) + 1, n = 0;
    for (const char *p = s; (p = strstr(p, "@FIXTURES@")); p += 10)
        cap += dl;
    char *out = malloc(cap);
    char *o = out;
    while (*s) {
        if (!strncmp(s, "@FIXTURES@", 10)) {
            memcpy(o, dir, dl);
            o += dl;
            s += 10;
        } else {
            *o++ = *s++;
        }
        n++;
    }
    *o = '\0';
    return out;
}

#endif
