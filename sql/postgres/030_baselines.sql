-- 030: csgp_baselines — population-stability baselines (DESIGN §7 stability): one document
-- per model (models/baseline.py's format, validated by csg-persist before it is stored),
-- loaded by POST /baselines or `csg-persist --baseline FILE`; /metrics/stability reads it.
-- (Numbered 030 to leave 006–029 to the scale and experiment-control schemas.)
CREATE TABLE csgp_baselines (
    model     text PRIMARY KEY,
    doc       text NOT NULL,
    loaded_at text NOT NULL
);

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT SELECT, INSERT, UPDATE ON csgp_baselines TO csg_app;
  END IF;
END $$;
