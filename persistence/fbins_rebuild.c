/* fbins_rebuild.c — a stored baseline's rebuild of the feature-bin rollups whose bins it
 * changed (csgp_fbins_rebuild with a list; see fbins.h), in SQL: per table and resolution
 * one INSERT … SELECT … GROUP BY over the rows for every changed feature and score side
 * together (one scan; a statement per target scanned the rows 2k+2 times for k features),
 * instead of every stored row turned back into an event in C.
 * The SQL counts what fbins.c's count_event counts: a number feature's value (of JSON
 * type number) at the last band edge <= it (a baseline's bands are open below, so none
 * falls under the first, which ingest counts in bin -1 for frozen deciles); a model's score at its
 * score bins ("-1" below the first); the seven segment values of
 * csgp_rollup_segment_values, and for a number feature each challenger result's bin
 * (rollup_pair_features, as csgp_rollup_pair_values counts it). Hours come from the rows,
 * days from those hours, minutes from the rows inside the minute window (rollup.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalogue.h"
#include "fbins.h"
#include "sqlb.h"

#define COLS "n, both_decided, diverge, champion_decided, champion_approved, challenger_decided, " \
             "challenger_approved"
#define KEYS "res, t, experiment_id, challenger_model, champion_model, feature, bin, kind"
/* rollup_pair_features (a number feature's bins per challenger result, rollup_pairs.c):
 * the same plus the arm, and each request counted once overall and once per arm. */
#define PAIR_COLS COLS ", ev_first, arm_first"
#define PAIR_KEYS KEYS ", arm"
/* Each stored challenger result as a row of the columns the counting below reads, the
 * challenger's from the result (its decision only with a score, as row_result reads it);
 * first / arm_first: the result is its request's first, overall and in its arm (by ord). */
#define PAIR_ROWS                                                                              \
    "(SELECT \"timestamp\", experiment_id, challenger_model, champion_model, champion_decision, " \
    "challenger_decision, features, arm, CASE WHEN row_number() OVER (PARTITION BY event_id "   \
    "ORDER BY ord) = 1 THEN 1 ELSE 0 END AS ef, CASE WHEN row_number() OVER (PARTITION BY "      \
    "event_id, arm ORDER BY ord) = 1 THEN 1 ELSE 0 END AS af FROM (SELECT m.\"timestamp\", "    \
    "m.experiment_id, r.model AS challenger_model, m.champion_model, m.champion_decision, CASE " \
    "WHEN r.score IS NOT NULL THEN r.decision END AS challenger_decision, m.features, CASE WHEN " \
    "r.mode = 'live' AND r.status = 'OK' THEN 'live' ELSE 'shadow' END AS arm, r.ord, "          \
    "m.event_id FROM " CSGP_TABLE " m JOIN challenger_results r ON r.event_id = m.event_id "     \
    "WHERE m.features IS NOT NULL"

/* What one rebuild counts: a number feature's bands, or one side's scores of a model. */
typedef struct target {
    const char *feature; /* NULL: scores */
    const char *model;   /* scores: the model */
    int kind;
    double edges[CSGP_FBINS_MAX_EDGES + 1];
    int n;
    csgp_query_feature f; /* a feature: its name and path, bound until the statement ran */
} target;

/* The targets one statement counts: g[0..n) of the rebuild's list. */
typedef struct span {
    const target *g;
    int n;
} span;

/* A statement's parameters besides its targets' (the bucket width, the minute window). */
#define OWN_PARAMS 4
/* A target's parameters: its edges, its name twice (the key, the value's path), a model. */
#define TARGET_PARAMS(g) ((g)->n + 3)

/* CASE over v: the last edge <= v as text; below the first: NULL (features), '-1' (scores). */
static void bin_case(csgp_qb *b, const target *g)
{
    csgp_qb_add(b, "CASE");
    for (int k = g->n - 1; k >= 0; k--) {
        if (isinf(g->edges[k])) { /* open below: everything left is in band 0 */
            csgp_qb_add(b, " ELSE '%d'", k);
            break;
        }
        csgp_qb_add(b, " WHEN v >= ");
        csgp_qb_real(b, g->edges[k]);
        csgp_qb_add(b, " THEN '%d'", k);
        if (k == 0 && !g->feature)
            csgp_qb_add(b, " ELSE '-1'");
    }
    csgp_qb_add(b, " END");
}

/* g's value in a row: the feature's number (the rows' type-guarded expression), or the
 * model's score on g's side. */
static void value_expr(csgp_qb *b, const target *g)
{
    if (g->feature) {
        csgp_features_expr(b, &g->f);
        return;
    }
    const char *side = g->kind == CSGP_FB_CHAMPION_SCORE ? "champion" : "challenger";
    csgp_qb_add(b, "CASE WHEN %s_model = ", side);
    csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = g->model}, "text");
    csgp_qb_add(b, " THEN %s_score END", side);
}

