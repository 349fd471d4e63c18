# The Streamlit dashboard (dashboard/app.py) on 127.0.0.1:8501, reading csg-persist's REST
# API at $CSG_API_URL (default http://127.0.0.1:8090). Sourced by scripts/stack.
# Secure stack: https with the stack's CA (CSG_API_CA_FILE) and a read token (CSG_API_TOKEN).
SVC_NAME=dashboard
SVC_URL=http://127.0.0.1:8501
SVC_TIMEOUT=60
svc_health() { http_ok http://127.0.0.1:8501/_stcore/health; }
svc_start() {
  local url=${CSG_API_URL:-http://127.0.0.1:8090} token="" ca=""
  if secure_on; then
    url=https://127.0.0.1:8090 ca=$CSG_SECURE_DIR/ca.pem token=$(api_token read)
  fi
  # The token goes through the environment, never a command line (ps shows those).
  CSG_API_URL=$url CSG_API_CA_FILE=$ca CSG_API_TOKEN=$token start_daemon "$SVC_NAME" \
    "$CSG_ROOT/.venv/bin/streamlit" run "$CSG_ROOT/dashboard/app.py" \
    --server.headless true --server.address 127.0.0.1 --server.port 8501 \
    --server.fileWatcherType none --browser.gatherUsageStats false
}
