-- 050: per-challenger rollups — the same tables as sql/postgres/050_pair_rollups.sql
-- (docs/persistence.md "Rollups"), in SQLite types.
CREATE TABLE rollup_pair_counts (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, config_version TEXT NOT NULL, champion_model TEXT NOT NULL,
    challenger_model TEXT NOT NULL, transport TEXT NOT NULL, status TEXT NOT NULL,
    arm TEXT NOT NULL,
    n INTEGER NOT NULL, with_challenger INTEGER NOT NULL, n_diff INTEGER NOT NULL,
    both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL, both_approve INTEGER NOT NULL,
    both_decline INTEGER NOT NULL, champion_only_approve INTEGER NOT NULL,
    challenger_only_approve INTEGER NOT NULL, champion_decided INTEGER NOT NULL,
    champion_approved INTEGER NOT NULL, challenger_decided INTEGER NOT NULL,
    challenger_approved INTEGER NOT NULL, challenger_answered INTEGER NOT NULL,
    champion_declines INTEGER NOT NULL, champion_unlisted INTEGER NOT NULL,
    challenger_declines INTEGER NOT NULL, challenger_unlisted INTEGER NOT NULL,
    both_declined_listed INTEGER NOT NULL, first_agree INTEGER NOT NULL,
    ev_first INTEGER NOT NULL, arm_first INTEGER NOT NULL,
    sum_diff REAL NOT NULL,
    PRIMARY KEY (res, t, experiment_id, config_version, champion_model, challenger_model,
                 transport, status, arm)
) WITHOUT ROWID;
CREATE TABLE rollup_pair_latency (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    arm TEXT NOT NULL, role INTEGER NOT NULL,
    count INTEGER NOT NULL, total REAL NOT NULL, sketch TEXT NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, arm, role)
) WITHOUT ROWID;
CREATE TABLE rollup_pair_scores (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    arm TEXT NOT NULL, role INTEGER NOT NULL,
    count INTEGER NOT NULL, sketch TEXT NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, arm, role)
) WITHOUT ROWID;
