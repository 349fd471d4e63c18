/*
 * config_guard.c — the experiment-control keys of experiments.yaml that are
 * more than a scalar: a challenger's `guardrail:` block and the experiment's
 * `schedule:` (DESIGN §3). config.c hands their value nodes here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config_guard.h"

void csg_config_guardrail(vctx *x, yaml_node_t *n, csg_guardrail_cfg *g)
{
    if (!cw_want_mapping(x, n, "\"guardrail\""))
        return;
    keyspec ks[] = {{.name = "max_error_rate"}, {.name = "max_p99_ms"}, {.name = "window_s"},
                    {.name = "min_calls"},      {.name = "cooldown_s"}, {.name = NULL}};
    cw_collect(x, n, "guardrail", ks);
    int64_t v;
    g->max_error_rate = 1;
    g->max_p99_ms = 0;
    g->window_s = 60;
    g->min_calls = 20;
    g->cooldown_s = 300;
    if (!cw_spec(ks, "max_error_rate")->value && !cw_spec(ks, "max_p99_ms")->value)
        cw_err_at(x, n, "a guardrail needs \"max_error_rate\" or \"max_p99_ms\" (or both)");
    if (cw_spec(ks, "max_error_rate")->value)
        cw_get_double(x, cw_spec(ks, "max_error_rate"), 0, 1, &g->max_error_rate);
    if (cw_spec(ks, "max_p99_ms")->value)
        cw_get_double(x, cw_spec(ks, "max_p99_ms"), 0.001, 600000, &g->max_p99_ms);
    if (cw_spec(ks, "window_s")->value && cw_get_int(x, cw_spec(ks, "window_s"), 1, 86400, &v))
        g->window_s = (unsigned)v;
    if (cw_spec(ks, "min_calls")->value &&
        cw_get_int(x, cw_spec(ks, "min_calls"), 1, 100000000, &v))
        g->min_calls = (unsigned)v;
    if (cw_spec(ks, "cooldown_s")->value &&
        cw_get_int(x, cw_spec(ks, "cooldown_s"), 1, 86400 * 7, &v))
        g->cooldown_s = (unsigned)v;
    g->set = true;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (optional fraction ignored) → epoch ms; false if not. */
bool csg_parse_utc(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return false;
    const char *p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (strcmp(p, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ms = (int64_t)t * 1000;
    return true;
}

static void when(vctx *x, keyspec *s, int64_t *out)
{
    char *text = NULL;
    if (!s->value || !cw_get_str(x, s, 1, 64, &text))
        return;
    if (!csg_parse_utc(text, out))
        cw_err_at(x, s->value,
                  "\"%s\" must be an RFC 3339 UTC time such as \"2026-12-01T00:00:00Z\", not \"%s\"",
                  s->name, text);
    free(text);
}

void csg_config_schedule(vctx *x, yaml_node_t *n, csg_config *c)
{
    if (!cw_want_mapping(x, n, "\"schedule\""))
        return;
    keyspec ks[] = {{.name = "start"}, {.name = "end"}, {.name = NULL}};
    cw_collect(x, n, "schedule", ks);
    c->schedule_start_ms = 0;
    c->schedule_end_ms = 0;
    if (!ks[0].value && !ks[1].value)
        cw_err_at(x, n, "a schedule needs \"start\", \"end\" or both");
    when(x, &ks[0], &c->schedule_start_ms);
    when(x, &ks[1], &c->schedule_end_ms);
    if (c->schedule_start_ms && c->schedule_end_ms && c->schedule_end_ms <= c->schedule_start_ms)
        cw_err_at(x, n, "schedule \"end\" must be after \"start\"");
    c->has_schedule = true;
}

csg_schedule_phase csg_schedule_at(const csg_config *c, int64_t wall_ms)
{
    if (!c->has_schedule)
        return CSG_SCHEDULE_RUNNING;
    if (c->schedule_start_ms && wall_ms < c->schedule_start_ms)
        return CSG_SCHEDULE_BEFORE;
    if (c->schedule_end_ms && wall_ms >= c->schedule_end_ms)
        return CSG_SCHEDULE_ENDED;
    return CSG_SCHEDULE_RUNNING;
}
