-- 005: day partitions, the dedup table and retention (DESIGN §7 "Scale", issue 20;
-- docs/persistence.md "Partitions and purge").
-- credit_score_metrics becomes a table partitioned by day on "timestamp" (UTC days,
-- partitions named credit_score_metrics_YYYYMMDD) with a default partition for days that
-- have none yet (far past, far future, or not created by the upkeep). A partitioned table's
-- unique keys must include the partition key, so exactly-once moves to csg_event_ids
-- (event_id alone: a client retry arrives with a new timestamp and is still stored once).
-- Every existing row is moved with its id; the id sequence is kept.
-- Upkeep (csg_ensure_day_partition) and retention (csg_purge_before) are functions only the
-- owner may run: `csg-persist partitions` / `csg-persist purge` as csg_owner.
DROP VIEW model_metrics;
ALTER TABLE credit_score_metrics RENAME TO credit_score_metrics_old;
ALTER INDEX credit_score_metrics_timestamp_idx RENAME TO credit_score_metrics_old_timestamp_idx;
ALTER INDEX credit_score_metrics_applicant_idx RENAME TO credit_score_metrics_old_applicant_idx;
ALTER INDEX credit_score_metrics_experiment_idx RENAME TO credit_score_metrics_old_experiment_idx;
ALTER TABLE credit_score_metrics_old RENAME CONSTRAINT credit_score_metrics_pkey TO credit_score_metrics_old_pkey;
ALTER TABLE credit_score_metrics_old RENAME CONSTRAINT credit_score_metrics_event_id_key TO credit_score_metrics_old_event_id_key;

CREATE TABLE credit_score_metrics (
    id                    bigint           NOT NULL DEFAULT nextval('credit_score_metrics_id_seq'),
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
    income                double precision,
    loan_amount           double precision,
    credit_history        bigint,
    ingested_at           timestamptz      NOT NULL DEFAULT now(),
    features              jsonb,
    config_version        text,
    champion_reasons      text[],
    challenger_reasons    text[],
    PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp");
ALTER SEQUENCE credit_score_metrics_id_seq OWNED BY credit_score_metrics.id;
CREATE TABLE credit_score_metrics_default PARTITION OF credit_score_metrics DEFAULT;
CREATE INDEX credit_score_metrics_timestamp_idx ON credit_score_metrics ("timestamp");
CREATE INDEX credit_score_metrics_applicant_idx ON credit_score_metrics (applicant_id, "timestamp");
CREATE INDEX credit_score_metrics_experiment_idx ON credit_score_metrics (experiment_id, "timestamp");
CREATE INDEX credit_score_metrics_event_idx ON credit_score_metrics (event_id);

-- Exactly-once: the first insert of an event_id wins (ingest inserts here first, then the
-- row). "timestamp" is the stored row's, so purge can forget ids with their rows.
CREATE TABLE csg_event_ids (
    event_id    text        PRIMARY KEY,
    "timestamp" timestamptz NOT NULL
);
CREATE INDEX csg_event_ids_timestamp_idx ON csg_event_ids ("timestamp");

-- The partition of day d (UTC), created when missing; rows of that day already in the
-- default partition move into it. true when it was created.
CREATE FUNCTION csg_ensure_day_partition(d date) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    part text := 'credit_score_metrics_' || to_char(d, 'YYYYMMDD');
    lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE credit_score_metrics INCLUDING DEFAULTS)', part);
    EXECUTE format('INSERT INTO %I SELECT * FROM credit_score_metrics_default '
                   'WHERE "timestamp" >= $1 AND "timestamp" < $2', part) USING lo, hi;
    DELETE FROM credit_score_metrics_default WHERE "timestamp" >= lo AND "timestamp" < hi;
    EXECUTE format('ALTER TABLE credit_score_metrics ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    RETURN true;
END $fn$;

-- Retention: drop every day partition that ends on or before cutoff, delete older rows
-- left in other partitions (the default one, the day cut in two), and forget their
-- event_ids. Rollups are kept. Returns (partitions dropped, rows deleted).
CREATE FUNCTION csg_purge_before(cutoff timestamptz, OUT partitions bigint, OUT rows_deleted bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    n bigint;
BEGIN
    partitions := 0;
    rows_deleted := 0;
    FOR r IN SELECT c.relname AS part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'credit_score_metrics'::regclass
                AND c.relname ~ '^credit_score_metrics_[0-9]{8}$'
              ORDER BY c.relname LOOP
        IF (to_date(right(r.part, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff THEN
            EXECUTE format('SELECT count(*) FROM %I', r.part) INTO n;
            rows_deleted := rows_deleted + n;
            EXECUTE format('ALTER TABLE credit_score_metrics DETACH PARTITION %I', r.part);
            EXECUTE format('DROP TABLE %I', r.part);
            partitions := partitions + 1;
        END IF;
    END LOOP;
    DELETE FROM credit_score_metrics WHERE "timestamp" < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rows_deleted := rows_deleted + n;
    DELETE FROM csg_event_ids WHERE "timestamp" < cutoff;
END $fn$;
REVOKE ALL ON FUNCTION csg_ensure_day_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION csg_purge_before(timestamptz) FROM PUBLIC;

-- Existing rows: a partition per day they cover, then every row with its id.
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT DISTINCT ("timestamp" AT TIME ZONE 'UTC')::date FROM credit_score_metrics_old LOOP
        PERFORM csg_ensure_day_partition(d);
    END LOOP;
END $$;
INSERT INTO credit_score_metrics SELECT id, applicant_id, champion_score, challenger_score,
    latency_champion_ms, latency_challenger_ms, decision_diff, "timestamp", status, event_id,
    experiment_id, transport, champion_model, challenger_model, champion_decision,
    challenger_decision, decision_match, income, loan_amount, credit_history, ingested_at,
    features, config_version, champion_reasons, challenger_reasons
  FROM credit_score_metrics_old;
INSERT INTO csg_event_ids (event_id, "timestamp") SELECT event_id, "timestamp" FROM credit_score_metrics_old;
DROP TABLE credit_score_metrics_old;

CREATE VIEW model_metrics AS
SELECT id, applicant_id, champion_score, challenger_score, latency_champion_ms,
       latency_challenger_ms, decision_diff, "timestamp", status
  FROM credit_score_metrics;

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON credit_score_metrics TO csg_app;
    GRANT SELECT, INSERT ON csg_event_ids TO csg_app;
    GRANT SELECT ON model_metrics TO csg_app;
  END IF;
END $$;
