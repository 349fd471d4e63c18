SVC_NAME=model-champion
SVC_URL=http://127.0.0.1:8081/score
svc_health() { http_ok http://127.0.0.1:8081/healthz; }
svc_start() { start_daemon "$SVC_NAME" "$CSG_BUILD_DIR/bin/csg-model" --model models/champion.json --port 8081; }
