"""The three transports agree (DESIGN §5): same applications → same score, decision,
model and challenger assignment; same bad input → same error class; 200 concurrent
connections per protocol without a mix-up; TCP framing against the real gateway."""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cflib
import grpc
import pytest
from cflib import GrpcClient, HttpClient, Stack, TcpClient, pb

TRANSPORTS = ("tcp", "http", "grpc")
# csg_requests_total{status}: the DESIGN §5 codes, the same on every transport
# (docs/architecture.md, Metrics).
STATUS_LABELS = {
    "ok", "invalid_json", "invalid_field", "payload_too_large", "headers_too_large",
    "bad_request", "not_found", "method_not_allowed", "unsupported_media_type",
    "champion_error", "champion_timeout", "overloaded", "not_ready", "deadline_exceeded",
    "internal", "not_implemented", "client_closed",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = cflib.start_stack()
    yield s
    cflib.stop_stack_checked(s)


def client(stack: Stack, t: str) -> Any:
    return {"tcp": lambda: TcpClient(stack.tcp), "http": lambda: HttpClient(stack.http),
            "grpc": lambda: GrpcClient(stack.grpc)}[t]()


# --------------------------------------------------------------------------
# 1,000 applications over each transport


def test_same_1000_applications_agree(stack: Stack) -> None:
    apps = cflib.applications(1000)
    results: dict[str, list[dict[str, Any]]] = {}
    for t in TRANSPORTS:
        c = client(stack, t)
        try:
            # TCP: all 1,000 lines pipelined in one write; gRPC: 1,000 calls at once.
            results[t] = c.score_many(apps, [f"agree-{t}-{i}" for i in range(len(apps))])
        finally:
            c.close()
    for i, a in enumerate(apps):
        per = {t: results[t][i] for t in TRANSPORTS}
        for t, r in per.items():
            assert "error" not in r, (t, a, r)
            assert r["applicant_id"] == a["applicant_id"] and r["request_id"] == f"agree-{t}-{i}"
            assert r["decision"] in ("approve", "decline") and 0.0 <= r["score"] <= 1.0
        assert len({r["score"] for r in per.values()}) == 1, per  # bit-for-bit, not approx
        assert len({r["decision"] for r in per.values()}) == 1, per
        assert len({r["model"] for r in per.values()}) == 1, per
        assert len({r["experiment_id"] for r in per.values()}) == 1, per
        assert len({json.dumps(r["reasons"]) for r in per.values()}) == 1, per

    # Events: one per request, tagged with its transport, same arm for the same applicant.
    want = {f"agree-{t}-{i}" for t in TRANSPORTS for i in range(len(apps))}

    def events() -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in stack.read_events() if e["event_id"] in want}

    cflib.wait_until(lambda: len(events()) == len(want), 30, "all 3,000 events written")
    ev = events()
    with_challenger = 0
    for i, a in enumerate(apps):
        per = {t: ev[f"agree-{t}-{i}"] for t in TRANSPORTS}
        for t, e in per.items():
            assert e["transport"] == t and e["applicant_id"] == a["applicant_id"]
            assert e["champion_score"] == results[t][i]["score"]
            assert e["champion_decision"] == results[t][i]["decision"]
            assert e["champion_reasons"] == [x["code"] for x in results[t][i]["reasons"]], e
            assert e["status"] == "OK", e
        for key in ("challenger_model", "challenger_score", "challenger_decision",
                    "champion_model", "decision_match", "income", "loan_amount",
                    "credit_history", "challenger_reasons"):
            assert len({json.dumps(e[key]) for e in per.values()}) == 1, (key, per)
        with_challenger += per["tcp"]["challenger_model"] is not None
    # weight 0.5: both arms are well represented (sticky hash, so not exactly half)
    assert 350 < with_challenger < 650, with_challenger


# --------------------------------------------------------------------------
# One table of bad input, the same error class on every transport

BASE = {"applicant_id": "bad-case", "income": 100.0, "loan_amount": 1000.0, "credit_history": 1}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in BASE.items() if k != key}


def with_(**kw: Any) -> dict[str, Any]:
    return {**BASE, **kw}


def feats(**kw: Any) -> dict[str, Any]:
    """with_(**kw) as a gRPC request with every member in the features map."""
    return cflib.as_features(with_(**kw))


