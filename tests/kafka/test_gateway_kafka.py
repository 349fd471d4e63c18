"""The real csg-gateway (core + http.so + rest.so) with `events.sink: kafka` in front of
both csg-model services, against real brokers: every answered request's MetricEvent
is read back from the topic with a real consumer."""

from __future__ import annotations

import re
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, TEST_VAR, Broker
from gateway.gwlib import (
    GATEWAY_BIN,
    MODEL_BIN,
    PLUGIN_DIR,
    ConnectionClosed,
    HttpConn,
    Proc,
    applications,
    http_get_ok,
    start_model,
)
from harness import free_port, wait_until
from kafka.kafkacheck import wait_for_ids

EXPERIMENT = "exp-kafka-test"
EVENT_KEYS = {
    "event_id", "experiment_id", "applicant_id", "transport", "champion_model",
    "challenger_model", "champion_score", "challenger_score", "champion_decision",
    "challenger_decision", "decision_match", "latency_champion_ms", "latency_challenger_ms",
    "decision_diff", "income", "loan_amount", "credit_history", "features", "config_version",
    "champion_reasons", "challenger_reasons", "decided_by", "challengers", "timestamp", "status",
}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONFIG_VERSION = re.compile(r"^[0-9a-f]{16}$")
# The shipped feature schema (13 characteristics), as config/experiments.yaml declares it.
_SHIPPED = (ROOT / "config" / "experiments.yaml").read_text()
APPLICATION_BLOCK = _SHIPPED[_SHIPPED.index("\napplication:") + 1:_SHIPPED.index("\nexperiment:") + 1]
# Optional features some applications carry (the v2 models use them: other scores, same checks).
EXTRA = ({"age": 41, "home": "rent", "term_months": 36},
         {"marital": "widow", "job": "freelance", "assets": 1e6, "debt": 0.5},
         {})


def _need_binaries() -> None:
    for f in (GATEWAY_BIN, MODEL_BIN, PLUGIN_DIR / "http.so", PLUGIN_DIR / "rest.so"):
        assert f.exists(), f"missing {f}"


@pytest.fixture(scope="module")
def models():
    _need_binaries()
    cp, hp = free_port(), free_port()
    c = start_model("champion", cp)
    h = start_model("challenger", hp)
    yield cp, hp
    c.stop()
    h.stop()


class KafkaGateway:
    """csg-gateway publishing to Kafka, with its own config, lock dir and spool."""

    def __init__(self, bootstrap: str, topic: str, models: tuple[int, int],
                 spool: Path | None = None) -> None:
        base = TEST_VAR / "kafka-tests"
        base.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="gwk-", dir=base))
        self.spool = spool or self.dir / "spool"
        self.port = free_port()
        cp, hp = models
        cfg = f"""gateway:
  workers: 2
  plugin_dir: {PLUGIN_DIR}
  lock_dir: {self.dir}
  drain_timeout_ms: 5000
transports:
  - {{ plugin: http.so, listen: "127.0.0.1:{self.port}" }}
{APPLICATION_BLOCK}experiment:
  id: {EXPERIMENT}
  salt: "kafka-test"
  assignment: hash
  reply: after_champion
champion:
  name: champion-scorecard-v2
  adapter: rest.so
  url: http://127.0.0.1:{cp}/score
  timeout_ms: 2000
challengers:
  - name: challenger-gbm-v2
    adapter: rest.so
    url: http://127.0.0.1:{hp}/score
    weight: 0.2
    timeout_ms: 2000
events:
  sink: kafka
  kafka_brokers: {bootstrap}
  topic: {topic}
  queue_capacity: 65536
  spool_dir: {self.spool}
  spool_max_bytes: 268435456
limits:
  max_body_bytes: 65536
  max_connections: 1000
  idle_timeout_ms: 60000
"""
        self.config = self.dir / "experiments.yaml"
        self.config.write_text(cfg)
        self.proc = Proc("gateway-kafka", [str(GATEWAY_BIN), "--config", str(self.config)],
                         cwd=ROOT)
        if not wait_until(lambda: http_get_ok(self.port, "/readyz"), 30):
            self.proc.stop()
            raise RuntimeError(f"csg-gateway did not start:\n{self.proc.log()}")

    def metrics(self) -> dict[str, float]:
        c = HttpConn(self.port, timeout=5)
        try:
            body = c.request("GET", "/metrics").body.decode()
        finally:
            c.close()
        out = {}
        for line in body.splitlines():
            if line.startswith(("csg_events", "csg_spool", "csg_config_info")):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self) -> int:
        return self.proc.stop(30)


