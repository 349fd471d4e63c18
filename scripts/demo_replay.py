#!/usr/bin/env python3
"""Replay the committed hold-out applications (models/holdout.csv) through the running
gateway as live traffic over HTTP, TCP and gRPC, with all 13 characteristics (a cell
left empty in the CSV, a missing value, is left out of the application; gRPC sends
every feature in the `features` map), then post their real outcomes to csg-persist
and print the comparison. Called by scripts/demo (`make demo`), which
switches the gateway to config/demo.yaml for the run; usable on its own too.

Every request carries a request id "demo-<run>-<row>", so the run's events are
recognisable; re-running is safe (new events, outcomes upserted per applicant).

--drift (issue 22): the second half of the rows is sent in a later minute than the
first, with one characteristic shifted (default: incomes halved), and the run ends with
/metrics/stability per minute: the shifted feature's CSI is above 0.25 in the drift
minute while the others stay stable. That query starts at the minute the run began (a
minute boundary inside csg-persist's minute window: it reads the per-minute rollups). The comparison with training is skipped then (the
scores of shifted applications are not the hold-out's).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import json
import os
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "proto"
PROTO = PROTO_DIR / "csg" / "v1" / "credit_score.proto"
TRANSPORTS = ("http", "tcp", "grpc")


def persist_http() -> requests.Session:
    """A session for csg-persist: CSG_API_TOKEN as bearer token (posting outcomes needs a
    write token), CSG_API_CA_FILE to verify an https:// --persist (docs/security.md)."""
    s = requests.Session()
    if token := os.environ.get("CSG_API_TOKEN", "").strip():
        s.headers["Authorization"] = f"Bearer {token}"
    if ca := os.environ.get("CSG_API_CA_FILE"):
        s.verify = ca
    return s


@dataclass
class Row:
    index: int
    applicant_id: str
    features: dict[str, Any]  # the present ones only
    defaulted: bool


# How each holdout.csv column is typed (the shipped schema, DESIGN §9).
INTEGER = {"credit_history", "seniority_years", "term_months", "age"}
CATEGORY = {"home", "marital", "job"}


@dataclass
class Result:
    transport: str
    ok: bool
    latency_ms: float
    decision: str = ""
    error: str = ""


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: list[Result] = field(default_factory=list)

    def add(self, r: Result) -> None:
        with self.lock:
            self.results.append(r)

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            ok = sum(1 for r in self.results if r.ok)
            return ok, len(self.results) - ok


def read_holdout(path: Path, limit: int | None) -> list[Row]:
    rows: list[Row] = []
    with path.open(newline="") as f:
        for i, r in enumerate(csv.DictReader(f)):
            if limit is not None and i >= limit:
                break
            feats: dict[str, Any] = {}
            for k, v in r.items():
                if k in ("applicant_id", "defaulted") or v == "":
                    continue
                feats[k] = v if k in CATEGORY else int(v) if k in INTEGER else float(v)
            rows.append(Row(i, r["applicant_id"], feats,
                            r["defaulted"].strip().lower() == "true"))
    return rows


def grpc_stubs(out_dir: Path) -> tuple[Any, Any]:
    """Generate the Python gRPC stubs from the proto into out_dir (once per proto
    version) and import them."""
    digest = hashlib.sha256(PROTO.read_bytes()).hexdigest()[:12]
    gen = out_dir / f"grpc-{digest}"
    if not (gen / "csg" / "v1" / "credit_score_pb2_grpc.py").exists():
        from grpc_tools import protoc

        gen.mkdir(parents=True, exist_ok=True)
        rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={gen}",
                          f"--grpc_python_out={gen}", str(PROTO)])
        if rc != 0:
            raise SystemExit(f"demo: protoc failed on {PROTO} ({rc})")
        for d in (gen / "csg", gen / "csg" / "v1"):
            (d / "__init__.py").touch()
    sys.path.insert(0, str(gen))
    pb2 = importlib.import_module("csg.v1.credit_score_pb2")
    pb2_grpc = importlib.import_module("csg.v1.credit_score_pb2_grpc")
    return pb2, pb2_grpc


