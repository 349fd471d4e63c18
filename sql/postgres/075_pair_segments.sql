-- 075: per-challenger segments, reason codes and feature bins (issue 20 item 2; DESIGN §7
-- "Scale"; docs/persistence.md "Rollups"). rollup_segments, rollup_reason_codes and
-- rollup_features counted per challenger result (a row of the view challenger_pairs), keyed
-- as those plus arm ('live' | 'shadow'), so /metrics/segments and /metrics/reasons answer
-- arm= and requests with several challengers (assignment: all) without reading rows.
-- ev_first / arm_first count each request once, as in rollup_pair_counts; any_first: a
-- code's requests counted once per arm (the champion's codes under arm=). Filled from the
-- stored results by csg-persist migrate (rollup_rebuild.c), then in each batch's
-- transaction for the rows actually inserted.
CREATE TABLE rollup_pair_segments (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, champion_model text NOT NULL,
    arm text NOT NULL, by_col integer NOT NULL, band integer NOT NULL,
    n bigint NOT NULL, both_decided bigint NOT NULL, diverge bigint NOT NULL,
    champion_decided bigint NOT NULL, champion_approved bigint NOT NULL,
    challenger_decided bigint NOT NULL, challenger_approved bigint NOT NULL,
    ev_first bigint NOT NULL, arm_first bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, arm, by_col, band)
);
CREATE TABLE rollup_pair_reason_codes (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    code text NOT NULL, arm text NOT NULL, role integer NOT NULL,
    first bigint NOT NULL, any_count bigint NOT NULL, any_first bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, code, arm, role)
);
-- Kinds 0–3 of rollup_features (the key's total, number bands, categories, booleans).
CREATE TABLE rollup_pair_features (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, champion_model text NOT NULL,
    feature text NOT NULL, bin text NOT NULL, arm text NOT NULL, kind integer NOT NULL,
    n bigint NOT NULL, both_decided bigint NOT NULL, diverge bigint NOT NULL,
    champion_decided bigint NOT NULL, champion_approved bigint NOT NULL,
    challenger_decided bigint NOT NULL, challenger_approved bigint NOT NULL,
    ev_first bigint NOT NULL, arm_first bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, feature, bin, arm,
                 kind)
);
CREATE INDEX rollup_pair_features_feature ON rollup_pair_features (feature, res, t);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON rollup_pair_segments, rollup_pair_reason_codes TO csg_app;
    -- DELETE: a stored baseline changes a feature's bands, and its rollups are rebuilt.
    GRANT SELECT, INSERT, UPDATE, DELETE ON rollup_pair_features TO csg_app;
  END IF;
END $$;
