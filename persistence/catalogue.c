/*
 * catalogue.c — the feature catalogue (learned at ingest) and the SQL of feature filters
 * and segments (see catalogue.h).
 */
#include "catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_scan.h"

static const char *const type_names[] = {
    [CSGP_FT_NUMBER] = "number", [CSGP_FT_CATEGORY] = "category", [CSGP_FT_BOOLEAN] = "boolean"};

const char *csgp_feature_type_name(csgp_feature_type t)
{
    return t > CSGP_FT_UNKNOWN && t <= CSGP_FT_BOOLEAN ? type_names[t] : NULL;
}

static csgp_feature_type type_from_name(const char *s)
{
    for (int t = CSGP_FT_NUMBER; t <= CSGP_FT_BOOLEAN; t++)
        if (!strcmp(s, type_names[t]))
            return (csgp_feature_type)t;
    return CSGP_FT_UNKNOWN;
}

static csgp_feature_type type_of(csgp_jv_type t)
{
    return t == CSGP_JV_INT || t == CSGP_JV_REAL ? CSGP_FT_NUMBER
           : t == CSGP_JV_STRING                 ? CSGP_FT_CATEGORY
           : t == CSGP_JV_TRUE || t == CSGP_JV_FALSE ? CSGP_FT_BOOLEAN
                                                     : CSGP_FT_UNKNOWN;
}

/* ------------------------------------------------------------------------ */
/* The catalogue at ingest                                                  */

/* One feature's share of a batch. */
typedef struct agg {
    char name[CSG_EVENT_FEATURE_NAME_MAX + 1];
    csgp_feature_type type;
    int64_t count;
    char *values[CSGP_CATALOGUE_MAX_VALUES]; /* distinct, sorted (strcmp), malloc'd */
    int nvalues;
    bool truncated;
} agg;

/* Keep the CSGP_CATALOGUE_MAX_VALUES smallest distinct values: the same set whatever the
 * order events arrive in, so the stored list does not depend on batching. */