# name, JSON body (bytes or object; None = not expressible in JSON),
# gRPC request (ScoreRequest fields, raw bytes, or None = proto3 cannot express it),
# expected transport-neutral error class.
BAD: list[tuple[str, Any, Any, str]] = [
    ("invalid_json", b'{"applicant_id": "x", ', b"\xff\xff\xff\xff", "invalid_json"),
    ("not_an_object", b"[1, 2, 3]", None, "invalid_json"),
    ("missing_applicant_id", without("applicant_id"), with_(applicant_id=""),
     "invalid_field:applicant_id"),
    ("missing_loan_amount", without("loan_amount"), with_(loan_amount=0.0),
     "invalid_field:loan_amount"),
    ("missing_income", without("income"), None, "invalid_field:income"),
    ("missing_credit_history", without("credit_history"), None, "invalid_field:credit_history"),
    ("wrong_type_applicant_id", with_(applicant_id=123), None, "invalid_field:applicant_id"),
    ("wrong_type_income", with_(income="lots"), None, "invalid_field:income"),
    ("wrong_type_loan_amount", with_(loan_amount=True), None, "invalid_field:loan_amount"),
    ("wrong_type_credit_history", with_(credit_history=1.5), None,
     "invalid_field:credit_history"),
    ("applicant_id_too_long", with_(applicant_id="x" * 65), with_(applicant_id="x" * 65),
     "invalid_field:applicant_id"),
    ("applicant_id_control_char", with_(applicant_id="a\u0001b"), with_(applicant_id="a\u0001b"),
     "invalid_field:applicant_id"),
    # protobuf-c hands strings over NUL-terminated: not silently cut to "a"
    ("applicant_id_nul", with_(applicant_id="a\u0000b"), with_(applicant_id="a\u0000b"),
     "invalid_field:applicant_id"),
    ("income_negative", with_(income=-1), with_(income=-1.0), "invalid_field:income"),
    ("loan_amount_zero", with_(loan_amount=0), with_(loan_amount=0.0),
     "invalid_field:loan_amount"),
    ("loan_amount_negative", with_(loan_amount=-5), with_(loan_amount=-5.0),
     "invalid_field:loan_amount"),
    ("credit_history_negative", with_(credit_history=-1), with_(credit_history=-1),
     "invalid_field:credit_history"),
    # gRPC's field is int32: JSON is bounded the same, so no transport accepts more
    ("credit_history_above_int32", with_(credit_history=2**31), None,
     "invalid_field:credit_history"),
    ("income_nan", None, with_(income=math.nan), "invalid_field:income"),
    ("income_infinite", None, with_(income=math.inf), "invalid_field:income"),
    ("loan_amount_nan", None, with_(loan_amount=math.nan), "invalid_field:loan_amount"),
    ("oversize", with_(padding="p" * 70000), with_(applicant_id="p" * 70000),
     "payload_too_large"),
    # The features map (DESIGN §5 "Features"): each entry is the JSON member of the
    # same name, so the core's rules answer the same, naming the feature.
    ("feature_wrong_type_income", with_(income="lots"), feats(income="lots"),
     "invalid_field:income"),
    ("feature_flag_loan_amount", with_(loan_amount=True), feats(loan_amount=True),
     "invalid_field:loan_amount"),
    ("feature_history_not_integer", with_(credit_history=1.5), feats(credit_history=1.5),
     "invalid_field:credit_history"),
    ("feature_out_of_range", with_(income=-1), feats(income=-1), "invalid_field:income"),
    ("feature_history_above_int32", with_(credit_history=2**31), feats(credit_history=2**31),
     "invalid_field:credit_history"),
    ("feature_missing_required", without("loan_amount"), cflib.as_features(without("loan_amount")),
     "invalid_field:loan_amount"),
    ("feature_bad_request_id", with_(request_id="a b"), feats(request_id="a b"),
     "invalid_field:request_id"),
    # What only the proto can say: refused by grpc.so, naming the field or feature.
    ("fields_and_features", None, {**feats(), "income": 5.0}, "invalid_field:income"),
    ("feature_empty_value", None, feats(age=None), "invalid_field:age"),
    ("feature_bad_name", None, feats(Home="rent"), "invalid_field:features"),
    ("feature_nan", None, feats(debt=math.nan), "invalid_field:debt"),
    ("feature_infinite", None, feats(income=math.inf), "invalid_field:income"),
    ("feature_nul_category", None, feats(home="re\u0000nt"), "invalid_field:home"),
    ("feature_applicant_id", None,
     {"applicant_id": "x", "features": {**feats()["features"], "applicant_id": "x"}},
     "invalid_field:applicant_id"),
    # under the 64 KiB message limit, but 120 KB as JSON: over max_body_bytes as a body is
    ("feature_json_oversize", None, feats(note="\u0001" * 20000), "payload_too_large"),
]


