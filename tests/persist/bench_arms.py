"""Per-arm query benchmark (issue 20): the per-challenger rollups against the rows.

    .venv/bin/python tests/persist/bench_arms.py --events 1000000 --pg-port 5561 \
        --before OTHER_BUILD/bin/csg-persist [--calls 20] [--rounds 2]

Starts its own PostgreSQL cluster on --pg-port (kept between runs: the load is skipped when
the database already holds the events), migrates it with this build's csg-persist and
loads N MetricEvents over 30 days with the issue-21 keys (csgp.with_arms: several
challengers per request, live and shadow arms), a features object and reason lists per
challenger result (test_rollup_arm_segments.make) through `csg-persist import`. Then, in
interleaved rounds, serves the API with each binary (--before: e.g. a build of main,
which reads the rows for arm= and assignment: all; this build: the per-challenger
rollups) and calls each per-arm endpoint --calls times: p50/p95 wall ms, and the CPU
seconds per call of csg-persist and its PostgreSQL backend (the machine's other load makes
the wall clock noisy). Prints one JSON line per binary and endpoint, with the load average.
--only NAME (repeatable) measures only the endpoints whose name starts with NAME.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import csgp
import requests
from bench_drain import backend_cpu, proc_cpu
from test_rollup_arm_segments import make

DAYS = 30
CHUNK = 50_000
ENDPOINTS = [  # (name, path, params)
    ("summary arm=live", "/metrics/summary", {"arm": "live"}),
    ("summary arm=shadow", "/metrics/summary", {"arm": "shadow"}),
    ("summary (assignment: all)", "/metrics/summary", {}),
    ("latency 1h arm=live", "/metrics/latency", {"bucket": "1h", "arm": "live"}),
    ("distribution arm=shadow", "/metrics/distribution", {"bins": "20", "arm": "shadow"}),
    ("segments income arm=live", "/metrics/segments", {"by": "income", "arm": "live"}),
    ("segments credit_history (assignment: all)", "/metrics/segments",
     {"by": "credit_history"}),
    ("segments age arm=shadow", "/metrics/segments", {"by": "age", "arm": "shadow"}),
    ("segments home arm=live", "/metrics/segments", {"by": "home", "arm": "live"}),
    ("reasons arm=live", "/metrics/reasons", {"arm": "live"}),
    ("reasons (assignment: all)", "/metrics/reasons", {}),
]


def load(db: csgp.Database, n: int) -> None:
    t0 = csgp.T0.replace(hour=0) - timedelta(days=DAYS)
    span = DAYS * 86400 - 1
    proc = subprocess.Popen([str(csgp.BIN), "import", "--db", db.url, "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=csgp.env(),
                            text=True)
    assert proc.stdin is not None
    for k in range(0, n, CHUNK):
        m = min(CHUNK, n - k)
        evs = make(m, seed=300 + k // CHUNK, span_s=max(1, int(span * m / n)),
                   t0=t0 + timedelta(seconds=span * k / n))
        proc.stdin.write("\n".join(json.dumps(e) for e in evs) + "\n")
    proc.stdin.close()
    out = proc.stdout.read() if proc.stdout else ""
    if proc.wait() not in (0, 3):
        raise SystemExit(f"import failed: {out}")
    print(f"bench_arms: import {out.strip()}", file=sys.stderr)


def measure(db: csgp.Database, binary: Path, calls: int, label: str,
            only: list[str] | None) -> list[dict]:
    csgp.BIN = binary
    p = csgp.Persist(db, topic=csgp.unique("arms"), args=["--no-consume"]).start()
    out = []
    try:
        for name, path, params in ENDPOINTS:
            if only and not any(name.startswith(o) for o in only):
                continue
            # the rows' answers take minutes at 1 M events on a loaded machine: no 30 s limit
            def get(path: str = path, params: dict = params) -> requests.Response:
                return requests.get(p.url + path, params=params, timeout=1800)

            get().raise_for_status()  # warm: caches, the backend's start
            assert p.proc is not None
            cpu0, db0 = proc_cpu(p.proc.pid), backend_cpu(db)
            ms = []
            source = None
            for _ in range(calls):
                t = time.monotonic()
                r = get()
                ms.append((time.monotonic() - t) * 1000)
                r.raise_for_status()
                source = r.json()["source"]
            cpu = proc_cpu(p.proc.pid) - cpu0 + backend_cpu(db) - db0
            q = statistics.quantiles(ms, n=20, method="inclusive")
            out.append({"build": label, "endpoint": name, "source": source,
                        "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(q[18], 1),
                        "cpu_ms_per_call": round(cpu * 1000 / calls, 1),
                        "load_average_1m": round(os.getloadavg()[0], 1)})
    finally:
        p.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--pg-port", type=int, required=True, help="its own cluster's port")
    ap.add_argument("--before", type=Path, required=True, help="the csg-persist to compare")
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", action="append", help="endpoints whose name starts with this")
    args = ap.parse_args()
    data = f"/var/tmp/csg/pg-bench-{args.pg_port}"
    pgs = [str(csgp.ROOT / "scripts/postgres"), "--port", str(args.pg_port), "--data", data]
    subprocess.run([pgs[0], "up", *pgs[1:]], check=True, capture_output=True)
    csgp.PASSFILE = data + ".pgpass"
    owner = f"postgresql://csg_owner@127.0.0.1:{args.pg_port}/csg"
    after = csgp.BIN
    csgp.run_cli("migrate", "--db", owner)
    db = csgp.Database(url=f"postgresql://csg_app@127.0.0.1:{args.pg_port}/csg",
                       owner_url=owner, kind="pg")
    if db.count() < args.events:
        t = time.monotonic()
        load(db, args.events - db.count())
        print(f"bench_arms: loaded in {time.monotonic() - t:.0f} s", file=sys.stderr)
    for _ in range(args.rounds):
        for label, binary in (("before", args.before), ("after", after)):
            for rec in measure(db, binary, args.calls, label, args.only):
                print(json.dumps(rec), flush=True)
    print(f"bench_arms: {db.count()} rows; stop the cluster with "
          f"scripts/postgres down --port {args.pg_port} --data {data}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
