-- 065: per-minute rollups for recent data (issues 20 + 22, docs/persistence.md "Rollups").
-- The rollup tables already take any res: rows with res = 60 are written only for events
-- whose minute is recent (t >= now - the minute window, csg-persist --minute-window) and are
-- deleted once older. The step in C (persistence/migrate.c) builds them for the recent rows.
-- csg_app may not DELETE from the rollups; this function lets it drop expired minute rows
-- of one rollup table and nothing else (the service runs it every few minutes).
CREATE OR REPLACE FUNCTION csg_expire_minute_rollups(tbl text, before bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE n bigint;
BEGIN
    IF tbl NOT LIKE 'rollup\_%' OR NOT EXISTS (SELECT FROM pg_tables WHERE schemaname = 'public'
                                                  AND tablename = tbl) THEN
        RAISE EXCEPTION 'csg_expire_minute_rollups: % is not a rollup table', tbl;
    END IF;
    EXECUTE format('DELETE FROM %I WHERE res = 60 AND t < $1', tbl) USING before;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
REVOKE ALL ON FUNCTION csg_expire_minute_rollups(text, bigint) FROM PUBLIC;

DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'csg_app') THEN
    GRANT EXECUTE ON FUNCTION csg_expire_minute_rollups(text, bigint) TO csg_app;
  END IF;
END $$;
