-- 020: experiment control (DESIGN §7). experiment_versions: one row per audit record of
-- topic credit_score_audit (each config version the gateway applied: start, reload,
-- promote, rollback), with the weights it configured. srm_first_seen: the arm each
-- distinct applicant was first seen in under a config_version, for the sample-ratio
-- check (arm '' = champion only); requests a guardrail held off are not counted.
-- (Numbered 020: 006-019 belong to other work.)
CREATE TABLE experiment_versions (
    id             bigserial   PRIMARY KEY,
    config_version text        NOT NULL,
    applied_at     timestamptz NOT NULL,
    applied_by     text        NOT NULL,
    action         text        NOT NULL,
    experiment_id  text        NOT NULL,
    assignment     text        NOT NULL,
    champion       text        NOT NULL,
    challengers    jsonb       NOT NULL,
    schedule_start timestamptz,
    schedule_end   timestamptz,
    summary        text        NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (config_version, applied_at, action)
);
CREATE INDEX experiment_versions_exp ON experiment_versions (experiment_id, applied_at);

CREATE TABLE srm_first_seen (
    config_version text        NOT NULL,
    applicant_id   text        NOT NULL,
    arm            text        NOT NULL,
    first_seen     timestamptz NOT NULL,
    PRIMARY KEY (config_version, applicant_id)
);
-- Per minute, how many applicants were first seen in each arm: what the SRM check
-- sums (srm_first_seen is only the "seen before?" test), so it stays cheap at scale.
CREATE TABLE srm_counts (
    config_version text        NOT NULL,
    arm            text        NOT NULL,
    minute         timestamptz NOT NULL,
    applicants     bigint      NOT NULL,
    PRIMARY KEY (config_version, arm, minute)
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT ON experiment_versions, srm_first_seen TO csg_app;
    GRANT SELECT, INSERT, UPDATE ON srm_counts TO csg_app;
    GRANT USAGE ON SEQUENCE experiment_versions_id_seq TO csg_app;
  END IF;
END $$;
