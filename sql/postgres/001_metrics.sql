-- 001: credit_score_metrics (DESIGN §7), its indexes and the model_metrics view.
-- Applied by `csg-persist migrate` as csg_owner, inside one transaction.
-- Scores/latencies are float8 (full double precision, fractional milliseconds);
-- "timestamp" is when the gateway received the request (millisecond precision).
CREATE TABLE credit_score_metrics (
    id                    bigserial PRIMARY KEY,
    applicant_id          text             NOT NULL,
    champion_score        double precision,
    challenger_score      double precision,
    latency_champion_ms   double precision NOT NULL,
    latency_challenger_ms double precision,
    decision_diff         double precision,
    "timestamp"           timestamptz      NOT NULL,
    status                text             NOT NULL,
    event_id              text             NOT NULL,
    experiment_id         text             NOT NULL,
    transport             text             NOT NULL,
    champion_model        text             NOT NULL,
    challenger_model      text,
    champion_decision     text,
    challenger_decision   text,
    decision_match        boolean,
    income                double precision NOT NULL,
    loan_amount           double precision NOT NULL,
    credit_history        bigint           NOT NULL,
    ingested_at           timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT credit_score_metrics_event_id_key UNIQUE (event_id)
);
CREATE INDEX credit_score_metrics_timestamp_idx ON credit_score_metrics ("timestamp");
CREATE INDEX credit_score_metrics_applicant_idx ON credit_score_metrics (applicant_id, "timestamp");
CREATE INDEX credit_score_metrics_experiment_idx ON credit_score_metrics (experiment_id, "timestamp");

-- The original brief's columns, for people who query SQL directly.
CREATE VIEW model_metrics AS
SELECT id, applicant_id, champion_score, challenger_score, latency_champion_ms,
       latency_challenger_ms, decision_diff, "timestamp", status
  FROM credit_score_metrics;

-- The service role: read and append, nothing else (no DELETE, no DDL).
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON credit_score_metrics TO csg_app;
    GRANT USAGE ON SEQUENCE credit_score_metrics_id_seq TO csg_app;
    GRANT SELECT ON model_metrics TO csg_app;
    GRANT SELECT ON schema_migrations TO csg_app;
  END IF;
END $$;