class Client:
    """One worker's connections: an HTTP session, a TCP socket, a gRPC stub."""

    def __init__(self, args: argparse.Namespace, pb2: Any, stub: Any) -> None:
        self.args = args
        self.http = requests.Session()
        self.tcp: socket.socket | None = None
        self.tcp_buf = b""
        self.pb2 = pb2
        self.stub = stub

    def app(self, row: Row) -> dict[str, Any]:
        return {"applicant_id": row.applicant_id, **row.features}

    def score(self, transport: str, row: Row, request_id: str) -> Result:
        t0 = time.perf_counter()
        try:
            decision = getattr(self, "_" + transport)(row, request_id)
            return Result(transport, True, (time.perf_counter() - t0) * 1000, decision)
        except Exception as e:  # noqa: BLE001 — every failure is reported per request
            if transport == "tcp":
                self._tcp_close()
            return Result(transport, False, (time.perf_counter() - t0) * 1000, error=str(e)[:200])

    def _http(self, row: Row, request_id: str) -> str:
        r = self.http.post(f"http://{self.args.host}:{self.args.http_port}/v1/score",
                           json=self.app(row), headers={"X-Request-Id": request_id},
                           timeout=self.args.timeout)
        body = r.json()
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {body.get('error', body)}")
        return str(body["decision"])

    def _tcp_close(self) -> None:
        if self.tcp is not None:
            self.tcp.close()
        self.tcp, self.tcp_buf = None, b""

    def _tcp(self, row: Row, request_id: str) -> str:
        if self.tcp is None:
            self.tcp = socket.create_connection((self.args.host, self.args.tcp_port),
                                                timeout=self.args.timeout)
        line = json.dumps({**self.app(row), "request_id": request_id}) + "\n"
        self.tcp.sendall(line.encode())
        deadline = time.monotonic() + self.args.timeout
        while b"\n" not in self.tcp_buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply line")
            chunk = self.tcp.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the gateway")
            self.tcp_buf += chunk
        reply, self.tcp_buf = self.tcp_buf.split(b"\n", 1)
        body = json.loads(reply)
        if "error" in body:
            raise RuntimeError(f"TCP error: {body['error']}")
        return str(body["decision"])

    def _grpc(self, row: Row, request_id: str) -> str:
        req = self.pb2.ScoreRequest(applicant_id=row.applicant_id)
        for k, v in row.features.items():
            fv = self.pb2.FeatureValue(category=v) if isinstance(v, str) else \
                self.pb2.FeatureValue(number=float(v))
            req.features[k].CopyFrom(fv)
        resp = self.stub.Score(req, timeout=self.args.timeout,
                               metadata=(("x-request-id", request_id),))
        return str(resp.decision)


def progress(done: int, total: int, ok: int, err: int, t0: float, final: bool = False) -> None:
    width = 32
    frac = done / total if total else 1.0
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    rate = done / max(time.monotonic() - t0, 1e-9)
    sys.stderr.write(f"\r  [{bar}] {done}/{total}  ok {ok}  errors {err}  {rate:6.1f} req/s ")
    if final:
        sys.stderr.write("\n")
    sys.stderr.flush()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def replay(args: argparse.Namespace, rows: list[Row], run_id: str) -> Stats:
    weights = [int(x) for x in args.mix.split(",")]
    if len(weights) != 3 or min(weights) < 0 or sum(weights) == 0:
        raise SystemExit("demo: --mix takes three non-negative weights http,tcp,grpc")
    cycle = [t for t, w in zip(TRANSPORTS, weights) for _ in range(w)]
    pb2 = stub = None
    if "grpc" in cycle:
        import grpc

        pb2, pb2_grpc = grpc_stubs(ROOT / "var" / "demo")
        channel = grpc.insecure_channel(f"{args.host}:{args.grpc_port}")
        stub = pb2_grpc.CreditScoringStub(channel)
    stats = Stats()
    work: queue.Queue[tuple[str, Row] | None] = queue.Queue(maxsize=args.concurrency * 4)

    def worker() -> None:
        client = Client(args, pb2, stub)
        while (item := work.get()) is not None:
            transport, row = item
            stats.add(client.score(transport, row, f"demo-{run_id}-{row.index}"))
        client._tcp_close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    last_draw = 0.0
    for i, row in enumerate(rows):
        # Pace by schedule (not by sleeping a fixed gap), so slow replies don't lower the rate.
        due = t0 + i / args.rate
        while (now := time.monotonic()) < due:
            time.sleep(min(due - now, 0.05))
        work.put((cycle[i % len(cycle)], row))
        if now - last_draw > 0.2:
            ok, err = stats.snapshot()
            progress(ok + err, len(rows), ok, err, t0)
            last_draw = now
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join(timeout=args.timeout + 5)
    ok, err = stats.snapshot()
    progress(ok + err, len(rows), ok, err, t0, final=True)
    stats.elapsed = time.monotonic() - t0  # type: ignore[attr-defined]
    return stats


def wait_next_minute() -> None:
    """Until a new UTC minute has begun, so /metrics/stability?bucket=1m separates the
    halves (a deliberate wait of the demo's design, at most a minute)."""
    minute = int(time.time()) // 60
    while int(time.time()) // 60 == minute:
        time.sleep(min(0.2, 60 - time.time() % 60 + 0.01))


def shifted(row: Row, feature: str, factor: float) -> Row:
    feats = dict(row.features)
    v = feats.get(feature)
    if isinstance(v, (int, float)):
        feats[feature] = round(v * factor) if feature in INTEGER else v * factor
    return Row(row.index, row.applicant_id, feats, row.defaulted)


