/*
 * retention.h — day partitions and purge (DESIGN §7 "Scale", docs/persistence.md
 * "Partitions and purge"). Run as the schema owner (csg_owner): the service role may
 * neither create partitions nor delete rows, and PostgreSQL refuses it.
 *
 * PostgreSQL: credit_score_metrics is partitioned by UTC day (migration 005), with a
 * default partition for days without one. csgp_partitions_upkeep creates the partitions of
 * the days around today and of every day found in the default partition (moving its rows).
 * csgp_purge drops the day partitions that end on or before the cut-off, deletes the older
 * rows left elsewhere and forgets their event_ids (csg_event_ids); rollups stay, and the
 * feature catalogue's counts lose the purged events first (same transaction).
 * SQLite: no partitions (upkeep only expires minute rollups); purge deletes the rows.
 */
#ifndef CSGP_RETENTION_H
#define CSGP_RETENTION_H

#include <stdint.h>

#include "db.h"

/* Partitions for today − 1 … today + days_ahead (UTC) and for the days held in the default
 * partition (PostgreSQL), and the minute rollups older than the minute window deleted
 * (both backends); *created and *minutes (optional) get how many partitions were new and
 * how many minute rows went. One transaction. */
int csgp_partitions_upkeep(csgp_db *db, int days_ahead, int *created, int64_t *minutes,
                           csg_error *err);

/* Raw rows with "timestamp" < before_ms are removed; *partitions (dropped, PostgreSQL) and
 * *rows (removed) are optional. One transaction. */
int csgp_purge(csgp_db *db, int64_t before_ms, int64_t *partitions, int64_t *rows,
               csg_error *err);

#endif /* CSGP_RETENTION_H */
