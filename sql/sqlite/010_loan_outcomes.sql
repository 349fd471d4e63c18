-- 010: loan_outcomes — same columns as sql/postgres/010_loan_outcomes.sql. observed_at and
-- received_at are RFC 3339 UTC text with milliseconds (fixed width: text order = time
-- order), defaulted is 0/1.
CREATE TABLE loan_outcomes (
    applicant_id TEXT    PRIMARY KEY,
    defaulted    INTEGER NOT NULL CHECK (defaulted IN (0, 1)),
    observed_at  TEXT    NOT NULL,
    received_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
