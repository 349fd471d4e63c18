/* fbins_rebuild.c — a stored baseline's rebuild of the feature-bin rollups whose bins it
 * changed (csgp_fbins_rebuild with a list; see fbins.h), in SQL: one INSERT … SELECT …
 * GROUP BY per feature or score and resolution instead of every stored row turned back
 * into an event in C (a million rows took over 30 s, past the API's connection timeout).
 * The SQL counts what fbins.c's count_event counts: a number feature's value (of JSON
 * type number) at the last band edge <= it (a baseline's bands are open below, so none
 * falls under the first, which ingest counts in bin -1 for frozen deciles); a model's score at its
 * score bins ("-1" below the first); the seven segment values of
 * csgp_rollup_segment_values, and for a number feature each challenger result's bin
 * (rollup_pair_features, as csgp_rollup_pair_values counts it). Hours come from the rows,
 * days from those hours, minutes from the rows inside the minute window (rollup.h). */
#include <math.h>
#include <stdio.h>
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
} target;

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

/* The rows' counts of g at resolution res (60 or 3600), from since_s on (INT64_MIN: all);
 * pairs: per challenger result into rollup_pair_features (number features only). */
static int from_rows(csgp_db *db, const target *g, int res, int64_t since_s, bool pairs,
                     csg_error *err)
{
    char since[CSGP_TS_SIZE];
    csgp_query_feature f = {.type = CSGP_FT_NUMBER}; /* its name is a parameter until run */
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO %s (%s, %s) SELECT %d, t, experiment_id, ch, champion_model, ",
                pairs ? "rollup_pair_features" : "rollup_features", pairs ? PAIR_KEYS : KEYS,
                pairs ? PAIR_COLS : COLS, res);
    csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = g->feature ? g->feature : ""},
                  "text");
    csgp_qb_add(&b, ", bin, %d, %scount(*), sum(bd), sum(dv), sum(cd), sum(ca), sum(xd), sum(xa)"
                    "%s FROM (SELECT t, experiment_id, ch, champion_model, bd, dv, cd, ca, xd, xa, "
                    "%s",
                g->kind, pairs ? "arm, " : "", pairs ? ", sum(ef), sum(af)" : "",
                pairs ? "arm, ef, af, " : "");
    bin_case(&b, g);
    csgp_qb_add(&b, " AS bin FROM (SELECT ");
    csgp_qb_bucket(&b, res);
    csgp_qb_add(&b, " * %d AS t, experiment_id, coalesce(challenger_model, '') AS ch, "
                    "champion_model, CASE WHEN " CSGP_BOTH_DECIDED " THEN 1 ELSE 0 END AS bd, "
                    "CASE WHEN " CSGP_BOTH_DECIDED " AND champion_decision <> challenger_decision "
                    "THEN 1 ELSE 0 END AS dv, CASE WHEN champion_decision IS NOT NULL THEN 1 "
                    "ELSE 0 END AS cd, CASE WHEN champion_decision = 'approve' THEN 1 ELSE 0 "
                    "END AS ca, CASE WHEN challenger_model IS NOT NULL AND challenger_decision "
                    "IS NOT NULL THEN 1 ELSE 0 END AS xd, CASE WHEN challenger_model IS NOT "
                    "NULL AND challenger_decision = 'approve' THEN 1 ELSE 0 END AS xa, %s",
                res, pairs ? "arm, ef, af, " : "");
    if (g->feature) {
        snprintf(f.name, sizeof f.name, "%s", g->feature);
        snprintf(f.path, sizeof f.path, "$.%s", g->feature);
        csgp_features_expr(&b, &f);
        csgp_qb_add(&b, pairs ? " AS v FROM " PAIR_ROWS
                              : " AS v FROM " CSGP_TABLE " WHERE features IS NOT NULL");
    } else {
        const char *side = g->kind == CSGP_FB_CHAMPION_SCORE ? "champion" : "challenger";
        csgp_qb_add(&b, "%s_score AS v FROM " CSGP_TABLE " WHERE %s_score IS NOT NULL AND "
                        "%s_model = ", side, side, side);
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = g->model}, "text");
    }
    if (since_s != INT64_MIN) {
        csgp_format_ms(since_s * 1000, since);
        csgp_qb_add(&b, " AND %s\"timestamp\" >= ", pairs ? "m." : "");
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = since},
                      csgp_qb_pg(&b) ? "timestamptz" : NULL);
    }
    if (pairs)
        csgp_qb_add(&b, ") j) p");
    csgp_qb_add(&b, ") x WHERE v IS NOT NULL) y WHERE bin IS NOT NULL GROUP BY t, "
                    "experiment_id, ch, champion_model, bin%s", pairs ? ", arm" : "");
    upsert_tail(&b, pairs);
    return run(&b, err);
}

/* Which rollup_features rows hold g (after " WHERE "). */
static void target_where(csgp_qb *b, const target *g)
{
    if (g->feature) {
        csgp_qb_add(b, "kind = %d AND feature = ", g->kind);
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = g->feature}, "text");
    } else {
        csgp_qb_add(b, "kind = %d AND %s = ", g->kind,
                    g->kind == CSGP_FB_CHAMPION_SCORE ? "champion_model" : "challenger_model");
        csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = g->model}, "text");
    }
}

/* g's days, summed from its hours just rebuilt (hours nest in UTC days). */
static int days_from_hours(csgp_db *db, const target *g, bool pairs, csg_error *err)
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
    target_where(&b, g);
    csgp_qb_add(&b, " GROUP BY d, experiment_id, challenger_model, champion_model, feature, bin, "
                    "kind%s", pairs ? ", arm" : "");
    upsert_tail(&b, pairs);
    return run(&b, err);
}

/* g's rows of one table, again: hours from the rows, days from the hours, minutes from the
 * rows of the minute window. */
static int rebuild_target(csgp_db *db, const target *g, bool pairs, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "DELETE FROM %s WHERE ", pairs ? "rollup_pair_features" : "rollup_features");
    target_where(&b, g);
    int rc = run(&b, err);
    int64_t minute_from = csgp_rollup_minute_from(time(NULL));
    if (!rc)
        rc = from_rows(db, g, 3600, INT64_MIN, pairs, err);
    if (!rc)
        rc = days_from_hours(db, g, pairs, err);
    if (!rc && minute_from != INT64_MAX)
        rc = from_rows(db, g, CSGP_ROLLUP_MINUTE, minute_from, pairs, err);
    return rc;
}

int csgp_fbins_rebuild_listed(csgp_db *db, const char *const *only, csg_error *err)
{
    int rc = 0;
    for (const char *const *o = only; *o && !rc; o++) {
        size_t np = strlen(CSGP_FBINS_SCORE_PREFIX);
        bool score = !strncmp(*o, CSGP_FBINS_SCORE_PREFIX, np);
        target g = {.feature = score ? NULL : *o, .model = score ? *o + np : NULL,
                    .kind = score ? CSGP_FB_CHAMPION_SCORE : CSGP_FB_NUMBER};
        if ((rc = csgp_fbins_bands(db, *o, g.edges, &g.n, err)))
            break;
        if (!g.n)
            return csg_fail(err, CSG_EINVAL, "no bands stored for %s", *o);
        rc = rebuild_target(db, &g, false, err);
        if (!rc && score) { /* and the model's scores on the challenger side */
            g.kind = CSGP_FB_CHALLENGER_SCORE;
            rc = rebuild_target(db, &g, false, err);
        } else if (!rc) { /* a number feature's bins per challenger result too */
            rc = rebuild_target(db, &g, true, err);
        }
    }
    return rc;
}
