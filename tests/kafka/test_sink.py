"""The Kafka sink (core/sink_kafka.c + core/spool.c) against a real broker, driven by
csg-sink-driver (tests/kafka/sink_driver.c), which calls the sink exactly as the
gateway's publisher thread does. Every event is read back with a real consumer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, TEST_VAR, Broker
from kafkacheck import wait_for_ids

BUILD = Path(os.environ.get("CSG_BUILD_DIR", ROOT / "build"))
DRIVER = BUILD / "tests" / "csg-sink-driver"
SLOW = 4.0 if os.environ.get("CSG_UNDER_SANITIZER") else 1.0
# The same faults run through the real gateway in test_gateway_kafka.py; these
# sink-only variants run with `make test-faults` or CSG_KAFKA_SINK_FAULTS=1.
sink_faults = pytest.mark.skipif(
    not (os.environ.get("CSG_FAULTS_LONG") or os.environ.get("CSG_KAFKA_SINK_FAULTS")),
    reason="sink-only fault test (covered through the gateway); set CSG_KAFKA_SINK_FAULTS=1",
)


class Driver:
    """csg-sink-driver in the background; result() waits and parses its JSON line."""

    def __init__(self, bootstrap: str, topic: str, spool: Path, count: int, rate: int = 0,
                 prefix: str = "drv", start: int = 0, spool_max: int = 1 << 30,
                 wait_ms: int = 120000) -> None:
        assert DRIVER.exists(), f"missing {DRIVER} (build tests/kafka)"
        self.log_path = TEST_VAR / "kafka-tests" / f"driver-{topic}-{time.time_ns()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in result()
        self.p = subprocess.Popen(
            [str(DRIVER), "--brokers", bootstrap, "--topic", topic, "--spool", str(spool),
             "--count", str(count), "--rate", str(rate), "--prefix", prefix,
             "--start", str(start), "--spool-max", str(spool_max),
             "--wait-ms", str(wait_ms), "--close-ms", "5000"],
            stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT,
        )

    def result(self, timeout: float = 180) -> dict:
        out, _ = self.p.communicate(timeout=timeout * SLOW)
        self._log.close()
        assert self.p.returncode == 0, self.log()
        return json.loads(out.decode().strip().splitlines()[-1])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def spool_dir() -> Path:
    base = TEST_VAR / "kafka-tests"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="spool-", dir=base))


def ids(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}-{i}" for i in range(start, start + n)]


def test_roundtrip_and_throughput(shared_broker: Broker) -> None:
    """100,000 events as fast as the sink takes them: all on the topic, once, keyed by
    applicant_id; prints the rate (events/s until the last delivery report)."""
    topic = shared_broker.topic()
    n = 100_000
    r = Driver(shared_broker.bootstrap, topic, spool_dir(), n).result()
    assert r["written"] == n and r["failed"] == 0 and r["dropped"] == 0, r
    assert r["delivered"] + r["replayed"] == n and r["spool_bytes"] == 0, r
    rep, msgs = wait_for_ids(shared_broker.bootstrap, topic, ids("drv", n), 60)
    # The producer is idempotent and nothing failed: no event may reach the topic twice.
    assert rep.lost == 0 and rep.unexpected == 0 and rep.duplicates == 0, rep
    assert all(m.key == m.value["applicant_id"] for m in msgs)
    print(f"\nKAFKA sink throughput: {r['events_per_s']:.0f} events/s "
          f"({n} events, {r['confirm_s']:.2f}s to the last ack; live {r['delivered']}, "
          f"via spool {r['replayed']}), duplicates={rep.duplicates}")


@sink_faults
def test_broker_kill9_under_load(fault_broker: Broker) -> None:
    """kill -9 of the broker while 4,000 events/s flow; it stays down ≥ 10 s, then
    restarts: every event ends up on the topic (lost = 0). A duplicate can only be an event
    that reached the broker but whose ack was lost, so it was also spooled and replayed:
    duplicates <= spooled."""
    topic = fault_broker.topic()
    rate, secs = 4000, 22
    n = rate * secs
    d = Driver(fault_broker.bootstrap, topic, spool_dir(), n, rate=rate, prefix="k9")
    time.sleep(3)  # load before the fault (a schedule, not a synchronisation)
    fault_broker.kill9()
    killed = time.monotonic()
    time.sleep(10)
    fault_broker.up()
    outage = time.monotonic() - killed
    r = d.result()
    assert r["written"] == n and r["failed"] == 0 and r["dropped"] == 0, (r, d.log())
    assert r["spooled"] > 0, r  # the outage really went through the spool
    assert r["spool_bytes"] == 0 and r["unacked"] == 0, r
    rep, _ = wait_for_ids(fault_broker.bootstrap, topic, ids("k9", n), 60)
    print(f"\nKAFKA kill -9 under load: outage {outage:.1f}s, {n} events, "
          f"spooled {r['spooled']}, lost={rep.lost} duplicates={rep.duplicates}")
    assert rep.lost == 0 and rep.duplicates <= r["spooled"], (rep, r)


@sink_faults
def test_sigterm_with_broker_down_then_replay(fault_broker: Broker) -> None:
    """Broker down, SIGTERM while events flow: close() spools what librdkafka held;
    the next start (broker up) replays the spool; every event is delivered."""
    topic = fault_broker.topic()
    spool = spool_dir()
    d = Driver(fault_broker.bootstrap, topic, spool, 200_000, rate=5000, prefix="st")
    time.sleep(2)
    fault_broker.kill9()
    time.sleep(2)
    d.p.send_signal(signal.SIGTERM)
    r1 = d.result(timeout=30)
    written = r1["written"]
    assert 0 < written < 200_000 and r1["unacked"] == 0 and r1["dropped"] == 0, r1
    assert r1["spool_bytes"] > 0, r1  # something was left for the next start
    fault_broker.up()
    r2 = Driver(fault_broker.bootstrap, topic, spool, 0, prefix="st").result()
    assert r2["replayed"] > 0 and r2["spool_bytes"] == 0, r2
    rep, _ = wait_for_ids(fault_broker.bootstrap, topic, ids("st", written), 60)
    print(f"\nKAFKA SIGTERM with broker down: {written} events, spooled at close "
          f"{r1['spooled']}, replayed next start {r2['replayed']}, lost={rep.lost} "
          f"duplicates={rep.duplicates}")
    # Only spooled events are sent twice (once live, once replayed).
    assert rep.lost == 0 and rep.duplicates <= r1["spooled"], (rep, r1)


def test_spool_full_drops_are_counted_and_logged() -> None:
    """No broker at all and a 256 KiB spool: events spool until it is full, then are
    dropped — counted and logged, never silently."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    d = Driver(f"127.0.0.1:{port}", "nowhere", spool_dir(), 3000, rate=0,
               spool_max=256 << 10, wait_ms=1500)
    r = d.result()
    assert r["written"] == 3000 and r["delivered"] == 0, r
    assert r["dropped"] > 0 and r["spooled"] > 0, r
    assert r["spooled"] + r["dropped"] == 3000, r
    assert r["spool_bytes"] <= 256 << 10, r
    assert "dropped" in d.log(), d.log()


@pytest.mark.parametrize("n", [1, 1000])
def test_spool_left_by_an_earlier_run_is_replayed(shared_broker: Broker, n: int) -> None:
    """Events spooled by a run that never reached Kafka are delivered by the next one."""
    topic = shared_broker.topic()
    spool = spool_dir()
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    dead = f"127.0.0.1:{s.getsockname()[1]}"
    s.close()
    r1 = Driver(dead, topic, spool, n, prefix=f"early{n}", wait_ms=1500).result()
    assert r1["delivered"] == 0 and r1["spool_bytes"] > 0, r1
    r2 = Driver(shared_broker.bootstrap, topic, spool, 0).result()
    assert r2["replayed"] == n and r2["spool_bytes"] == 0, r2
    rep, _ = wait_for_ids(shared_broker.bootstrap, topic, ids(f"early{n}", n), 30)
    assert rep.lost == 0 and rep.duplicates == 0, rep
