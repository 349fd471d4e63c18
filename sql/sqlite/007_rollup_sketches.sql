-- 007: one rollup row per key and period for the latency sketch and the score histogram,
-- the whole histogram in one text column `sketch` ("bucket:count,…"; persistence/sketch.h)
-- instead of one row per bucket (sql/postgres/007_rollup_sketches.sql says why). The rows
-- already rolled up are converted; pairs in any order are read and merged alike.
CREATE TABLE rollup_latency_new (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    role INTEGER NOT NULL,
    count INTEGER NOT NULL, total REAL NOT NULL, sketch TEXT NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role)
) WITHOUT ROWID;
INSERT INTO rollup_latency_new
SELECT res, t, experiment_id, challenger_model, model, role, sum(count), sum(total),
       group_concat(bucket || ':' || count, ',')
  FROM rollup_latency GROUP BY res, t, experiment_id, challenger_model, model, role;
DROP TABLE rollup_latency;
ALTER TABLE rollup_latency_new RENAME TO rollup_latency;

CREATE TABLE rollup_scores_new (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    role INTEGER NOT NULL,
    count INTEGER NOT NULL, sketch TEXT NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role)
) WITHOUT ROWID;
INSERT INTO rollup_scores_new
SELECT res, t, experiment_id, challenger_model, model, role, sum(count),
       group_concat(bin || ':' || count, ',')
  FROM rollup_scores GROUP BY res, t, experiment_id, challenger_model, model, role;
DROP TABLE rollup_scores;
ALTER TABLE rollup_scores_new RENAME TO rollup_scores;
