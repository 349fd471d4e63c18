/* reasons.c — GET /metrics/reasons: reason codes of declines per model (see reasons.h).
 *
 * Three statements per request, all through the shared filter builder (sqlb.c): per role
 * the declines of each model, per role the code counts (PostgreSQL: unnest(text[]) WITH
 * ORDINALITY; SQLite: json_each over the JSON text), and the agreement per pair. Codes are
 * sorted here, in C, so both backends order them the same (byte order, no collation). */
#include "reasons.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "rollq.h"
#include "sqlb.h"

/* The columns of one role; constants of this module, never input. */
static const struct role {
    const char *role, *model, *score, *decision, *reasons;
} roles[] = {
    {"champion", "champion_model", "champion_score", "champion_decision", "champion_reasons"},
    {"challenger", "challenger_model", "challenger_score", "challenger_decision",
     "challenger_reasons"},
};

/* One code of one model's declines. */
typedef struct code_count {
    char model[CSG_EVENT_NAME_MAX + 1];
    char code[CSG_REASON_CODE_MAX + 1];
    int64_t first, any;
} code_count;

/* " AND <the model answered decline>" for role r. */
static void qb_declined(csgp_qb *b, const struct role *r)
{
    csgp_qb_add(b, " AND %s IS NOT NULL AND %s = 'decline' AND %s IS NOT NULL", r->model,
                r->decision, r->score);
}

/* The first code of a list column (NULL for an empty or NULL list). */
static void qb_first(csgp_qb *b, const char *col)
{
    if (csgp_qb_pg(b))
        csgp_qb_add(b, "%s[1]", col);
    else
        csgp_qb_add(b, "json_extract(%s, '$[0]')", col);
}

/* "the list holds at least one code" (NULL for a NULL list). */
static void qb_nonempty(csgp_qb *b, const char *col)
{
    if (csgp_qb_pg(b))
        csgp_qb_add(b, "cardinality(%s) > 0", col);
    else
        csgp_qb_add(b, "json_array_length(%s) > 0", col);
}

static int cmp_code(const void *pa, const void *pb)
{
    const code_count *a = pa, *b = pb;
    int c = strcmp(a->model, b->model);
    if (c)
        return c;
    if (a->first != b->first)
        return a->first > b->first ? -1 : 1;
    if (a->any != b->any)
        return a->any > b->any ? -1 : 1;
    return strcmp(a->code, b->code);
}

/* Every code of role r's declines, per model: *out (malloc'd, sorted by cmp_code). */
static int code_counts(csgp_db *db, const csgp_query *q, int res, const struct role *r,
                       code_count **out, size_t *n, csg_error *err)
{
    csgp_qb b;
    csgp_rows *rows = NULL;
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csgp_qb_init(&b, db);
    if (res) {
        /* The champion's codes per challenger result (arm=) count its requests once, as
         * the rows' count(DISTINCT id), unless one challenger is named. */
        bool side = r != &roles[0], once = !side && csgp_rollq_on_pairs(q, side) &&
                                             !q->challenger_model[0];
        csgp_qb_add(&b, "SELECT model, code, sum(first), sum(%s)", once ? "any_first" : "any_count");
        csgp_rollq_from(&b, q, res, CSGP_R_REASONS, side);
        csgp_qb_add(&b, " AND role = %d GROUP BY model, code", side);
    } else {
    csgp_qb_add(&b, "SELECT m.model, u.%s, coalesce(sum(CASE WHEN u.%s THEN 1 ELSE 0 END), 0), "
                "count(DISTINCT m.id) FROM (SELECT id, %s AS model, %s AS r FROM %s",
                pg ? "code" : "value", pg ? "ord = 1" : "key = 0", r->model, r->reasons,
                csgp_qb_table(q, r != &roles[0]));
    csgp_qb_where(&b, q);
    qb_declined(&b, r);
    csgp_qb_add(&b, ") m%s GROUP BY m.model, u.%s",
                pg ? " CROSS JOIN LATERAL unnest(m.r) WITH ORDINALITY AS u(code, ord)"
                   : ", json_each(m.r) AS u",
                pg ? "code" : "value");
    }
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    code_count *v = NULL;
    size_t len = 0, cap = 0;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            code_count *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                s = -CSG_ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        code_count *c = &v[len++];
        snprintf(c->model, sizeof c->model, "%s", csgp_rows_text(rows, 0));
        snprintf(c->code, sizeof c->code, "%s", csgp_rows_text(rows, 1));
        c->first = csgp_rows_int(rows, 2);
        c->any = csgp_rows_int(rows, 3);
    }
    csgp_rows_free(rows);
    if (s < 0) {
        free(v);
        return s == -CSG_ENOMEM ? csg_fail(err, CSG_ENOMEM, "out of memory")
                                : csg_fail(err, CSGP_EDB, "reading reason rows failed");
    }
    if (len)
        qsort(v, len, sizeof *v, cmp_code);
    *out = v;
    *n = len;
    return 0;
}

