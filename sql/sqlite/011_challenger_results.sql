-- 011: every challenger result of a request — same table and view as
-- sql/postgres/011_challenger_results.sql; reasons as JSON text (as in 003).
CREATE TABLE challenger_results (
    event_id    TEXT    NOT NULL,
    ord         INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    score       REAL,
    decision    TEXT,
    latency_ms  REAL    NOT NULL,
    status      TEXT    NOT NULL,
    reasons     TEXT CHECK (reasons IS NULL OR json_type(reasons) = 'array'),
    mode        TEXT    NOT NULL CHECK (mode IN ('shadow', 'live')),
    "timestamp" TEXT    NOT NULL,
    PRIMARY KEY (event_id, model)
);
CREATE INDEX challenger_results_model_ts_idx ON challenger_results (model, "timestamp");
CREATE INDEX challenger_results_extra_idx ON challenger_results ("timestamp") WHERE ord > 0;

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
