/*
 * rollup.h — pre-aggregated metrics written with the rows (DESIGN §7 "Scale",
 * docs/persistence.md "Rollups").
 *
 * Six tables, each at three resolutions (res = 3600: per hour, res = 86400: per day, both
 * kept for all data; res = 60: per minute, only for minutes within the minute window before
 * now — see csgp_rollup_minute_from), keyed by the bucket start t (epoch seconds, floor of the event's
 * timestamp) and the dimensions the REST filters can name without reading rows:
 *  - rollup_counts   (experiment_id, config_version, champion_model, challenger_model,
 *                     transport, status): events, with a challenger, decision pairs,
 *                     divergences, decision_diff count and sum, per role decided/approved;
 *  - rollup_latency  (experiment_id, challenger_model, role, model): count and sum of the
 *                     latencies, and the latency sketch (sketch.h) as one text value;
 *  - rollup_scores   (experiment_id, challenger_model, role, model): count, and the score
 *                     histogram (CSGP_ROLLUP_SCORE_BINS bins of [0, 1]) in sketch.h's form;
 *  - rollup_segments (experiment_id, challenger_model, by_col, band, champion_model): per
 *                     default band of income / loan_amount / credit_history (query.c's
 *                     defaults) events, both-decided, divergences, per role decided/approved;
 *  - rollup_features (… feature, bin, kind): the same per feature bin and model score bin
 *                     (fbins.h counts it).
 * A missing challenger_model or config_version is '' in the keys (key columns are NOT NULL).
 * The per-challenger rollups rollup_pair_counts / _latency / _scores (migration 050,
 * rollup_pairs.c) and rollup_pair_segments / _reason_codes / _features (migration 075)
 * have the same keys plus arm ('live' | 'shadow', as the view challenger_pairs) and count
 * each challenger result (challenger_results) as a request of its own, as the rows of
 * challenger_pairs are: they answer arm= and requests with several challengers
 * (assignment: all). ev_first / arm_first count each request once (its first result; its
 * first in that arm), as the rows' count(DISTINCT id).
 *
 * Ingest calls csgp_rollup_add inside the batch's transaction with the rows actually
 * inserted (a redelivered duplicate is not inserted, so it never counts twice); the batch
 * is merged in memory and written as upserts (count = count + excluded.count), in key
 * order, so two consumers never deadlock. Everything is computed here, in C, from the
 * event — PostgreSQL and SQLite store the same numbers.
 */
#ifndef CSGP_ROLLUP_H
#define CSGP_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "event.h"
#include "query.h"

#define CSGP_ROLLUP_SCORE_BINS 100 /* distribution bins= that divide it read rollups */

/* Per-minute rollups for recent data (docs/persistence.md "Rollups"): an event's minute
 * t is counted at res = 60 when t >= now - window at ingest, so minute rows are complete
 * for any range starting at or after now - window; older ones are deleted. */
#define CSGP_ROLLUP_MINUTE 60
#define CSGP_ROLLUP_MINUTE_WINDOW_DEFAULT (48 * 3600)
/* Set the window (seconds; 0: no minute rollups). csg-persist --minute-window. */
void csgp_rollup_set_minute_window(int64_t seconds);
/* The first minute start (epoch s) with minute rollups at now_s; INT64_MAX when off. */
int64_t csgp_rollup_minute_from(int64_t now_s);

typedef struct csgp_rollup csgp_rollup;

/* An empty accumulator (minute rows from csgp_rollup_minute_from(now)); NULL when out of
 * memory. Free with csgp_rollup_free. */
csgp_rollup *csgp_rollup_new(void);
/* The same, counting the minute level alone (migration 065's rebuild). */
csgp_rollup *csgp_rollup_new_minutes(void);
void csgp_rollup_free(csgp_rollup *r);
/* Count one stored event. 0 or -CSG_ENOMEM. */
int csgp_rollup_event(csgp_rollup *r, const csgp_event *e);
/* Count one challenger result as a request of its own into the per-challenger tables
 * (rollup_pairs.c): pair is the event with the result in its challenger_* fields; arm
 * "live" or "shadow"; ev_first / arm_first: the request's first result (in that arm). */
int csgp_rollup_pair(csgp_rollup *r, const csgp_event *pair, const char *arm, bool ev_first,
                     bool arm_first);
/* Count every challenger result of e with csgp_rollup_pair (rollup_pairs.c). */
int csgp_rollup_pairs(csgp_rollup *r, const csgp_event *e);
/* The segment values of each challenger result of e (csgp_rollup_pair_values), for the
 * feature bins per challenger (fbins.c): the result's model and arm, then
 * csgp_rollup_segment_values of the pair and its ev_first, arm_first. */
