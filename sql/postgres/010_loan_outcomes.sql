-- 010: loan_outcomes — ground truth for outcome-based metrics (DESIGN §7, docs/analytics.md).
-- One row per applicant: POST /outcomes upserts, the later label (by observed_at; on a tie
-- the one posted last) replaces the earlier. Outcome metrics join on applicant_id.
-- (Numbered 010 to leave 002–009 to the metrics schema.)
CREATE TABLE loan_outcomes (
    applicant_id text        PRIMARY KEY,
    defaulted    boolean     NOT NULL,
    observed_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON loan_outcomes TO csg_app;
  END IF;
END $$;
