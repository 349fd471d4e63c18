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

/* Features counted in one scan: at most GROUP_MAX, GROUP_PARAMS parameters (edges and two
 * names each, of sqlb.h's CSGP_QB_MAX_PARAMS, the rest for the statement's own). */
#define GROUP_MAX 32
#define GROUP_PARAMS 240

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

/* The rows' counts of g[0..ng) at resolution res (60 or 3600), from since_s on (INT64_MIN:
 * all), in one scan: a model's score side (ng = 1), or number features, each row crossed
 * with the features' indexes k (a constant table) and v its k-th feature's value. */
static int from_rows(csgp_db *db, const target *g, int ng, int res, int64_t since_s,
                     csg_error *err)
{
    if (ng < 1)
        return 0;
    char since[CSGP_TS_SIZE];
    csgp_query_feature f[GROUP_MAX]; /* their names are parameters until run */
    csgp_qb b;
    csgp_qb_init(&b, db);
    csgp_qb_add(&b, "INSERT INTO rollup_features (" KEYS ", " COLS ") SELECT %d, t, "
                    "experiment_id, ch, champion_model, feature, bin, %d, count(*), sum(bd), "
                    "sum(dv), sum(cd), sum(ca), sum(xd), sum(xa) FROM (SELECT t, experiment_id, "
                    "ch, champion_model, bd, dv, cd, ca, xd, xa, CASE k",
                res, g[0].kind);
    for (int i = 0; i < ng; i++) {
        csgp_qb_add(&b, " WHEN %d THEN ", i);
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT,
                                       .text = g[i].feature ? g[i].feature : ""}, "text");
    }
    csgp_qb_add(&b, " END AS feature, CASE k");
    for (int i = 0; i < ng; i++) {
        csgp_qb_add(&b, " WHEN %d THEN ", i);
        bin_case(&b, &g[i]);
    }
    csgp_qb_add(&b, " END AS bin FROM (SELECT x.*, k, CASE k");
    for (int i = 0; i < ng; i++) {
        csgp_qb_add(&b, " WHEN %d THEN ", i);
        if (g[i].feature) {
            f[i] = (csgp_query_feature){.type = CSGP_FT_NUMBER};
            snprintf(f[i].name, sizeof f[i].name, "%s", g[i].feature);
            snprintf(f[i].path, sizeof f[i].path, "$.%s", g[i].feature);
            csgp_features_expr(&b, &f[i]);
        } else {
            csgp_qb_add(&b, "sv");
        }
    }
    csgp_qb_add(&b, " END AS v FROM (SELECT ");
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
    if (g[0].feature) {
        csgp_qb_add(&b, "features FROM " CSGP_TABLE " WHERE features IS NOT NULL");
    } else {
        const char *side = g[0].kind == CSGP_FB_CHAMPION_SCORE ? "champion" : "challenger";
        csgp_qb_add(&b, "%s_score AS sv FROM " CSGP_TABLE " WHERE %s_score IS NOT NULL AND "
                        "%s_model = ", side, side, side);
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = g[0].model}, "text");
    }
    if (since_s != INT64_MIN) {
        csgp_format_ms(since_s * 1000, since);
        csgp_qb_add(&b, " AND \"timestamp\" >= ");
        csgp_qb_param(&b, (csgp_param){.type = CSGP_P_TEXT, .text = since},
                      csgp_qb_pg(&b) ? "timestamptz" : NULL);
    }
    csgp_qb_add(&b, ") x CROSS JOIN (SELECT 0 AS k");
    for (int i = 1; i < ng; i++)
        csgp_qb_add(&b, " UNION ALL SELECT %d", i);
    csgp_qb_add(&b, ") ks) w WHERE v IS NOT NULL) y WHERE bin IS NOT NULL GROUP BY t, "
                    "experiment_id, ch, champion_model, feature, bin");
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

/* Delete g[0..ng)'s rows, count them again: hours (one scan), days, minutes (one scan of
 * the window). */
static int rebuild_group(csgp_db *db, const target *g, int ng, csg_error *err)
{
    int rc = 0;
    for (int i = 0; i < ng && !rc; i++) {
        csgp_qb b;
        csgp_qb_init(&b, db);
        csgp_qb_add(&b, "DELETE FROM rollup_features WHERE ");
        target_where(&b, &g[i]);
        rc = run(&b, err);
    }
    int64_t minute_from = csgp_rollup_minute_from(time(NULL));
    if (!rc)
        rc = from_rows(db, g, ng, 3600, INT64_MIN, err);
    for (int i = 0; i < ng && !rc; i++)
        rc = days_from_hours(db, &g[i], err);
    if (!rc && minute_from != INT64_MAX)
        rc = from_rows(db, g, ng, CSGP_ROLLUP_MINUTE, minute_from, err);
    return rc;
}

int csgp_fbins_rebuild_listed(csgp_db *db, const char *const *only, csg_error *err)
{
    target g[GROUP_MAX];
    int ng = 0, params = 0, rc = 0;
    for (const char *const *o = only; *o && !rc; o++) {
        size_t np = strlen(CSGP_FBINS_SCORE_PREFIX);
        bool score = !strncmp(*o, CSGP_FBINS_SCORE_PREFIX, np);
        target t = {.feature = score ? NULL : *o, .model = score ? *o + np : NULL,
                    .kind = score ? CSGP_FB_CHAMPION_SCORE : CSGP_FB_NUMBER};
        if ((rc = csgp_fbins_bands(db, *o, t.edges, &t.n, err)))
            break;
        if (!t.n)
            return csg_fail(err, CSG_EINVAL, "no bands stored for %s", *o);
        if (score) { /* a model's score bins: each side on its own (a model filter) */
            if (!(rc = rebuild_group(db, &t, 1, err))) {
                t.kind = CSGP_FB_CHALLENGER_SCORE;
                rc = rebuild_group(db, &t, 1, err);
            }
            continue;
        }
        /* features share a scan while the statement's parameters last */
        if (ng && (ng == GROUP_MAX || params + t.n + 2 > GROUP_PARAMS)) {
            rc = rebuild_group(db, g, ng, err);
            ng = params = 0;
        }
        g[ng++] = t;
        params += t.n + 2;
    }
    return rc || !ng ? rc : rebuild_group(db, g, ng, err);
}
