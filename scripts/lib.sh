# Shell helpers shared by scripts/ and tests/ (source, do not run).
# Daemons keep pid files in $CSG_RUN_DIR and logs in $CSG_LOG_DIR.
CSG_ROOT="${CSG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CSG_BUILD_DIR="${CSG_BUILD_DIR:-$CSG_ROOT/build}"
CSG_RUN_DIR="${CSG_RUN_DIR:-$CSG_ROOT/var/run}"
CSG_LOG_DIR="${CSG_LOG_DIR:-$CSG_ROOT/var/log}"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# wait_until SECONDS CMD... — poll CMD every 0.1 s until it succeeds or the deadline passes.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# pid_alive NAME — the daemon NAME has a pid file and that process lives.
pid_alive() {
  local f="$CSG_RUN_DIR/$1.pid"
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_daemon NAME CMD... — start CMD in the background (setsid), pid file + log.
start_daemon() {
  local name=$1; shift
  mkdir -p "$CSG_RUN_DIR" "$CSG_LOG_DIR"
  setsid "$@" >>"$CSG_LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$CSG_RUN_DIR/$name.pid"
}

# stop_daemon NAME [SECONDS] — SIGTERM, wait, then SIGKILL; removes the pid file.
stop_daemon() {
  local name=$1 grace=${2:-15} f="$CSG_RUN_DIR/$1.pid" pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "$grace" bash -c "! kill -0 $pid"; then
      log "$name: did not stop in ${grace}s, killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

# http_ok URL — true when URL answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# free_port — a loopback TCP port reserved by the OS for a listener that sets
# SO_REUSEADDR (how, and why there is no race: tests/harness/ports.py).
free_port() {
  python3 "$CSG_ROOT/tests/harness/ports.py"
}

# The `make up SECURE=1` stack (DESIGN §10): its throw-away CA, certificates and tokens
# live in $CSG_SECURE_DIR (scripts/secure); the marker file says the running stack is the
# secure one (scripts/stack writes it on `up` with CSG_SECURE=1, removes it on `down`).
CSG_SECURE_DIR="${CSG_SECURE_DIR:-$CSG_ROOT/var/secure}"
secure_on() { [[ -f $CSG_RUN_DIR/secure ]]; }
# api_token read|write — a csg-persist token of that scope from $CSG_SECURE_DIR/api-tokens.
api_token() { awk -v s="$1" '$1 == s { print $2; exit }' "$CSG_SECURE_DIR/api-tokens" 2>/dev/null; }
# https_ok URL [read|write] — URL answers 2xx over TLS verified with the stack's CA,
# with that scope's bearer token (sent on stdin, never on a command line).
https_ok() {
  local hdr=""
  [[ -n ${2:-} ]] && hdr="Authorization: Bearer $(api_token "$2")"
  printf '%s\n' "$hdr" | curl -fsS -o /dev/null --max-time 2 --cacert "$CSG_SECURE_DIR/ca.pem" \
    -H @- "$1" 2>/dev/null
}