def show_stability(args: argparse.Namespace, since: str) -> dict[str, Any]:
    """Each feature's CSI per minute since the run began (and the models' PSI)."""
    r = requests.get(f"{args.persist}/metrics/stability",
                     params={"bucket": "1m", "from": since}, timeout=30)
    r.raise_for_status()
    d = r.json()
    if d.get("baseline") is None:
        print("\nStability: no baseline loaded in csg-persist (make up loads the bundled ones)")
        return d
    print("\nStability per minute (CSI against the champion's training baseline; "
          "< 0.10 stable, > 0.25 shifted)")
    for s in d.get("models", []) + d.get("features", []):
        key = "psi" if "model" in s else "csi"
        vals = " ".join(f"{p['t'][11:16]} {p[key]:.3f}" if p[key] is not None else "-"
                        for p in s.get("points", []))
        print(f"  {s.get('model') or s.get('name'):<24} {key.upper()} {vals}")
    return d


def summary(stats: Stats) -> None:
    print("\nReplay summary")
    print(f"  {'transport':<10}{'sent':>7}{'ok':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'approve':>9}")
    for t in (*TRANSPORTS, "all"):
        rs = [r for r in stats.results if t in ("all", r.transport)]
        if not rs:
            continue
        lat = [r.latency_ms for r in rs if r.ok]
        ok = [r for r in rs if r.ok]
        appr = sum(1 for r in ok if r.decision == "approve")
        print(f"  {t:<10}{len(rs):>7}{len(ok):>7}{len(rs) - len(ok):>8}{pct(lat, .5):>9.2f}"
              f"{pct(lat, .95):>9.2f}{pct(lat, .99):>9.2f}{appr / max(len(ok), 1):>9.1%}")
    elapsed = getattr(stats, "elapsed", 0.0)
    print(f"  {len(stats.results)} requests in {elapsed:.1f} s "
          f"({len(stats.results) / max(elapsed, 1e-9):.1f} req/s)")
    errors = [r.error for r in stats.results if not r.ok]
    if errors:
        print(f"  first error: {errors[0]}")


def wait_ingested(args: argparse.Namespace, since: str, want: int) -> int:
    """Poll csg-persist until it has stored the run's events (bounded)."""
    deadline = time.monotonic() + args.ingest_timeout
    got = -1
    while time.monotonic() < deadline:
        try:
            r = persist_http().get(f"{args.persist}/metrics/summary", params={"from": since},
                                   timeout=5)
            got = int(r.json().get("total") or 0)
            if got >= want:
                return got
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    return got


def post_outcomes(args: argparse.Namespace, rows: list[Row]) -> dict[str, Any]:
    body = [{"applicant_id": r.applicant_id, "defaulted": r.defaulted} for r in rows]
    r = persist_http().post(f"{args.persist}/outcomes", json=body, timeout=60)
    if r.status_code != 200:
        raise SystemExit(f"demo: POST /outcomes answered {r.status_code}: {r.text[:300]}")
    return r.json()


def check_against_training(perf: dict[str, Any], path: Path) -> bool:
    """The replay's AUC and KS per model must equal models/metrics.json (train.py's
    hold-out numbers, rounded to 6 places): the gateway passed every score on
    unchanged and every model saw every characteristic the row has."""
    want = {m["model"]: m for m in json.loads(path.read_text()).values()}
    good = True
    for m in perf.get("models", []):
        w = want.get(m["model"])
        if w is None:
            continue
        for key in ("auc", "ks"):
            got = m.get(key)
            same = isinstance(got, (int, float)) and abs(got - w[key]) <= 5e-7
            good &= same
            print(f"  {m['model']} {key.upper()} {got} vs models/metrics.json {w[key]}: "
                  f"{'equal' if same else 'DIFFERENT'}")
    return good


