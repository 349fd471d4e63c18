-- 004: rollups — the same tables as sql/postgres/004_rollups.sql (DESIGN §7 "Scale", issue 20; docs/persistence.md "Rollups"). Written by
-- csg-persist in each batch's transaction from the rows actually inserted (rollup.c);
-- the rows already stored get theirs when this migration runs (the same C code, in this
-- migration's transaction). res = 60 (per minute) or 3600 (per hour), t = bucket start in
-- epoch seconds; a missing challenger_model / config_version is '' in the keys.
CREATE TABLE rollup_counts (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, config_version TEXT NOT NULL, champion_model TEXT NOT NULL,
    challenger_model TEXT NOT NULL, transport TEXT NOT NULL, status TEXT NOT NULL,
    n INTEGER NOT NULL, with_challenger INTEGER NOT NULL, n_diff INTEGER NOT NULL,
    both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL, both_approve INTEGER NOT NULL,
    both_decline INTEGER NOT NULL, champion_only_approve INTEGER NOT NULL,
    challenger_only_approve INTEGER NOT NULL, champion_decided INTEGER NOT NULL,
    champion_approved INTEGER NOT NULL, challenger_decided INTEGER NOT NULL,
    challenger_approved INTEGER NOT NULL, challenger_answered INTEGER NOT NULL,
    champion_declines INTEGER NOT NULL, champion_unlisted INTEGER NOT NULL,
    challenger_declines INTEGER NOT NULL, challenger_unlisted INTEGER NOT NULL,
    both_declined_listed INTEGER NOT NULL, first_agree INTEGER NOT NULL,
    sum_diff REAL NOT NULL,
    PRIMARY KEY (res, t, experiment_id, config_version, champion_model, challenger_model,
                 transport, status)
) WITHOUT ROWID;
-- Latency sketch (persistence/sketch.h): per log bucket the count and the sum of latencies.
-- role 0 = champion, 1 = challenger.
CREATE TABLE rollup_latency (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    role INTEGER NOT NULL, bucket INTEGER NOT NULL,
    count INTEGER NOT NULL, total REAL NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role, bucket)
) WITHOUT ROWID;
-- Score histogram: 100 bins of [0, 1], bin = min(trunc(score * 100), 99).
CREATE TABLE rollup_scores (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    role INTEGER NOT NULL, bin INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, role, bin)
) WITHOUT ROWID;
-- Reason codes of declines (/metrics/reasons): per code, declines with it first and with it
-- anywhere in the list (once per decline).
CREATE TABLE rollup_reason_codes (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, model TEXT NOT NULL,
    code TEXT NOT NULL, role INTEGER NOT NULL,
    first INTEGER NOT NULL, any_count INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, model, code, role)
) WITHOUT ROWID;
-- Segments by the default bands of income (by_col 0), loan_amount (1), credit_history (2).
CREATE TABLE rollup_segments (
    res INTEGER NOT NULL, t INTEGER NOT NULL,
    experiment_id TEXT NOT NULL, challenger_model TEXT NOT NULL, champion_model TEXT NOT NULL,
    by_col INTEGER NOT NULL, band INTEGER NOT NULL,
    n INTEGER NOT NULL, both_decided INTEGER NOT NULL, diverge INTEGER NOT NULL,
    champion_decided INTEGER NOT NULL, champion_approved INTEGER NOT NULL,
    challenger_decided INTEGER NOT NULL, challenger_approved INTEGER NOT NULL,
    PRIMARY KEY (res, t, experiment_id, challenger_model, champion_model, by_col, band)
) WITHOUT ROWID;