/* The "reasons" array of one model from its sorted code counts. */
static json_t *model_reasons(const code_count *v, size_t n, const char *model, int64_t declines)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].model, model))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(v[i].code));
        json_object_set_new(o, "first", json_integer(v[i].first));
        json_object_set_new(o, "first_share", csgp_jratio(v[i].first, declines));
        json_object_set_new(o, "any", json_integer(v[i].any));
        json_object_set_new(o, "any_share", csgp_jratio(v[i].any, declines));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Append role r's models (declines, reasons) to models. */
static int role_models(csgp_db *db, const csgp_query *q, int res, const struct role *r,
                       json_t *models, csg_error *err)
{
    code_count *codes = NULL;
    size_t ncodes = 0;
    int rc = code_counts(db, q, res, r, &codes, &ncodes, err);
    if (rc)
        return rc;
    csgp_qb b;
    csgp_rows *rows = NULL;
    csgp_qb_init(&b, db);
    if (res) {
        const char *role = r == &roles[0] ? "champion" : "challenger";
        csgp_qb_add(&b, "SELECT %s, sum(%s_declines), sum(%s_unlisted)", r->model, role, role);
        csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, r != &roles[0]);
        csgp_qb_add(&b, "%s GROUP BY %s ORDER BY %s", r == &roles[0] ? "" : " AND challenger_model <> ''",
                    r->model, r->model);
    } else {
    csgp_qb_add(&b, "SELECT %s, coalesce(sum(CASE WHEN %s = 'decline' AND %s IS NOT NULL THEN 1 "
                "ELSE 0 END), 0), coalesce(sum(CASE WHEN %s = 'decline' AND %s IS NOT NULL AND "
                "%s IS NULL THEN 1 ELSE 0 END), 0) FROM %s",
                r->model, r->decision, r->score, r->decision, r->score, r->reasons,
                csgp_qb_table(q, r != &roles[0]));
    csgp_qb_where(&b, q);
    csgp_qb_add(&b, " AND %s IS NOT NULL GROUP BY %s ORDER BY %s", r->model, r->model, r->model);
    }
    if ((rc = csgp_qb_run(&b, &rows, err))) {
        free(codes);
        return rc;
    }
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        const char *model = csgp_rows_text(rows, 0);
        int64_t declines = csgp_rows_int(rows, 1), unlisted = csgp_rows_int(rows, 2);
        json_t *m = json_object();
        json_object_set_new(m, "model", json_string(model));
        json_object_set_new(m, "role", json_string(r->role));
        json_object_set_new(m, "declines", json_integer(declines));
        json_object_set_new(m, "reasons", model_reasons(codes, ncodes, model, declines));
        if (declines == 0)
            csgp_add_note(m, "no declines from this model");
        if (unlisted > 0) {
            char note[160];
            snprintf(note, sizeof note, "%lld of the declines carry no reason list (events "
                     "from an older gateway): counted in declines, under no code",
                     (long long)unlisted);
            csgp_add_note(m, note);
        }
        json_array_append_new(models, m);
    }
    csgp_rows_free(rows);
    free(codes);
    if (s < 0)
        return csg_fail(err, CSGP_EDB, "reading model rows failed");
    return 0;
}

