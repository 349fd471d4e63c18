# csg-gateway, started from the repository root so the config's relative paths
# resolve. It reads var/run/gateway.yaml, a symlink to config/experiments.yaml
# (reset at every start): `make demo` points it at config/demo.yaml and sends
# SIGHUP, then points it back and sends SIGHUP again. The secure stack runs
# config/examples/secure.yaml instead (TLS on every transport, Kafka over TLS,
# pseudonymised applicant ids).
SVC_NAME=gateway
SVC_URL=http://127.0.0.1:8080/v1/score
secure_on && SVC_URL=https://127.0.0.1:8080/v1/score
svc_health() {
  if secure_on; then https_ok https://127.0.0.1:8080/healthz; else http_ok http://127.0.0.1:8080/healthz; fi
}
svc_start() {
  mkdir -p "$CSG_RUN_DIR" "$CSG_LOG_DIR"
  local cfg=config/experiments.yaml
  secure_on && cfg=config/examples/secure.yaml
  ln -sfn "$CSG_ROOT/$cfg" "$CSG_RUN_DIR/gateway.yaml"
  if ! "$CSG_BUILD_DIR/bin/csg-gateway" --check-config "$CSG_RUN_DIR/gateway.yaml" >>"$CSG_LOG_DIR/gateway.log" 2>&1; then
    log "gateway: $cfg is invalid (see $CSG_LOG_DIR/gateway.log)"
    return 1
  fi
  start_daemon "$SVC_NAME" "$CSG_BUILD_DIR/bin/csg-gateway" --config "$CSG_RUN_DIR/gateway.yaml"
}
