SVC_NAME=model-challenger
SVC_URL=http://127.0.0.1:8082/score
svc_health() { http_ok http://127.0.0.1:8082/healthz; }
svc_start() { start_daemon "$SVC_NAME" "$CSG_BUILD_DIR/bin/csg-model" --model models/challenger.json --port 8082; }
