/*
 * sqlb.h — the REST API's SQL builder: a statement text with numbered placeholders and
 * its parameters, in the backend's syntax (PostgreSQL "$n", SQLite "?n").
 *
 * User input never becomes SQL text: callers append constant fragments with
 * csgp_qb_add and every value through csgp_qb_param (or csgp_qb_bind + csgp_qb_ph). The
 * buffers are fixed; running out of room sets overflow and csgp_qb_run refuses.
 */
#ifndef CSGP_SQLB_H
#define CSGP_SQLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "query.h"

/* The events table, and "both models decided" (the challenger answered). */
#define CSGP_TABLE "credit_score_metrics"
#define CSGP_BOTH_DECIDED "champion_decision IS NOT NULL AND challenger_decision IS NOT NULL"

/* Every request–challenger result (sql/…/011_challenger_results.sql). */
#define CSGP_PAIRS "challenger_pairs"

/* Where a query of q reads: the pairs view when q filters by arm, or for the challenger's
 * side (challenger_side) when some request has several challengers (q->pairs); else the
 * events table. */
const char *csgp_qb_table(const csgp_query *q, bool challenger_side);

/* Enough for every filter of a query plus a segment expression over 100 categories. */
#define CSGP_QB_MAX_PARAMS 320

typedef struct csgp_qb {
    csgp_db *db;
    char sql[24576];
    size_t len;
    bool overflow;
    csgp_param p[CSGP_QB_MAX_PARAMS];
    int np;
} csgp_qb;

void csgp_qb_init(csgp_qb *b, csgp_db *db);
/* Append constant SQL text (never user input). */
void csgp_qb_add(csgp_qb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append the placeholder of an existing parameter (1-based idx); pg_cast as csgp_db_ph. */
void csgp_qb_ph(csgp_qb *b, int idx, const char *pg_cast);
/* Add a parameter without appending anything; returns its index (0 on overflow). The
 * parameter's text must outlive csgp_qb_run. */
int csgp_qb_bind(csgp_qb *b, csgp_param p);
/* Add a parameter and append its placeholder; returns its index. */
int csgp_qb_param(csgp_qb *b, csgp_param p, const char *pg_cast);
int csgp_qb_real(csgp_qb *b, double d);
int csgp_qb_int(csgp_qb *b, int64_t i);
bool csgp_qb_pg(const csgp_qb *b);
/* " WHERE …" with every filter of q (columns from query.c, features from catalogue.c;
 * arm= needs csgp_qb_table's view);
 * always present, so callers may append " AND …". Feature filters need their type
 * (csgp_features_check) before this is called. */
void csgp_qb_where(csgp_qb *b, const csgp_query *q);
/* percentile_cont(p) of col in the backend's syntax (p is a constant, not input). */
void csgp_qb_pct(csgp_qb *b, const char *col, const char *p);
/* avg, p50, p95, p99 of col. */
void csgp_qb_latency_stats(csgp_qb *b, const char *col);
/* The row's time bucket of secs seconds as an integer (epoch seconds / secs, floored). */
void csgp_qb_bucket(csgp_qb *b, int64_t secs);
/* Run the statement; -CSG_EINVAL when it overflowed. */
int csgp_qb_run(csgp_qb *b, csgp_rows **rows, csg_error *err);

#endif /* CSGP_SQLB_H */