static int agg_value(agg *a, const char *s)
{
    int lo = 0, hi = a->nvalues;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(a->values[mid], s);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (a->nvalues == CSGP_CATALOGUE_MAX_VALUES) {
        a->truncated = true;
        if (lo == a->nvalues)
            return 0;
        free(a->values[--a->nvalues]);
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    memmove(&a->values[lo + 1], &a->values[lo], (size_t)(a->nvalues - lo) * sizeof *a->values);
    a->values[lo] = copy;
    a->nvalues++;
    return 0;
}

static agg *agg_find(agg **aggs, size_t *naggs, size_t *cap, const char *name)
{
    for (size_t i = 0; i < *naggs; i++)
        if (!strcmp((*aggs)[i].name, name))
            return &(*aggs)[i];
    if (*naggs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        agg *np = realloc(*aggs, ncap * sizeof *np);
        if (!np)
            return NULL;
        *aggs = np;
        *cap = ncap;
    }
    agg *a = &(*aggs)[(*naggs)++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    return a;
}

/* Count one event's features (its validated JSON text). */
static int agg_event(const char *features, agg **aggs, size_t *naggs, size_t *cap)
{
    csgp_features_it it;
    if (!csgp_features_open(&it, features))
        return -1;
    csgp_feature f;
    int rc = 0;
    while (csgp_features_next(&it, &f)) {
        agg *a = agg_find(aggs, naggs, cap, f.name);
        if (!a) {
            rc = -1;
            break;
        }
        csgp_feature_type t = type_of(f.t);
        if (a->type == CSGP_FT_UNKNOWN)
            a->type = t;
        if (a->type != t)
            continue; /* the first type seen in the batch wins, as in the table */
        a->count++;
        if (t == CSGP_FT_CATEGORY && agg_value(a, f.s)) {
            rc = -1;
            break;
        }
    }
    csgp_features_close(&it);
    return rc;
}

/* Merge one batch's counts into the stored row: count added, the value lists united and
 * cut to the smallest CSGP_CATALOGUE_MAX_VALUES, only when the type agrees. */
static const char pg_upsert[] =
    "INSERT INTO feature_catalogue AS c (name, type, category_values, values_truncated, count) "
    "VALUES ($1, $2, $3::jsonb, $4::int <> 0, $5::bigint) ON CONFLICT (name) DO UPDATE SET "
    "count = c.count + EXCLUDED.count, "
    "category_values = (SELECT coalesce(jsonb_agg(v ORDER BY v COLLATE \"C\"), '[]'::jsonb) "
    "FROM (SELECT v FROM (SELECT jsonb_array_elements_text(c.category_values) AS v UNION "
    "SELECT jsonb_array_elements_text(EXCLUDED.category_values)) u ORDER BY v COLLATE \"C\" "
    "LIMIT 100) w), "
    "values_truncated = c.values_truncated OR EXCLUDED.values_truncated OR (SELECT count(*) "
    "FROM (SELECT jsonb_array_elements_text(c.category_values) UNION SELECT "
    "jsonb_array_elements_text(EXCLUDED.category_values)) u) > 100 "
    "WHERE c.type = EXCLUDED.type";
static const char lite_upsert[] =
    "INSERT INTO feature_catalogue (name, type, category_values, values_truncated, count) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
    "count = count + excluded.count, "
    "category_values = (SELECT coalesce(json_group_array(v), '[]') FROM (SELECT v FROM "
    "(SELECT value AS v FROM json_each(feature_catalogue.category_values) UNION SELECT value "
    "FROM json_each(excluded.category_values)) ORDER BY v LIMIT 100)), "
    "values_truncated = values_truncated OR excluded.values_truncated OR (SELECT count(*) FROM "
    "(SELECT value FROM json_each(feature_catalogue.category_values) UNION SELECT value FROM "
    "json_each(excluded.category_values))) > 100 "
    "WHERE type = excluded.type";
_Static_assert(CSGP_CATALOGUE_MAX_VALUES == 100, "the upserts' LIMIT 100 and > 100");

static int agg_store(csgp_db *db, const agg *a, csg_error *err)
{
    json_t *vals = json_array();
    for (int i = 0; vals && i < a->nvalues; i++)
        json_array_append_new(vals, json_string(a->values[i]));
    char *text = vals ? json_dumps(vals, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(vals);
    if (!text)
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    csgp_param p[5] = {{.type = CSGP_P_TEXT, .text = a->name},
                       {.type = CSGP_P_TEXT, .text = csgp_feature_type_name(a->type)},
                       {.type = CSGP_P_TEXT, .text = text},
                       {.type = CSGP_P_INT, .i = a->truncated},
                       {.type = CSGP_P_INT, .i = a->count}};
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    int rc = csgp_db_exec(db, pg ? pg_upsert : lite_upsert, p, 5, NULL, err);
    free(text);
    return rc;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const agg *)x)->name, ((const agg *)y)->name);
}

