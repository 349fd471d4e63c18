-- 045: feature-bin rollups (issues 20 + 22, docs/persistence.md "Feature-bin rollups").
-- feature_bands: each number feature's default bands, fixed once (persistence/fbins.c):
-- the bins of a stored baseline (edges = -Infinity then its cuts, source 'baseline') or,
-- without one, the deciles of the first batch that stored the feature (source 'deciles').
-- edges is a JSON array of numbers; "-Infinity" never appears in it: open_below = 1 says
-- the first band starts at minus infinity.
CREATE TABLE feature_bands (
    name       text PRIMARY KEY,
    edges      text NOT NULL,
    open_below integer NOT NULL,
    source     text NOT NULL
);
-- Per hour and per day (res), the segments' counts per feature bin, keyed like
-- rollup_segments. kind: 0 the key's total (feature '', bin ''), 1 a number band (bin =
-- its index), 2 a category value, 3 a boolean ('false' / 'true'), 4 the events holding a
-- features object (feature '', bin ''). A value of another type is in no bin.
CREATE TABLE rollup_features (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, champion_model text NOT NULL,
    feature text NOT NULL, bin text NOT NULL, kind integer NOT NULL,
    n bigint NOT NULL, both_decided bigint NOT NULL, diverge bigint NOT NULL,
    champion_decided bigint NOT NULL, champion_approved bigint NOT NULL,
    challenger_decided bigint NOT NULL, challenger_approved bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, feature, bin, kind)
);
CREATE INDEX rollup_features_feature ON rollup_features (feature, res, t);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    -- DELETE: a stored baseline changes a feature's bands, and its rollups are rebuilt.
    GRANT SELECT, INSERT, UPDATE, DELETE ON feature_bands, rollup_features TO csg_app;
  END IF;
END $$;
