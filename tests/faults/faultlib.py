"""The fault suite's stack and accounting: a PostgreSQL cluster and a Kafka broker of its
own (so killing them disturbs no other suite), both csg-model services, csg-gateway
publishing to Kafka, csg-persist writing to PostgreSQL, a load generator with unique
request ids, and the count table (sent / answered / rows / duplicate rows / lost).

Everything runs on loopback. Ports (overridable): broker $CSG_TEST_KAFKA_PORT + 30
(controller + 1), PostgreSQL $CSG_TEST_PG_PORT + 30; the 3-broker cluster on
19192/29192/31192 (controllers + 1; $CSG_FAULTS_CLUSTER_PORTS). Logs land under
$CSG_TEST_VAR/faults/.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import harness
import psycopg
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from gateway.gwlib import (
    GATEWAY_BIN,
    PLUGIN_DIR,
    ConnectionClosed,
    HttpConn,
    Proc,
    applications,
    http_get_ok,
    start_model,
)
from harness import BUILD, ROOT, TEST_VAR, free_port
from harness.waits import NOT_YET
from kafka.kafkacheck import count_ids, read_topic

LONG = os.environ.get("CSG_FAULTS_LONG", "0") == "1"
PERSIST_BIN = BUILD / "bin" / "csg-persist"
VAR = TEST_VAR / "faults"
KAFKA_PORT = int(os.environ.get("CSG_FAULTS_KAFKA_PORT",
                                int(os.environ.get("CSG_TEST_KAFKA_PORT", "9192")) + 30))
PG_PORT = int(os.environ.get("CSG_FAULTS_PG_PORT",
                             int(os.environ.get("CSG_TEST_PG_PORT", "5434")) + 30))
# Not scripts/kafka's 19092/29092/39092: 39092 lies in Linux's ephemeral range
# (32768-60999), where any outgoing connection may hold it (seen: a node failed to bind).
CLUSTER_PORTS = tuple(int(p) for p in
                      os.environ.get("CSG_FAULTS_CLUSTER_PORTS", "19192,29192,31192").split(","))
EXPERIMENT = "exp-faults"


def wait_for(pred: Callable[[], object], timeout: float, what: str,
             every: float = 0.1) -> object:
    """harness.wait_for, where a service being down (connection refused or closed,
    PostgreSQL or Kafka unreachable) means "not yet"."""
    return harness.wait_for(pred, timeout, what, every, retry_on=(
        *NOT_YET, ConnectionClosed, psycopg.OperationalError, KafkaException))


def run(*argv: str, timeout: float = 300, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(list(argv), cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout, check=False, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({r.returncode}):\n"
                             f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r


# ------------------------------------------------------------------ PostgreSQL


class PgCluster:
    """The suite's own PostgreSQL (scripts/postgres, fsync off), one database per run."""

    def __init__(self, port: int = PG_PORT) -> None:
        self.port = port
        self.script = str(ROOT / "scripts" / "postgres")
        self.passfile = run(self.script, "passfile", "--port", str(port)).stdout.strip()
        self.dbname = ""

    def up(self) -> None:
        run(self.script, "up", "--port", str(self.port), "--fast", timeout=180)

    def down(self) -> None:
        run(self.script, "down", "--port", str(self.port), timeout=120)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSFILE": self.passfile}

    def url(self, role: str = "csg_app") -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{self.dbname}"

    def create_database(self) -> None:
        self.dbname = f"faults_{uuid.uuid4().hex[:10]}"
        run(self.script, "createdb", self.dbname, "--port", str(self.port))
        run(str(PERSIST_BIN), "migrate", "--db", self.url("csg_owner"), env=self.env())

    def drop_database(self) -> None:
        if self.dbname:
            run(self.script, "dropdb", self.dbname, "--port", str(self.port), check=False)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5,
                             passfile=self.passfile) as con:
            return list(con.execute(sql, params).fetchall())

    def rows_for(self, prefix: str) -> Counter:
        """event_id → number of rows, for the ids of one scenario."""
        rows = self.query("SELECT event_id, count(*) FROM credit_score_metrics "
                          "WHERE event_id LIKE %s GROUP BY event_id", (prefix + "-%",))
        return Counter({eid: n for eid, n in rows})

    def statuses_for(self, prefix: str) -> dict[str, str]:
        rows = self.query("SELECT event_id, status FROM credit_score_metrics "
                          "WHERE event_id LIKE %s", (prefix + "-%",))
        return dict(rows)


# ------------------------------------------------------------------ Kafka


