"""Adverse-action reasons through the real gateway (DESIGN §5, §6; issue 17), with fake
models (gwlib.TinyModel) so nothing depends on the real models' numbers: a declined
application gets the champion's reasons, in order, identical on TCP, HTTP and gRPC;
an approve gets []; a champion reply with malformed reasons is a champion error on
every transport (502, TCP error line, gRPC UNAVAILABLE) and counted; a challenger's
malformed reasons make a CHALLENGER_ERROR event with challenger_reasons null; a
fallback decision carries the FALLBACK reason everywhere; events carry the codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import cflib
import pytest
from cflib import GrpcClient, HttpClient, Stack, TcpClient
from gateway.gwlib import TinyModel  # the fake model server of the gateway tests
from harness import free_port

TRANSPORTS = ("tcp", "http", "grpc")
INCOME = {"code": "INCOME", "feature": "income",
          "text": "Income insufficient for amount of credit requested"}
# A text that needs escaping in JSON and is not ASCII.
DEBT = {"code": "DEBT", "feature": "debt", "text": 'Debt "too high" \u2014 r\u00e9duire'}
AGE = {"code": "AGE", "feature": "age", "text": "Age"}
FALLBACK = {"code": "FALLBACK", "feature": None,
            "text": "No model answer; the configured fallback decision was applied"}


def answer(body: bytes, role: str) -> bytes:
    """The fake models' replies, by applicant id prefix:
    decline-* → decline with reasons (champion INCOME, DEBT; challenger DEBT, AGE);
    bad-* → the champion's reasons malformed (a lower-case code);
    chalbad-* → the champion declines with reasons, the challenger sends five;
    anything else (the gateway's readiness probe too) → approve, [] and points."""
    aid = json.loads(body).get("applicant_id", "")
    if aid.startswith("decline") or (aid.startswith("chalbad") and role == "champion"):
        reasons = [INCOME, DEBT] if role == "champion" else [DEBT, AGE]
        out = {"score": 0.21, "decision": "decline", "points": 571.3, "reasons": reasons}
    elif aid.startswith("bad") and role == "champion":
        out = {"score": 0.21, "decision": "decline",
               "reasons": [{"code": "income", "feature": "income", "text": "x"}]}
    elif aid.startswith("chalbad"):
        out = {"score": 0.3, "decision": "decline", "reasons": [
            {"code": c, "feature": "income", "text": "t"} for c in "ABCDE"]}
    else:
        out = {"score": 0.87, "decision": "approve", "points": 640, "reasons": []}
    return json.dumps(out).encode()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    champ = TinyModel(lambda b: answer(b, "champion"), content_length=True)
    chal = TinyModel(lambda b: answer(b, "challenger"), content_length=True)
    s = cflib.start_stack(weight=1.0, model_ports=(champ.port, chal.port))
    yield s
    cflib.stop_stack_checked(s)
    champ.stop()
    chal.stop()


def score_everywhere(stack: Stack, aid: str) -> dict[str, dict[str, Any]]:
    """The same application over each transport (request ids <aid>-<transport>)."""
    app = {"applicant_id": aid, "income": 120.0, "loan_amount": 1000.0, "credit_history": 1}
    out = {}
    for t, c in (("tcp", TcpClient(stack.tcp)), ("http", HttpClient(stack.http)),
                 ("grpc", GrpcClient(stack.grpc))):
        try:
            out[t] = c.score_many([app], [f"{aid}-{t}"])[0]
        finally:
            c.close()
    return out


def events_for(stack: Stack, aid: str) -> dict[str, dict[str, Any]]:
    want = {f"{aid}-{t}" for t in TRANSPORTS}

    def got() -> dict[str, dict[str, Any]]:
        return {e["transport"]: e for e in stack.read_events() if e["event_id"] in want}

    cflib.wait_until(lambda: len(got()) == 3, 15, f"the three events of {aid}")
    return got()


def metric(stack: Stack, transport: str, status: str) -> int:
    h = HttpClient(stack.http)
    try:
        _, body = h.request("GET", "/metrics")
    finally:
        h.close()
    key = f'csg_requests_total{{transport="{transport}",status="{status}"}} '
    return sum(int(float(ln.split()[-1])) for ln in body.decode().splitlines()
               if ln.startswith(key))


def test_decline_reasons_identical_on_every_transport(stack: Stack) -> None:
    per = score_everywhere(stack, "decline-1")
    for t, r in per.items():
        assert r.get("decision") == "decline", (t, r)
        assert r["reasons"] == [INCOME, DEBT], (t, r)
    ev = events_for(stack, "decline-1")
    for t, e in ev.items():
        assert e["status"] == "OK", e
        assert e["champion_reasons"] == ["INCOME", "DEBT"], e
        assert e["challenger_reasons"] == ["DEBT", "AGE"], e


def test_approve_has_empty_reasons(stack: Stack) -> None:
    per = score_everywhere(stack, "approve-1")
    for t, r in per.items():
        assert r.get("decision") == "approve" and r["reasons"] == [], (t, r)
    # The key is there, not just empty (JSON transports).
    h = HttpClient(stack.http)
    _, body = h.request("POST", "/v1/score", json.dumps(
        {"applicant_id": "approve-2", "income": 1.0, "loan_amount": 1.0,
         "credit_history": 0}).encode())
    h.close()
    assert b'"reasons":[]' in body, body
    for e in events_for(stack, "approve-1").values():
        assert e["champion_reasons"] == [] and e["challenger_reasons"] == [], e


def test_malformed_champion_reasons_are_a_champion_error(stack: Stack) -> None:
    before = {t: metric(stack, t, "champion_error") for t in TRANSPORTS}
    per = score_everywhere(stack, "bad-1")
    for t, r in per.items():
        assert r.get("error") == "champion_error", (t, r)
    assert per["http"]["status"] == 502
    for t in TRANSPORTS:
        assert metric(stack, t, "champion_error") == before[t] + 1, t
    # The client is told what was wrong, never given part of the list.
    h = HttpClient(stack.http)
    status, body = h.request("POST", "/v1/score", json.dumps(
        {"applicant_id": "bad-2", "income": 1.0, "loan_amount": 1.0,
         "credit_history": 0}).encode())
    h.close()
    assert status == 502 and b"malformed reasons: code must be" in body, body
    for e in events_for(stack, "bad-1").values():
        assert e["status"] == "CHAMPION_ERROR" and e["champion_reasons"] is None, e
        assert e["challenger_reasons"] == [], e  # the challenger answered (approve)


def test_malformed_challenger_reasons_are_a_challenger_error(stack: Stack) -> None:
    per = score_everywhere(stack, "chalbad-1")
    for t, r in per.items():
        assert r.get("decision") == "decline" and r["reasons"] == [INCOME, DEBT], (t, r)
    for e in events_for(stack, "chalbad-1").values():
        assert e["status"] == "CHALLENGER_ERROR", e
        assert e["challenger_model"] == "challenger-gbm-v2" and e["challenger_decision"] is None
        assert e["challenger_reasons"] is None, e
        assert e["champion_reasons"] == ["INCOME", "DEBT"], e


def test_fallback_carries_the_fallback_reason_everywhere() -> None:
    # No champion listening (a free port), fallback_decision: review.
    chal = TinyModel(lambda b: answer(b, "challenger"), content_length=True)
    s = cflib.start_stack(weight=1.0, model_ports=(free_port(), chal.port),
                          fallback="review", wait_ready=False)
    try:
        per = score_everywhere(s, "decline-fb")
        for t, r in per.items():
            assert r.get("decision") == "review", (t, r)
            assert r["reasons"] == [FALLBACK], (t, r)
        for e in events_for(s, "decline-fb").values():
            assert e["status"] == "CHAMPION_ERROR" and e["champion_reasons"] is None, e
            assert e["challenger_reasons"] == ["DEBT", "AGE"], e
    finally:
        cflib.stop_stack_checked(s)
        chal.stop()
