-- 020: experiment control — same tables as sql/postgres/020_experiments.sql. Times are
-- RFC 3339 UTC text with milliseconds (fixed width: text order = time order);
-- challengers is JSON text.
CREATE TABLE experiment_versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    config_version TEXT NOT NULL,
    applied_at     TEXT NOT NULL,
    applied_by     TEXT NOT NULL,
    action         TEXT NOT NULL,
    experiment_id  TEXT NOT NULL,
    assignment     TEXT NOT NULL,
    champion       TEXT NOT NULL,
    challengers    TEXT NOT NULL CHECK (json_type(challengers) = 'array'),
    schedule_start TEXT,
    schedule_end   TEXT,
    summary        TEXT NOT NULL,
    received_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (config_version, applied_at, action)
);
CREATE INDEX experiment_versions_exp ON experiment_versions (experiment_id, applied_at);

CREATE TABLE srm_first_seen (
    config_version TEXT NOT NULL,
    applicant_id   TEXT NOT NULL,
    arm            TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    PRIMARY KEY (config_version, applicant_id)
);
CREATE TABLE srm_counts (
    config_version TEXT    NOT NULL,
    arm            TEXT    NOT NULL,
    minute         TEXT    NOT NULL,
    applicants     INTEGER NOT NULL,
    PRIMARY KEY (config_version, arm, minute)
);
