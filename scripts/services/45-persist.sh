# csg-persist: consumes credit_score_metrics into PostgreSQL (as csg_app) and serves the
# metrics REST API on :8090. The schema is migrated first, as csg_owner, and the day
# partitions of yesterday … a week ahead are created (csg-persist partitions, issue 20).
# The bundled models' stability baselines are stored at start (issue 22).
SVC_NAME=csg-persist
SVC_URL=http://127.0.0.1:8090/metrics/summary
SVC_TIMEOUT=60
svc_health() { http_ok http://127.0.0.1:8090/healthz; }
svc_start() {
  local passfile
  passfile=$(scripts/postgres passfile --port 5433)
  PGPASSFILE=$passfile "$CSG_BUILD_DIR/bin/csg-persist" migrate \
    --db "$(scripts/postgres url --port 5433 --role owner)" >/dev/null
  PGPASSFILE=$passfile "$CSG_BUILD_DIR/bin/csg-persist" partitions \
    --db "$(scripts/postgres url --port 5433 --role owner)" >/dev/null
  start_daemon "$SVC_NAME" env PGPASSFILE="$passfile" "$CSG_BUILD_DIR/bin/csg-persist" \
    --db "$(scripts/postgres url --port 5433 --role app)" --brokers 127.0.0.1:9092 \
    --topic credit_score_metrics --group csg-persist --listen 127.0.0.1:8090 \
    --baseline models/champion.baseline.json --baseline models/challenger.baseline.json
}
