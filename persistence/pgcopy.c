/* pgcopy.c — MetricEvents as COPY text rows (see pgcopy.h). */
#include "pgcopy.h"

#include <stdbool.h>
#include <stdint.h>
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

/* Binary COPY (the event rows): every value in network byte order after its int32
 * length (-1: NULL). */
static void put_be(csgp_copy_buf *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        b->p[b->len++] = (char)(v >> (8 * i));
}

static void bin_null(csgp_copy_buf *b)
{
    put_be(b, 0xffffffffu, 4);
}

static void bin_text(csgp_copy_buf *b, const char *s)
{
    size_t n = strlen(s);
    put_be(b, n, 4);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void bin_opt_text(csgp_copy_buf *b, bool present, const char *s)
{
    if (present)
        bin_text(b, s);
    else
        bin_null(b);
}

/* float8 as its IEEE bits: the stored double is the event's, bit for bit, with no
 * printing on this side and no parsing on the server's. */
static void bin_real(csgp_copy_buf *b, bool present, double v)
{
    if (!present) {
        bin_null(b);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_be(b, 8, 4);
    put_be(b, bits, 8);
}

/* text[] (array_recv): one dimension from 1, no NULL elements; none: zero dimensions, as
 * the literal {} reads. */
static void bin_reasons(csgp_copy_buf *b, const csgp_reasons *r)
{
    if (!r->present) {
        bin_null(b);
        return;
    }
    size_t len = 12 + (r->n ? 8 : 0);
    for (int i = 0; i < r->n; i++)
        len += 4 + strlen(r->code[i]);
    put_be(b, len, 4);
    put_be(b, r->n ? 1 : 0, 4);  /* dimensions */
    put_be(b, 0, 4);             /* no NULLs */
    put_be(b, CSGP_TEXTOID, 4);  /* element type */
    if (r->n) {
        put_be(b, (uint64_t)r->n, 4);
        put_be(b, 1, 4);         /* lower bound */
    }
    for (int i = 0; i < r->n; i++)
        bin_text(b, r->code[i]);
}

/* PostgreSQL's epoch (2000-01-01) in Unix milliseconds. */
#define PG_EPOCH_MS 946684800000LL

int csgp_copy_begin(csgp_copy_buf *b)
{
    static const char sig[11] = "PGCOPY\n\377\r\n";
    if (buf_reserve(b, sizeof sig + 8))
        return -1;
    memcpy(b->p + b->len, sig, sizeof sig);
    b->len += sizeof sig;
    put_be(b, 0, 4); /* flags */
    put_be(b, 0, 4); /* header extension */
    return 0;
}

int csgp_copy_end(csgp_copy_buf *b)
{
    if (buf_reserve(b, 2))
        return -1;
    put_be(b, 0xffff, 2);
    return 0;
}

/* timestamptz: microseconds since PostgreSQL's epoch (ts_ms is what the text held) */
static void bin_ts(csgp_copy_buf *b, int64_t ts_ms)
{
    put_be(b, 8, 4);
    put_be(b, (uint64_t)((ts_ms - PG_EPOCH_MS) * 1000), 8);
}

int csgp_copy_key(csgp_copy_buf *b, size_t ord, const csgp_event *e)
{
    if (buf_reserve(b, 2 + 6 * 4 + 4 + 8 + strlen(e->event_id) + strlen(e->applicant_id) +
                           strlen(e->challenger_model) + strlen(e->config_version)))
        return -1;
    put_be(b, 6, 2);
    put_be(b, 4, 4);
    put_be(b, ord, 4);
    bin_text(b, e->event_id);
    bin_ts(b, e->ts_ms);
    bin_text(b, e->applicant_id);
    bin_opt_text(b, e->has_challenger_model, e->challenger_model);
    bin_opt_text(b, e->config_version[0] != '\0', e->config_version);
    return 0;
}

int csgp_copy_event(csgp_copy_buf *b, const csgp_event *e)
{
    /* Room for the whole row: the field count, every field's length, the fixed-size values
     * (seven float8, two int8, a bool), the texts. */
    size_t need = 2 + CSGP_COPY_NCOLS * 4 + 9 * 8 + 1 + strlen(e->event_id) +
                  strlen(e->experiment_id) + strlen(e->applicant_id) + strlen(e->transport) +
                  strlen(e->champion_model) + strlen(e->challenger_model) +
                  2 * CSG_EVENT_STATUS_NAME_MAX + sizeof e->status + sizeof e->config_version +
                  (e->features ? 1 + strlen(e->features) : 0) +
                  2 * (20 + CSG_REASONS_MAX * (4 + CSG_REASON_CODE_MAX));
    if (buf_reserve(b, need))
        return -1;
    const char *cd = csg_decision_name(e->champion_decision);
    const char *xd = csg_decision_name(e->challenger_decision);
    put_be(b, CSGP_COPY_NCOLS, 2);
    bin_text(b, e->event_id);
    bin_text(b, e->experiment_id);
    bin_text(b, e->applicant_id);
    bin_text(b, e->transport);
    bin_text(b, e->champion_model);
    bin_opt_text(b, e->has_challenger_model, e->challenger_model);
    bin_real(b, e->has_champion_score, e->champion_score);
    bin_real(b, e->has_challenger_score, e->challenger_score);
    bin_opt_text(b, cd != NULL, cd);
    bin_opt_text(b, xd != NULL, xd);
    if (e->decision_match < 0) {
        bin_null(b);
    } else {
        put_be(b, 1, 4);
        put_be(b, e->decision_match ? 1 : 0, 1);
    }
    bin_real(b, true, e->latency_champion_ms);
    bin_real(b, e->has_latency_challenger, e->latency_challenger_ms);
    bin_real(b, e->has_decision_diff, e->decision_diff);
    bin_real(b, e->has_income, e->income);
    bin_real(b, e->has_loan_amount, e->loan_amount);
    if (e->has_credit_history) {
        put_be(b, 8, 4);
        put_be(b, (uint64_t)e->credit_history, 8);
    } else {
        bin_null(b);
    }
    bin_ts(b, e->ts_ms);
    bin_text(b, e->status);
    if (e->features) {
        /* jsonb: a version byte (1), then the text */
        size_t n = strlen(e->features);
        put_be(b, n + 1, 4);
        put_be(b, 1, 1);
        memcpy(b->p + b->len, e->features, n);
        b->len += n;
    } else {
        bin_null(b);
    }
    bin_opt_text(b, e->config_version[0] != '\0', e->config_version);
    bin_reasons(b, &e->champion_reasons);
    bin_reasons(b, &e->challenger_reasons);
    return 0;
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
