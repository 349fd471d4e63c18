/*
 * csg_error.h — the one error convention of CSG (STYLE.md "C"), and its one setter.
 *
 * A function that can fail returns 0 or a negative error code (-CSG_E…) and fills an
 * optional csg_error with a human message; it never prints. The gateway, its plugins
 * (re-exported by csg/plugin.h: csg_error is part of the plugin ABI), csg-persist and
 * csg-model all use this one struct and this one setter.
 *
 * Error structs with more than a message (a parse error naming its field, a DLQ
 * reason) fill their message buffer with csg_errbuf_set, so there is one formatter.
 *
 * lib/ is neutral (DESIGN §2): this header includes nothing but the C library.
 */
#ifndef CSG_ERROR_H
#define CSG_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes, returned negated. Components add their own from 100 up
 * (csg-persist: CSGP_EDB …). Part of the plugin ABI: values never change. */
enum {
    CSG_OK = 0,
    CSG_EINVAL = 1,  /* bad argument or configuration */
    CSG_ENOMEM = 2,  /* allocation failed */
    CSG_EIO = 3,     /* system call failed */
    CSG_EPLUGIN = 4, /* plugin-specific failure */
};

/* A human-readable message; part of the plugin ABI (layout fixed for ABI 2.x). */
typedef struct csg_error {
    char message[512];
} csg_error;

/* Fill err (if non-NULL) printf-style, cut at its size, and return -code: so a
 * failing function ends with `return csg_fail(err, CSG_EINVAL, "…", …);`. */
int csg_fail(csg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As csg_fail, with "prefix: " before the message (prefix NULL: none), e.g. the
 * plugin loader naming the file. A prefix that would fill the whole buffer is left
 * out (the message itself says more). */
int csg_fail_at(csg_error *err, int code, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The formatter behind both, for any message buffer buf[cap] (cap > 0): a parse
 * error's or a DLQ reason's message. buf NULL or cap 0: nothing. */
void csg_errbuf_set(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void csg_errbuf_vset(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#ifdef __cplusplus
}
#endif
#endif /* CSG_ERROR_H */
