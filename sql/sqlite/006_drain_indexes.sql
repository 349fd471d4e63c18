-- 006: PostgreSQL drops two indexes the drain paid for (sql/postgres/006_drain_indexes.sql);
-- SQLite never had them. Numbered alike so both backends report the same schema version.
SELECT 1;