def as_bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize("name,body,greq,want", BAD, ids=[b[0] for b in BAD])
def test_bad_input_same_error_class(stack: Stack, name: str, body: Any, greq: Any,
                                    want: str) -> None:
    good = with_(applicant_id="after-bad")
    if body is not None:
        # TCP: error line, then the connection goes on.
        t = TcpClient(stack.tcp)
        t.send(as_bytes(body).replace(b"\n", b" ") + b"\n" + json.dumps(good).encode() + b"\n")
        assert cflib.result_of_json(t.reply()).get("error") == want, name
        assert t.reply()["applicant_id"] == "after-bad"
        t.close()
        # HTTP: 4xx with the same code/field; keep-alive goes on (not after 413,
        # which is answered from Content-Length without reading the body).
        h = HttpClient(stack.http)
        r = h.score(as_bytes(body))
        assert r.get("error") == want, (name, r)
        assert r["status"] == (413 if want == "payload_too_large" else 400)
        if want != "payload_too_large":
            assert h.score(json.dumps(good).encode())["applicant_id"] == "after-bad"
        h.close()
    if greq is not None:
        g = GrpcClient(stack.grpc)
        if isinstance(greq, bytes):
            got = g.raw(greq)
        else:
            got = g.score_many([greq], [f"bad-{name}"])[0]
        assert got.get("error") == want, (name, got)
        assert g.score_many([good], ["after"])[0]["applicant_id"] == "after-bad"
        g.close()


def test_features_map_agrees_with_json(stack: Stack) -> None:
    """A gRPC request carrying the application in the features map scores exactly as the
    same JSON object over HTTP and TCP, and as the legacy gRPC fields (extra members are
    ignored by today's core, on every transport alike)."""
    base = cflib.applications(200)
    apps = [{**a, "age": 40, "home": "rent", "owner": i % 2 == 0} for i, a in enumerate(base)]
    rids = {t: [f"feat-{t}-{i}" for i in range(len(apps))]
            for t in ("tcp", "http", "grpc-map", "grpc-fields")}
    got: dict[str, list[dict[str, Any]]] = {}
    for t, c, msgs in (("tcp", TcpClient(stack.tcp), apps), ("http", HttpClient(stack.http), apps),
                       ("grpc-map", GrpcClient(stack.grpc), [cflib.as_features(a) for a in apps]),
                       ("grpc-fields", GrpcClient(stack.grpc), base)):
        try:
            got[t] = c.score_many(msgs, rids[t])
        finally:
            c.close()
    for i, a in enumerate(apps):
        per = {t: got[t][i] for t in got}
        for t, r in per.items():
            assert "error" not in r and r["applicant_id"] == a["applicant_id"], (t, a, r)
        for key in ("score", "decision", "model", "experiment_id"):
            assert len({r[key] for r in per.values()}) == 1, (key, a, per)  # bit for bit

    # The events carry the same application, whichever way it came.
    want = {rids["http"][i]: i for i in range(20)} | {rids["grpc-map"][i]: i for i in range(20)}

    def events() -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in stack.read_events() if e["event_id"] in want}

    cflib.wait_until(lambda: len(events()) == len(want), 30, "the features-map events")
    ev = events()
    for i in range(20):
        h, g = ev[rids["http"][i]], ev[rids["grpc-map"][i]]
        for key in ("income", "loan_amount", "credit_history", "champion_score"):
            assert h[key] == g[key], (key, h, g)


