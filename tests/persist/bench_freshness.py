"""Freshness: event timestamp → row visible, at a steady 500 events/s.

    CSG_BUILD_DIR=build .venv/bin/python tests/persist/bench_freshness.py [--rate 500] [--seconds 20]

Own PostgreSQL cluster (default durability), one csg-persist with default batching. A
producer stamps each event's `timestamp` with the wall clock when it hands it to
librdkafka (standing in for "request arrived" at the gateway: the gateway's own queue and
publisher add their part on top) and paces to the rate. Freshness of a row =
ingested_at − timestamp, i.e. produce → broker → consumer batch → committed transaction
(ingested_at is the transaction's start, so the commit itself adds ≲ 1 ms more). Prints
p50/p95/p99/max in ms, computed in Python from the stored rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Run outside pytest: tests/ on the path for the harness package (csgp is beside this file).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import csgp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    subprocess.run([str(csgp.ROOT / "tests/lib/need-kafka")], check=True)
    port = csgp.free_port()
    data = f"/var/tmp/csg/pg-fresh-{port}"
    pgs = [str(csgp.ROOT / "scripts/postgres"), "--port", str(port), "--data", data]
    subprocess.run([pgs[0], "up", *pgs[1:]], check=True, capture_output=True)
    p = None
    try:
        csgp.PASSFILE = data + ".pgpass"
        owner = f"postgresql://csg_owner@127.0.0.1:{port}/csg"
        csgp.run_cli("migrate", "--db", owner)
        db = csgp.Database(
            url=f"postgresql://csg_app@127.0.0.1:{port}/csg", owner_url=owner, kind="pg"
        )
        topic = csgp.unique("fresh")
        csgp.create_topics(topic, topic + ".dlq")
        p = csgp.Persist(db, topic).start()
        csgp.wait_for(
            lambda: p.metric("csgp_assigned_partitions") > 0, 30, "assignment"
        )
        n = args.rate * args.seconds
        events = csgp.make_events(n, seed=77)
        prod = csgp.producer(**{"linger.ms": 1})
        start = time.monotonic()
        for i, e in enumerate(events):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing
            now_ms = int(datetime.now(UTC).timestamp() * 1000)
            e["timestamp"] = csgp.fmt_ms(now_ms)
            prod.produce(topic, key=e["applicant_id"].encode(), value=csgp.dumps(e))
            prod.poll(0)
        prod.flush(30)
        csgp.wait_for(lambda: db.count() >= n, 60, "all rows", every=0.2)
        lags = sorted(
            float(r[0]) * 1000
            for r in db.query(
                'SELECT extract(epoch FROM ingested_at - "timestamp") FROM credit_score_metrics'
            )
        )
        print(
            json.dumps(
                {
                    "rate": args.rate,
                    "events": n,
                    "p50_ms": round(csgp.pct(lags, 0.5), 1),
                    "p95_ms": round(csgp.pct(lags, 0.95), 1),
                    "p99_ms": round(csgp.pct(lags, 0.99), 1),
                    "max_ms": round(lags[-1], 1),
                }
            )
        )
        return 0
    finally:
        if p is not None:
            p.stop()
        subprocess.run([pgs[0], "down", *pgs[1:]], capture_output=True, check=False)
        subprocess.run(
            ["rm", "-rf", data, data + ".pgpass", data + ".initdb.log"], check=False
        )


if __name__ == "__main__":
    sys.exit(main())
