-- 040: less index work per drained row (issue 20; bench/results.md "Drain",
-- docs/persistence.md "Rollups, partitions and purge").
--  * csg_event_ids.event_id compares in the "C" collation: the dedup key is an opaque id
--    matched byte for byte (as SQLite's BINARY does), so its primary key, probed and grown
--    by every drained row, skips the locale's comparison. The ingest's staging table
--    (persistence/db_insert.c) declares the same collation, which the join on event_id needs.
--  * credit_score_metrics_experiment_idx goes: no time-bounded query needs it (experiment
--    filters without row-level filters read the rollups; with one, the time range or the
--    applicant bounds the scan), and every row paid for it.
ALTER TABLE csg_event_ids ALTER COLUMN event_id TYPE text COLLATE "C";
DROP INDEX IF EXISTS credit_score_metrics_experiment_idx;
