"""Requests/s and p50/p99 per protocol at 64 concurrent clients, one run, same champion.

    CSG_BUILD_DIR=build .venv/bin/python tests/conformance/bench_transports.py [SECONDS [REPS]]

Starts both csg-model services and one csg-gateway (2 workers, all three
transports, challenger at 20 %, events to a file), then drives each protocol in
turn with build/tests/csg-transport-load (closed loop, one request outstanding
per connection, raw latencies), plus the champion directly over HTTP as the
reference. The targets are interleaved REPS times (default 3) and medians are
printed. Load generator and servers share the machine's cores: compare rows of
the same run, not across machines.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# Run outside pytest: tests/ on the path for the harness package (cflib is beside this file).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cflib


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    seconds = sys.argv[1] if len(sys.argv) > 1 else "5"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    stack = cflib.start_stack(idle_timeout_ms=60000, weight=0.2)
    load = cflib.BUILD / "tests" / "csg-transport-load"
    rows = []
    try:
        targets = [("tcp", stack.tcp), ("http", stack.http), ("grpc", stack.grpc),
                   ("http", stack.champion)]
        for proto, port in [t for _ in range(reps) for t in targets]:
            server = stack.models[0].p.pid if port == stack.champion else stack.gateway.p.pid
            cpu0 = cpu_seconds(server)
            out = subprocess.run([str(load), "--proto", proto, "--port", str(port), "--conns",
                                  "64", "--seconds", seconds], check=True,
                                 capture_output=True, text=True).stdout
            row = json.loads(out)
            row["server_cpu_us_per_req"] = round(
                (cpu_seconds(server) - cpu0) * 1e6 / max(row["requests"], 1), 1)
            row["target"] = "champion direct" if port == stack.champion else f"gateway {proto}"
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        cflib.stop_stack(stack)
    print(f"\n64 connections, closed loop, {seconds} s per run, median of {reps}; "
          f"load average at the end {os.getloadavg()[0]:.1f} (2 vCPUs, load generator on "
          "the same cores)")
    print("| target | req/s | p50 µs | p99 µs | server CPU µs/req | errors |")
    print("|---|---|---|---|---|---|")
    for target in dict.fromkeys(r["target"] for r in rows):
        mine = [r for r in rows if r["target"] == target]
        med = {k: statistics.median(r[k] for r in mine)
               for k in ("rps", "p50_us", "p99_us", "server_cpu_us_per_req")}
        errors = sum(r["errors"] for r in mine)
        print(f"| {target} | {med['rps']:.0f} | {med['p50_us']:.0f} | {med['p99_us']:.0f} | "
              f"{med['server_cpu_us_per_req']:.1f} | {errors} |")


if __name__ == "__main__":
    main()