def test_bad_request_ids(stack: Stack) -> None:
    t = TcpClient(stack.tcp)
    t.send(json.dumps(with_(request_id="has space")).encode() + b"\n")
    assert cflib.result_of_json(t.reply())["error"] == "invalid_field:request_id"
    t.close()
    g = GrpcClient(stack.grpc)
    with pytest.raises(grpc.RpcError) as e:
        g.call(pb.ScoreRequest(**BASE), timeout=10, metadata=[("x-request-id", "x" * 65)])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x-request-id" in (e.value.details() or "")
    g.close()


# --------------------------------------------------------------------------
# 200 concurrent connections per protocol, in one bounded burst


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_200_concurrent_connections(stack: Stack, transport: str) -> None:
    n_conns, per_conn = 200, 5
    apps = cflib.applications(n_conns * per_conn)
    clients = [client(stack, transport) for _ in range(n_conns)]
    barrier = threading.Barrier(n_conns)

    def run(k: int) -> list[str]:
        mine = apps[k * per_conn:(k + 1) * per_conn]
        rids = [f"cc-{transport}-{k}-{j}" for j in range(per_conn)]
        barrier.wait(timeout=30)
        got = clients[k].score_many(mine, rids)
        errs = []
        for a, rid, r in zip(mine, rids, got, strict=True):
            if r.get("applicant_id") != a["applicant_id"] or r.get("request_id") != rid:
                errs.append(f"{transport} {a['applicant_id']}/{rid}: {r}")
        return errs

    try:
        with ThreadPoolExecutor(max_workers=n_conns) as ex:
            errors = [e for errs in ex.map(run, range(n_conns)) for e in errs]
    finally:
        for c in clients:
            c.close()
    assert not errors, errors[:5]


# --------------------------------------------------------------------------
# TCP framing against the real gateway


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def test_tcp_overlong_line_resynchronises(stack: Stack) -> None:
    t = TcpClient(stack.tcp)
    t.send(b'{"applicant_id":"' + b"x" * (stack.max_line + 100) + b'"}\n' +
           line(with_(applicant_id="resync-1")))
    assert t.reply()["error"]["code"] == "payload_too_large"
    assert t.reply()["applicant_id"] == "resync-1"
    # dribbled in pieces, no newline for a while
    for _ in range(5):
        t.send(b"y" * 5000)
    t.send(b"\n" + line(with_(applicant_id="resync-2")))
    assert t.reply()["error"]["code"] == "payload_too_large"
    assert t.reply()["applicant_id"] == "resync-2"
    t.close()


def test_tcp_half_close_delivers_remaining_replies(stack: Stack) -> None:
    t = TcpClient(stack.tcp)
    apps = cflib.applications(100)
    t.send(b"".join(line(a) for a in apps))
    t.s.shutdown(socket.SHUT_WR)
    got = [t.reply()["applicant_id"] for _ in apps]
    assert got == [a["applicant_id"] for a in apps]
    assert t.readline() is None
    t.close()


def test_tcp_idle_timeout(stack: Stack) -> None:
    t = TcpClient(stack.tcp)
    t.send(line(with_(applicant_id="idle")))
    assert t.reply()["applicant_id"] == "idle"
    t0 = time.monotonic()
    assert t.readline() is None  # the gateway closes the quiet connection
    waited = time.monotonic() - t0
    assert stack.idle_timeout_ms / 1000 * 0.9 <= waited < stack.idle_timeout_ms / 1000 * 3 * cflib.SLOW
    t.close()


# --------------------------------------------------------------------------
# gRPC specifics against the real gateway


def test_grpc_unknown_method_and_health(stack: Stack) -> None:
    g = GrpcClient(stack.grpc)
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        g.ch.unary_unary("/csg.v1.CreditScoring/Explain")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert time.monotonic() - t0 < 2 * cflib.SLOW
    assert cflib.grpc_health(stack.grpc) == "SERVING"
    g.close()


def test_metrics_count_every_transport(stack: Stack) -> None:
    h = HttpClient(stack.http)
    status, body = h.request("GET", "/metrics")
    h.close()
    assert status == 200
    text = body.decode()
    # One status vocabulary (the DESIGN §5 codes) for every transport.
    for t in TRANSPORTS:
        assert f'csg_requests_total{{transport="{t}",status="ok"}}' in text, t
        assert f'csg_requests_total{{transport="{t}",status="invalid_field"}}' in text, t
    labels = set(re.findall(r'csg_requests_total\{transport="\w+",status="([^"]+)"\}', text))
    assert labels <= STATUS_LABELS, labels - STATUS_LABELS