int csgp_catalogue_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                       csg_error *err)
{
    agg *aggs = NULL;
    size_t naggs = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (fresh[i] && ev[i].features && agg_event(ev[i].features, &aggs, &naggs, &cap))
            rc = csg_fail(err, CSG_ENOMEM, "out of memory counting features");
    /* Name order: concurrent consumers lock catalogue rows in the same order (no
     * deadlock between two members' batches). */
    if (naggs)
        qsort(aggs, naggs, sizeof *aggs, by_name);
    for (size_t i = 0; i < naggs && !rc; i++)
        rc = agg_store(db, &aggs[i], err);
    for (size_t i = 0; i < naggs; i++)
        for (int k = 0; k < aggs[i].nvalues; k++)
            free(aggs[i].values[k]);
    free(aggs);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The REST side                                                            */

static int lookup(csgp_db *db, const char *name, csgp_feature_type *type, csg_error *err)
{
    char sql[96], ph[16];
    snprintf(sql, sizeof sql, "SELECT type FROM feature_catalogue WHERE name = %s",
             csgp_db_ph(db, 1, NULL, ph, sizeof ph));
    csgp_param p = {.type = CSGP_P_TEXT, .text = name};
    csgp_rows *r;
    int rc = csgp_db_query(db, sql, &p, 1, &r, err);
    if (rc)
        return rc;
    int s = csgp_rows_next(r);
    *type = s == 1 ? type_from_name(csgp_rows_text(r, 0)) : CSGP_FT_UNKNOWN;
    csgp_rows_free(r);
    return s < 0 ? csg_fail(err, CSGP_EDB, "reading feature_catalogue failed") : 0;
}

static int refuse(csgp_query_error *qerr, const char *name, const char *suffix, const char *fmt,
                  const char *a, const char *b)
{
    snprintf(qerr->param, sizeof qerr->param, "%s%s%s", name[0] ? "f." : "", name, suffix);
    snprintf(qerr->message, sizeof qerr->message, fmt, a, b);
    return -CSG_EINVAL;
}

int csgp_features_check(csgp_db *db, csgp_query *q, csgp_query_error *qerr, csg_error *err)
{
    int rc;
    for (int i = 0; i < q->nfeatures; i++) {
        csgp_query_feature *f = &q->features[i];
        const char *sfx = f->has_min ? ".min" : f->has_max ? ".max" : "";
        if (!f->has_min && !f->has_max && !f->nvalues)
            continue; /* only empty values: not set */
        if ((rc = lookup(db, f->name, &f->type, err)))
            return rc;
        if (f->type == CSGP_FT_UNKNOWN)
            return refuse(qerr, f->name, sfx, "no feature \"%s\" in the catalogue%s", f->name,
                          " (GET /metrics/features lists them)");
        if ((f->has_min || f->has_max) && f->type != CSGP_FT_NUMBER)
            return refuse(qerr, f->name, sfx, "\"%s\" is a %s feature: .min/.max are for "
                          "number features (filter it with f.<name>=value)", f->name,
                          csgp_feature_type_name(f->type));
        if (f->nvalues && f->type == CSGP_FT_NUMBER)
            return refuse(qerr, f->name, "", "\"%s\" is a %s feature: filter it with "
                          "f.<name>.min and f.<name>.max", f->name, "number");
        for (int k = 0; f->type == CSGP_FT_BOOLEAN && k < q->nvalues; k++)
            if (q->values[k].feature == i && strcmp(q->values[k].text, "true") &&
                strcmp(q->values[k].text, "false"))
                return refuse(qerr, f->name, "", "\"%s\" is a %s feature: its values are "
                              "true and false", f->name, "boolean");
    }
    if (q->kind == CSGP_Q_SEGMENTS && q->by_is_feature) {
        csgp_query_feature *f = &q->by_feature;
        if ((rc = lookup(db, f->name, &f->type, err)))
            return rc;
        if (f->type == CSGP_FT_UNKNOWN)
            return refuse(qerr, "", "by", "no feature \"%s\" in the catalogue%s", f->name,
                          " (GET /metrics/features lists them)");
        if (q->nbands && f->type != CSGP_FT_NUMBER)
            return refuse(qerr, "", "bands", "\"%s\" is a %s feature: bands are for number "
                          "features (its segments are its values)", f->name,
                          csgp_feature_type_name(f->type));
    }
    return 0;
}

/* The typed value of a feature whose name (PostgreSQL) or JSON path (SQLite) is parameter
 * idx. In the templates '@' stands for that placeholder. */
static void expr_at(csgp_qb *b, csgp_feature_type t, int idx)
{
    static const char *const pg[] = {
        [CSGP_FT_NUMBER] = "CASE WHEN jsonb_typeof(features -> @) = 'number' THEN "
                           "(features ->> @)::float8 END",
        [CSGP_FT_CATEGORY] = "CASE WHEN jsonb_typeof(features -> @) = 'string' THEN "
                             "features ->> @ END",
        [CSGP_FT_BOOLEAN] = "CASE WHEN jsonb_typeof(features -> @) = 'boolean' THEN "
                            "features ->> @ END"};
    static const char *const lite[] = {
        [CSGP_FT_NUMBER] = "CASE WHEN json_type(features, @) IN ('integer', 'real') THEN "
                           "json_extract(features, @) END",
        [CSGP_FT_CATEGORY] = "CASE WHEN json_type(features, @) = 'text' THEN "
                             "json_extract(features, @) END",
        [CSGP_FT_BOOLEAN] = "CASE WHEN json_type(features, @) IN ('true', 'false') THEN "
                            "json_type(features, @) END"};
    if (t <= CSGP_FT_UNKNOWN || t > CSGP_FT_BOOLEAN) {
        csgp_qb_add(b, "NULL");
        return;
    }
    bool on_pg = csgp_qb_pg(b);
    const char *tpl = on_pg ? pg[t] : lite[t];
    for (const char *at; (at = strchr(tpl, '@')); tpl = at + 1) {
        csgp_qb_add(b, "%.*s", (int)(at - tpl), tpl);
        csgp_qb_ph(b, idx, on_pg ? "text" : NULL);
    }
    csgp_qb_add(b, "%s", tpl);
}

static int bind_name(csgp_qb *b, const csgp_query_feature *f)
{
    return csgp_qb_bind(b, (csgp_param){.type = CSGP_P_TEXT,
                                        .text = csgp_qb_pg(b) ? f->name : f->path});
}

void csgp_features_expr(csgp_qb *b, const csgp_query_feature *f)
{
    expr_at(b, f->type, bind_name(b, f));
}

void csgp_features_where(csgp_qb *b, const csgp_query *q)
{
    for (int i = 0; i < q->nfeatures; i++) {
        const csgp_query_feature *f = &q->features[i];
        if (f->type == CSGP_FT_UNKNOWN)
            continue; /* nothing set (csgp_features_check looked up every other one) */
        int idx = bind_name(b, f);
        if (f->has_min) {
            csgp_qb_add(b, " AND ");
            expr_at(b, f->type, idx);
            csgp_qb_add(b, " >= ");
            csgp_qb_real(b, f->min);
        }
        if (f->has_max) {
            csgp_qb_add(b, " AND ");
            expr_at(b, f->type, idx);
            csgp_qb_add(b, " <= ");
            csgp_qb_real(b, f->max);
        }
        if (!f->nvalues)
            continue;
        csgp_qb_add(b, " AND ");
        expr_at(b, f->type, idx);
        csgp_qb_add(b, " IN (");
        const char *sep = "";
        for (int k = 0; k < q->nvalues; k++) {
            if (q->values[k].feature != i)
                continue;
            csgp_qb_add(b, "%s", sep);
            csgp_qb_param(b, (csgp_param){.type = CSGP_P_TEXT, .text = q->values[k].text}, NULL);
            sep = ", ";
        }
        csgp_qb_add(b, ")");
    }
}

int csgp_features_json(csgp_db *db, json_t **out, csg_error *err)
{
    bool pg = csgp_db_kind_of(db) == CSGP_DB_PG;
    csgp_rows *r;
    int rc = csgp_db_query(db,
                           pg ? "SELECT name, type, category_values, values_truncated, count "
                                "FROM feature_catalogue ORDER BY name COLLATE \"C\""
                              : "SELECT name, type, category_values, values_truncated, count "
                                "FROM feature_catalogue ORDER BY name",
                           NULL, 0, &r, err);
    if (rc)
        return rc;
    json_t *list = json_array();
    int s;
    while ((s = csgp_rows_next(r)) == 1) {
        json_t *f = json_object();
        const char *type = csgp_rows_text(r, 1);
        json_object_set_new(f, "name", json_string(csgp_rows_text(r, 0)));
        json_object_set_new(f, "type", json_string(type));
        if (!strcmp(type, "category")) {
            json_t *vals = json_loads(csgp_rows_text(r, 2), 0, NULL);
            json_object_set_new(f, "values", json_is_array(vals) ? vals : json_array());
            if (!json_is_array(vals))
                json_decref(vals);
            if (csgp_rows_bool(r, 3) == 1)
                json_object_set_new(f, "values_truncated", json_true());
        }
        json_object_set_new(f, "count", json_integer(csgp_rows_int(r, 4)));
        json_array_append_new(list, f);
    }
    csgp_rows_free(r);
    if (s < 0) {
        json_decref(list);
        return csg_fail(err, CSGP_EDB, "reading feature_catalogue failed");
    }
    *out = json_object();
    json_object_set_new(*out, "features", list);
    return 0;
}