/* Per champion/challenger pair: declines of both with reasons, and first-code matches. */
static int agreement(csgp_db *db, const csgp_query *q, int res, json_t *out, csg_error *err)
{
    csgp_qb b;
    csgp_rows *rows = NULL;
    csgp_qb_init(&b, db);
    if (res) {
        csgp_qb_add(&b, "SELECT champion_model, challenger_model, sum(both_declined_listed), "
                        "sum(first_agree)");
        csgp_rollq_from(&b, q, res, CSGP_R_COUNTS, true);
        csgp_qb_add(&b, " AND challenger_model <> '' GROUP BY champion_model, challenger_model "
                        "ORDER BY champion_model, challenger_model");
    }
    /* both declined, both answered, both lists non-empty */
    static const char *const both_sql =
        "champion_decision = 'decline' AND challenger_decision = 'decline' AND champion_score "
        "IS NOT NULL AND challenger_score IS NOT NULL AND ";
    for (int k = 0; k < 2 && !res; k++) {
        csgp_qb_add(&b, "%scoalesce(sum(CASE WHEN %s", k ? ", " : "SELECT champion_model, "
                    "challenger_model, ", both_sql);
        qb_nonempty(&b, "champion_reasons");
        csgp_qb_add(&b, " AND ");
        qb_nonempty(&b, "challenger_reasons");
        if (k) {
            csgp_qb_add(&b, " AND ");
            qb_first(&b, "champion_reasons");
            csgp_qb_add(&b, " = ");
            qb_first(&b, "challenger_reasons");
        }
        csgp_qb_add(&b, " THEN 1 ELSE 0 END), 0)");
    }
    if (!res) {
        csgp_qb_add(&b, " FROM %s", csgp_qb_table(q, true));
        csgp_qb_where(&b, q);
        csgp_qb_add(&b, " AND challenger_model IS NOT NULL GROUP BY champion_model, "
                        "challenger_model ORDER BY champion_model, challenger_model");
    }
    int rc = csgp_qb_run(&b, &rows, err);
    if (rc)
        return rc;
    int s;
    while ((s = csgp_rows_next(rows)) == 1) {
        int64_t both = csgp_rows_int(rows, 2), agree = csgp_rows_int(rows, 3);
        json_t *a = json_object();
        json_object_set_new(a, "champion", json_string(csgp_rows_text(rows, 0)));
        json_object_set_new(a, "challenger", json_string(csgp_rows_text(rows, 1)));
        json_object_set_new(a, "both_declined", json_integer(both));
        json_object_set_new(a, "first_agree", json_integer(agree));
        json_object_set_new(a, "rate", csgp_jratio(agree, both));
        if (both == 0)
            csgp_add_note(a, "no request where both declined with reasons: rate is null");
        json_array_append_new(out, a);
    }
    csgp_rows_free(rows);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading agreement rows failed") : 0;
}

int csgp_reasons_json(csgp_db *db, const csgp_query *q, int res, json_t **out, csg_error *err)
{
    json_t *o = json_object(), *models = json_array(), *agree = json_array();
    json_object_set_new(o, "models", models);
    json_object_set_new(o, "agreement", agree);
    int rc;
    for (size_t k = 0; k < sizeof roles / sizeof *roles; k++)
        if ((rc = role_models(db, q, res, &roles[k], models, err)))
            goto fail;
    if ((rc = agreement(db, q, res, agree, err)))
        goto fail;
    if (json_array_size(models) == 0)
        csgp_add_note(o, "no events match the filters");
    *out = o;
    return 0;
fail:
    json_decref(o);
    return rc;
}
