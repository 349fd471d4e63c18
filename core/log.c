/*
 * log.c — JSON log lines: {"ts":…,"level":…,"component":…,"msg":…}.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "application.h"
#include "util.h"

static _Atomic int g_level = CSG_LOG_INFO;

void csg_log_set_level(csg_log_level level)
{
    atomic_store(&g_level, (int)level);
}

csg_log_level csg_log_get_level(void)
{
    return (csg_log_level)atomic_load_explicit(&g_level, memory_order_relaxed);
}

bool csg_log_parse_level(const char *s, csg_log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (csg_log_level)i;
            return true;
        }
    return false;
}

void csg_vlog(csg_log_level level, const char *component, const char *fmt, va_list ap)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if ((int)level > atomic_load_explicit(&g_level, memory_order_relaxed))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char ts[25];
    csg_format_rfc3339_ms(csg_wall_ms(), ts);
    char line[8192]; /* msg (1 KiB) escaped at most 6x fits */
    size_t pos = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":",
                                  ts, names[level < 0 || level > 3 ? 0 : level]);
    const char *comp = component ? component : "core";
    csg_json_escape(comp, strlen(comp), line, sizeof line, &pos);
    static const char k[] = ",\"msg\":";
    if (pos + sizeof k < sizeof line) {
        memcpy(line + pos, k, sizeof k - 1);
        pos += sizeof k - 1;
    }
    csg_json_escape(msg, strlen(msg), line, sizeof line, &pos);
    if (pos + 3 > sizeof line)
        pos = sizeof line - 3; /* truncated: still one line */
    line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, pos);
    (void)rc;
}

void csg_log(csg_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csg_vlog(level, component, fmt, ap);
    va_end(ap);
}
