#!/usr/bin/env bash
# csg-gateway as a process, with the fixture plugins (and rest.so for a model
# host that does not resolve): --help, --check-config over the fixtures and
# the shipped configs, check and start failing alike, start, SIGHUP with a
# bad then a good file (old table stays, then swaps), a second gateway on the
# same port refused, a SIGHUP that changes the feature schema unsafely
# refused (old one serving) and one adding an optional feature applied,
# SIGTERM → exit 0.
# csg-sanitize
set -euo pipefail
source scripts/lib.sh
GW="$CSG_BUILD_DIR/bin/csg-gateway"
FIX="$CSG_BUILD_DIR/tests/fixtures"
PLUG="$CSG_BUILD_DIR/lib/csg"
T=$(mktemp -d "$CSG_TEST_VAR/gateway-core.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $T/gw.log ]] && tail -20 "$T/gw.log" >&2; exit 1; }

# --help
"$GW" --help | grep -q -- "--check-config FILE" || fail "--help"
# --check-config: good and bad fixtures (messages themselves: tests/unit/test_config.c)
for f in tests/config/good/*.yaml; do
  sed "s|@FIXTURES@|$FIX|g; s|@PLUGINS@|$PLUG|g" "$f" > "$T/good.yaml"
  "$GW" --check-config "$T/good.yaml" | grep -q "configuration OK" || fail "check-config $f"
done
for f in tests/config/bad/*.yaml; do
  sed "s|@FIXTURES@|$FIX|g; s|@PLUGINS@|$PLUG|g" "$f" > "$T/bad.yaml"
  if "$GW" --check-config "$T/bad.yaml" >"$T/out" 2>&1; then fail "check-config accepted $f"; fi
  want=$(wc -l < "${f%.yaml}.expect")
  got=$(grep -c '^'"$T"'/bad.yaml:[0-9]*: ' "$T/out" || true)
  [[ $got == "$want" ]] || { cat "$T/out"; fail "$f: $got errors printed, expected $want"; }
done
# A model URL whose host does not resolve: --check-config fails as the start
# does (the same adapter create() call), with file:line and the host's name.
cat > "$T/host.yaml" <<YAML
gateway: { workers: 1, plugin_dir: "$FIX", lock_dir: "$T" }
transports:
  - { plugin: good_transport.so, listen: "127.0.0.1:$(free_port)", banner: suite }
experiment: { id: exp-host }
champion:
  name: champ
  adapter: $PLUG/rest.so
  url: http://no-such-host.invalid:8081/score
events: { sink: "file:$T/host-events.ndjson", spool_dir: "$T/spool" }
YAML
want="$T/host.yaml:6: champion champ ($PLUG/rest.so): init failed: rest: model champ: url \"http://no-such-host.invalid:8081/score\": cannot resolve host \"no-such-host.invalid\""
if "$GW" --check-config "$T/host.yaml" >"$T/out" 2>&1; then fail "check-config accepted an unresolvable champion host"; fi
grep -qF "$want" "$T/out" || { cat "$T/out"; fail "check-config: no file:line error naming the host"; }
if "$GW" --config "$T/host.yaml" 2>"$T/start.log"; then fail "started with an unresolvable champion host"; fi
grep -qF "${want//\"/\\\"}" "$T/start.log" || { cat "$T/start.log"; fail "start: not the message --check-config printed"; }
# Every shipped config is valid, with every plugin it names built by `make build`.
# secure.yaml and tls.yaml name the files of `scripts/secure init` (var/secure/): generated here.
scripts/secure init --dir "$T/secure" 2>/dev/null
for f in config/experiments.yaml config/demo.yaml config/examples/*.yaml; do
  sed -e "s|plugin_dir: build/lib/csg|plugin_dir: $CSG_BUILD_DIR/lib/csg|" \
      -e "s|var/secure/|$T/secure/|g" "$f" > "$T/shipped.yaml"
  "$GW" --check-config "$T/shipped.yaml" >"$T/out" 2>&1 || { cat "$T/out"; fail "$f is invalid"; }
done
# --check-config opens each distinct plugin file once (the shipped config names
# rest.so for the champion and the challenger): the registry, not one dlopen per block.
sed "s|plugin_dir: build/lib/csg|plugin_dir: $CSG_BUILD_DIR/lib/csg|" config/experiments.yaml > "$T/shipped.yaml"
LD_DEBUG=files "$GW" --check-config "$T/shipped.yaml" >"$T/out" 2>&1 || { cat "$T/out"; fail "check-config under LD_DEBUG"; }
opens=$(grep -c 'opening file=.*/rest\.so ' "$T/out" || true)
[[ $opens == 1 ]] || { grep 'opening file=' "$T/out"; fail "rest.so opened $opens times by --check-config, expected 1"; }

# A running gateway with the fixture transport and adapter (copies, so a new
# version can be installed over them below).
port=$(free_port)
mkdir -m 755 "$T/plug"
install -m 644 "$FIX/good_transport.so" "$FIX/good_adapter.so" "$T/plug/"
write_config() { # $1 = challenger weight, $2 = extra champion line, $3 = application block
  cat > "$T/gw.yaml" <<YAML
gateway: { workers: 2, plugin_dir: "$T/plug", lock_dir: "$T", drain_timeout_ms: 2000 }
transports:
  - { plugin: good_transport.so, listen: "127.0.0.1:$port", banner: suite }
experiment: { id: exp-suite, salt: s }
champion:
  name: champ
  adapter: good_adapter.so
  $2
challengers:
  - { name: chal, adapter: good_adapter.so, weight: $1 }
events: { sink: "file:$T/events.ndjson" }
${3:-}
YAML
}
write_config 0.2 "timeout_ms: 100"
# The dynamic linker's record of every dlopen goes to $T/ld.<pid> (not the JSON log).
LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" "$GW" --config "$T/gw.yaml" 2>"$T/gw.log" & gw=$!; pids+=("$gw")
opens() { cat "$T"/ld.* 2>/dev/null | grep -c "opening file=.*$1 " || true; }
wait_until 10 grep -q "csg-gateway running" "$T/gw.log" || fail "gateway did not start"

# Second gateway on the same port: refused, clearly.
if "$GW" --config "$T/gw.yaml" 2>"$T/gw2.log"; then fail "second gateway started"; fi
grep -q "another csg-gateway (pid $gw) already listens on port $port" "$T/gw2.log" || { cat "$T/gw2.log"; fail "second gateway message"; }

# SIGHUP with a bad file: rejected with file:line, old table stays, process lives.
write_config 1.5 "timeout_ms: 100"
kill -HUP "$gw"
wait_until 10 grep -q "reload rejected" "$T/gw.log" || fail "bad reload not rejected"
grep -q 'gw.yaml:10: \\"weight\\" must be within \[0, 1\]' "$T/gw.log" || fail "bad reload: no file:line error"
kill -0 "$gw" || fail "gateway died on a bad reload"
# SIGHUP with a good file: swapped.
write_config 0.5 "timeout_ms: 200"
kill -HUP "$gw"
wait_until 10 grep -q "configuration reloaded (generation 2)" "$T/gw.log" || fail "good reload"
grep -q "challengers \[chal=0.5\]" "$T/gw.log" || fail "reload summary"
# SIGHUP removing a feature of the serving schema (the default three): refused,
# naming it; the old configuration keeps serving.
write_config 0.5 "timeout_ms: 200" "application: { features: [{ name: income, type: number }, { name: loan_amount, type: number }] }"
kill -HUP "$gw"
wait_until 10 grep -q 'feature \\"credit_history\\" was removed; restart to apply it' "$T/gw.log" || fail "schema reload not refused"
kill -0 "$gw" || fail "gateway died on a refused schema reload"
# Adding an optional feature (and keeping the three): applied.
app3='{ name: income, type: number, min: 0, required: true }, { name: loan_amount, type: number, min: 0, min_exclusive: true, required: true }, { name: credit_history, type: integer, min: 0, max: 2147483647, required: true }'
write_config 0.5 "timeout_ms: 200" "application: { features: [{ name: age, type: integer }, $app3] }"
kill -HUP "$gw"
wait_until 10 grep -q "configuration reloaded (generation 3)" "$T/gw.log" || fail "optional feature reload"
v2=$(grep -o 'generation 2).*config_version [0-9a-f]*' "$T/gw.log" | grep -o '[0-9a-f]*$')
v3=$(grep -o 'generation 3).*config_version [0-9a-f]*' "$T/gw.log" | grep -o '[0-9a-f]*$')
[[ ${#v3} == 16 && $v2 != "$v3" ]] || fail "config_version did not change with the schema ($v2 → $v3)"
# Start and three SIGHUPs, the adapter named twice each time: one dlopen (the registry).
[[ $(opens good_adapter.so) == 1 ]] || fail "good_adapter.so opened $(opens good_adapter.so) times, expected 1"
# A new version installed by rename is loaded on the next SIGHUP (through /proc/self/fd).
install -m 644 "$FIX/good_adapter.so" "$T/plug/good_adapter.so"
kill -HUP "$gw"
wait_until 10 grep -q "configuration reloaded (generation 4)" "$T/gw.log" || fail "reload after a new .so"
[[ $(opens "/proc/self/fd/[0-9]*") == 1 ]] || fail "the new good_adapter.so was not loaded afresh"
# The same file touched in place (same inode): refused, saying why; the old one serves.
touch "$T/plug/good_adapter.so"
kill -HUP "$gw"
wait_until 10 grep -q "changed on disk in place (same inode)" "$T/gw.log" || fail "in-place change not refused"
kill -0 "$gw" || fail "gateway died on an in-place change"

# SIGTERM: drains and exits 0.
kill -TERM "$gw"
rc=0; wait "$gw" || rc=$?
[[ $rc == 0 ]] || fail "exit status $rc after SIGTERM"
grep -q '"msg":"stopped in' "$T/gw.log" || fail "no stop log"
# Every log line is one JSON object.
"$PY" - "$T/gw.log" <<'PY' || fail "log lines are not JSON"
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
PY
echo "gateway-core: OK"