/* The ON CONFLICT tail adding to a row a concurrent batch wrote meanwhile (PostgreSQL). */
static void upsert_tail(csgp_qb *b, bool pairs)
{
    const char *t = pairs ? "rollup_pair_features" : "rollup_features";
    static const char *const cols[] = {"n", "both_decided", "diverge", "champion_decided",
                                       "champion_approved", "challenger_decided",
                                       "challenger_approved", "ev_first", "arm_first"};
    csgp_qb_add(b, " ON CONFLICT (%s) DO UPDATE SET ", pairs ? PAIR_KEYS : KEYS);
    size_t n = sizeof cols / sizeof *cols - (pairs ? 0 : 2); /* ev_first, arm_first: pairs' */
    for (size_t i = 0; i < n; i++)
        csgp_qb_add(b, "%s%s = %s.%s + excluded.%s", i ? ", " : "", cols[i], t, cols[i], cols[i]);
}

static int run(csgp_qb *b, csg_error *err)
{
    if (b->overflow)
        return csg_fail(err, CSG_EINVAL, "rebuild statement too long");
    return csgp_db_exec(b->db, b->sql, b->p, b->np, NULL, err);
}

/* " CASE g WHEN 0 THEN … END" with each target's part of one expression. */
static void per_target(csgp_qb *b, span s, void (*part)(csgp_qb *, const target *))
{
    csgp_qb_add(b, "CASE g");
    for (int i = 0; i < s.n; i++) {
        csgp_qb_add(b, " WHEN %d THEN ", i);
        part(b, &s.g[i]);
    }
    csgp_qb_add(b, " END");
}

/* s's targets as a table of a few rows: (g, feature, kind), g its index in s. */
static void targets_table(csgp_qb *b, span s)
{
    csgp_qb_add(b, "(");
    for (int i = 0; i < s.n; i++) {
        csgp_qb_add(b, "%sSELECT %d AS g, ", i ? " UNION ALL " : "", i);
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT,
                                      .text = s.g[i].feature ? s.g[i].feature : ""}, "text");
        csgp_qb_add(b, " AS feature, %d AS kind", s.g[i].kind);
    }
    csgp_qb_add(b, ") tg");
}

/* The rows' counts of s's targets at resolution res (60 or 3600), from since_s on
 * (INT64_MIN: all); pairs: per challenger result into rollup_pair_features (number
 * features only). One scan: each row crossed with the targets, its value and bin picked
 * per target (a CASE over g), grouped per target. */
static int from_rows(csgp_db *db, span s, int res, int64_t since_s, bool pairs, csg_error *err)
{
    char since[CSGP_TS_SIZE];
    bool scores = false;
    /* OFFSET 0 keeps a subquery one (PostgreSQL and SQLite flatten it otherwise): r's
     * columns are computed once per row, not once per row and target; x's v once per row
     * and target, not once per band edge its bin compares it with */
    const char *keep = csgp_db_kind_of(db) == CSGP_DB_PG ? " OFFSET 0" : " LIMIT -1 OFFSET 0";
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO %s (%s, %s) SELECT %d, t, experiment_id, ch, champion_model, "
                    "feature, bin, kind, %scount(*), sum(bd), sum(dv), sum(cd), sum(ca), "
                    "sum(xd), sum(xa)%s FROM (SELECT t, experiment_id, ch, champion_model, g, "
                    "feature, kind, bd, dv, cd, ca, xd, xa, %s",
                pairs ? "rollup_pair_features" : "rollup_features", pairs ? PAIR_KEYS : KEYS,
                pairs ? PAIR_COLS : COLS, res, pairs ? "arm, " : "",
                pairs ? ", sum(ef), sum(af)" : "", pairs ? "arm, ef, af, " : "");
    per_target(&b, s, bin_case);
    csgp_qb_add(&b, " AS bin FROM (SELECT t, experiment_id, ch, champion_model, bd, dv, cd, ca, "
                    "xd, xa, %sg, feature, kind, ", pairs ? "arm, ef, af, " : "");
    per_target(&b, s, value_expr);
    csgp_qb_add(&b, " AS v FROM (SELECT ");
    csgp_qb_bucket(&b, res);
    csgp_qb_add(&b, " * %d AS t, experiment_id, coalesce(challenger_model, '') AS ch, "
                    "champion_model, CASE WHEN " CSGP_BOTH_DECIDED " THEN 1 ELSE 0 END AS bd, "
                    "CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision <> challenger_decision "
                    "THEN 1 ELSE 0 END AS dv, CASE WHEN champion_decision IS NOT NULL THEN 1 "
                    "ELSE 0 END AS cd, CASE WHEN champion_decision = 'approve' THEN 1 ELSE 0 "
                    "END AS ca, CASE WHEN challenger_model IS NOT NULL AND challenger_decision "
                    "IS NOT NULL THEN 1 ELSE 0 END AS xd, CASE WHEN challenger_model IS NOT "
                    "NULL AND challenger_decision = 'approve' THEN 1 ELSE 0 END AS xa, %s",
                res, pairs ? "arm, ef, af, features FROM " PAIR_ROWS
                           : "features, challenger_model, champion_score, challenger_score "
                             "FROM " CSGP_TABLE " m WHERE 1 = 1");
    for (int i = 0; i < s.n; i++)
        scores = scores || !s.g[i].feature;
    if (!pairs && !scores)
        csgp_qb_add(&b, " AND m.features IS NOT NULL");
    if (since_s != INT64_MIN) {
        csgp_format_ms(since_s * 1000, since);
        csgp_qb_add(&b, " AND m.\"timestamp\" >= ");
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = since},
                      csgp_qb_pg(&b) ? "timestamptz" : NULL);
    }
    /* the rows first (SQLite's CROSS JOIN keeps that order): one pass over them */
    csgp_qb_add(&b, "%s%s) r CROSS JOIN ", pairs ? ") j) p" : "", keep);
    targets_table(&b, s);
    csgp_qb_add(&b, "%s) x WHERE v IS NOT NULL) y WHERE bin IS NOT NULL GROUP BY t, "
                    "experiment_id, ch, champion_model, g, feature, kind, bin%s",
                keep, pairs ? ", arm" : "");
    upsert_tail(&b, pairs);
    return run(&b, err);
}

