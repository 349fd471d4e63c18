# The Streamlit dashboard (dashboard/app.py) on 127.0.0.1:8501, reading csg-persist's REST
# API at $CSG_API_URL (default http://127.0.0.1:8090). Sourced by scripts/stack.
SVC_NAME=dashboard
SVC_URL=http://127.0.0.1:8501
SVC_TIMEOUT=60
svc_health() { http_ok http://127.0.0.1:8501/_stcore/health; }
svc_start() {
  start_daemon "$SVC_NAME" env CSG_API_URL="${CSG_API_URL:-http://127.0.0.1:8090}" \
    "$CSG_ROOT/.venv/bin/streamlit" run "$CSG_ROOT/dashboard/app.py" \
    --server.headless true --server.address 127.0.0.1 --server.port 8501 \
    --server.fileWatcherType none --browser.gatherUsageStats false
}