class Broker:
    """A single scripts/kafka broker of the suite's own: up (idempotent), kill -9, down."""

    def __init__(self, port: int = KAFKA_PORT, data: Path = VAR / "kafka") -> None:
        self.port, self.data = port, data
        self.bootstrap = f"127.0.0.1:{port}"

    def _kafka(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(str(ROOT / "scripts" / "kafka"), *args, "--port", str(self.port),
                   "--data", str(self.data), check=check)

    def up(self) -> None:
        self._kafka("up", "--quiet")

    def down(self) -> None:
        self._kafka("down", "--quiet", check=False)

    def pid(self) -> int:
        return int(self._kafka("pid").stdout.strip())

    def kill9(self) -> None:
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), 10, "broker gone")


def pid_alive(pid: int) -> bool:
    """kill -0, as scripts/kafka's own `alive` does. (/proc state is no help: a JVM whose
    main thread has exited shows Z while its other threads still shut down.) The brokers
    are not our children; init reaps them."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def create_topic(bootstrap: str, name: str, partitions: int = 6, rf: int = 1) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})

    def created() -> bool:
        # Retried: a cluster that just started may still move its controller around.
        fut = admin.create_topics([NewTopic(name, num_partitions=partitions,
                                            replication_factor=rf)], operation_timeout=30)
        try:
            fut[name].result(timeout=60)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        return True

    wait_for(created, 90, f"topic {name} created", every=1.0)

    def ready() -> bool:
        t = admin.list_topics(name, timeout=5).topics.get(name)
        return bool(t and t.error is None and len(t.partitions) == partitions
                    and all(p.leader >= 0 and len(p.isrs) == rf
                            for p in t.partitions.values()))

    wait_for(ready, 60, f"leaders for {name}")
    return name


def delete_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    for f in admin.delete_topics([name], operation_timeout=30).values():
        with contextlib.suppress(Exception):  # best-effort clean-up
            f.result(timeout=60)


# ------------------------------------------------------------------ services

# Every daemon the suite started (gateways, models, csg-persist), so teardown can reap
# the ones a failed assertion left behind: e.g. a restarted csg-persist whose start()
# failed before the test could keep a reference to it.
STARTED: list[subprocess.Popen] = []


def reap_all(timeout: float = 10) -> int:
    """SIGTERM every started process still running, SIGKILL what is left after timeout;
    returns how many were still running."""
    alive = [p for p in STARTED if p.poll() is None]
    for p in alive:
        with contextlib.suppress(OSError):
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in alive:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    STARTED.clear()
    return len(alive)



class Gateway:
    """csg-gateway (http.so + rest.so) with `events.sink: kafka`, a config of its own,
    a lock dir and a spool dir that survive restarts (so a restart replays the spool)."""

    def __init__(self, brokers: str, topic: str, champion: int, challenger: int,
                 name: str = "gw", champion_timeout_ms: int = 2000,
                 fallback: str | None = None, weight: float = 0.2) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=VAR))
        self.spool = self.dir / "spool"
        self.port = free_port()
        self.brokers, self.topic = brokers, topic
        self.champion, self.challenger = champion, challenger
        self.champion_timeout_ms, self.fallback = champion_timeout_ms, fallback
        self.config = self.dir / "experiments.yaml"
        self.write_config(weight)
        self.proc: Proc | None = None

    def write_config(self, weight: float) -> None:
        fb = f"\n  fallback_decision: {self.fallback}" if self.fallback else ""
        self.config.write_text(f"""gateway:
  workers: 2
  plugin_dir: {PLUGIN_DIR}
  lock_dir: {self.dir}
  drain_timeout_ms: 5000
transports:
  - {{ plugin: http.so, listen: "127.0.0.1:{self.port}" }}
experiment:
  id: {EXPERIMENT}
  salt: "faults"
  assignment: hash
  reply: after_champion
champion:
  name: champion-scorecard-v2
  adapter: rest.so
  url: http://127.0.0.1:{self.champion}/score
  timeout_ms: {self.champion_timeout_ms}{fb}
challengers:
  - name: challenger-gbm-v2
    adapter: rest.so
    url: http://127.0.0.1:{self.challenger}/score
    weight: {weight}
    timeout_ms: 2000
events:
  sink: kafka
  kafka_brokers: {self.brokers}
  topic: {self.topic}
  queue_capacity: 65536
  spool_dir: {self.spool}
  spool_max_bytes: 536870912
limits:
  max_body_bytes: 65536
  max_connections: 2000
  idle_timeout_ms: 60000
