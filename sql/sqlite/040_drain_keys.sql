-- 040: PostgreSQL's drain keys (sql/postgres/040_drain_keys.sql): the experiment index goes
-- here too (no query needs it); SQLite already compares event_id byte for byte (BINARY).
DROP INDEX IF EXISTS credit_score_metrics_experiment_idx;
