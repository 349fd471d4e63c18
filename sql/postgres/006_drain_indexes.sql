-- 006: two indexes the drain paid for on every row and no query reads (issue 20 profile,
-- bench/results.md "Drain"):
--  * credit_score_metrics_event_idx: exactly-once is csg_event_ids' primary key (005); no
--    endpoint looks a row up by event_id.
--  * csg_event_ids_timestamp_idx: only `csg-persist purge` filters csg_event_ids by time, a
--    rare owner job that may scan the table once.
DROP INDEX IF EXISTS credit_score_metrics_event_idx;
DROP INDEX IF EXISTS csg_event_ids_timestamp_idx;
