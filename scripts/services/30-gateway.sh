# csg-gateway, started from the repository root so the config's relative paths
# resolve. It reads var/run/gateway.yaml, a symlink to config/experiments.yaml
# (reset at every start): `make demo` points it at config/demo.yaml and sends
# SIGHUP, then points it back and sends SIGHUP again.
SVC_NAME=gateway
SVC_URL=http://127.0.0.1:8080/v1/score
svc_health() { http_ok http://127.0.0.1:8080/healthz; }
svc_start() {
  mkdir -p "$CSG_RUN_DIR" "$CSG_LOG_DIR"
  ln -sfn "$CSG_ROOT/config/experiments.yaml" "$CSG_RUN_DIR/gateway.yaml"
  if ! "$CSG_BUILD_DIR/bin/csg-gateway" --check-config "$CSG_RUN_DIR/gateway.yaml" >>"$CSG_LOG_DIR/gateway.log" 2>&1; then
    log "gateway: config/experiments.yaml is invalid (see $CSG_LOG_DIR/gateway.log)"
    return 1
  fi
  start_daemon "$SVC_NAME" "$CSG_BUILD_DIR/bin/csg-gateway" --config "$CSG_RUN_DIR/gateway.yaml"
}
