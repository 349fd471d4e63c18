"""csg-model end to end: parity with the Python model, HTTP behaviour, CLI.

Run by tests/suites/20-models.sh (CSG_BUILD_DIR picks the build, so the same
tests run on the ASan+UBSan build). Every service is started on a free
loopback port and stopped with SIGTERM, which must exit 0 (under ASan that
also means no leaks).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import http.client
import json
import math
import os
import random
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scorer  # models/scorer.py (pytest.ini pythonpath)
from harness import BUILD, ROOT, UNDER_SANITIZER, Proc, free_port

MODELS = ROOT / "models"
BIN = BUILD / "bin" / "csg-model"

JSON = {"Content-Type": "application/json"}
GOOD = {"applicant_id": "t-1", "income": 131, "loan_amount": 1000, "credit_history": 1}


class Service:
    """One csg-model process on a free port."""

    def __init__(self, model: str, *extra: str) -> None:
        self.model = model
        self.port = free_port()
        self.proc = Proc("csg-model", [str(BIN), "--model", str(MODELS / model), "--port",
                                       str(self.port), *extra])
        self.proc.ready(lambda: self.get("/healthz")[0] == 200, 20, "csg-model healthy")

    def conn(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        c = self.conn(2)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self) -> None:
        rc = self.proc.stop(15)
        assert rc == 0, f"csg-model exited {rc} on SIGTERM: {self.proc.tail()}"


def post(
    c: http.client.HTTPConnection,
    body: bytes | str | dict[str, Any],
    headers: dict[str, str] | None = None,
    path: str = "/score",
) -> tuple[int, Any]:
    if isinstance(body, dict):
        body = json.dumps(body)
    c.request("POST", path, body=body, headers=JSON if headers is None else headers)
    r = c.getresponse()
    data = r.read()
    assert (
        r.getheader("Content-Type", "").startswith("application/json")
        or r.status == 413
    )
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data


@pytest.fixture(scope="module")
def champion() -> Iterator[Service]:
    s = Service("champion.json")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def challenger() -> Iterator[Service]:
    s = Service("challenger.json")
    yield s
    s.stop()


def holdout() -> list[dict[str, Any]]:
    """The hold-out rows as applications: all 13 features, empty cells left out."""
    return [app for app, _ in holdout_with_outcome()]


def holdout_with_outcome() -> list[tuple[dict[str, Any], bool]]:
    types = {
        f["name"]: f["type"] for f in scorer.load(MODELS / "champion.json").features
    }
    out = []
    with (MODELS / "holdout.csv").open() as f:
        for r in csv.DictReader(f):
            app: dict[str, Any] = {"applicant_id": r["applicant_id"]}
            for name, kind in types.items():
                v = r[name]
                if v == "":
                    continue
                app[name] = (
                    v
                    if kind == "category"
                    else int(v)
                    if kind == "integer"
                    else float(v)
                )
            out.append((app, r["defaulted"] == "true"))
    return out


def probes(model: scorer.Model) -> list[dict[str, Any]]:
    """Random applications over every feature's kind of value: fractions, far
    outside the training range, every level, and any subset of the optional
    features left out (missing)."""
    rng = random.Random(7)
    out = []
    for i in range(400):
        app: dict[str, Any] = {
            "applicant_id": f"probe-{i}",
            "income": rng.choice([0, 0.5, 5.999, 1e9, rng.uniform(0, 1200)]),
            "loan_amount": rng.choice(
                [0.01, 99.5, 4000.5, 1e12, rng.uniform(50, 5000)]
            ),
            "credit_history": rng.choice([0, 1, 2, 40, 2**31 - 1]),
        }
        for f in model.features:
            if f.get("required") or rng.random() < 0.3:
                continue
            if f["type"] == "category":
                app[f["name"]] = rng.choice(f["values"])
            elif f["type"] == "integer":
                lo = f.get("min", 0) + (1 if f.get("min_exclusive") else 0)
                app[f["name"]] = rng.randint(
                    lo, min(f.get("max", 10**6), lo + rng.choice([5, 50, 10**6]))
                )
            else:
                app[f["name"]] = rng.choice([0.5, 1e7, rng.uniform(1, 20000)])
        out.append(app)
    return out


def threshold_probes(model: scorer.Model, base: dict[str, Any]) -> list[dict[str, Any]]:
    """A hold-out row with one feature set on and one double either side of
    every numeric tree threshold (integer features: the integers either side):
    a C walk that compared differently (float32, < for <=) fails here."""
    if model.kind != "gbm":
        return []
    feats = model.features
    pairs = sorted(
        {
            (f, t)
            for tree in model.body["trees"]
            for f, t, left, cat in zip(
                tree["feature"],
                tree["threshold"],
                tree["left"],
                tree["cat_left"],
                strict=True,
            )
            if left >= 0 and cat is None
        }
    )
    out = []
    for f, t in pairs:
        if feats[f]["type"] == "integer":
            values: tuple[Any, ...] = (math.floor(t), math.floor(t) + 1)
        else:
            values = (t, math.nextafter(t, -math.inf), math.nextafter(t, math.inf))
        for v in values:
            app = {**base, "applicant_id": f"thr-{len(out)}", feats[f]["name"]: v}
            f_rule = feats[f]
            if (
                f_rule.get("min_exclusive")
                and v <= f_rule["min"]
                or v < f_rule.get("min", -math.inf)
            ):
                continue
            out.append(app)
    return out


# --------------------------------------------------------------------------- parity


def test_artifacts_reproduce_and_match_sklearn() -> None:
    """train.py --check retrains, checks scorer.py against sklearn's predict_proba
    (every training and hold-out row, |d| <= 1e-12) and TreeSHAP against a
    brute-force Shapley computation (|d| <= 1e-9, 120 rows), and compares the
    committed files byte for byte."""
    if UNDER_SANITIZER:
        pytest.skip("pure Python; runs in the normal build's pass")
    r = subprocess.run(
        [sys.executable, str(MODELS / "train.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reproduce byte-for-byte" in r.stdout
    assert "TreeSHAP vs brute force" in r.stdout


def references(model_file: Path, apps: list[dict[str, Any]]) -> list[scorer.Result]:
    """scorer.evaluate for every app, kept under a hash of scorer.py (pure Python: math
    only), the model file, the apps and the Python version: the Python TreeSHAP takes tens
    of seconds for the hold-out set, and the ASan pass (90-sanitizers) checks the same
    answers again. The cache is the machine's (~/.cache/csg/test-models, or
    $CSG_TEST_CACHE_DIR), as ccache is, so a fresh clone does not compute them again."""
    h = hashlib.sha256((MODELS / "scorer.py").read_bytes() + model_file.read_bytes())
    h.update(json.dumps(apps, sort_keys=True).encode())
    h.update(sys.version.encode())
    base = os.environ.get("CSG_TEST_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "csg" / "test-models"
    cache = Path(base) / f"reference-{model_file.stem}-{h.hexdigest()[:16]}.json"
    if cache.exists():
        return [scorer.Result(**r) for r in json.loads(cache.read_text())]
    model = scorer.load(model_file)
    got = [scorer.evaluate(model, a) for a in apps]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([dataclasses.asdict(r) for r in got]))
    tmp.replace(cache)  # a concurrent run never reads half a file
    return got


def check_reply(
    model: scorer.Model, app: dict[str, Any], reply: dict[str, Any],
    want: scorer.Result | None = None,
) -> float:
    """The service's answer equals scorer.py's (want, else evaluated here): score within
    1e-9 (in practice identical), decision, points and the reason list exactly. Returns
    |d score|."""
    want = want or scorer.evaluate(model, app)
    assert isinstance(reply["score"], float) and 0.0 <= reply["score"] <= 1.0
    diff = abs(reply["score"] - want.score)
    assert diff <= 1e-9, (app, reply, want)
    assert reply["decision"] == want.decision, (app, reply, want)
    assert reply["reasons"] == want.reasons, (app, reply, want)
    if model.kind == "scorecard":
        assert abs(reply["points"] - want.points) <= 1e-9, (app, reply, want)
    else:
        assert "points" not in reply
    if reply["decision"] == "approve":
        assert reply["reasons"] == []
    else:
        assert 1 <= len(reply["reasons"]) <= 4, reply
    return diff


@pytest.mark.parametrize("role", ["champion", "challenger"])
def test_parity_every_holdout_row(role: str, request: pytest.FixtureRequest) -> None:
    svc: Service = request.getfixturevalue(role)
    model = scorer.load(MODELS / svc.model)
    metrics = json.loads((MODELS / "metrics.json").read_text())[role]
    rows = holdout()
    assert len(rows) == metrics["holdout_rows"] > 1000
    assert model.name == metrics["model"] and model.cutoff == metrics["cutoff"]
    c = svc.conn()
    worst, approvals = 0.0, 0
    extra = probes(model) + threshold_probes(model, rows[0])
    apps = rows + extra
    for app, want in zip(apps, references(MODELS / svc.model, apps), strict=True):
        status, reply = post(c, app)
        assert status == 200, (app, reply)
        worst = max(worst, check_reply(model, app, reply, want))
        approvals += reply["decision"] == "approve"
    c.close()
    print(
        f"{model.name}: {len(rows)} hold-out + {len(extra)} probe rows, max |d| {worst:.3g}, "
        f"{approvals} approvals"
    )


@pytest.mark.parametrize("role", ["champion", "challenger"])
def test_three_feature_application(role: str, request: pytest.FixtureRequest) -> None:
    """An application with only the required three (the brief's shape) scores on
    both models, missing values and all, and a weak one is declined with reasons."""
    svc: Service = request.getfixturevalue(role)
    model = scorer.load(MODELS / svc.model)
    c = svc.conn()
    weak = {
        "applicant_id": "t-weak",
        "income": 60,
        "loan_amount": 1500,
        "credit_history": 0,
    }
    for app in (GOOD, weak):
        status, reply = post(c, app)
        assert status == 200, reply
        check_reply(model, app, reply)
    # income is required, as in the gateway's shipped schema
    status, reply = post(c, {"applicant_id": "t-ni", "loan_amount": 1500, "credit_history": 1})
    assert status == 400 and reply["error"]["field"] == "income", reply
    status, reply = post(c, weak)
    assert reply["decision"] == "decline" and reply["reasons"], reply
    assert {r["code"] for r in reply["reasons"]} <= {
        f["reason"]["code"] for f in model.features
    }
    c.close()


# --------------------------------------------------------------------------- HTTP


def _with(**kw: Any) -> dict[str, Any]:
    d = dict(GOOD)
    for k, v in kw.items():
        if v is _DROP:
            d.pop(k)
        else:
            d[k] = v
    return d


_DROP = object()

BAD_CASES: list[tuple[str, Any, str, str | None]] = [
    ("not json", "{nope", "invalid_json", None),
    ("truncated", '{"applicant_id":"a"', "invalid_json", None),
    ("array", "[1,2]", "invalid_json", None),
    ("empty body", "", "invalid_json", None),
    (
        "huge number",
        '{"applicant_id":"a","income":1e999,"loan_amount":1,"credit_history":0}',
        "invalid_json",
        None,
    ),
    (
        "applicant_id missing",
        _with(applicant_id=_DROP),
        "invalid_field",
        "applicant_id",
    ),
    ("applicant_id empty", _with(applicant_id=""), "invalid_field", "applicant_id"),
    (
        "applicant_id too long",
        _with(applicant_id="x" * 65),
        "invalid_field",
        "applicant_id",
    ),
    ("applicant_id number", _with(applicant_id=12), "invalid_field", "applicant_id"),
    ("income negative", _with(income=-1), "invalid_field", "income"),
    ("income string", _with(income="100"), "invalid_field", "income"),
    ("income null", _with(income=None), "invalid_field", "income"),
    ("loan_amount missing", _with(loan_amount=_DROP), "invalid_field", "loan_amount"),
    ("loan_amount zero", _with(loan_amount=0), "invalid_field", "loan_amount"),
    ("loan_amount negative", _with(loan_amount=-5.5), "invalid_field", "loan_amount"),
    ("loan_amount bool", _with(loan_amount=True), "invalid_field", "loan_amount"),
    (
        "credit_history missing",
        _with(credit_history=_DROP),
        "invalid_field",
        "credit_history",
    ),
    (
        "credit_history negative",
        _with(credit_history=-1),
        "invalid_field",
        "credit_history",
    ),
    (
        "credit_history fraction",
        _with(credit_history=1.5),
        "invalid_field",
        "credit_history",
    ),
    (
        "credit_history string",
        _with(credit_history="1"),
        "invalid_field",
        "credit_history",
    ),
    ("home unknown level", _with(home="castle"), "invalid_field", "home"),
    ("home number", _with(home=1), "invalid_field", "home"),
    ("home wrong case", _with(home="Owner"), "invalid_field", "home"),
    ("marital null", _with(marital=None), "invalid_field", "marital"),
    ("age under 18", _with(age=17), "invalid_field", "age"),
    ("term zero", _with(term_months=0), "invalid_field", "term_months"),
    ("debt negative", _with(debt=-1), "invalid_field", "debt"),
    ("price zero", _with(purchase_price=0), "invalid_field", "purchase_price"),
]


@pytest.mark.parametrize(
    "name,body,code,field", BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_input(
    champion: Service, name: str, body: Any, code: str, field: str | None
) -> None:
    c = champion.conn()
    status, reply = post(c, body)
    assert status == 400, reply
    err = reply["error"]
    assert err["code"] == code and err["message"]
    assert err.get("field") == field
    # The connection stays usable after a rejected request.
    status, reply = post(c, GOOD)
    assert status == 200 and reply["decision"] in ("approve", "decline")
    c.close()


def test_extra_fields_ignored(champion: Service) -> None:
    c = champion.conn()
    s1, r1 = post(c, GOOD)
    s2, r2 = post(
        c, {**GOOD, "colour": "red", "request_id": "r-1", "nested": {"a": [1]}}
    )
    assert s1 == s2 == 200 and r1 == r2


def test_oversize_body(champion: Service) -> None:
    pad = " " * (70 * 1024)
    c = champion.conn()
    status, reply = post(c, '{"applicant_id":"a"' + pad + "}")
    assert status == 413 and reply["error"]["code"] == "payload_too_large"
    c.close()
    # Far beyond the limit libevent refuses before reading the body: still 413.
    c = champion.conn()
    status, _ = post(c, "x" * (1024 * 1024))
    assert status == 413
    c.close()
    # Just under the limit is fine.
    c = champion.conn()
    body = json.dumps(GOOD)
    status, _ = post(c, body[:-1] + " " * (64 * 1024 - len(body)) + "}")
    assert status == 200


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", ""]
)
def test_content_type(champion: Service, ctype: str) -> None:
    c = champion.conn()
    headers = {"Content-Type": ctype} if ctype else {}
    status, reply = post(c, GOOD, headers=headers)
    assert status == 415 and reply["error"]["code"] == "unsupported_media_type"
    status, _ = post(
        c, GOOD, headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert status == 200


def test_paths_and_methods(champion: Service) -> None:
    status, body = champion.get("/healthz")
    assert status == 200 and json.loads(body) == {
        "status": "ok",
        "model": "champion-scorecard-v2",
    }
    status, body = champion.get("/score")
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"
    status, body = champion.get("/nope")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    c = champion.conn()
    status, _ = post(c, GOOD, path="/healthz")
    assert status == 405
    status, _ = post(c, GOOD, path="/v1/other")
    assert status == 404


def test_keep_alive(challenger: Service) -> None:
    c = challenger.conn()
    c.connect()
    sock = c.sock
    for i in range(20):
        body: Any = {**GOOD, "applicant_id": f"ka-{i}", "income": 50 + i * 20}
        if i % 5 == 4:
            body = "{broken"
        c.request(
            "POST",
            "/score",
            body=json.dumps(body) if isinstance(body, dict) else body,
            headers=JSON,
        )
        r = c.getresponse()
        r.read()
        assert r.status == (400 if i % 5 == 4 else 200)
        assert (r.getheader("Connection") or "").lower() != "close"
        assert c.sock is sock, "the server closed the keep-alive connection"
    c.close()


def test_pipelining_answers_in_order() -> None:
    """Requests written back to back on one connection are answered in order,
    also when each reply is delayed (the REST adapter's `pipeline: true`)."""
    svc = Service("champion.json", "--latency-ms", "30")
    try:
        model = scorer.load(MODELS / "champion.json")
        apps = [
            {**GOOD, "applicant_id": f"pl-{i}", "income": 40 + 90 * i} for i in range(4)
        ]
        bodies = [json.dumps(a).encode() for a in apps]
        bodies.insert(2, b"{bad")
        wire = b"".join(
            b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(b), b)
            for b in bodies
        )
        with socket.create_connection(("127.0.0.1", svc.port), timeout=10) as s:
            s.sendall(wire)
            f = s.makefile("rb")
            replies = []
            for _ in bodies:
                status = int(f.readline().split()[1])
                length = 0
                while (line := f.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                replies.append((status, json.loads(f.read(length))))
        assert [r[0] for r in replies] == [200, 200, 400, 200, 200]
        assert replies[2][1]["error"]["code"] == "invalid_json"
        scored = [r[1] for r in replies if r[0] == 200]
        for app, reply in zip(apps, scored, strict=True):
            assert reply["score"] == scorer.score(model, app)[0]
    finally:
        svc.stop()


def test_score_is_round_trip_precision(challenger: Service) -> None:
    c = challenger.conn()
    c.request("POST", "/score", body=json.dumps(GOOD), headers=JSON)
    raw = c.getresponse().read().decode()
    text = raw.split('"score":')[1].split(",")[0]
    assert float(repr(float(text))) == float(text) and len(text.lstrip("0.")) >= 15


# --------------------------------------------------------------------------- flags


def test_error_rate_one() -> None:
    svc = Service("champion.json", "--error-rate", "1")
    try:
        c = svc.conn()
        for _ in range(20):
            status, reply = post(c, GOOD)
            assert status == 500 and reply["error"]["code"] == "model_error"
        # Validation still comes first; health is not affected.
        status, reply = post(c, {"applicant_id": "a"})
        assert status == 400 and reply["error"]["field"] == "income"
        assert svc.get("/healthz")[0] == 200
    finally:
        svc.stop()


def test_error_rate_share() -> None:
    svc = Service("challenger.json", "--error-rate", "0.5", "--seed", "11")
    try:
        c = svc.conn()
        statuses = [post(c, GOOD)[0] for _ in range(200)]
        assert set(statuses) == {200, 500}
        assert 60 <= statuses.count(500) <= 140
    finally:
        svc.stop()


def test_latency_delays_without_blocking() -> None:
    delay = 0.4
    svc = Service("champion.json", "--latency-ms", str(int(delay * 1000)))
    try:
        slow = svc.conn()
        t0 = time.monotonic()
        slow.request("POST", "/score", body=json.dumps(GOOD), headers=JSON)
        # While the scored request waits on its timer, other connections are
        # served: health and a rejected request answer first (reply order).
        other = svc.conn()
        status, _ = post(other, {"applicant_id": "x"})
        assert status == 400
        assert svc.get("/healthz")[0] == 200
        assert slow.sock is not None
        readable, _, _ = select.select([slow.sock], [], [], 0)
        assert not readable, "the delayed reply came before the undelayed ones"
        r = slow.getresponse()
        elapsed = time.monotonic() - t0
        assert r.status == 200 and json.loads(r.read())["decision"] in (
            "approve",
            "decline",
        )
        assert elapsed >= delay, (
            f"reply after {elapsed:.3f}s, --latency-ms asked {delay}s"
        )
        # On the same connection the next request is delayed too.
        t1 = time.monotonic()
        status, _ = post(slow, GOOD)
        assert status == 200 and time.monotonic() - t1 >= delay
    finally:
        svc.stop()


def test_latency_distribution_lower_bound() -> None:
    svc = Service("challenger.json", "--latency-ms", "uniform:100:150", "--seed", "3")
    try:
        c = svc.conn()
        for _ in range(3):
            t0 = time.monotonic()
            status, _ = post(c, GOOD)
            assert status == 200 and time.monotonic() - t0 >= 0.1
    finally:
        svc.stop()


def test_client_gone_before_delayed_reply() -> None:
    """Clients that hang up while their reply waits on the timer: the late
    reply goes nowhere, nothing crashes (the ASan run checks the memory)."""
    svc = Service("challenger.json", "--latency-ms", "150")
    try:
        body = json.dumps(GOOD).encode()
        wire = (
            b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", svc.port), timeout=5) as s:
                s.sendall(wire)
        # A delayed request made after them is answered after their timers fired.
        c = svc.conn()
        for _ in range(2):
            status, reply = post(c, GOOD)
            assert status == 200 and reply["decision"] in ("approve", "decline")
        assert svc.get("/healthz")[0] == 200
    finally:
        svc.stop()


def test_sigterm_answers_delayed_replies() -> None:
    svc = Service("champion.json", "--latency-ms", "60000")
    c = svc.conn(timeout=20)
    c.request("POST", "/score", body=json.dumps(GOOD), headers=JSON)
    # The request bytes are in the server's socket before the health check's
    # connection exists, and one event loop serves both, so once health has
    # answered the delayed request has been read and is waiting on its timer.
    assert svc.get("/healthz")[0] == 200
    t0 = time.monotonic()
    svc.stop()
    r = c.getresponse()
    assert r.status == 200 and time.monotonic() - t0 < 30


CLI_CASES: list[tuple[list[str], int, str]] = [
    (["--port", "1"], 2, "--model and --port are required"),
    (["--model", "models/champion.json"], 2, "--model and --port are required"),
    (["--model", "models/champion.json", "--port", "0"], 2, "--port must be 1-65535"),
    (["--model", "models/champion.json", "--port", "x"], 2, "--port must be 1-65535"),
    (
        ["--model", "models/champion.json", "--port", "2", "--error-rate", "1.5"],
        2,
        "--error-rate must be a number in [0, 1]",
    ),
    (
        ["--model", "models/champion.json", "--port", "2", "--latency-ms", "exp:"],
        2,
        "bad latency",
    ),
    (
        ["--model", "models/champion.json", "--port", "2", "--frobnicate"],
        2,
        "unknown option",
    ),
    (
        ["--model", "models/nope.json", "--port", "2"],
        1,
        "models/nope.json: cannot open",
    ),
    (
        ["--model", "models/holdout.csv", "--port", "2"],
        1,
        "models/holdout.csv: invalid JSON",
    ),
]


@pytest.mark.parametrize(
    "args,rc,msg", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES]
)
def test_cli_errors(args: list[str], rc: int, msg: str) -> None:
    r = subprocess.run(
        [str(BIN), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert r.returncode == rc, r.stderr
    assert msg in r.stderr


def test_cli_bad_model_and_busy_port(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    doc = json.loads((MODELS / "challenger.json").read_text())
    doc["gbm"]["trees"][3]["left"][0] = 0  # a cycle
    bad.write_text(json.dumps(doc))
    r = subprocess.run(
        [str(BIN), "--model", str(bad), "--port", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 1 and "gbm.trees[3] node 0" in r.stderr, r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [
                str(BIN),
                "--model",
                str(MODELS / "champion.json"),
                "--port",
                str(port),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr, (
        r.stderr
    )
    r = subprocess.run(
        [str(BIN), "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 0 and "--latency-ms" in r.stdout
