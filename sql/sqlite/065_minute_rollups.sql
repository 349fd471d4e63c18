-- 065: per-minute rollups for recent data — see sql/postgres/065_minute_rollups.sql. The
-- rollup tables already take res = 60; the step in C (persistence/migrate.c) builds them
-- for the recent rows. Nothing to change in the schema.
SELECT 1;