def show_performance(args: argparse.Namespace, since: str) -> dict[str, Any]:
    r = persist_http().get(f"{args.persist}/metrics/performance", params={"from": since},
                           timeout=30)
    if r.status_code != 200:
        print(f"  /metrics/performance answered {r.status_code}: {r.text[:200]}")
        return {}
    perf = r.json()
    print("\nModel performance on this run's paired applicants (outcome known)")
    print(f"  {'model':<22}{'role':<12}{'n':>6}{'AUC':>9}{'KS':>9}{'Brier':>9}{'approve':>9}"
          f"{'bad|appr':>10}")

    def f(v: Any, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, (int, float)) else "null"

    for m in perf.get("models", []):
        print(f"  {m['model']:<22}{m['role']:<12}{m['count']:>6}{f(m.get('auc'), '.4f'):>9}"
              f"{f(m.get('ks'), '.4f'):>9}{f(m.get('brier'), '.4f'):>9}"
              f"{f(m.get('approval_rate'), '.1%'):>9}{f(m.get('bad_rate_approved'), '.1%'):>10}")
    for p in perf.get("psi", []):
        print(f"  PSI {p['model']} vs {p['reference_model']}: {f(p.get('psi'), '.4f')}")
    for s in perf.get("swap_sets", []):
        a, b = s["champion_only"], s["challenger_only"]
        print(f"  swap sets: champion-only approvals {a['count']} (bad rate "
              f"{f(a.get('bad_rate'), '.1%')}), challenger-only {b['count']} (bad rate "
              f"{f(b.get('bad_rate'), '.1%')})")
    for p in perf.get("promotion", []):
        print(f"  {p['verdict']}")
    if perf.get("note"):
        print(f"  note: {perf['note']}")
    return perf


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    ap.add_argument("--limit", type=int, default=None, help="replay only the first N rows")
    ap.add_argument("--mix", default="1,1,1", help="weights http,tcp,grpc (default 1,1,1)")
    ap.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--http-port", type=int, default=8080)
    ap.add_argument("--tcp-port", type=int, default=9000)
    ap.add_argument("--grpc-port", type=int, default=50051)
    ap.add_argument("--persist", default="http://127.0.0.1:8090", help="csg-persist base URL")
    ap.add_argument("--holdout", type=Path, default=ROOT / "models" / "holdout.csv")
    ap.add_argument("--metrics", type=Path, default=ROOT / "models" / "metrics.json",
                    help="the hold-out AUC/KS a full replay must reproduce")
    ap.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    ap.add_argument("--ingest-timeout", type=float, default=60.0)
    ap.add_argument("--no-outcomes", action="store_true", help="do not post outcomes")
    ap.add_argument("--run-id", default=None, help="request ids are demo-<run-id>-<row>")
    ap.add_argument("--drift", action="store_true",
                    help="send the second half a minute later with one feature shifted")
    ap.add_argument("--drift-feature", default="income", help="feature to shift (default income)")
    ap.add_argument("--drift-factor", type=float, default=0.5,
                    help="multiply it by this (default 0.5)")
    ap.add_argument("--json", type=Path, default=None,
                    help="write {run_id, since, sent, ok, outcomes} here (for tests)")
    args = ap.parse_args()
    if args.rate <= 0 or args.concurrency < 1:
        raise SystemExit("demo: --rate must be > 0 and --concurrency >= 1")
    rows = read_holdout(args.holdout, args.limit)
    run_id = args.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    # One second of slack: event timestamps are taken by the gateway, with ms precision.
    since = datetime.fromtimestamp(time.time() - 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"Replaying {len(rows)} hold-out applications at {args.rate:g} req/s "
          f"(mix http,tcp,grpc = {args.mix}), run {run_id}")
    if args.drift:
        half = len(rows) // 2
        started = time.monotonic()
        stats = replay(args, rows[:half], run_id)
        wait_next_minute()
        drift_from = datetime.fromtimestamp(int(time.time()) // 60 * 60, UTC)
        print(f"Drift: the second half with {args.drift_feature} x {args.drift_factor:g}")
        more = replay(args, [shifted(r, args.drift_feature, args.drift_factor)
                             for r in rows[half:]], run_id)
        stats.results += more.results
        stats.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    else:
        stats = replay(args, rows, run_id)
    summary(stats)
    ok = sum(1 for r in stats.results if r.ok)
    out: dict[str, Any] = {"run_id": run_id, "since": since, "sent": len(stats.results), "ok": ok}
    if args.drift:
        out["drift_from"] = drift_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    stored = wait_ingested(args, since, ok)
    print(f"\ncsg-persist stored {max(stored, 0)} events since {since} (expected at least {ok})")
    if not args.no_outcomes:
        res = post_outcomes(args, rows)
        out["outcomes"] = res
        print(f"Posted {len(rows)} outcomes: accepted {res.get('accepted')}, "
              f"rejected {len(res.get('rejected', []))}")
        perf = show_performance(args, since)
        if not args.drift and args.limit is None and ok == len(stats.results):
            print("\nCheck against training (models/metrics.json)")
            out["matches_training"] = check_against_training(perf, args.metrics)
            if not out["matches_training"]:
                ok = -1  # a failed check fails the run
    if args.drift:
        # From the run's first minute: on a minute boundary, so the minute rollups answer.
        out["stability_from"] = since[:17] + "00Z"
        out["stability"] = show_stability(args, out["stability_from"])
    if args.json:
        args.json.write_text(json.dumps(out))
    print("\nDashboard: http://127.0.0.1:8501 (section "
          f"'{'Stability' if args.drift else 'Model performance'}')")
    return 0 if ok == len(stats.results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.stderr.write("\ndemo: interrupted\n")
        sys.exit(130)
