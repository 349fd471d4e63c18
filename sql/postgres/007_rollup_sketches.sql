-- 007: one rollup row per key and period for the latency sketch and the score histogram,
-- the whole histogram in one text column `sketch` ("bucket:count,…", buckets ascending;
-- persistence/sketch.h) instead of one row per bucket. The drain upserted ~0.3 sketch rows
-- per event, and /metrics/latency?bucket=1h over 30 days read ~10^5 rows (issue 20). The
-- rows already rolled up are converted here (rollups outlive purged rows, so they are not
-- rebuilt from rows).
CREATE TABLE rollup_latency_new (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    role integer NOT NULL,
    count bigint NOT NULL, total double precision NOT NULL, sketch text NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role)
);
INSERT INTO rollup_latency_new
SELECT res, t, experiment_id, challenger_model, model, role, sum(count), sum(total),
       string_agg(bucket || ':' || count, ',' ORDER BY bucket)
  FROM rollup_latency GROUP BY res, t, experiment_id, challenger_model, model, role;
DROP TABLE rollup_latency;
ALTER TABLE rollup_latency_new RENAME TO rollup_latency;
ALTER TABLE rollup_latency RENAME CONSTRAINT rollup_latency_new_pkey TO rollup_latency_pkey;

CREATE TABLE rollup_scores_new (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    role integer NOT NULL,
    count bigint NOT NULL, sketch text NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role)
);
INSERT INTO rollup_scores_new
SELECT res, t, experiment_id, challenger_model, model, role, sum(count),
       string_agg(bin || ':' || count, ',' ORDER BY bin)
  FROM rollup_scores GROUP BY res, t, experiment_id, challenger_model, model, role;
DROP TABLE rollup_scores;
ALTER TABLE rollup_scores_new RENAME TO rollup_scores;
ALTER TABLE rollup_scores RENAME CONSTRAINT rollup_scores_new_pkey TO rollup_scores_pkey;

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON rollup_latency, rollup_scores TO csg_app;
  END IF;
END $$;
