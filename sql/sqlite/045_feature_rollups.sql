-- 045: feature-bin rollups — same tables as sql/postgres/045_feature_rollups.sql.
CREATE TABLE feature_bands (
    name       TEXT PRIMARY KEY,
    edges      TEXT NOT NULL,
    open_below INTEGER NOT NULL,
    source     TEXT NOT NULL
);
CREATE TABLE rollup_features (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, champion_model TEXT NOT NULL,
    feature TEXT NOT NULL, bin TEXT NOT NULL, kind INTEGER NOT NULL,
    n INTEGER NOT NULL, both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL,
    champion_decided INTEGER NOT NULL, champion_approved INTEGER NOT NULL,
    challenger_decided INTEGER NOT NULL, challenger_approved INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, feature, bin, kind)
);
CREATE INDEX rollup_features_feature ON rollup_features (feature, res, t);
