#!/usr/bin/env bash
# Dashboard: ruff; streamlit.testing AppTest against a real csg-persist (SQLite) holding the
# fixture events and the fixture champion's stability baseline (tests/dashboard); then the app served by streamlit and loaded in Debian's
# chromium through playwright-core (tests/browser), which also checks the auto-refresh and
# saves a screenshot to $CSG_TEST_VAR/dashboard/dashboard.png.
set -euo pipefail
source scripts/lib.sh
PY=${PY:-$CSG_ROOT/.venv/bin/python}
PERSIST="$CSG_BUILD_DIR/bin/csg-persist"
FIXTURE=tests/dashboard/testdata/events.ndjson
[[ -x $PERSIST ]] || die "$PERSIST is missing (build csg-persist first)"

work="$CSG_TEST_VAR/dashboard"
rm -rf "$work"; mkdir -p "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || continue
    wait_until 10 bash -c "! kill -0 $p" || kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

echo "--- ruff"
"$PY" -m ruff check --no-cache dashboard tests/dashboard

echo "--- csg-persist (SQLite) with the fixture events"
db="sqlite:$work/metrics.db"
"$PERSIST" import --db "$db" "$FIXTURE" >"$work/import.log" 2>&1 \
  || { cat "$work/import.log"; die "csg-persist import failed"; }
api_port=$(free_port)
api="http://127.0.0.1:$api_port"
setsid "$PERSIST" --db "$db" --listen "127.0.0.1:$api_port" --no-consume \
  --baseline tests/dashboard/testdata/champion-lr-v1.baseline.json >"$work/persist.log" 2>&1 </dev/null &
pids+=($!)
wait_until 20 http_ok "$api/healthz" || { cat "$work/persist.log"; die "csg-persist did not answer"; }
want=$(grep -c . "$FIXTURE")
got=$(curl -fsS "$api/metrics/summary" | jq -r .total)
[[ $got == "$want" ]] || die "csg-persist holds $got events, the fixture has $want"

echo "--- AppTest (tests/dashboard)"
CSG_TEST_API_URL="$api" "$PY" -m pytest -q -p no:cacheprovider tests/dashboard

echo "--- browser (chromium + playwright-core)"
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  (cd tests/browser && npm ci --silent --no-audit --no-fund >/dev/null)
fi
st_port=$(free_port)
setsid env CSG_API_URL="$api" CSG_REFRESH_SECONDS=2 \
  "$CSG_ROOT/.venv/bin/streamlit" run dashboard/app.py --server.headless true \
  --server.address 127.0.0.1 --server.port "$st_port" --server.fileWatcherType none \
  --browser.gatherUsageStats false >"$work/streamlit.log" 2>&1 </dev/null &
pids+=($!)
wait_until 40 http_ok "http://127.0.0.1:$st_port/_stcore/health" \
  || { cat "$work/streamlit.log"; die "streamlit did not start"; }
EXPECT_REFRESH_S=2 node tests/browser/dashboard.mjs "http://127.0.0.1:$st_port" \
  "$work/dashboard.png" 90
if grep -q 'Traceback' "$work/streamlit.log"; then
  cat "$work/streamlit.log"; die "the dashboard logged a traceback"
fi
