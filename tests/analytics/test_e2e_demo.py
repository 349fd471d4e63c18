"""e2e: `scripts/demo` on a private stack (both model services, a gateway with HTTP, TCP and
gRPC on free ports, the test Kafka broker, csg-persist on SQLite) — the same pieces as
`make up`, on ports of their own.

- The demo switches the gateway to the demo config by SIGHUP and back afterwards (also on
  Ctrl-C), replays the hold-out over the three transports and posts the outcomes.
- /metrics/performance's per-model AUC equals an offline computation on exactly the
  applicants the run paired (1e-9), and — the whole hold-out at 100% — the hold-out AUC of
  models/metrics.json (1e-6).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import csgp
import pytest
import ref
import requests

ROOT = csgp.ROOT
BUILD = csgp.BUILD
GATEWAY = BUILD / "bin" / "csg-gateway"
MODEL = BUILD / "bin" / "csg-model"
PLUGINS = BUILD / "lib" / "csg"
NEEDED = [GATEWAY, MODEL, *(PLUGINS / p for p in ("http.so", "tcp.so", "grpc.so", "rest.so"))]

pytestmark = [
    pytest.mark.skipif(not all(p.exists() for p in NEEDED),
                       reason="needs the gateway, model services and plugins built"),
    pytest.mark.skipif(os.environ.get("CSG_UNDER_SANITIZER") == "1",
                       reason="e2e runs once, on the regular build"),
]


def wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


class Proc:
    def __init__(self, name: str, cmd: list[str], log_dir: Path) -> None:
        self.log = log_dir / f"{name}.log"
        with open(self.log, "ab") as f:
            self.p = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=f, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


def gateway_config(d: Path, ports: dict[str, int], weight: float, topic: str) -> str:
    return f"""gateway:
  workers: 2
  plugin_dir: {PLUGINS}
  lock_dir: {d}
transports:
  - {{ plugin: http.so, listen: "127.0.0.1:{ports['http']}" }}
  - {{ plugin: tcp.so,  listen: "127.0.0.1:{ports['tcp']}" }}
  - {{ plugin: grpc.so, listen: "127.0.0.1:{ports['grpc']}" }}
experiment:
  id: exp-demo-e2e
  salt: "e2e"
  assignment: hash
  reply: after_champion
champion:
  name: champion-lr-v1
  adapter: rest.so
  url: http://127.0.0.1:{ports['champion']}/score
  timeout_ms: 2000
challengers:
  - name: challenger-gbm-v1
    adapter: rest.so
    url: http://127.0.0.1:{ports['challenger']}/score
    weight: {weight}
    timeout_ms: 2000
events:
  sink: kafka
  kafka_brokers: {csgp.KAFKA}
  topic: {topic}
  queue_capacity: 65536
  spool_dir: {d / 'spool'}
  spool_max_bytes: 268435456
limits:
  max_body_bytes: 65536
  max_line_bytes: 16384
  max_connections: 1000
  idle_timeout_ms: 60000