/* Which rows of a rollup table hold s's targets (after " WHERE "). */
static void targets_where(csgp_qb *b, span s)
{
    csgp_qb_add(b, "(");
    for (int i = 0; i < s.n; i++) {
        const target *g = &s.g[i];
        csgp_qb_add(b, "%s(kind = %d AND ", i ? " OR " : "", g->kind);
        if (g->feature) {
            csgp_qb_add(b, "feature = ");
            csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = g->feature}, "text");
        } else {
            csgp_qb_add(b, "feature = '' AND %s = ", g->kind == CSGP_FB_CHAMPION_SCORE
                                                        ? "champion_model"
                                                        : "challenger_model");
            csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = g->model}, "text");
        }
        csgp_qb_add(b, ")");
    }
    csgp_qb_add(b, ")");
}

/* s's days, summed from its hours just rebuilt (hours nest in UTC days). */
static int days_from_hours(csgp_db *db, span s, bool pairs, csg_error *err)
{
    const char *t = pairs ? "rollup_pair_features" : "rollup_features";
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO %s (%s, %s) SELECT 86400, t - ((t %% 86400) + 86400) %% 86400 "
                    "AS d, experiment_id, challenger_model, champion_model, feature, bin, kind, "
                    "%ssum(n), sum(both_decided), sum(diverge), sum(champion_decided), "
                    "sum(champion_approved), sum(challenger_decided), sum(challenger_approved)%s "
                    "FROM %s WHERE res = 3600 AND ",
                t, pairs ? PAIR_KEYS : KEYS, pairs ? PAIR_COLS : COLS, pairs ? "arm, " : "",
                pairs ? ", sum(ev_first), sum(arm_first)" : "", t);
    targets_where(&b, s);
    csgp_qb_add(&b, " GROUP BY d, experiment_id, challenger_model, champion_model, feature, bin, "
                    "kind%s", pairs ? ", arm" : "");
    upsert_tail(&b, pairs);
    return run(&b, err);
}

/* Each part of s whose targets' parameters fit one statement, in turn (at least one
 * target each). */
static int by_parts(csgp_db *db, span s, int (*each)(csgp_db *, span, void *, csg_error *),
                    void *arg, csg_error *err)
{
    int rc = 0;
    while (s.n && !rc) {
        span part = {s.g, 1};
        for (int cost = TARGET_PARAMS(&s.g[0]); part.n < s.n; part.n++) {
            if ((cost += TARGET_PARAMS(&s.g[part.n])) > CSGP_QB_MAX_PARAMS - OWN_PARAMS)
                break;
        }
        rc = each(db, part, arg, err);
        s.g += part.n;
        s.n -= part.n;
    }
    return rc;
}

/* What one statement of a table's rebuild counts: from the rows since (INT64_MIN: all),
 * at res. */
typedef struct pass {
    int res;
    int64_t since;
    bool pairs;
} pass;

