-- 003: adverse-action reason codes — same columns as sql/postgres/003_reasons.sql. SQLite
-- has no arrays: each list is JSON text ('["INCOME","DEBT"]', '[]' when the model answered
-- without reasons, NULL when it gave no answer or for older events — existing rows), read
-- by /metrics/reasons with json_extract(col, '$[0]') and json_each().
ALTER TABLE credit_score_metrics ADD COLUMN champion_reasons TEXT
    CHECK (champion_reasons IS NULL OR json_type(champion_reasons) = 'array');
ALTER TABLE credit_score_metrics ADD COLUMN challenger_reasons TEXT
    CHECK (challenger_reasons IS NULL OR json_type(challenger_reasons) = 'array');
