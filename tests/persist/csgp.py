"""Shared helpers for csg-persist's integration tests (tests/persist/test_*.py).

Everything here talks to real services: the test Kafka broker
(127.0.0.1:$CSG_TEST_KAFKA_PORT), the test PostgreSQL ($CSG_TEST_PG_PORT, one database
per test, created by scripts/postgres) and SQLite files under a pytest tmp dir.

The reference statistics (``ref_*``) are computed here in plain Python from the events
the test produced — never from the service's SQL — and follow the definitions in
docs/persistence.md.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from harness import BUILD, ROOT, TEST_VAR, Proc, free_port, wait_for

BIN = BUILD / "bin" / "csg-persist"
KAFKA = f"127.0.0.1:{os.environ.get('CSG_TEST_KAFKA_PORT', '9192')}"
PG_PORT = int(os.environ.get("CSG_TEST_PG_PORT", "5434"))
PASSFILE = f"/var/tmp/csg/pg-{PG_PORT}.pgpass"
LOG_DIR = TEST_VAR / "logs" / "persist"

CHAMPIONS = ("champion-lr-v1", "champion-lr-v0")
CHALLENGERS = ("challenger-gbm-v1", "challenger-rf-v2")
EXPERIMENTS = ("exp-champion-vs-gbm", "exp-b")
COLUMNS = (
    "event_id",
    "experiment_id",
    "applicant_id",
    "transport",
    "champion_model",
    "challenger_model",
    "champion_score",
    "challenger_score",
    "champion_decision",
    "challenger_decision",
    "decision_match",
    "latency_champion_ms",
    "latency_challenger_ms",
    "decision_diff",
    "income",
    "loan_amount",
    "credit_history",
    "timestamp",
    "status",
)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- events


def ts_ms(text: str) -> int:
    """RFC 3339 text → ms since the epoch (fraction truncated to ms, as the service does)."""
    main, _, rest = text.partition(".")
    frac = ""
    tz = ""
    if rest:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, tz = rest[:i], rest[i:]
    else:
        main, tz = main[:19], main[19:]
    dt = datetime.strptime(main[:19], "%Y-%m-%dT%H:%M:%S")
    off = 0
    if tz not in ("Z", "z"):
        sign = -1 if tz[0] == "-" else 1
        off = sign * (int(tz[1:3]) * 60 + int(tz[4:6]))
    secs = int(dt.replace(tzinfo=UTC).timestamp()) - off * 60
    return secs * 1000 + int((frac + "000")[:3])


def fmt_ms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


T0 = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


def make_events(n: int, seed: int, span_s: int = 7200, t0: datetime = T0) -> list[dict]:
    """n valid MetricEvents with a realistic mix: ~40% with a challenger, timeouts and
    errors of both models, ties in scores, a few non-UTC timestamps, repeated applicants."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        status = r.choices(
            [
                "OK",
                "CHALLENGER_TIMEOUT",
                "CHALLENGER_ERROR",
                "CHAMPION_TIMEOUT",
                "CHAMPION_ERROR",
            ],
            [85, 5, 4, 4, 2],
        )[0]
        exp = EXPERIMENTS[0] if r.random() < 0.75 else EXPERIMENTS[1]
        champ = CHAMPIONS[0] if exp == EXPERIMENTS[0] else CHAMPIONS[1]
        has_ch = r.random() < 0.4 or status.startswith("CHALLENGER")
        cs = (
            r.choice([0.0, 1.0, 0.5, 0.25])
            if r.random() < 0.05
            else round(r.random(), r.choice([2, 17]))
        )
        cd = "approve" if cs >= 0.5 else "decline"
        if status.startswith("CHAMPION"):
            cs = None
            cd = r.choice([None, "review"])
        ev: dict[str, Any] = {
            "event_id": f"ev-{seed}-{i}-{uuid.UUID(int=r.getrandbits(128))}",
            "experiment_id": exp,
            "applicant_id": str(r.randint(1, max(2, n // 3))),
            "transport": r.choice(["http", "tcp", "grpc"]),
            "champion_model": champ,
            "challenger_model": None,
            "champion_score": cs,
            "challenger_score": None,
            "champion_decision": cd,
            "challenger_decision": None,
            "decision_match": None,
            "latency_champion_ms": round(r.lognormvariate(0.6, 0.5), r.choice([3, 9])),
            "latency_challenger_ms": None,
            "decision_diff": None,
            "income": r.choice([0, 15000, 20000, 50000])
            if r.random() < 0.05
            else round(r.uniform(0, 200000), 2),
            "loan_amount": round(r.uniform(100, 60000), 2),
            "credit_history": r.randint(0, 15),
            "timestamp": "",
            "status": status,
        }
        if has_ch:
            ch = CHALLENGERS[0] if r.random() < 0.7 else CHALLENGERS[1]
            ev["challenger_model"] = ch
            if status in ("CHALLENGER_TIMEOUT", "CHALLENGER_ERROR"):
                ev["latency_challenger_ms"] = (
                    300.0
                    if status == "CHALLENGER_TIMEOUT"
                    else round(r.uniform(0.5, 5), 3)
                )
            else:
                xs = round(r.random(), 17)
                ev["challenger_score"] = xs
                ev["challenger_decision"] = "approve" if xs >= 0.55 else "decline"
                ev["latency_challenger_ms"] = round(r.lognormvariate(0.9, 0.5), 6)
                if cd is not None:
                    ev["decision_match"] = cd == ev["challenger_decision"]
                if cs is not None:
                    ev["decision_diff"] = abs(cs - xs)
        ms = int((t0.timestamp() + r.uniform(0, span_s)) * 1000)
        if r.random() < 0.05:  # the same instant written with an offset
            dt = datetime.fromtimestamp(ms / 1000, tz=timezone(timedelta(hours=2)))
            ev["timestamp"] = (
                dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}+02:00"
            )
        else:
            ev["timestamp"] = fmt_ms(ms)
        out.append(ev)
    return out


def import_events(database: Database, tmp_path: Path, events: list[dict],
                  times: int = 1) -> None:
    """events through `csg-persist import`, times over (a second import redelivers every
    event)."""
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    for _ in range(times):
        run_cli("import", "--db", database.url, str(f))


def with_arms(events: list[dict], seed: int) -> list[dict]:
    """Copies of events with the issue-21 keys: every event with a challenger gets its
    `challengers` array (the first element repeats the top-level keys); about a third also
    a second challenger (assignment: all; answering or timed out, sometimes live), a sixth
    a live first challenger (decided_by challenger when it answered); a tenth keep no
    array at all (older gateways: one result from the top-level keys)."""
    r = random.Random(seed)
    out = []
    for e in events:
        e = dict(e)
        out.append(e)
        if e["challenger_model"] is None:
            if r.random() < 0.5:
                e["challengers"] = []
            continue
        if r.random() < 0.1:
            continue
        answered = e["challenger_score"] is not None
        first = {"model": e["challenger_model"], "score": e["challenger_score"],
                 "decision": e["challenger_decision"],
                 "latency_ms": e["latency_challenger_ms"],
                 "status": "OK" if answered else e["status"], "reasons": None,
                 "mode": "shadow"}
        e["challengers"] = [first]
        if r.random() < 0.17:
            first["mode"] = "live"
            e["decided_by"] = "challenger" if answered else "champion"
        if r.random() < 0.35:
            other = CHALLENGERS[1] if first["model"] == CHALLENGERS[0] else CHALLENGERS[0]
            if r.random() < 0.1:
                e["challengers"].append({"model": other, "score": None, "decision": None,
                                         "latency_ms": 300.0, "status": "CHALLENGER_TIMEOUT",
                                         "reasons": None, "mode": "shadow"})
            else:
                xs = round(r.random(), r.choice([2, 17]))
                e["challengers"].append({
                    "model": other, "score": xs,
                    "decision": "approve" if xs >= 0.5 else r.choice(["decline", "review"]),
                    "latency_ms": round(r.lognormvariate(1.1, 0.6), 6), "status": "OK",
                    "reasons": None, "mode": "live" if r.random() < 0.2 else "shadow"})
    return out


def dumps(ev: dict) -> bytes:
    return json.dumps(ev, separators=(",", ":")).encode()


def dedup(events: Iterable[dict]) -> dict[str, dict]:
    """event_id → the first event with that id (ON CONFLICT DO NOTHING keeps the first)."""
    out: dict[str, dict] = {}
    for e in events:
        out.setdefault(e["event_id"], e)
    return out


# --------------------------------------------------------------------------- Kafka


def admin():
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": KAFKA})


def create_topics(*names: str, partitions: int = 6) -> None:
    from confluent_kafka.admin import NewTopic

    CREATED_TOPICS.extend(names)
    a = admin()
    futs = a.create_topics(
        [
            NewTopic(
                n,
                num_partitions=partitions if not n.endswith(".dlq") else 1,
                replication_factor=1,
            )
            for n in names
        ],
        operation_timeout=30,
    )
    for f in futs.values():
        f.result()

    def ready() -> bool:
        md = a.list_topics(timeout=5)
        return all(
            n in md.topics
            and md.topics[n].error is None
            and md.topics[n].partitions
            and all(p.leader >= 0 for p in md.topics[n].partitions.values())
            for n in names
        )

    wait_for(ready, 30, f"topics {names} to have leaders")


def producer(**extra: Any):
    from confluent_kafka import Producer

    conf = {
        "bootstrap.servers": KAFKA,
        "linger.ms": 5,
        "acks": "all",
        "enable.idempotence": True,
    }
    conf.update(extra)
    return Producer(conf)


def produce(
    topic: str, payloads: Iterable[tuple[bytes | None, bytes | None]], **extra: Any
) -> int:
    """Produce (key, value) pairs and wait for every ack; returns the count."""
    p = producer(**extra)
    errors: list[str] = []

    def dr(err, msg):
        if err is not None:
            errors.append(str(err))

    n = 0
    for key, value in payloads:
        while True:
            try:
                p.produce(topic, value=value, key=key, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
        if n % 1000 == 0:
            p.poll(0)
    left = p.flush(60)
    assert left == 0 and not errors, (
        f"produce failed: {left} unflushed, errors {errors[:3]}"
    )
    return n


def produce_events(topic: str, events: Iterable[dict]) -> int:
    return produce(topic, ((e["applicant_id"].encode(), dumps(e)) for e in events))


def read_topic(topic: str, expect: int, timeout: float = 30) -> list:
    """Read `expect` messages from the start of topic (every partition)."""
    from confluent_kafka import Consumer

    c = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": unique("reader"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expect and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append(m)
    finally:
        c.close()
    return got


def delete_topics(names: list[str]) -> None:
    """Best-effort clean-up of the topics a test run created, bounded in time: a broker
    that does not answer must not hang the suite's teardown (an unbounded wait once did,
    until pytest-timeout failed a passing run). What is left is reported, not raised."""
    if not names:
        return
    a = admin()  # kept while waiting: a destroyed client fails (or never ends) its futures
    futs = a.delete_topics(names, operation_timeout=30, request_timeout=60)
    concurrent.futures.wait(futs.values(), timeout=90)
    left = [
        f"{name} ({f.exception(timeout=0) if f.done() else 'no answer in 90 s'})"
        for name, f in futs.items()
        if not f.done() or f.exception(timeout=0) is not None
    ]
    if left:
        print(f"warning: topics not deleted: {', '.join(left)}", file=sys.stderr)


# --------------------------------------------------------------------------- databases


def pg(*args: str) -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "postgres"), *args, "--port", str(PG_PORT)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@dataclass
class Database:
    url: str  # what csg-persist runs with (csg_app on PostgreSQL)
    owner_url: str  # migrations
    kind: str  # "pg" | "sqlite"
    name: str = ""

    def connect(self, owner: bool = False, autocommit: bool = True):
        """A connection as csg_app (owner: as csg_owner), autocommit unless told."""
        if self.kind == "sqlite":
            return sqlite3.connect(self.url[len("sqlite:") :], timeout=30)
        import psycopg

        os.environ["PGPASSFILE"] = PASSFILE
        return psycopg.connect(self.owner_url if owner else self.url, autocommit=autocommit)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        con = self.connect()
        try:
            cur = con.cursor()
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            con.close()

    def count(self) -> int:
        return self.query("SELECT count(*) FROM credit_score_metrics")[0][0]

    def rows(self) -> dict[str, dict]:
        cols = ", ".join(c if c != "timestamp" else '"timestamp"' for c in COLUMNS)
        out = {}
        for row in self.query(f"SELECT {cols} FROM credit_score_metrics"):
            d = dict(zip(COLUMNS, row))
            out[d["event_id"]] = d
        return out


CREATED_DATABASES: list[str] = []
CREATED_TOPICS: list[str] = []


def new_pg_database() -> Database:
    name = unique("t").lower()
    pg("createdb", name)
    CREATED_DATABASES.append(name)
    owner = f"postgresql://csg_owner@127.0.0.1:{PG_PORT}/{name}"
    app = f"postgresql://csg_app@127.0.0.1:{PG_PORT}/{name}"
    run_cli("migrate", "--db", owner)
    return Database(url=app, owner_url=owner, kind="pg", name=name)


def new_sqlite_database(tmp: Path) -> Database:
    url = f"sqlite:{tmp / unique('csg')}.sqlite"
    run_cli("migrate", "--db", url)
    return Database(url=url, owner_url=url, kind="sqlite")


def row_matches(ev: dict, row: dict, kind: str) -> list[str]:
    """Columns where the stored row differs from the event (empty list = equal)."""
    bad = []
    for c in COLUMNS:
        want, got = ev[c], row[c]
        if c == "timestamp":
            got_ms = ts_ms(got) if kind == "sqlite" else round(got.timestamp() * 1000)
            if got_ms != ts_ms(want):
                bad.append(f"{c}: {got!r} != {want!r}")
        elif c == "decision_match" and kind == "sqlite" and got is not None:
            if bool(got) != want:
                bad.append(f"{c}: {got!r} != {want!r}")
        elif isinstance(want, float) or (
            isinstance(want, int) and c in ("income", "loan_amount")
        ):
            if got is None or float(got) != float(want):
                bad.append(f"{c}: {got!r} != {want!r}")
        elif got != want:
            bad.append(f"{c}: {got!r} != {want!r}")
    return bad


# --------------------------------------------------------------------------- the service


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PGPASSFILE"] = PASSFILE
    return e


def run_cli(
    *args: str, input_text: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *args],
        env=env(),
        capture_output=True,
        text=True,
        input=input_text,
        check=check,
        timeout=120,
    )


@dataclass
class Persist:
    """One csg-persist process (a harness.Proc, its log under LOG_DIR)."""

    db: Database
    topic: str
    port: int = 0
    args: list[str] = field(default_factory=list)
    proc: Proc | None = None
    log: Path | None = None
    # With --tls-cert/--token-file (test_security.py): https, the CA to verify it with,
    # and the token health checks and get() send.
    scheme: str = "http"
    ca: Path | None = None
    token: str | None = None

    def start(self, wait: bool = True) -> Persist:
        if not self.port:
            self.port = free_port()
        cmd = [
            str(BIN),
            "--db",
            self.db.url,
            "--brokers",
            KAFKA,
            "--topic",
            self.topic,
            "--group",
            f"g-{self.topic}",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--session-timeout-ms",
            "6000",
            *self.args,
        ]
        self.proc = Proc(f"{self.topic}-{self.port}", cmd, log_dir=LOG_DIR, env=env())
        self.log = self.proc.log_path
        if wait:
            wait_for(self.healthy, 30, f"csg-persist on :{self.port}")
        return self

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, token: str | None, **kw: Any
    ) -> requests.Response:
        """One request with that bearer token (None: none), verified with self.ca."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: str | bool = str(self.ca) if self.ca else True
        return requests.request(
            method, self.url + path, headers=headers, verify=verify, timeout=30, **kw
        )

    def healthy(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise AssertionError(
                f"csg-persist exited with {self.proc.stop()}; log {self.log}:\n"
                f"{self.proc.tail()}"
            )
        try:
            return self.get("/healthz").status_code == 200
        except requests.RequestException:
            return False

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, self.token, params=params)

    def metric(self, name: str) -> float:
        text = self.get("/metrics").text
        total = 0.0
        for line in text.splitlines():
            if line.startswith((name + " ", name + "{")):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def stop(self) -> int:
        """SIGTERM; an AssertionError (after SIGKILL) when it does not exit within 30 s."""
        if self.proc is None:
            return 0
        if self.proc.alive():
            self.proc.signal(signal.SIGTERM)
            try:
                self.proc.p.wait(30)  # 30 s under any build, as the suite always allowed
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("csg-persist did not stop on SIGTERM within 30 s") from None
        return self.proc.stop()


# --------------------------------------------------------------------------- references


def pct(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return v[lo]
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass
class Filters:
    from_ms: int | None = None
    to_ms: int | None = None
    experiment_id: str | None = None
    challenger_model: str | None = None
    applicant_id: str | None = None
    min_income: float | None = None
    max_income: float | None = None

    def params(self) -> dict[str, str]:
        p: dict[str, str] = {}
        if self.from_ms is not None:
            p["from"] = fmt_ms(self.from_ms)
        if self.to_ms is not None:
            p["to"] = (
                str(self.to_ms // 1000)
                if self.to_ms % 1000 == 0
                else fmt_ms(self.to_ms)
            )
        for k in ("experiment_id", "challenger_model", "applicant_id"):
            if getattr(self, k) is not None:
                p[k] = getattr(self, k)
        if self.min_income is not None:
            p["min_income"] = repr(self.min_income)
        if self.max_income is not None:
            p["max_income"] = repr(self.max_income)
        return p

    def keep(self, e: dict) -> bool:
        t = ts_ms(e["timestamp"])
        return (
            (self.from_ms is None or t >= self.from_ms)
            and (self.to_ms is None or t < self.to_ms)
            and (self.experiment_id is None or e["experiment_id"] == self.experiment_id)
            and (
                self.challenger_model is None
                or e["challenger_model"] == self.challenger_model
            )
            and (self.applicant_id is None or e["applicant_id"] == self.applicant_id)
            and (self.min_income is None or e["income"] >= self.min_income)
            and (self.max_income is None or e["income"] <= self.max_income)
        )


ROLES = (
    (
        "champion",
        "champion_model",
        "latency_champion_ms",
        "champion_decision",
        "champion_score",
    ),
    (
        "challenger",
        "challenger_model",
        "latency_challenger_ms",
        "challenger_decision",
        "challenger_score",
    ),
)


def both(e: dict) -> bool:
    return e["champion_decision"] is not None and e["challenger_decision"] is not None


def ref_summary(evs: list[dict]) -> dict:
    total = len(evs)
    with_ch = sum(1 for e in evs if e["challenger_model"] is not None)
    answered = [e for e in evs if both(e)]
    diffs = [e["decision_diff"] for e in evs if e["decision_diff"] is not None]
    models = []
    for role, mcol, lcol, dcol, _ in ROLES:
        for m in sorted({e[mcol] for e in evs if e[mcol] is not None}):
            sub = [e for e in evs if e[mcol] == m]
            lats = [e[lcol] for e in sub if e[lcol] is not None]
            dec = [e[dcol] for e in sub if e[dcol] is not None]
            models.append(
                {
                    "model": m,
                    "role": role,
                    "count": len(sub),
                    "latency_ms": {
                        "avg": mean(lats),
                        "p50": pct(lats, 0.5),
                        "p95": pct(lats, 0.95),
                        "p99": pct(lats, 0.99),
                    },
                    "approval_rate": ratio(
                        sum(1 for d in dec if d == "approve"), len(dec)
                    ),
                }
            )
    status: dict[str, int] = {}
    for e in evs:
        status[e["status"]] = status.get(e["status"], 0) + 1
    return {
        "total": total,
        "with_challenger": with_ch,
        "challenger_share": ratio(with_ch, total),
        "models": models,
        "avg_decision_diff": mean(diffs),
        "divergence_rate": ratio(
            sum(
                1
                for e in answered
                if e["champion_decision"] != e["challenger_decision"]
            ),
            len(answered),
        ),
        "decisions": {
            "both_approve": sum(
                1
                for e in answered
                if e["champion_decision"] == "approve"
                and e["challenger_decision"] == "approve"
            ),
            "both_decline": sum(
                1
                for e in answered
                if e["champion_decision"] == "decline"
                and e["challenger_decision"] == "decline"
            ),
            "champion_only_approve": sum(
                1
                for e in answered
                if e["champion_decision"] == "approve"
                and e["challenger_decision"] != "approve"
            ),
            "challenger_only_approve": sum(
                1
                for e in answered
                if e["champion_decision"] != "approve"
                and e["challenger_decision"] == "approve"
            ),
        },
        "status": dict(sorted(status.items())),
    }


BUCKETS = {"10s": 10, "1m": 60, "5m": 300, "1h": 3600}


def ref_latency(evs: list[dict], bucket: str) -> dict:
    secs = BUCKETS[bucket]
    series = []
    for role, mcol, lcol, _, _ in ROLES:
        for m in sorted({e[mcol] for e in evs if e[mcol] is not None}):
            groups: dict[int, list[float]] = {}
            for e in evs:
                if e[mcol] == m and e[lcol] is not None:
                    b = (ts_ms(e["timestamp"]) // 1000) // secs
                    groups.setdefault(b, []).append(e[lcol])
            if not groups:
                continue
            points = [
                {
                    "t": fmt_ms(b * secs * 1000),
                    "count": len(v),
                    "avg": mean(v),
                    "p50": pct(v, 0.5),
                    "p95": pct(v, 0.95),
                    "p99": pct(v, 0.99),
                }
                for b, v in sorted(groups.items())
            ]
            series.append({"model": m, "role": role, "points": points})
    return {"bucket": bucket, "series": series}


def ref_distribution(evs: list[dict], bins: int) -> dict:
    models = []
    for role, mcol, _, _, scol in ROLES:
        for m in sorted(
            {e[mcol] for e in evs if e[mcol] is not None and e[scol] is not None}
        ):
            counts = [0] * bins
            for e in evs:
                if e[mcol] == m and e[scol] is not None:
                    counts[min(math.floor(e[scol] * bins), bins - 1)] += 1
            models.append({"model": m, "role": role, "counts": counts})
    return {"edges": [i / bins for i in range(bins + 1)], "models": models}


def fmt_edge(v: float) -> str:
    for prec in (15, 16, 17):
        s = f"{v:.{prec}g}"
        if float(s) == v:
            return s
    return repr(v)


def ref_segments(evs: list[dict], by: str, edges: list[float]) -> dict:
    def band(x: float) -> int | None:
        for k in range(len(edges) - 1, -1, -1):
            if x >= edges[k]:
                return k
        return None

    segs = []
    for k in range(len(edges)):
        hi = fmt_edge(edges[k + 1]) if k + 1 < len(edges) else "inf"
        sub = [e for e in evs if band(e[by]) == k]
        answered = [e for e in sub if both(e)]
        models = []
        for role, mcol, _, dcol, _ in ROLES:
            for m in sorted({e[mcol] for e in sub if e[mcol] is not None}):
                ms = [e for e in sub if e[mcol] == m]
                dec = [e[dcol] for e in ms if e[dcol] is not None]
                models.append(
                    {
                        "model": m,
                        "role": role,
                        "count": len(ms),
                        "approval_rate": ratio(
                            sum(1 for d in dec if d == "approve"), len(dec)
                        ),
                    }
                )
        segs.append(
            {
                "band": f"[{fmt_edge(edges[k])},{hi})",
                "count": len(sub),
                "divergence_rate": ratio(
                    sum(
                        1
                        for e in answered
                        if e["champion_decision"] != e["challenger_decision"]
                    ),
                    len(answered),
                ),
                "models": models,
            }
        )
    return {"by": by, "segments": segs}


PCT_KEYS = ("p50", "p95", "p99")
SKETCH_ACCURACY = 0.01  # persistence/sketch.h: latency percentiles from rollups


def close(
    a: Any, b: Any, path: str = "$", rel: float = 1e-9, pct_rel: float | None = None
) -> list[str]:
    """Structural comparison; floats to rel 1e-9, latency percentiles (keys p50, p95,
    p99) to pct_rel when given (an answer from rollups: the sketch's accuracy). Keys only
    in `a` (the API) are ignored. Returns the differences."""
    if isinstance(b, dict):
        if not isinstance(a, dict):
            return [f"{path}: {a!r} is not an object"]
        diffs = []
        for k in b:
            if k not in a:
                diffs.append(f"{path}.{k}: missing")
            else:
                diffs += close(
                    a[k], b[k], f"{path}.{k}",
                    pct_rel if pct_rel is not None and k in PCT_KEYS else rel, pct_rel,
                )
        return diffs
    if isinstance(b, list):
        if not isinstance(a, list) or len(a) != len(b):
            return [
                f"{path}: length {len(a) if isinstance(a, list) else a!r} != {len(b)}"
            ]
        diffs = []
        for i, (x, y) in enumerate(zip(a, b)):
            diffs += close(x, y, f"{path}[{i}]", rel, pct_rel)
        return diffs
    if isinstance(b, float) and not isinstance(b, bool):
        if (
            not isinstance(a, (int, float))
            or isinstance(a, bool)
            or not math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
        ):
            return [f"{path}: {a!r} != {b!r}"]
        return []
    if a != b:
        return [f"{path}: {a!r} != {b!r}"]
    return []


def add_features(events: list[dict], seed: int) -> list[dict]:
    """Events with a `features` object as an ABI 2.0 gateway writes them, for every fifth
    none (an older gateway): a number (age), a sparse number (debt), a category (home,
    sometimes absent, sometimes of another type) and a boolean (vip)."""
    r = random.Random(seed)
    out = []
    for i, e in enumerate(events):
        e = dict(e)
        if i % 5:
            f: dict = {"income": e["income"], "loan_amount": e["loan_amount"],
                       "credit_history": e["credit_history"], "age": r.randint(18, 90),
                       "vip": r.random() < 0.3}
            if r.random() < 0.8:
                f["home"] = r.choice(("rent", "owner", "parents", "priv", "other"))
            elif r.random() < 0.2:
                f["home"] = 3  # another type: counts as missing
            if r.random() < 0.4:
                f["debt"] = round(r.uniform(0, 5000), 2)
            e["features"] = f
        out.append(e)
    return out


def make_baseline(model: str, seed: int, features: bool = True) -> dict:
    """A made-up baseline (csg-baseline/1) for the test models: uneven score bins, and
    features of both kinds, one (home) with fewer levels than the events use (the rest go
    to "other"). test_stability and bench/persist store them."""
    r = random.Random(seed)

    def shares(n: int) -> list[float]:
        w = [r.random() + 0.05 for _ in range(n)]
        out = [round(x / sum(w), 10) for x in w]
        out[-1] = round(1 - sum(out[:-1]), 10)
        return out

    doc: dict = {
        "format": "csg-baseline/1",
        "model": model,
        "source": "test",
        "rows": 1000,
        "score": {"edges": [0, 0.1, 0.3, 0.45, 0.5, 0.62, 0.8, 0.95, 1],
                  "shares": shares(8)},
        "features": [],
    }
    if features:
        doc["features"] = [
            {"name": "income", "type": "number", "cuts": [20000, 50000, 100000, 150000],
             "shares": shares(6)},
            {"name": "age", "type": "number", "cuts": [25, 40, 60], "shares": shares(5)},
            {"name": "debt", "type": "number", "cuts": [1000], "shares": shares(3)},
            {"name": "home", "type": "category", "levels": ["rent", "owner", "parents"],
             "shares": shares(4)},
            {"name": "vip", "type": "category", "levels": ["true", "false"],
             "shares": shares(3)},
            {"name": "never_seen", "type": "number", "cuts": [1], "shares": shares(3)},
        ]
    return doc


# Segments by a feature read the feature-bin rollups (issues 20 + 22).
FEATURE_ENDPOINTS = [
    ("/metrics/segments", {"by": "age"}),
    ("/metrics/segments", {"by": "debt"}),
    ("/metrics/segments", {"by": "home"}),
    ("/metrics/segments", {"by": "vip"}),
]

# The endpoints the per-challenger rollups answer too (arm=, assignment: all).
PAIR_ENDPOINTS = [
    ("/metrics/summary", {}),
    ("/metrics/latency", {"bucket": "1h"}),
    ("/metrics/distribution", {"bins": 1}),
    ("/metrics/distribution", {"bins": 20}),
    ("/metrics/distribution", {"bins": 100}),
]
ROLLUP_ENDPOINTS = PAIR_ENDPOINTS + [
    ("/metrics/segments", {"by": "income"}),
    ("/metrics/segments", {"by": "loan_amount"}),
    ("/metrics/segments", {"by": "credit_history"}),
    ("/metrics/reasons", {}),
]


def rollup_vs_rows(p: Persist, filters: dict[str, str] | None = None,
                   endpoints: list[tuple[str, dict]] | None = None) -> list[str]:
    """Every rollup-backed endpoint answered from the rollups (source=rollup, asserted)
    and from the rows (source=rows): counts and rates equal, averages to 1e-9 relative,
    latency percentiles within the sketch's accuracy. Returns the differences."""
    diffs: list[str] = []
    features = {f["name"] for f in p.get("/metrics/features").json()["features"]}
    for path, extra in endpoints or ROLLUP_ENDPOINTS + FEATURE_ENDPOINTS:
        if path == "/metrics/segments" and extra["by"] in ("age", "debt", "home", "vip") \
                and extra["by"] not in features:
            continue  # events without features
        params = dict(filters or {}, **extra)
        a = p.get(path, source="rollup", **params)
        b = p.get(path, source="rows", **params)
        assert a.status_code == 200 and b.status_code == 200, (path, a.text, b.text)
        ja, jb = a.json(), b.json()
        assert ja["source"] == "rollup" and jb["source"] == "rows", (ja, jb)
        # Not "srm": it comes from experiment_versions on either side, which a consuming
        # csg-persist fills from the shared broker's audit topic (other suites' gateways)
        # at any time, between the two calls too.
        for k in ("source", "rollup_seconds", "percentile_relative_accuracy", "srm"):
            ja.pop(k, None)
            jb.pop(k, None)
        diffs += close(ja, jb, f"{path}?{params}", pct_rel=SKETCH_ACCURACY)
        # and the other way round: nothing extra on the rollup side
        diffs += [d for d in close(jb, ja, f"{path}?{params}(rev)", pct_rel=SKETCH_ACCURACY)
                  if "missing" in d]
    return diffs


def drop_rollups(db: Database) -> None:
    """Undo migrations 004, 007 and 045 as the owner (their tables dropped, their rows in
    schema_migrations deleted), so the next `csg-persist migrate` rebuilds the rollups
    from the stored rows."""
    setup = Database(url=db.owner_url, owner_url=db.owner_url, kind=db.kind)
    con = setup.connect()
    cur = con.cursor()
    for t in ("rollup_counts", "rollup_latency", "rollup_scores", "rollup_segments",
              "rollup_reason_codes", "rollup_features", "feature_bands"):
        cur.execute(f"DROP TABLE {t}")
    cur.execute("DELETE FROM schema_migrations WHERE version IN (4, 7, 45)")
    con.commit()
    con.close()


def remigrate(db: Database, version: int, tables: tuple[str, ...]) -> dict[str, list]:
    """Undo migration `version` as the owner (its tables dropped, its schema_migrations row
    deleted) and run `csg-persist migrate` again, which rebuilds those tables from the
    stored rows. Returns each table's rows before (sorted lists), to compare with after."""
    setup = Database(url=db.owner_url, owner_url=db.owner_url, kind=db.kind)
    before = {t: [list(r) for r in sorted(setup.query(f"SELECT * FROM {t}"))] for t in tables}
    assert all(before.values()), before
    con = setup.connect()
    cur = con.cursor()
    for t in tables:
        cur.execute(f"DROP TABLE {t}")
    cur.execute(f"DELETE FROM schema_migrations WHERE version = {int(version)}")
    con.commit()
    con.close()
    out = run_cli("migrate", "--db", db.owner_url).stdout
    assert "1 migration(s) applied" in out, out
    return before


def table_rows(db: Database, table: str) -> list[list]:
    """Every row of table read as the owner, sorted, as lists."""
    setup = Database(url=db.owner_url, owner_url=db.owner_url, kind=db.kind)
    return [list(r) for r in sorted(setup.query(f"SELECT * FROM {table}"))]


def owner_exec(db: Database, *statements: str) -> None:
    """Run statements as the schema owner (csg_owner on PostgreSQL), committed together."""
    con = Database(url=db.owner_url, owner_url=db.owner_url, kind=db.kind).connect()
    try:
        cur = con.cursor()
        for sql in statements:
            cur.execute(sql)
        con.commit()
    finally:
        con.close()


def rollup_totals(db: Database) -> list[tuple]:
    """(res, events) per rollup resolution, for comparing with the row count."""
    return [(int(r), int(n)) for r, n in
            db.query("SELECT res, sum(n) FROM rollup_counts GROUP BY res ORDER BY res")]
