/*
 * catalogue.h — the feature catalogue and the SQL of feature filters and segments
 * (DESIGN §7 "Any feature"; docs/persistence.md).
 *
 * Events carry `features` (event.h), stored as JSON in credit_score_metrics.features
 * (PostgreSQL jsonb, SQLite JSON text). The catalogue, table feature_catalogue, is learned
 * at ingest in the batch's own transaction, from the rows actually inserted (a redelivered
 * duplicate is not inserted, so it is not counted again): one row per feature name with
 * its type ("number" | "category" | "boolean", the first type seen; values of another type
 * stay in the rows but are neither counted nor matched by the feature's filters), its
 * count (stored events holding it) and, for categories, the CSGP_CATALOGUE_MAX_VALUES
 * smallest distinct values seen (byte order) with values_truncated once there were more.
 *
 * The REST side checks every feature a query names against the catalogue (unknown → 400,
 * wrong kind → 400) and reads feature values through type-guarded expressions, so a
 * value of another type is simply absent, never a cast error. Feature names reach SQL only
 * as parameters (PostgreSQL `features -> $n`, SQLite `json_extract(features, ?n)` with
 * "$.name"), after the name rule and the catalogue both accepted them.
 */
#ifndef CSGP_CATALOGUE_H
#define CSGP_CATALOGUE_H

#include <jansson.h>

#include "db.h"
#include "event.h"
#include "query.h"
#include "sqlb.h"

#define CSGP_CATALOGUE_MAX_VALUES 100 /* category values kept per feature */

/* "number", "category", "boolean"; NULL for CSGP_FT_UNKNOWN. */
const char *csgp_feature_type_name(csgp_feature_type t);

/* Count the features of ev[i] where fresh[i] != 0 into feature_catalogue. Runs inside the
 * caller's open transaction (db.c's batch insert), one upsert per feature name. */
int csgp_catalogue_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                       csg_error *err);

/* Look up every feature q names (filters and segments' by) in the catalogue and set its
 * type. 0; -CSG_EINVAL with *qerr filled (unknown feature, min/max on a non-number,
 * values on a number, a boolean value other than true/false, bands on a non-number);
 * or a database error in *err. */
int csgp_features_check(csgp_db *db, csgp_query *q, csgp_query_error *qerr, csg_error *err);

/* Append " AND …" for each feature filter of q (types set by csgp_features_check). */
void csgp_features_where(csgp_qb *b, const csgp_query *q);

/* Append the value of feature f as an SQL expression of its type (NULL when the row lacks
 * it or holds another type): float8 for numbers, text for categories, 'true'/'false' for
 * booleans. Adds one parameter. */
void csgp_features_expr(csgp_qb *b, const csgp_query_feature *f);

/* GET /metrics/features: {"features":[{"name","type","values"?,"values_truncated"?,
 * "count"}]} sorted by name (byte order). *out is the caller's. */
int csgp_features_json(csgp_db *db, json_t **out, csg_error *err);

#endif /* CSGP_CATALOGUE_H */
