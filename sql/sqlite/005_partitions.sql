-- 005: day partitions and the dedup table are PostgreSQL's (sql/postgres/005_partitions.sql).
-- SQLite keeps one table with event_id UNIQUE; `csg-persist purge` deletes rows there.
-- Numbered alike so both backends report the same schema version.
SELECT 1;
