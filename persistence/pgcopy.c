/* pgcopy.c — MetricEvents as COPY text rows (see pgcopy.h). */
#include "pgcopy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(csgp_copy_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
        return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

static int copy_text(csgp_copy_buf *b, const char *s, char sep)
{
    size_t n = strlen(s);
    if (buf_reserve(b, 2 * n + 2))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            b->p[b->len++] = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        b->p[b->len++] = c;
    }
    b->p[b->len++] = sep;
    return 0;
}

static int copy_raw(csgp_copy_buf *b, const char *s, char sep)
{
    size_t n = strlen(s);
    if (buf_reserve(b, n + 2))
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = sep;
    return 0;
}

static int copy_real(csgp_copy_buf *b, bool present, double v, char sep)
{
    char num[40];
    if (!present)
        return copy_raw(b, "\\N", sep);
    /* 17 significant digits always read back as the same double; the shortest form
     * (csgp_format_double) would cost up to three snprintf/strtod rounds per value. */
    snprintf(num, sizeof num, "%.17g", v);
    return copy_raw(b, num, sep);
}

int csgp_copy_event(csgp_copy_buf *b, size_t ord, const csgp_event *e)
{
    char num[40];
    const char *cd = csg_decision_name(e->champion_decision);
    const char *xd = csg_decision_name(e->challenger_decision);
    snprintf(num, sizeof num, "%zu", ord);
    int rc = copy_raw(b, num, '\t') | copy_text(b, e->event_id, '\t') |
             copy_text(b, e->experiment_id, '\t') | copy_text(b, e->applicant_id, '\t') |
             copy_text(b, e->transport, '\t') | copy_text(b, e->champion_model, '\t');
    rc |= e->has_challenger_model ? copy_text(b, e->challenger_model, '\t')
                                  : copy_raw(b, "\\N", '\t');
    rc |= copy_real(b, e->has_champion_score, e->champion_score, '\t') |
          copy_real(b, e->has_challenger_score, e->challenger_score, '\t') |
          copy_raw(b, cd ? cd : "\\N", '\t') | copy_raw(b, xd ? xd : "\\N", '\t') |
          copy_raw(b, e->decision_match < 0 ? "\\N" : e->decision_match ? "t" : "f", '\t') |
          copy_real(b, true, e->latency_champion_ms, '\t') |
          copy_real(b, e->has_latency_challenger, e->latency_challenger_ms, '\t') |
          copy_real(b, e->has_decision_diff, e->decision_diff, '\t') |
          copy_real(b, e->has_income, e->income, '\t') |
          copy_real(b, e->has_loan_amount, e->loan_amount, '\t');
    snprintf(num, sizeof num, "%lld", (long long)e->credit_history);
    rc |= copy_raw(b, e->has_credit_history ? num : "\\N", '\t') |
          copy_raw(b, e->timestamp, '\t') | copy_text(b, e->status, '\t');
    rc |= e->features ? copy_text(b, e->features, '\t') : copy_raw(b, "\\N", '\t');
    rc |= e->config_version[0] ? copy_text(b, e->config_version, '\t')
                               : copy_raw(b, "\\N", '\t');
    /* text[] literals: {"INCOME","DEBT"}; quotes and codes need no COPY escaping. */
    char arr[CSGP_REASONS_TEXT_SIZE];
    rc |= e->champion_reasons.present
              ? copy_raw(b, csgp_reasons_text(&e->champion_reasons, '{', '}', arr), '\t')
              : copy_raw(b, "\\N", '\t');
    rc |= e->challenger_reasons.present
              ? copy_raw(b, csgp_reasons_text(&e->challenger_reasons, '{', '}', arr), '\n')
              : copy_raw(b, "\\N", '\n');
    return rc ? -1 : 0;
}

int csgp_copy_chal_results(csgp_copy_buf *b, const csgp_event *e)
{
    int rc = 0;
    for (int i = 0; i < e->n_chal; i++) {
        const csgp_chal_result *r = &e->chal[i];
        const char *d = csg_decision_name(r->decision);
        char num[16], arr[CSGP_REASONS_TEXT_SIZE];
        snprintf(num, sizeof num, "%d", i);
        rc |= copy_text(b, e->event_id, '\t') | copy_raw(b, num, '\t') |
              copy_text(b, r->model, '\t') | copy_real(b, r->has_score, r->score, '\t') |
              copy_raw(b, r->has_score && d ? d : "\\N", '\t') |
              copy_real(b, true, r->latency_ms, '\t') |
              copy_raw(b, csg_event_status_name(r->status), '\t') |
              copy_raw(b, r->reasons.present ? csgp_reasons_text(&r->reasons, '{', '}', arr) : "\\N",
                       '\t') |
              copy_raw(b, r->live ? CSG_MODE_LIVE_NAME : CSG_MODE_SHADOW_NAME, '\t') |
              copy_raw(b, e->timestamp, '\n');
    }
    return rc ? -1 : 0;
}
