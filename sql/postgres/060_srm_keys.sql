-- 060: SRM's first-seen keys compare byte for byte (issue 20, bench/results.md "Drain,
-- session 7"). Every drained gateway event (it carries config_version) probes and grows
-- srm_first_seen's primary key, and the batch's first-seen rows are sorted by the same keys
-- first: in the cluster's locale both cost a strcoll per comparison, and together they were
-- about a fifth of the database's time per batch. Nothing joins this table (SRM reads
-- srm_counts), so its collation is its own; the ingest's staging table declares the same
-- (persistence/pgcopy.h), so the sort and the key agree.
ALTER TABLE srm_first_seen
    ALTER COLUMN config_version TYPE text COLLATE "C",
    ALTER COLUMN applicant_id TYPE text COLLATE "C";
