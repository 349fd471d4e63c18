-- 002: any feature — same as sql/postgres/002_features.sql. features is JSON text (NULL for
-- older events), config_version text. SQLite cannot drop NOT NULL in place, so the table
-- is rebuilt with income, loan_amount and credit_history nullable; every row, id and index
-- is kept (the migration runs in one transaction).
DROP VIEW model_metrics;
CREATE TABLE credit_score_metrics_002 (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    applicant_id          TEXT    NOT NULL,
    champion_score        REAL,
    challenger_score      REAL,
    latency_champion_ms   REAL    NOT NULL,
    latency_challenger_ms REAL,
    decision_diff         REAL,
    "timestamp"           TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    event_id              TEXT    NOT NULL UNIQUE,
    experiment_id         TEXT    NOT NULL,
    transport             TEXT    NOT NULL,
    champion_model        TEXT    NOT NULL,
    challenger_model      TEXT,
    champion_decision     TEXT,
    challenger_decision   TEXT,
    decision_match        INTEGER,
    income                REAL,
    loan_amount           REAL,
    credit_history        INTEGER,
    ingested_at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    features              TEXT    CHECK (features IS NULL OR json_valid(features)),
    config_version        TEXT
);
INSERT INTO credit_score_metrics_002 (id, applicant_id, champion_score, challenger_score,
    latency_champion_ms, latency_challenger_ms, decision_diff, "timestamp", status, event_id,
    experiment_id, transport, champion_model, challenger_model, champion_decision,
    challenger_decision, decision_match, income, loan_amount, credit_history, ingested_at)
SELECT id, applicant_id, champion_score, challenger_score, latency_champion_ms,
    latency_challenger_ms, decision_diff, "timestamp", status, event_id, experiment_id,
    transport, champion_model, challenger_model, champion_decision, challenger_decision,
    decision_match, income, loan_amount, credit_history, ingested_at
  FROM credit_score_metrics;
DROP TABLE credit_score_metrics;
ALTER TABLE credit_score_metrics_002 RENAME TO credit_score_metrics;
CREATE INDEX credit_score_metrics_timestamp_idx ON credit_score_metrics ("timestamp");
CREATE INDEX credit_score_metrics_applicant_idx ON credit_score_metrics (applicant_id, "timestamp");
CREATE INDEX credit_score_metrics_experiment_idx ON credit_score_metrics (experiment_id, "timestamp");
CREATE VIEW model_metrics AS
SELECT id, applicant_id, champion_score, challenger_score, latency_champion_ms,
       latency_challenger_ms, decision_diff, "timestamp", status
  FROM credit_score_metrics;

CREATE TABLE feature_catalogue (
    name             TEXT    PRIMARY KEY,
    type             TEXT    NOT NULL CHECK (type IN ('number', 'category', 'boolean')),
    category_values  TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(category_values)),
    values_truncated INTEGER NOT NULL DEFAULT 0,
    count            INTEGER NOT NULL DEFAULT 0
);