def overhead_count(stack: Stack, transport: str) -> int:
    h = HttpClient(stack.http)
    try:
        _, body = h.request("GET", "/metrics")
    finally:
        h.close()
    m = re.search(rf'^csg_gateway_overhead_seconds_count\{{transport="{transport}"\}} (\d+)$',
                  body.decode(), re.MULTILINE)
    return int(m.group(1)) if m else 0


def test_overhead_histogram_every_transport(stack: Stack) -> None:
    """csg_gateway_overhead_seconds{transport}: one observation per scored request, under
    the transport that carried it."""
    apps = cflib.applications(20)
    for t in TRANSPORTS:
        before = {u: overhead_count(stack, u) for u in TRANSPORTS}
        c = client(stack, t)
        try:
            c.score_many(apps, [f"overhead-{t}-{i}" for i in range(len(apps))])
        finally:
            c.close()
        after = {u: overhead_count(stack, u) for u in TRANSPORTS}
        assert {u: after[u] - before[u] for u in TRANSPORTS} == {
            u: (20 if u == t else 0) for u in TRANSPORTS}, t


# --------------------------------------------------------------------------
# Champion failures: the same class on every transport, and client deadlines


def metric(stack: Stack, transport: str, status: str) -> int:
    h = HttpClient(stack.http)
    try:
        _, body = h.request("GET", "/metrics")
    finally:
        h.close()
    key = f'csg_requests_total{{transport="{transport}",status="{status}"}} '
    for ln in body.decode().splitlines():
        if ln.startswith(key):
            return int(float(ln.split()[-1]))
    return 0


def failures_agree(stack: Stack, want: str, http_status: int) -> None:
    a = with_(applicant_id=f"fail-{want}")
    t = TcpClient(stack.tcp)
    assert t.score_many([a], ["f-tcp"])[0]["error"] == want
    t.close()
    h = HttpClient(stack.http)
    r = h.score(json.dumps(a).encode(), "f-http")
    h.close()
    assert (r.get("error"), r.get("status")) == (want, http_status)
    g = GrpcClient(stack.grpc)
    assert g.score_many([a], ["f-grpc"])[0]["error"] == want
    g.close()
    status = {"champion_error": "CHAMPION_ERROR", "champion_timeout": "CHAMPION_TIMEOUT"}[want]

    def evs() -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in stack.read_events()
                if e["event_id"] in ("f-tcp", "f-http", "f-grpc")}

    cflib.wait_until(lambda: len(evs()) == 3, 15, "the three failure events")
    for t_name in TRANSPORTS:
        e = evs()[f"f-{t_name}"]
        assert e["transport"] == t_name and e["status"] == status, e


def test_champion_error_same_class_everywhere() -> None:
    s = cflib.start_stack(champion_args=("--error-rate", "1"), wait_ready=False)
    try:
        failures_agree(s, "champion_error", 502)
        for t in TRANSPORTS:
            assert metric(s, t, "champion_error") == 1, t
    finally:
        assert cflib.stop_stack(s) == 0


def test_champion_timeout_and_client_deadline() -> None:
    slow = int(600 * cflib.SLOW)
    s = cflib.start_stack(champion_args=("--latency-ms", str(slow)),
                          champion_timeout_ms=slow // 2, wait_ready=False)
    try:
        failures_agree(s, "champion_timeout", 504)
        for t in TRANSPORTS:
            assert metric(s, t, "champion_timeout") == 1, t
        # A client deadline shorter than the champion's timeout: the client sees
        # DEADLINE_EXCEEDED, and the gateway answers and counts it at that deadline.
        g = GrpcClient(s.grpc)
        with pytest.raises(grpc.RpcError) as e:
            g.call(pb.ScoreRequest(**with_(applicant_id="deadline")), timeout=slow / 4000)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        g.close()
        cflib.wait_until(lambda: metric(s, "grpc", "deadline_exceeded") == 1, 10,
                         "the client-deadline call counted")
    finally:
        assert cflib.stop_stack(s) == 0