"""


class Stack:
    def __init__(self, tmp: Path) -> None:
        subprocess.run([str(ROOT / "tests/lib/need-kafka")], check=True)
        self.dir = tmp
        self.run = tmp / "run"
        self.run.mkdir()
        self.procs: list[Proc] = []
        self.ports = {k: csgp.free_port() for k in ("http", "tcp", "grpc", "champion", "challenger")}
        self.topic = csgp.unique("demo")
        csgp.create_topics(self.topic, partitions=3)
        for role in ("champion", "challenger"):
            self.procs.append(Proc(role, [str(MODEL), "--model", str(ROOT / f"models/{role}.json"),
                                          "--port", str(self.ports[role])], tmp))
            wait(lambda r=role: ok(f"http://127.0.0.1:{self.ports[r]}/healthz"), 20, role)
        self.default_cfg = tmp / "experiments.yaml"
        self.default_cfg.write_text(gateway_config(tmp, self.ports, 0.2, self.topic))
        self.demo_cfg = tmp / "demo.yaml"
        self.demo_cfg.write_text(gateway_config(tmp, self.ports, 1.0, self.topic))
        self.link = self.run / "gateway.yaml"
        self.link.symlink_to(self.default_cfg)
        gw = Proc("gateway", [str(GATEWAY), "--config", str(self.link)], tmp)
        self.procs.append(gw)
        (self.run / "gateway.pid").write_text(f"{gw.p.pid}\n")
        self.gw_url = f"http://127.0.0.1:{self.ports['http']}"
        wait(lambda: ok(self.gw_url + "/readyz"), 30, "gateway")
        self.db = csgp.new_sqlite_database(tmp)
        self.persist = csgp.Persist(self.db, topic=self.topic).start()

    def reloads(self) -> float:
        for line in requests.get(self.gw_url + "/metrics", timeout=5).text.splitlines():
            if line.startswith('csg_config_reloads_total{result="ok"}'):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError("no reload counter")

    def demo(self, *args: str, **popen: object) -> subprocess.Popen:
        env = dict(os.environ, CSG_RUN_DIR=str(self.run), CSG_DEMO_CONFIG=str(self.demo_cfg),
                   CSG_GATEWAY_URL=self.gw_url, CSG_PERSIST_URL=self.persist.url,
                   CSG_BUILD_DIR=str(BUILD))
        cmd = [str(ROOT / "scripts/demo"), "--http-port", str(self.ports["http"]),
               "--tcp-port", str(self.ports["tcp"]), "--grpc-port", str(self.ports["grpc"]), *args]
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, **popen)  # type: ignore[call-overload]

    def close(self) -> None:
        self.persist.stop()
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("demo", numbered=True))
    yield s
    s.close()


def holdout() -> dict[str, bool]:
    with open(ROOT / "models/holdout.csv", newline="") as f:
        return {r["applicant_id"]: r["defaulted"] == "true" for r in csv.DictReader(f)}


def test_demo_run_matches_offline_and_holdout(stack: Stack, tmp_path: Path) -> None:
    before = stack.reloads()
    out = tmp_path / "run.json"
    proc = stack.demo("--rate", "500", "--json", str(out))
    text, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, text
    print(text)
    assert "Replay summary" in text and "ΔAUC" in text, text
    # Switched to the demo config and back: two successful reloads, link restored.
    assert stack.reloads() == before + 2
    assert os.readlink(stack.link) == str(stack.default_cfg)
    run = json.loads(out.read_text())
    labels = holdout()
    assert run["ok"] == run["sent"] == len(labels)
    assert run["outcomes"]["accepted"] == len(labels) and run["outcomes"]["rejected"] == []

    # Offline: this run's events as stored, paired (status OK, both scores), with labels.
    rows = stack.db.query(
        "SELECT applicant_id, champion_score, challenger_score, status, transport "
        "FROM credit_score_metrics WHERE event_id LIKE ?", (f"demo-{run['run_id']}-%",))
    assert len(rows) == len(labels)
    assert {r[4] for r in rows} == {"http", "tcp", "grpc"}
    paired = [r for r in rows if r[3] == "OK" and r[1] is not None and r[2] is not None]
    bad = [labels[r[0]] for r in paired]
    perf = stack.persist.get("/metrics/performance", **{"from": run["since"]}).json()
    models = {m["role"]: m for m in perf["models"]}
    assert models["champion"]["count"] == len(paired)
    want = {"champion": ref.auc([r[1] for r in paired], bad),
            "challenger": ref.auc([r[2] for r in paired], bad)}
    for role in ("champion", "challenger"):
        assert abs(models[role]["auc"] - want[role]) < 1e-9, (role, models[role], want[role])
    # The whole hold-out, every applicant paired: the training script's hold-out AUC.
    assert len(paired) == len(labels)
    metrics = json.loads((ROOT / "models/metrics.json").read_text())
    for role in ("champion", "challenger"):
        assert models[role]["model"] == metrics[role]["model"]
        assert abs(models[role]["auc"] - metrics[role]["auc"]) < 1e-6, (role, models[role])
        assert abs(models[role]["ks"] - metrics[role]["ks"]) < 1e-6, (role, models[role])
    promo = perf["promotion"][0]
    lo, hi = promo["ci95"]
    assert lo < promo["delta_auc"] < hi and promo["verdict"]

    # Re-running is safe: outcomes upsert, each applicant still counts once.
    proc = stack.demo("--rate", "800", "--limit", "60", "--json", str(out))
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    again = stack.persist.get("/metrics/performance", **{"from": run["since"]}).json()
    assert {m["role"]: m["count"] for m in again["models"]} == {"champion": len(labels),
                                                                 "challenger": len(labels)}
    assert os.readlink(stack.link) == str(stack.default_cfg)


def interactive_sigint() -> None:
    """In the demo's child: SIGINT as in a terminal. A test run started in the
    background of a non-interactive shell inherits SIGINT ignored, and a shell
    started with a signal ignored can never trap it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_interrupted_restores_config(stack: Stack) -> None:
    before = stack.reloads()
    proc = stack.demo("--rate", "20", "--no-outcomes", start_new_session=True,
                      preexec_fn=interactive_sigint)
    wait(lambda: stack.reloads() >= before + 1, 30, "the demo config to be loaded")
    assert os.readlink(stack.link) == str(stack.demo_cfg)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "restored" in text, text
    assert os.readlink(stack.link) == str(stack.default_cfg)
    assert stack.reloads() == before + 2
