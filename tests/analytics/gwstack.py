"""A private real stack for the analytics e2e tests: both csg-model services, a csg-gateway
with HTTP, TCP and gRPC on free ports publishing to the test Kafka broker, and csg-persist
(SQLite, or any csgp.Database) consuming that topic — the same pieces as `make up`, on
ports of their own. Used by test_e2e_demo.py (scripts/demo) and test_schema_e2e.py (the
feature schema end to end)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import requests
from harness import Proc, wait_for
from persist import csgp

ROOT = csgp.ROOT
BUILD = csgp.BUILD
GATEWAY = BUILD / "bin" / "csg-gateway"
MODEL = BUILD / "bin" / "csg-model"
PLUGINS = BUILD / "lib" / "csg"
NEEDED = [GATEWAY, MODEL, *(PLUGINS / p for p in ("http.so", "tcp.so", "grpc.so", "rest.so"))]


wait = wait_for  # the analytics tests' name for harness.wait_for


def ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


def gateway_config(d: Path, ports: dict[str, int], weight: float, topic: str,
                   application: str = "") -> str:
    """application: an `application:` block (YAML text ending in a newline), "" = none."""
    return f"""gateway:
  workers: 2
  plugin_dir: {PLUGINS}
  lock_dir: {d}
transports:
  - {{ plugin: http.so, listen: "127.0.0.1:{ports['http']}" }}
  - {{ plugin: tcp.so,  listen: "127.0.0.1:{ports['tcp']}" }}
  - {{ plugin: grpc.so, listen: "127.0.0.1:{ports['grpc']}" }}
{application}experiment:
  id: exp-demo-e2e
  salt: "e2e"
  assignment: hash
  reply: after_champion
champion:
  name: champion-scorecard-v2
  adapter: rest.so
  url: http://127.0.0.1:{ports['champion']}/score
  timeout_ms: 2000
challengers:
  - name: challenger-gbm-v2
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
    """The gateway runs from run/gateway.yaml, a symlink to default_cfg (scripts/demo
    repoints it to demo_cfg, weight 1.0, and back); `reload(path)` does the same by hand."""

    def __init__(self, tmp: Path, application: str = "", db: csgp.Database | None = None) -> None:
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
                                          "--port", str(self.ports[role])], log_dir=tmp))
            self.procs[-1].ready(lambda r=role: ok(f"http://127.0.0.1:{self.ports[r]}/healthz"),
                                 20, role)
        self.default_cfg = tmp / "experiments.yaml"
        self.default_cfg.write_text(gateway_config(tmp, self.ports, 0.2, self.topic, application))
        self.demo_cfg = tmp / "demo.yaml"
        self.demo_cfg.write_text(gateway_config(tmp, self.ports, 1.0, self.topic, application))
        self.link = self.run / "gateway.yaml"
        self.link.symlink_to(self.default_cfg)
        self.gateway = Proc("gateway", [str(GATEWAY), "--config", str(self.link)], log_dir=tmp)
        self.procs.append(self.gateway)
        (self.run / "gateway.pid").write_text(f"{self.gateway.p.pid}\n")
        self.gw_url = f"http://127.0.0.1:{self.ports['http']}"
        self.gateway.ready(lambda: ok(self.gw_url + "/readyz"), 30, "gateway /readyz")
        self.db = db or csgp.new_sqlite_database(tmp)
        # as make up: the bundled models' stability baselines stored at start
        baselines = [a for role in ("champion", "challenger")
                     for a in ("--baseline", str(ROOT / f"models/{role}.baseline.json"))]
        self.persist = csgp.Persist(self.db, topic=self.topic, args=baselines).start()

    def config(self, name: str, application: str, weight: float = 0.2) -> Path:
        """Another config file for this stack (same ports, topic), e.g. another schema."""
        path = self.dir / name
        path.write_text(gateway_config(self.dir, self.ports, weight, self.topic, application))
        return path

    def reload(self, path: Path) -> None:
        """Point run/gateway.yaml at path and SIGHUP the gateway (as scripts/demo does)."""
        tmp_link = self.run / "gateway.yaml.new"
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(path)
        tmp_link.replace(self.link)
        self.gateway.p.send_signal(signal.SIGHUP)

    def gateway_metrics(self) -> str:
        return requests.get(self.gw_url + "/metrics", timeout=5).text

    def reloads(self, result: str = "ok") -> float:
        for line in self.gateway_metrics().splitlines():
            if line.startswith(f'csg_config_reloads_total{{result="{result}"}}'):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no reload counter for result={result}")

    def config_version(self) -> str:
        """The version label of csg_config_info (the only series: one serving config)."""
        found = [line.split('"')[1] for line in self.gateway_metrics().splitlines()
                 if line.startswith("csg_config_info{")]
        assert len(found) == 1, f"csg_config_info series: {found}"
        return found[0]

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
