/* sqlb.c — parameterised SQL for the REST API (see sqlb.h). */
#include "sqlb.h"

#include <stdarg.h>
#include <stdio.h>

#include "catalogue.h"

void csgp_qb_init(csgp_qb *b, csgp_db *db)
{
    b->db = db;
    b->len = 0;
    b->sql[0] = 0;
    b->overflow = false;
    b->np = 0;
}

bool csgp_qb_pg(const csgp_qb *b) { return csgp_db_kind_of(b->db) == CSGP_DB_PG; }

void csgp_qb_add(csgp_qb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->sql + b->len, sizeof b->sql - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->sql - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

void csgp_qb_ph(csgp_qb *b, int idx, const char *pg_cast)
{
    char ph[32];
    csgp_qb_add(b, "%s", csgp_db_ph(b->db, idx, pg_cast, ph, sizeof ph));
}

int csgp_qb_bind(csgp_qb *b, csgp_param p)
{
    if (b->np == CSGP_QB_MAX_PARAMS) {
        b->overflow = true;
        return 0;
    }
    b->p[b->np++] = p;
    return b->np;
}

int csgp_qb_param(csgp_qb *b, csgp_param p, const char *pg_cast)
{
    int idx = csgp_qb_bind(b, p);
    if (idx)
        csgp_qb_ph(b, idx, pg_cast);
    return idx;
}

int csgp_qb_real(csgp_qb *b, double d)
{
    return csgp_qb_param(b, (csgp_param){.type = CSGP_P_REAL, .real = d}, "float8");
}

int csgp_qb_int(csgp_qb *b, int64_t i)
{
    return csgp_qb_param(b, (csgp_param){.type = CSGP_P_INT, .i = i}, "bigint");
}

void csgp_qb_where(csgp_qb *b, const csgp_query *q)
{
    csgp_query_term t[CSGP_QUERY_MAX_TERMS];
    int n = csgp_query_terms(q, t);
    csgp_qb_add(b, " WHERE 1=1");
    for (int i = 0; i < n; i++) {
        csgp_qb_add(b, " AND %s %s ", t[i].column, t[i].op);
        csgp_qb_param(b, t[i].param, t[i].pg_cast);
    }
    csgp_features_where(b, q);
    if (q->arm[0]) {
        csgp_qb_add(b, " AND arm = ");
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = q->arm}, NULL);
    }
}

const char *csgp_qb_table(const csgp_query *q, bool challenger_side)
{
    return q->arm[0] || (challenger_side && q->pairs) ? CSGP_PAIRS : CSGP_TABLE;
}

void csgp_qb_pct(csgp_qb *b, const char *col, const char *p)
{
    if (csgp_qb_pg(b))
        csgp_qb_add(b, "percentile_cont(%s) WITHIN GROUP (ORDER BY %s)", p, col);
    else
        csgp_qb_add(b, "percentile_cont(%s, %s)", col, p);
}

void csgp_qb_latency_stats(csgp_qb *b, const char *col)
{
    csgp_qb_add(b, "avg(%s), ", col);
    csgp_qb_pct(b, col, "0.5");
    csgp_qb_add(b, ", ");
    csgp_qb_pct(b, col, "0.95");
    csgp_qb_add(b, ", ");
    csgp_qb_pct(b, col, "0.99");
}

int csgp_qb_run(csgp_qb *b, csgp_rows **rows, csg_error *err)
{
    if (b->overflow)
        return csg_fail(err, CSG_EINVAL, "query too large");
    return csgp_db_query(b->db, b->sql, b->p, b->np, rows, err);
}

void csgp_qb_bucket(csgp_qb *b, int64_t secs)
{
    if (csgp_qb_pg(b)) {
        csgp_qb_add(b, "floor(extract(epoch FROM \"timestamp\") / ");
        csgp_qb_int(b, secs);
        csgp_qb_add(b, ")::bigint");
    } else {
        csgp_qb_add(b, "(CAST(strftime('%%s', \"timestamp\") AS INTEGER) / ");
        csgp_qb_int(b, secs);
        csgp_qb_add(b, ")");
    }
}
