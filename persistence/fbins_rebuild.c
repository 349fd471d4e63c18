/* fbins_rebuild.c — a stored baseline's rebuild of the feature-bin rollups whose bins it
 * changed (csgp_fbins_rebuild with a list; see fbins.h), in SQL: one INSERT … SELECT …
 * GROUP BY per feature or score and resolution instead of every stored row turned back
 * into an event in C (a million rows took over 30 s, past the API's connection timeout).
 * The SQL counts what fbins.c's count_event counts: a number feature's value (of JSON
 * type number) at the last band edge <= it, none below the first; a model's score at its
 * score bins ("-1" below the first); the seven segment values of
 * csgp_rollup_segment_values. Hours come from the rows, days from those hours, minutes
 * from the rows inside the minute window (rollup.h). */
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
static void upsert_tail(csgp_qb *b)
{
    csgp_qb_add(b, " ON CONFLICT (" KEYS ") DO UPDATE SET n = rollup_features.n + excluded.n, "
                   "both_decided = rollup_features.both_decided + excluded.both_decided, "
                   "diverge = rollup_features.diverge + excluded.diverge, "
                   "champion_decided = rollup_features.champion_decided + excluded.champion_decided, "
                   "champion_approved = rollup_features.champion_approved + "
                   "excluded.champion_approved, challenger_decided = "
                   "rollup_features.challenger_decided + excluded.challenger_decided, "
                   "challenger_approved = rollup_features.challenger_approved + "
                   "excluded.challenger_approved");
}

static int run(csgp_qb *b, csg_error *err)
{
    if (b->overflow)
        return csg_fail(err, CSG_EINVAL, "rebuild statement too long");
    return csgp_db_exec(b->db, b->sql, b->p, b->np, NULL, err);
}

/* The rows' counts of g at resolution res (60 or 3600), from since_s on (INT64_MIN: all). */
static int from_rows(csgp_db *db, const target *g, int res, int64_t since_s, csg_error *err)
{
    char since[CSGP_TS_SIZE];
    csgp_query_feature f = {.type = CSGP_FT_NUMBER}; /* its name is a parameter until run */
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO rollup_features (" KEYS ", " COLS ") SELECT %d, t, "
                    "experiment_id, ch, champion_model, ", res);
    csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = g->feature ? g->feature : ""},
                  "text");
    csgp_qb_add(&b, ", bin, %d, count(*), sum(bd), sum(dv), sum(cd), sum(ca), sum(xd), sum(xa) "
                    "FROM (SELECT t, experiment_id, ch, champion_model, bd, dv, cd, ca, xd, xa, ",
                g->kind);
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
                    "NULL AND challenger_decision = 'approve' THEN 1 ELSE 0 END AS xa, ",
                res);
    if (g->feature) {
        snprintf(f.name, sizeof f.name, "%s", g->feature);
        snprintf(f.path, sizeof f.path, "$.%s", g->feature);
        csgp_features_expr(&b, &f);
        csgp_qb_add(&b, " AS v FROM " CSGP_TABLE " WHERE features IS NOT NULL");
    } else {
        const char *side = g->kind == CSGP_FB_CHAMPION_SCORE ? "champion" : "challenger";
        csgp_qb_add(&b, "%s_score AS v FROM " CSGP_TABLE " WHERE %s_score IS NOT NULL AND "
                        "%s_model = ", side, side, side);
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = g->model}, "text");
    }
    if (since_s != INT64_MIN) {
        csgp_format_ms(since_s * 1000, since);
        csgp_qb_add(&b, " AND \"timestamp\" >= ");
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = since},
                      csgp_qb_pg(&b) ? "timestamptz" : NULL);
    }
    csgp_qb_add(&b, ") x WHERE v IS NOT NULL) y WHERE bin IS NOT NULL GROUP BY t, "
                    "experiment_id, ch, champion_model, bin");
    upsert_tail(&b);
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
static int days_from_hours(csgp_db *db, const target *g, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO rollup_features (" KEYS ", " COLS ") SELECT 86400, "
                    "t - ((t %% 86400) + 86400) %% 86400 AS d, experiment_id, challenger_model, "
                    "champion_model, feature, bin, kind, sum(n), sum(both_decided), sum(diverge), "
                    "sum(champion_decided), sum(champion_approved), sum(challenger_decided), "
                    "sum(challenger_approved) FROM rollup_features WHERE res = 3600 AND ");
    target_where(&b, g);
    csgp_qb_add(&b, " GROUP BY d, experiment_id, challenger_model, champion_model, feature, bin, "
                    "kind");
    upsert_tail(&b);
    return run(&b, err);
}

static int rebuild_target(csgp_db *db, const target *g, csg_error *err)
{
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "DELETE FROM rollup_features WHERE ");
    target_where(&b, g);
    int rc = run(&b, err);
    int64_t minute_from = csgp_rollup_minute_from(time(NULL));
    if (!rc)
        rc = from_rows(db, g, 3600, INT64_MIN, err);
    if (!rc)
        rc = days_from_hours(db, g, err);
    if (!rc && minute_from != INT64_MAX)
        rc = from_rows(db, g, CSGP_ROLLUP_MINUTE, minute_from, err);
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
        rc = rebuild_target(db, &g, err);
        if (!rc && score) { /* and the model's scores on the challenger side */
            g.kind = CSGP_FB_CHALLENGER_SCORE;
            rc = rebuild_target(db, &g, err);
        }
    }
    return rc;
}
