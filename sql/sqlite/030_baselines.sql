-- 030: csgp_baselines — same columns as sql/postgres/030_baselines.sql; loaded_at is
-- RFC 3339 UTC text with milliseconds.
CREATE TABLE csgp_baselines (
    model     TEXT PRIMARY KEY,
    doc       TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);
