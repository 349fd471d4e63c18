-- 004: rollups (DESIGN §7 "Scale", issue 20; docs/persistence.md "Rollups"). Written by
-- csg-persist in each batch's transaction from the rows actually inserted (rollup.c);
-- the rows already stored get theirs when this migration runs (the same C code, in this
-- migration's transaction). res = 60 (per minute) or 3600 (per hour), t = bucket start in
-- epoch seconds; a missing challenger_model / config_version is '' in the keys.
CREATE TABLE rollup_counts (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, config_version text NOT NULL, champion_model text NOT NULL,
    challenger_model text NOT NULL, transport text NOT NULL, status text NOT NULL,
    n bigint NOT NULL, with_challenger bigint NOT NULL, n_diff bigint NOT NULL,
    both_decided bigint NOT NULL, diverge bigint NOT NULL, both_approve bigint NOT NULL,
    both_decline bigint NOT NULL, champion_only_approve bigint NOT NULL,
    challenger_only_approve bigint NOT NULL, champion_decided bigint NOT NULL,
    champion_approved bigint NOT NULL, challenger_decided bigint NOT NULL,
    challenger_approved bigint NOT NULL, challenger_answered bigint NOT NULL,
    champion_declines bigint NOT NULL, champion_unlisted bigint NOT NULL,
    challenger_declines bigint NOT NULL, challenger_unlisted bigint NOT NULL,
    both_declined_listed bigint NOT NULL, first_agree bigint NOT NULL,
    sum_diff double precision NOT NULL,
    PRIMARY KEY (res, t, experiment_id, config_version, champion_model, challenger_model,
                 transport, status)
);
-- Latency sketch (persistence/sketch.h): per log bucket the count and the sum of latencies.
-- role 0 = champion, 1 = challenger.
CREATE TABLE rollup_latency (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    role integer NOT NULL, bucket integer NOT NULL,
    count bigint NOT NULL, total double precision NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role, bucket)
);
-- Score histogram: 100 bins of [0, 1], bin = min(trunc(score * 100), 99).
CREATE TABLE rollup_scores (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    role integer NOT NULL, bin integer NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role, bin)
);
-- Reason codes of declines (/metrics/reasons): per code, declines with it first and with it
-- anywhere in the list (once per decline).
CREATE TABLE rollup_reason_codes (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    code text NOT NULL, role integer NOT NULL,
    first bigint NOT NULL, any_count bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, code, role)
);
-- Segments by the default bands of income (by_col 0), loan_amount (1), credit_history (2).
CREATE TABLE rollup_segments (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, champion_model text NOT NULL,
    by_col integer NOT NULL, band integer NOT NULL,
    n bigint NOT NULL, both_decided bigint NOT NULL, diverge bigint NOT NULL,
    champion_decided bigint NOT NULL, champion_approved bigint NOT NULL,
    challenger_decided bigint NOT NULL, challenger_approved bigint NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, by_col, band)
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON rollup_counts, rollup_latency, rollup_scores,
          rollup_segments, rollup_reason_codes TO csg_app;
  END IF;
END $$;