static int rows_part(csgp_db *db, span s, void *arg, csg_error *err)
{
    const pass *p = arg;
    return from_rows(db, s, p->res, p->since, p->pairs, err);
}

static int delete_part(csgp_db *db, span s, void *arg, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "DELETE FROM %s WHERE ", *(bool *)arg ? "rollup_pair_features"
                                                           : "rollup_features");
    targets_where(&b, s);
    return run(&b, err);
}

static int days_part(csgp_db *db, span s, void *arg, csg_error *err)
{
    return days_from_hours(db, s, *(bool *)arg, err);
}

/* s's rows of one table, again: hours from the rows, days from the hours, minutes from the
 * rows of the minute window — each one statement for all of s's targets. */
static int rebuild_table(csgp_db *db, span s, bool pairs, csg_error *err)
{
    int64_t minute_from = csgp_rollup_minute_from(time(NULL));
    pass hours = {3600, INT64_MIN, pairs}, minutes = {CSGP_ROLLUP_MINUTE, minute_from, pairs};
    int rc = by_parts(db, s, delete_part, &pairs, err);
    if (!rc)
        rc = by_parts(db, s, rows_part, &hours, err);
    if (!rc)
        rc = by_parts(db, s, days_part, &pairs, err);
    if (!rc && minute_from != INT64_MAX)
        rc = by_parts(db, s, rows_part, &minutes, err);
    return rc;
}

/* Add only's entry o to the list (a score: both sides); listed twice: once (a statement
 * counts each key once). */
static int add_target(csgp_db *db, const char *const *only, const char *const *o, target *list,
                      int *n, int max, csg_error *err)
{
    size_t np = strlen(CSGP_FBINS_SCORE_PREFIX);
    bool score = !strncmp(*o, CSGP_FBINS_SCORE_PREFIX, np);
    for (const char *const *e = only; e < o; e++)
        if (!strcmp(*e, *o))
            return 0;
    if (*n + (score ? 2 : 1) > max)
        return csg_fail(err, CSG_EINVAL, "too many features to rebuild");
    target *g = &list[*n];
    *g = (target){.feature = score ? NULL : *o, .model = score ? *o + np : NULL,
                  .kind = score ? CSGP_FB_CHAMPION_SCORE : CSGP_FB_NUMBER};
    if (!score) {
        g->f.type = CSGP_FT_NUMBER;
        snprintf(g->f.name, sizeof g->f.name, "%s", *o);
        snprintf(g->f.path, sizeof g->f.path, "$.%s", *o);
    }
    int rc = csgp_fbins_bands(db, *o, g->edges, &g->n, err);
    if (rc)
        return rc;
    if (!g->n)
        return csg_fail(err, CSG_EINVAL, "no bands stored for %s", *o);
    if (score) { /* and the model's scores on the challenger side */
        g[1] = *g;
        g[1].kind = CSGP_FB_CHALLENGER_SCORE;
    }
    *n += score ? 2 : 1;
    return 0;
}

int csgp_fbins_rebuild_listed(csgp_db *db, const char *const *only, csg_error *err)
{
    int n = 0, max = CSG_EVENT_MAX_FEATURES + 4, rc = 0; /* a baseline's features + a score */
    target *list = calloc((size_t)max, sizeof *list);   /* ~30 kB: off the API's stack */
    if (!list)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    size_t np = strlen(CSGP_FBINS_SCORE_PREFIX);
    /* number features first: the per-challenger bins count them only */
    for (const char *const *o = only; *o && !rc; o++)
        if (strncmp(*o, CSGP_FBINS_SCORE_PREFIX, np))
            rc = add_target(db, only, o, list, &n, max, err);
    int nfeatures = n;
    for (const char *const *o = only; *o && !rc; o++)
        if (!strncmp(*o, CSGP_FBINS_SCORE_PREFIX, np))
            rc = add_target(db, only, o, list, &n, max, err);
    /* PostgreSQL, for this transaction: no JIT (it compiled these statements' long CASEs
     * for 8-9 s each at 200,000 rows, longer than they ran), and room to count the bins in
     * memory (the default 4 MB spilled them to disk; a larger count still spills) */
    static const char *const pg_settings[] = {"SET LOCAL jit = off",
                                              "SET LOCAL work_mem = '64MB'"};
    for (size_t i = 0; i < 2 && !rc && csgp_db_kind_of(db) == CSGP_DB_PG; i++)
        rc = csgp_db_exec(db, pg_settings[i], NULL, 0, NULL, err);
    if (!rc)
        rc = rebuild_table(db, (span){list, n}, false, err);
    if (!rc)
        rc = rebuild_table(db, (span){list, nfeatures}, true, err);
    free(list);
    return rc;
}