""")

    def start(self, ready: bool = True) -> Gateway:
        assert self.proc is None or not self.proc.alive()
        self.proc = Proc("faults-gateway", [str(GATEWAY_BIN), "--config", str(self.config)])
        STARTED.append(self.proc.p)
        path = "/readyz" if ready else "/healthz"
        wait_for(lambda: http_get_ok(self.port, path) or not self.proc.alive(), 30,
                 f"gateway {path}")
        assert self.proc.alive(), self.proc.log()[-3000:]
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.signal(sig)

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.p.wait(timeout)
        return self.proc.stop()

    def stop(self) -> int:
        return self.proc.stop(30) if self.proc is not None else 0

    def metrics(self) -> dict[str, float]:
        c = HttpConn(self.port, timeout=5)
        try:
            body = c.request("GET", "/metrics").body.decode()
        finally:
            c.close()
        out: dict[str, float] = {}
        for line in body.splitlines():
            if line.startswith("csg_") and not line.startswith("csg_model_latency"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def log(self) -> str:
        return self.proc.log() if self.proc else ""


def events_total(m: dict[str, float], outcome: str) -> float:
    return m.get(f'csg_events_total{{outcome="{outcome}"}}', 0.0)


class Persist:
    """One csg-persist process (consumer group csg-faults) with its log under VAR."""

    def __init__(self, pg: PgCluster, brokers: str, topic: str, group: str,
                 port: int = 0) -> None:
        self.pg, self.brokers, self.topic, self.group = pg, brokers, topic, group
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = VAR / f"persist-{group}-{self.port}.log"

    def start(self, wait: bool = True) -> Persist:
        VAR.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(
                [str(PERSIST_BIN), "--db", self.pg.url(), "--brokers", self.brokers,
                 "--topic", self.topic, "--group", self.group,
                 "--listen", f"127.0.0.1:{self.port}", "--session-timeout-ms", "6000",
                 "--backoff-max-ms", "1000"],
                env=self.pg.env(), stdout=f, stderr=f, stdin=subprocess.DEVNULL)
        STARTED.append(self.proc)
        if wait:
            wait_for(lambda: self.healthy(), 30, f"csg-persist on :{self.port}")
        return self

    def healthy(self) -> bool:
        assert self.proc is not None
        assert self.proc.poll() is None, f"csg-persist exited; log {self.log}"
        return http_get_ok(self.port, "/healthz")

    def metric(self, name: str) -> float:
        c = HttpConn(self.port, timeout=5)
        try:
            text = c.request("GET", "/metrics").body.decode()
        finally:
            c.close()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith((name + " ", name + "{")))

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return -9


class Model:
    """A csg-model service on a fixed port, restartable (down, slow, back)."""

    def __init__(self, kind: str, port: int = 0) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.proc: Proc | None = None

    def start(self, *extra: str) -> Model:
        self.proc = start_model(self.kind, self.port, *extra)
        STARTED.append(self.proc.p)
        return self

    def kill9(self) -> None:
        if self.proc is not None and self.proc.alive():
            self.proc.p.kill()
            self.proc.p.wait(10)
            self.proc.stop()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


# ------------------------------------------------------------------ load


class Load:
    """Threads posting applications with X-Request-Id = prefix-i (unique) over keep-alive
    connections at a bounded rate. Every id is sent once (no client retry, so the
    accounting stays exact). A request whose connection failed counts as unanswered."""

    def __init__(self, port: int | Callable[[], int], prefix: str, rate: float,
                 total: int = 10_000_000, threads: int = 4) -> None:
        self.port = port
        self.prefix, self.rate, self.total = prefix, rate, total
        self.apps = applications(2000, seed=sum(prefix.encode()))
        self.replies: dict[int, tuple[int, dict]] = {}
        self.unanswered: list[int] = []
        self.sent = 0
        self.stop_ev = threading.Event()
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _take(self) -> int | None:
        with self._lock:
            if self.sent >= self.total or self.stop_ev.is_set():
                return None
            i = self.sent
            self.sent += 1
        due = self._t0 + i / self.rate
        while (wait := due - time.monotonic()) > 0:
            time.sleep(min(0.05, wait))  # pacing, not synchronisation
        return i

    def _port(self) -> int:
        return self.port() if callable(self.port) else self.port

    def _run(self) -> None:
        conn: HttpConn | None = None
        while (i := self._take()) is not None:
            try:
                if conn is None:
                    conn = HttpConn(self._port(), timeout=15)
                app = self.apps[i % len(self.apps)]
                r = conn.score(app, headers={"X-Request-Id": f"{self.prefix}-{i}"})
                body = json.loads(r.body) if r.body else {}
                with self._lock:
                    self.replies[i] = (r.status, body)
                if r.headers.get("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, ConnectionClosed, ValueError):
                with self._lock:
                    self.unanswered.append(i)
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    def answered(self) -> int:
        with self._lock:
            return len(self.replies)

    def finish(self, timeout: float = 120) -> Load:
        self.stop_ev.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "load threads did not finish"
        return self

    def run_until_done(self, timeout: float = 600) -> Load:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return self.finish(10)

    def statuses(self) -> Counter:
        return Counter(st for st, _ in self.replies.values())

    def ids(self, pred: Callable[[int, dict], bool] = lambda st, b: True) -> list[str]:
        return [f"{self.prefix}-{i}" for i, (st, b) in sorted(self.replies.items())
                if pred(st, b)]


# ------------------------------------------------------------------ accounting


@dataclass
class Count:
    scenario: str
    sent: int = 0
    answered: int = 0          # got an HTTP reply (any status)
    ok: int = 0                # HTTP 200
    errors: int = 0            # non-200 replies (as configured for that scenario)
    unanswered: int = 0        # connection refused/closed (gateway restarting)
    rows: int = 0              # rows in PostgreSQL for this scenario's ids
    dup_rows: int = 0
    lost: int = 0              # answered, event expected, no row
    notes: dict[str, object] = field(default_factory=dict)
    lost_sample: list[str] = field(default_factory=list)


TABLE: list[Count] = []


def account(scenario: str, load: Load, pg: PgCluster, timeout: float = 90,
            expect: Callable[[int, dict], bool] | None = None,
            settle: float | None = None) -> Count:
    """Wait until every answered request's row is in PostgreSQL (or the deadline), then
    count. An event is expected for every reply the gateway scored (200, 502, 504).
    settle: where some loss is allowed (SIGKILL), stop waiting once the row count has
    not changed for this many seconds."""
    expect = expect or (lambda st, _b: st in (200, 502, 504))
    want = load.ids(expect)
    wanted = set(want)
    last = [-1, time.monotonic()]

    def complete() -> bool:
        have = set(pg.rows_for(load.prefix))
        if settle is not None:
            if len(have) != last[0]:
                last[:] = [len(have), time.monotonic()]
            elif time.monotonic() - last[1] >= settle:
                return True
        return wanted <= have

    try:
        wait_for(complete, timeout, f"{len(want)} rows of {scenario}", every=0.5)
    except AssertionError:
        pass  # counted as lost below
    rows = pg.rows_for(load.prefix)
    st = load.statuses()
    c = Count(scenario, sent=load.sent, answered=len(load.replies), ok=st.get(200, 0),
              errors=sum(n for s, n in st.items() if s != 200),
              unanswered=len(load.unanswered), rows=sum(rows.values()),
              dup_rows=sum(n - 1 for n in rows.values() if n > 1))
    missing = [e for e in want if e not in rows]
    c.lost, c.lost_sample = len(missing), missing[:5]
    if c.errors:
        c.notes["replies"] = dict(sorted(st.items()))
    TABLE.append(c)
    return c


def topic_report(bootstrap: str, topic: str, ids: list[str]) -> dict[str, int]:
    """Every expected id on the topic? (count_ids over the whole topic, this prefix.)"""
    msgs = read_topic(bootstrap, topic, timeout=60)
    rep = count_ids(msgs, ids)
    return {"on_topic": rep.found, "topic_missing": rep.lost, "topic_dups": rep.duplicates}


def format_table(rows: list[Count]) -> str:
    head = ("scenario", "sent", "answered", "200", "non-200", "unanswered", "rows",
            "dup rows", "lost")
    data = [(c.scenario, c.sent, c.answered, c.ok, c.errors, c.unanswered, c.rows,
             c.dup_rows, c.lost) for c in rows]
    w = [max(len(str(x)) for x in col) for col in zip(head, *data)]
    line = "  ".join(f"{h:<{w[0]}}" if k == 0 else f"{h:>{w[k]}}" for k, h in enumerate(head))
    out = ["FAULT COUNT TABLE" + (" (long variants)" if LONG else " (short variants)"),
           line, "-" * len(line)]
    for c, d in zip(rows, data):
        out.append("  ".join(f"{x:<{w[0]}}" if k == 0 else f"{x:>{w[k]}}"
                             for k, x in enumerate(d)))
        if c.notes:
            out.append("    " + json.dumps(c.notes, sort_keys=True))
        if c.lost_sample:
            out.append(f"    lost sample: {c.lost_sample}")
    return "\n".join(out)
