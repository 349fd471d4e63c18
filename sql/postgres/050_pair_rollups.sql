-- 050: per-challenger rollups (DESIGN §7 "Scale", issue 20; docs/persistence.md "Rollups").
-- One row of challenger_pairs (a request and one challenger result) counted as a request of
-- its own, keyed like rollup_counts / rollup_latency / rollup_scores plus arm ('live' |
-- 'shadow', the view's): they answer arm= and requests with several challengers
-- (assignment: all). ev_first / arm_first count each request once (its first result; its
-- first result in that arm). Filled from the stored results by csg-persist migrate
-- (rollup_rebuild.c), then in each batch's transaction for the rows actually inserted.
CREATE TABLE rollup_pair_counts (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, config_version text NOT NULL, champion_model text NOT NULL,
    challenger_model text NOT NULL, transport text NOT NULL, status text NOT NULL,
    arm text NOT NULL,
    n bigint NOT NULL, with_challenger bigint NOT NULL, n_diff bigint NOT NULL,
    both_decided bigint NOT NULL, diverge bigint NOT NULL, both_approve bigint NOT NULL,
    both_decline bigint NOT NULL, champion_only_approve bigint NOT NULL,
    challenger_only_approve bigint NOT NULL, champion_decided bigint NOT NULL,
    champion_approved bigint NOT NULL, challenger_decided bigint NOT NULL,
    challenger_approved bigint NOT NULL, challenger_answered bigint NOT NULL,
    champion_declines bigint NOT NULL, champion_unlisted bigint NOT NULL,
    challenger_declines bigint NOT NULL, challenger_unlisted bigint NOT NULL,
    both_declined_listed bigint NOT NULL, first_agree bigint NOT NULL,
    ev_first bigint NOT NULL, arm_first bigint NOT NULL,
    sum_diff double precision NOT NULL,
    PRIMARY KEY (res, t, experiment_id, config_version, champion_model, challenger_model,
                 transport, status, arm)
);
CREATE TABLE rollup_pair_latency (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    arm text NOT NULL, role integer NOT NULL,
    count bigint NOT NULL, total double precision NOT NULL, sketch text NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, arm, role)
);
CREATE TABLE rollup_pair_scores (
    res integer NOT NULL, t bigint NOT NULL,
    experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT NULL,
    arm text NOT NULL, role integer NOT NULL,
    count bigint NOT NULL, sketch text NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, arm, role)
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON rollup_pair_counts, rollup_pair_latency,
          rollup_pair_scores TO csg_app;
  END IF;
END $$;
