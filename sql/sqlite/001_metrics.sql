-- 001: credit_score_metrics (DESIGN §7), its indexes and the model_metrics view.
-- Same columns as sql/postgres/001_metrics.sql. SQLite stores "timestamp" and
-- ingested_at as RFC 3339 UTC text with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ,
-- fixed width, so text order is time order) and decision_match as 0/1.
CREATE TABLE credit_score_metrics (
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
    income                REAL    NOT NULL,
    loan_amount           REAL    NOT NULL,
    credit_history        INTEGER NOT NULL,
    ingested_at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX credit_score_metrics_timestamp_idx ON credit_score_metrics ("timestamp");
CREATE INDEX credit_score_metrics_applicant_idx ON credit_score_metrics (applicant_id, "timestamp");
CREATE INDEX credit_score_metrics_experiment_idx ON credit_score_metrics (experiment_id, "timestamp");

CREATE VIEW model_metrics AS
SELECT id, applicant_id, champion_score, challenger_score, latency_champion_ms,
       latency_challenger_ms, decision_diff, "timestamp", status
  FROM credit_score_metrics;
