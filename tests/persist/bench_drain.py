"""Drain benchmark: rows/s from a pre-filled topic into PostgreSQL.

    CSG_BUILD_DIR=build .venv/bin/python tests/persist/bench_drain.py [--events 200000]

Starts its own PostgreSQL cluster (default durability: fsync and synchronous_commit on)
on a free port, pre-fills a fresh 6-partition topic on the test broker
($CSG_TEST_KAFKA_PORT) with N MetricEvents, then starts one csg-persist (--members N:
that many in one consumer group, each with its own connection) and measures (--shape
gateway: events with `features`, `challengers` and `config_version`, as an ABI 2.0 gateway
writes them):
  * wall: from process start until all N rows are in the table (includes start-up,
    group join and the first fetch);
  * drain: N / (last batch's ingested_at − first batch's ingested_at), i.e. the steady
    insert rate measured by the database's own clock.
  * persist CPU: user+system seconds of the csg-persist process (JSON parsing, validation,
    COPY encoding, librdkafka), i.e. its own cost independent of the machine's other load;
  * db CPU: user+system seconds of csg-persist's PostgreSQL backend(s) (COPY, dedup, routing,
    indexes, rollup upserts); with persist CPU, the drain's cost on a machine whose other
    load makes the wall clock unreliable (rows_per_cpu_s: rows per CPU-second of both).
Also checks that exactly N rows arrived. Prints one JSON line.

The events' timestamps span one hour of 2026-11-25 (days old: no per-minute rollups, see
docs/persistence.md "Rollups"); --recent stamps them over the hour before now instead, so
every event also gets its per-minute rollups; --minute-window passes csg-persist's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run outside pytest: tests/ on the path for the harness package (csgp is beside this file).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import csgp


def proc_cpu(pid: int) -> float:
    """User+system CPU seconds of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(db: csgp.Database) -> float:
    """CPU seconds of the csg_app backends (csg-persist's connections), read while they live."""
    rows = db.query("SELECT pid FROM pg_stat_activity WHERE usename = 'csg_app' "
                    "AND pid <> pg_backend_pid()")
    return sum(proc_cpu(int(pid)) for (pid,) in rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch-max", type=int, default=20000)
    ap.add_argument("--pg-port", type=int, default=0, help="its own cluster's port (0: free)")
    ap.add_argument("--members", type=int, default=1,
                    help="csg-persist processes in the consumer group (each its own "
                    "PostgreSQL connection; the topic has 6 partitions)")
    ap.add_argument("--shape", choices=("flat", "gateway"), default="flat",
                    help="flat: the 4-field-era event (make_events); gateway: as an ABI 2.0 "
                    "gateway writes them, with `challengers` (with_arms) and `features` "
                    "(add_features) objects")
    ap.add_argument("--recent", action="store_true",
                    help="events of the last hour (written to the per-minute rollups too)")
    ap.add_argument("--minute-window", type=int, default=None,
                    help="csg-persist --minute-window (minutes; default: its own)")
    ap.add_argument("--perf", help="record `perf record -g` of csg-persist into this file")
    ap.add_argument("--sql", help="a file of SQL the owner runs after the migrations (to "
                    "measure a schema variant before it becomes a migration)")
    ap.add_argument("--perf-cg", default="fp", help="perf's --call-graph mode (fp, dwarf)")
    ap.add_argument("--perf-db", help="record `perf record -g` of its PostgreSQL backend "
                    "into this file (needs the right to trace the postgres user's processes)")
    args = ap.parse_args()
    subprocess.run([str(csgp.ROOT / "tests/lib/need-kafka")], check=True)
    port = args.pg_port or csgp.free_port()
    data = f"/var/tmp/csg/pg-bench-{port}"
    pgs = [str(csgp.ROOT / "scripts/postgres"), "--port", str(port), "--data", data]
    subprocess.run([pgs[0], "up", *pgs[1:]], check=True, capture_output=True)
    ps: list[csgp.Persist] = []
    try:
        csgp.PASSFILE = data + ".pgpass"
        owner = f"postgresql://csg_owner@127.0.0.1:{port}/csg"
        csgp.run_cli("migrate", "--db", owner)
        db = csgp.Database(
            url=f"postgresql://csg_app@127.0.0.1:{port}/csg", owner_url=owner, kind="pg"
        )
        if args.sql:
            con = csgp.Database(url=owner, owner_url=owner, kind="pg").connect()
            con.execute(Path(args.sql).read_text())
            con.close()
        topic = csgp.unique("drain")
        csgp.create_topics(topic, topic + ".dlq")
        t = time.monotonic()
        t0_events = (datetime.now(UTC) - timedelta(hours=1)) if args.recent else csgp.T0
        events = csgp.make_events(args.events, seed=1234, span_s=3600, t0=t0_events)
        if args.shape == "gateway":
            events = csgp.add_features(csgp.with_arms(events, seed=1235), seed=1236)
            for e in events:  # a gateway stamps its config (SRM's first-seen table)
                e["config_version"] = "0123456789abcdef"
        csgp.produce_events(topic, events)
        fill_s = time.monotonic() - t
        extra = [] if args.minute_window is None else ["--minute-window", str(args.minute_window)]
        ps = [csgp.Persist(db, topic, args=["--batch-max", str(args.batch_max), *extra])
              for _ in range(args.members)]
        p = ps[0]
        t0 = time.monotonic()
        for m in ps:
            m.start(wait=False)
        perf = None
        if args.perf:
            assert p.proc is not None
            perf = subprocess.Popen(["perf", "record", "--call-graph", args.perf_cg, "-o", args.perf, "-p",
                                     str(p.proc.pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        perf_db = None
        if args.perf_db:
            pids: list[tuple] = []

            def backend() -> bool:
                pids[:] = db.query("SELECT pid FROM pg_stat_activity WHERE usename = 'csg_app' "
                                   "AND pid <> pg_backend_pid() AND state IS NOT NULL")
                return len(pids) >= args.members

            csgp.wait_for(backend, 60, "csg-persist's PostgreSQL backend", every=0.05)
            perf_db = subprocess.Popen(["perf", "record", "--call-graph", args.perf_cg, "-o", args.perf_db, "-p",
                                        ",".join(str(p) for (p,) in pids)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def stored() -> bool:
            # csg-persist's own counter: polling count(*) on the table cost PostgreSQL about
            # as much CPU as the drain itself (2.9 s of 6 during a 100k-event run)
            try:
                return sum(m.metric("csgp_rows_inserted_total") for m in ps) >= args.events
            except (OSError, ValueError):  # an API not up yet
                return False

        csgp.wait_for(stored, 600, "all rows", every=0.2)
        wall = time.monotonic() - t0
        db_cpu = backend_cpu(db)
        for rec in (perf, perf_db):
            if rec is not None:
                rec.send_signal(2)
                rec.wait(60)
        ((lo, hi, n),) = db.query(
            "SELECT extract(epoch FROM min(ingested_at)), extract(epoch FROM max(ingested_at)), count(*) "
            "FROM credit_score_metrics"
        )
        span = float(hi) - float(lo)
        ((minute_rows,),) = db.query("SELECT count(*) FROM rollup_counts WHERE res = 60")
        batches = sum(m.metric("csgp_batches_total") for m in ps)
        # CPU seconds csg-persist itself used (user + system), less sensitive to the
        # machine's other load than the wall clock.
        cpu = sum(proc_cpu(m.proc.pid) for m in ps if m.proc is not None)
        load = os.getloadavg()[0]
        print(
            json.dumps(
                {
                    "events": args.events,
                    "shape": args.shape,
                    "rows": n,
                    "batch_max": args.batch_max,
                    "members": args.members,
                    "recent": args.recent,
                    "minute_rollup_counts_rows": minute_rows,
                    "batches": batches,
                    "fill_seconds": round(fill_s, 2),
                    "wall_seconds": round(wall, 2),
                    "rows_per_s_wall": round(n / wall),
                    "drain_seconds": round(span, 2),
                    "rows_per_s_drain": round(n / span) if span > 0 else None,
                    "persist_cpu_seconds": round(cpu, 2),
                    "rows_per_persist_cpu_s": round(n / cpu) if cpu else None,
                    "db_cpu_seconds": round(db_cpu, 2),
                    "rows_per_cpu_s": round(n / (cpu + db_cpu)) if cpu + db_cpu else None,
                    "load_average_1m": round(load, 1),
                }
            )
        )
        assert n == args.events
        return 0
    finally:
        for m in ps:
            if m.proc is not None:
                m.stop()
        subprocess.run([pgs[0], "down", *pgs[1:]], capture_output=True, check=False)
        subprocess.run(
            ["rm", "-rf", data, data + ".pgpass", data + ".initdb.log"], check=False
        )


if __name__ == "__main__":
    sys.exit(main())
