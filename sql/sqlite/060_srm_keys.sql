-- 060: PostgreSQL's SRM key collation (sql/postgres/060_srm_keys.sql); SQLite already
-- compares them byte for byte (BINARY). Numbered alike so both backends report the same
-- schema version.
SELECT 1;