#define CSGP_ROLLUP_SEGMENT_VALUES 7
#define CSGP_ROLLUP_PAIR_VALUES (CSGP_ROLLUP_SEGMENT_VALUES + 2)
typedef struct csgp_rollup_pairvals {
    int n;
    struct {
        const char *model, *arm; /* into e */
        int64_t v[CSGP_ROLLUP_PAIR_VALUES];
    } p[CSG_EVENT_MAX_CHALLENGERS];
} csgp_rollup_pairvals;
void csgp_rollup_pair_values(const csgp_event *e, csgp_rollup_pairvals *out);
/* Upsert what was counted into the rollup tables (inside the caller's transaction) and
 * empty the accumulator. 0 or a database error. */
int csgp_rollup_flush(csgp_rollup *r, csgp_db *db, csg_error *err);

/* The insert path: count ev[i] and its challenger results for every fresh[i] and write,
 * in the open transaction; every few minutes it also deletes expired minute rows. */
int csgp_rollup_add(csgp_db *db, const csgp_event *ev, const unsigned char *fresh, size_t n,
                    csg_error *err);
/* The same counting and writing with the caller's accumulator r (left empty). */
int csgp_rollup_add_into(csgp_rollup *r, csgp_db *db, const csgp_event *ev,
                         const unsigned char *fresh, size_t n, csg_error *err);
/* Delete the minute rows (res = 60) of every rollup table with t < before_s (epoch s), in
 * the open transaction (retention.c; on PostgreSQL through csg_expire_minute_rollups, so
 * the service role may). *deleted (optional): rows deleted. */
int csgp_rollup_expire_minutes(csgp_db *db, int64_t before_s, int64_t *deleted, csg_error *err);
/* Migration 065: delete every minute row of the tables there are then (the per-event and
 * 050's per-challenger ones) and count the stored rows of the window's minutes (and their
 * challenger results) again at res = 60, in the open transaction. */
int csgp_rollup_rebuild_minutes(csgp_db *db, int64_t *rows, csg_error *err);

/* Which rollups csgp_rollup_rebuild builds: the per-event tables (migration 007), the
 * per-challenger ones of migration 050 (counts, latency, scores) or of 075 (segments,
 * reason codes, feature bins). */
typedef enum { CSGP_REBUILD_EVENTS, CSGP_REBUILD_PAIRS, CSGP_REBUILD_PAIR_SEGMENTS } csgp_rebuild;
/* Empty those rollup tables and build them again from every stored row (and, for the
 * per-challenger ones, its challenger_results), in the open transaction; the others are
 * left alone (rollups outlive purged rows). *rows (optional) gets how many rows (pairs:
 * challenger results) were read. */
int csgp_rollup_rebuild(csgp_db *db, csgp_rebuild which, int64_t *rows, csg_error *err);

/* A segment rollup row's counts for one event: events (1), both decided, divergences,
 * champion decided / approved, challenger decided / approved; from the two decisions
 * (csgp_rollup_decision_values) or from e. */
void csgp_rollup_decision_values(csgp_decision cd, csgp_decision xd, bool has_challenger,
                                 int64_t v[CSGP_ROLLUP_SEGMENT_VALUES]);
void csgp_rollup_segment_values(const csgp_event *e, int64_t v[CSGP_ROLLUP_SEGMENT_VALUES]);
/* Add v (csgp_rollup_segment_values) to e's rollup_features row (feature, bin, kind) at
 * every resolution (fbins.c), and with pv (optional) each challenger result's values to
 * its rollup_pair_features row. 0 or -CSG_ENOMEM. */
int csgp_rollup_count_feature(csgp_rollup *r, const csgp_event *e, const char *feature,
                              const char *bin, int kind, const int64_t *v,
                              const csgp_rollup_pairvals *pv);

/* Call fn on every stored row turned back into an event (features included; with results,
 * its challenger_results too, in ord order), in id order, a chunk at a time
 * (rollup_rebuild.c); *rows (optional) gets how many rows (results: how many results)
 * were read. */
typedef int (*csgp_scan_fn)(csgp_db *db, const csgp_event *ev, size_t n, void *arg,
                            csg_error *err);
int csgp_rollup_scan(csgp_db *db, bool results, csgp_scan_fn fn, void *arg, int64_t *rows,
                     csg_error *err);

/* Name of rollup table i (0, 1, …: the per-event ones, then the per-challenger ones),
 * NULL past the last. */
const char *csgp_rollup_table(int i);

/* The rollup resolution (86400, 3600 or 60) that answers q exactly — no row-level filter
 * (applicant_id, income, features), from/to on its boundaries, bucket_s (0: none) a
 * multiple of it; 60 only when from is set and inside the minute window — or 0 when q
 * needs rows. per_challenger: the endpoint reads the
 * per-challenger rollups for arm= and several-challenger data (summary, latency,
 * distribution); else those need rows too. */
int csgp_rollup_res(const csgp_query *q, int64_t bucket_s, bool per_challenger);
/* Band of x among edges[0..n): the last edge <= x, or -1 below the first. */
int csgp_rollup_band(const double *edges, int n, double x);

#endif /* CSGP_ROLLUP_H */
