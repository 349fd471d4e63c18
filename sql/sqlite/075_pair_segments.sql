-- 075: per-challenger segments, reason codes and feature bins — the same tables as
-- sql/postgres/075_pair_segments.sql (docs/persistence.md "Rollups"), in SQLite types.
CREATE TABLE rollup_pair_segments (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, champion_model TEXT NOT NULL,
    arm TEXT NOT NULL, by_col INTEGER NOT NULL, band INTEGER NOT NULL,
    n INTEGER NOT NULL, both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL,
    champion_decided INTEGER NOT NULL, champion_approved INTEGER NOT NULL,
    challenger_decided INTEGER NOT NULL, challenger_approved INTEGER NOT NULL,
    ev_first INTEGER NOT NULL, arm_first INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, arm, by_col, band)
) WITHOUT ROWID;
CREATE TABLE rollup_pair_reason_codes (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    code TEXT NOT NULL, arm TEXT NOT NULL, role INTEGER NOT NULL,
    first INTEGER NOT NULL, any_count INTEGER NOT NULL, any_first INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, code, arm, role)
) WITHOUT ROWID;
CREATE TABLE rollup_pair_features (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, champion_model TEXT NOT NULL,
    feature TEXT NOT NULL, bin TEXT NOT NULL, arm TEXT NOT NULL, kind INTEGER NOT NULL,
    n INTEGER NOT NULL, both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL,
    champion_decided INTEGER NOT NULL, champion_approved INTEGER NOT NULL,
    challenger_decided INTEGER NOT NULL, challenger_approved INTEGER NOT NULL,
    ev_first INTEGER NOT NULL, arm_first INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, feature, bin, arm,
                 kind)
) WITHOUT ROWID;
CREATE INDEX rollup_pair_features_feature ON rollup_pair_features (feature, res, t);
