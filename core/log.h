/*
 * log.h — structured JSON log lines on stderr, one write(2) per line so
 * lines from different threads never interleave.
 */
#ifndef CSG_LOG_H
#define CSG_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "csg/plugin.h"

void csg_log_set_level(csg_log_level level);
csg_log_level csg_log_get_level(void);
/* "error", "warn", "info", "debug" → level; false when unknown. */
bool csg_log_parse_level(const char *s, csg_log_level *out);

void csg_log(csg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void csg_vlog(csg_log_level level, const char *component, const char *fmt, va_list ap);

#endif /* CSG_LOG_H */