class Load:
    """Threads posting applications with X-Request-Id = prefix-i over keep-alive
    connections; records each answered request's status and reply."""

    def __init__(self, port: int, apps: list[dict], prefix: str, threads: int = 4,
                 rate: float = 0.0, stop_on_error: bool = False) -> None:
        self.port, self.apps, self.prefix = port, apps, prefix
        self.rate, self.stop_on_error = rate, stop_on_error
        self.results: dict[int, tuple[int, dict]] = {}
        self.errors = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._t0 = time.monotonic()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.apps) or self.stop.is_set():
                return None
            i = self._next
            self._next += 1
        if self.rate:
            due = self._t0 + i / self.rate
            while not self.stop.is_set() and (wait := due - time.monotonic()) > 0:
                time.sleep(min(0.05, wait))
        return i

    def _run(self) -> None:
        conn: HttpConn | None = None
        while (i := self._take()) is not None:
            try:
                if conn is None:
                    conn = HttpConn(self.port, timeout=15)
                r = conn.score(self.apps[i], headers={"X-Request-Id": f"{self.prefix}-{i}"})
                body = r.json() if r.body else {}
                with self._lock:
                    self.results[i] = (r.status, body)
            except (OSError, ConnectionClosed, ValueError):
                with self._lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                    conn = None
                if self.stop_on_error:
                    return
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    def join(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "load did not finish"

    def answered_ids(self) -> list[str]:
        return [f"{self.prefix}-{i}" for i, (st, _) in sorted(self.results.items()) if st == 200]


def check_event(e: dict, key: str | None, app: dict, reply: dict, request_id: str) -> None:
    assert set(e) == EVENT_KEYS, set(e) ^ EVENT_KEYS
    assert key == app["applicant_id"]
    assert e["event_id"] == request_id == reply["request_id"]
    assert e["experiment_id"] == EXPERIMENT and e["transport"] == "http"
    assert e["applicant_id"] == app["applicant_id"]
    assert e["income"] == app["income"] and e["loan_amount"] == app["loan_amount"]
    assert e["credit_history"] == app["credit_history"]
    # The validated features, in schema order; absent optional ones left out.
    assert e["features"] == {k: v for k, v in app.items() if k != "applicant_id"}, (e, app)
    assert CONFIG_VERSION.match(e["config_version"]), e
    assert e["champion_model"] == "champion-scorecard-v2" == reply["model"]
    assert e["champion_score"] == reply["score"]
    assert e["champion_decision"] == reply["decision"]
    assert e["champion_reasons"] == [x["code"] for x in reply["reasons"]], (e, reply)
    assert e["latency_champion_ms"] > 0 and TS.match(e["timestamp"]), e
    if e["challenger_model"] is None:
        for k in ("challenger_score", "challenger_decision", "decision_match",
                  "latency_challenger_ms", "decision_diff"):
            assert e[k] is None, (k, e)
        assert e["status"] == "OK", e
    else:
        assert e["challenger_model"] == "challenger-gbm-v2"
        if e["status"] == "OK":
            assert 0 <= e["challenger_score"] <= 1
            assert e["decision_match"] == (e["champion_decision"] == e["challenger_decision"])
            assert e["decision_diff"] == pytest.approx(
                abs(e["champion_score"] - e["challenger_score"]))
        else:
            assert e["status"] in ("CHALLENGER_TIMEOUT", "CHALLENGER_ERROR"), e


def test_5000_requests_5000_events(shared_broker: Broker, models: tuple[int, int]) -> None:
    topic = shared_broker.topic()
    gw = KafkaGateway(shared_broker.bootstrap, topic, models)
    try:
        apps = [{**a, **EXTRA[i % 3]} for i, a in enumerate(applications(5000, seed=50))]
        load = Load(gw.port, apps, "k5")
        load.join()
        assert load.errors == 0 and len(load.results) == 5000
        assert all(st == 200 for st, _ in load.results.values())
        rep, msgs = wait_for_ids(shared_broker.bootstrap, topic, load.answered_ids(), 60)
        assert rep.lost == 0 and rep.duplicates == 0 and rep.unexpected == 0, rep
        by_id = {m.value["event_id"]: m for m in msgs}
        challenged = 0
        for i, app in enumerate(apps):
            m = by_id[f"k5-{i}"]
            check_event(m.value, m.key, app, load.results[i][1], f"k5-{i}")
            challenged += m.value["challenger_model"] is not None
        assert 0.15 < challenged / 5000 < 0.25, challenged
        met = gw.metrics()
        assert met.get('csg_events_total{outcome="delivered"}', 0) >= 5000, met
        # /metrics names the version every event carries.
        version = by_id["k5-0"].value["config_version"]
        assert met.get(f'csg_config_info{{version="{version}"}}') == 1, met
        assert all(m.value["config_version"] == version for m in msgs)
        print(f"\nKAFKA gateway: 5000 requests → 5000 events, challenger share "
              f"{challenged / 5000:.3f}, lost=0 duplicates=0")
    finally:
        assert gw.stop() == 0, gw.proc.log()[-3000:]


def test_sigterm_under_load_broker_down(fault_broker: Broker, models: tuple[int, int]) -> None:
    """Broker down, SIGTERM while requests flow: the gateway exits 0 with the events in
    its spool; restarted with the broker up, it delivers every answered request's event."""
    topic = fault_broker.topic()
    spool = Path(tempfile.mkdtemp(prefix="spool-", dir=TEST_VAR / "kafka-tests"))
    gw = KafkaGateway(fault_broker.bootstrap, topic, models, spool=spool)
    apps = applications(20000, seed=52)
    load = Load(gw.port, apps, "gst", threads=4, rate=500, stop_on_error=True)
    rc = None
    try:
        assert wait_until(lambda: len(load.results) >= 500, 30)
        fault_broker.kill9()
        n0 = len(load.results)
        assert wait_until(lambda: len(load.results) >= n0 + 1000, 30)
        gw.proc.signal(signal.SIGTERM)
        assert wait_until(lambda: not gw.proc.alive(), 60), "gateway did not exit"
        rc = gw.stop()
        load.stop.set()
        load.join(60)
        assert rc == 0, gw.proc.log()[-3000:]
        answered = load.answered_ids()
        assert len(answered) >= 1500
        assert all(st == 200 for st, _ in load.results.values())
        assert any(spool.glob("*.csgspool")), "nothing was spooled"
    finally:
        load.stop.set()
        if rc is None:
            gw.stop()  # a failed assertion above must not leave the gateway running
        fault_broker.up()
    gw2 = KafkaGateway(fault_broker.bootstrap, topic, models, spool=spool)
    try:
        rep, _ = wait_for_ids(fault_broker.bootstrap, topic, answered, 90)
        assert wait_until(lambda: gw2.metrics().get("csg_spool_bytes", 1) == 0, 30), gw2.metrics()
        replayed = gw2.metrics().get('csg_events_total{outcome="replayed"}')
        print(f"\nKAFKA gateway SIGTERM with broker down: {len(answered)} answered, "
              f"replayed on restart {replayed}, "
              f"lost={rep.lost} duplicates={rep.duplicates}")
        assert rep.lost == 0 and rep.duplicates <= (replayed or 0), (rep, replayed)
    finally:
        assert gw2.stop() == 0, gw2.proc.log()[-3000:]
