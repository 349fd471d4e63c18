-- 011: every challenger result of a request (DESIGN §6/§7, issue 21). With
-- `assignment: all` one request has several challengers; the event carries them in its
-- `challengers` array and csg-persist keeps one row per request and challenger here
-- (older events without the array: one row from their top-level challenger keys).
-- ord is the position in the array (0 = the one the top-level challenger_* keys repeat);
-- mode 'live' with status 'OK' means the challenger's decision was the reply
-- (decided_by = challenger). (Numbered 011: 006–009 are the metrics schema's.)
CREATE TABLE challenger_results (
    event_id    text             NOT NULL,
    ord         smallint         NOT NULL,
    model       text             NOT NULL,
    score       double precision,
    decision    text,
    latency_ms  double precision NOT NULL,
    status      text             NOT NULL,
    reasons     text[],
    mode        text             NOT NULL CHECK (mode IN ('shadow', 'live')),
    "timestamp" timestamptz      NOT NULL,
    PRIMARY KEY (event_id, model)
);
CREATE INDEX challenger_results_model_ts_idx ON challenger_results (model, "timestamp");
-- Requests with more than one challenger (assignment: all): the rollups describe only the
-- first, so queries look here to know whether they must read rows.
CREATE INDEX challenger_results_extra_idx ON challenger_results ("timestamp") WHERE ord > 0;

-- One row per request and challenger, with the columns of credit_score_metrics that
-- per-challenger metrics read: the champion's from the request, the challenger's from its
-- result. arm: 'live' (the challenger decided), 'shadow' (a comparison only; also a live
-- challenger that failed, the champion then decided).
CREATE VIEW challenger_pairs AS
SELECT m.id, m.event_id, m.experiment_id, m.applicant_id, m.transport, m.champion_model,
       r.model AS challenger_model, m.champion_score, r.score AS challenger_score,
       m.champion_decision, r.decision AS challenger_decision,
       CASE WHEN m.champion_decision IS NULL OR r.decision IS NULL THEN NULL
            ELSE m.champion_decision = r.decision END AS decision_match,
       m.latency_champion_ms, r.latency_ms AS latency_challenger_ms,
       abs(m.champion_score - r.score) AS decision_diff, m.income, m.loan_amount,
       m.credit_history, m."timestamp", m.status, m.features, m.config_version,
       m.champion_reasons, r.reasons AS challenger_reasons,
       CASE WHEN r.mode = 'live' AND r.status = 'OK' THEN 'live' ELSE 'shadow' END AS arm
FROM credit_score_metrics m JOIN challenger_results r ON r.event_id = m.event_id;

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT ON challenger_results TO csg_app;
    GRANT SELECT ON challenger_pairs TO csg_app;
  END IF;
END $$;
