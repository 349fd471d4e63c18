"""The feature schema on every transport (DESIGN §3, §5): a gateway with the
shipped 13-characteristic schema under `unknown_fields: reject` gives the same error
(code, field and message) on HTTP, TCP and gRPC for each broken schema rule, the same
answer to a 13-feature application on all three, and the brief's 4-field application the answer it
always had (the bundled models read income, loan_amount and credit_history only).

Every row runs on the three transports: gRPC gets the same application as a
ScoreRequest whose `features` map holds every member but `applicant_id`, and answers
INVALID_ARGUMENT with the details "<field>: <the same rule>"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import cflib
import grpc
import pytest
from cflib import GrpcClient, HttpClient, Stack, TcpClient

BRIEF = {"applicant_id": "schema-case", "income": 52000.5, "loan_amount": 1234.0,
         "credit_history": 1}
FULL = {**BRIEF, "seniority_years": 7, "home": "owner", "term_months": 36, "age": 41,
        "marital": "married", "job": "fixed", "expenses": 60.0, "assets": 3000.25,
        "debt": 0.0, "purchase_price": 1500.0}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = cflib.start_stack(application=cflib.shipped_application_block("reject"))
    yield s
    cflib.stop_stack_checked(s)


def with_(**kw: Any) -> dict[str, Any]:
    return {**BRIEF, **kw}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in BRIEF.items() if k != key}


# name, the application, expected {"code", "field", "message"}.
SCHEMA_BAD: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("wrong_type_integer", with_(age="forty"),
     {"code": "invalid_field", "field": "age", "message": "age must be an integer in [18, 120]"}),
    ("wrong_type_fraction", with_(age=40.5),
     {"code": "invalid_field", "field": "age", "message": "age must be an integer in [18, 120]"}),
    ("wrong_type_category", with_(home=1),
     {"code": "invalid_field", "field": "home",
      "message": "home must be one of rent, owner, parents, priv, other, ignore"}),
    ("out_of_range_low", with_(age=17),
     {"code": "invalid_field", "field": "age", "message": "age must be an integer in [18, 120]"}),
    ("out_of_range_exclusive", with_(term_months=0),
     {"code": "invalid_field", "field": "term_months",
      "message": "term_months must be an integer > 0"}),
    ("out_of_range_number", with_(debt=-0.01),
     {"code": "invalid_field", "field": "debt", "message": "debt must be a finite number >= 0"}),
    ("unknown_category", with_(job="astronaut"),
     {"code": "invalid_field", "field": "job",
      "message": "job must be one of fixed, freelance, partime, others"}),
    ("unknown_field_rejected", with_(shoe_size=44),
     {"code": "invalid_field", "field": "shoe_size",
      "message": "unknown field \"shoe_size\" (the schema has unknown_fields: reject)"}),
    ("missing_required", without("income"),
     {"code": "invalid_field", "field": "income", "message": "income is required"}),
    ("brief_rule_unchanged", with_(loan_amount=0),
     {"code": "invalid_field", "field": "loan_amount",
      "message": "loan_amount must be a finite number > 0"}),
]


def send(stack: Stack, transport: str, app: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """One application over one transport; (raw reply object, a good reply after it:
    the connection goes on)."""
    after = {**BRIEF, "applicant_id": "after-schema-case"}
    if transport == "grpc":
        g = GrpcClient(stack.grpc)
        try:
            try:
                g.call(cflib.grpc_message(cflib.as_features(app)), timeout=10 * cflib.SLOW)
                obj: dict[str, Any] = {}
            except grpc.RpcError as e:
                obj = {"_code": e.code(), "_details": e.details()}
            return obj, g.score_many([cflib.as_features(after)], ["after"])[0]
        finally:
            g.close()
    if transport == "tcp":
        t = TcpClient(stack.tcp)
        try:
            t.send(json.dumps(app).encode() + b"\n" + json.dumps(after).encode() + b"\n")
            return t.reply(), t.reply()
        finally:
            t.close()
    h = HttpClient(stack.http)
    try:
        status, body = h.request("POST", "/v1/score", json.dumps(app).encode())
        obj = json.loads(body)
        obj["_status"] = status
        return obj, h.score(json.dumps(after).encode())
    finally:
        h.close()


@pytest.mark.parametrize("name,app,want", SCHEMA_BAD, ids=[b[0] for b in SCHEMA_BAD])
def test_schema_error_same_on_every_transport(stack: Stack, name: str, app: dict[str, Any],
                                              want: dict[str, str]) -> None:
    # The rule's message names its field once: "age must be …" → "age: must be …".
    rule = want["message"].removeprefix(want["field"] + " ")
    for transport in ("http", "tcp", "grpc"):
        got, after = send(stack, transport, app)
        if transport == "grpc":
            assert got == {"_code": grpc.StatusCode.INVALID_ARGUMENT,
                           "_details": f"{want['field']}: {rule}"}, (name, got)
        else:
            assert got.get("error") == want, (name, transport, got)
        if transport == "http":
            assert got["_status"] == 400, (name, got)
        assert after.get("applicant_id") == "after-schema-case", (name, transport, after)


def test_13_features_same_answer_on_every_transport(stack: Stack) -> None:
    apps = [{**FULL, **a} for a in cflib.applications(200)]
    brief = cflib.applications(200)
    got = {}
    for t, c in (("http", HttpClient(stack.http)), ("tcp", TcpClient(stack.tcp)),
                 ("grpc", GrpcClient(stack.grpc))):
        # gRPC: the 13 in the features map; the brief's 4 in ScoreRequest fields 1-4
        msgs = [cflib.as_features(a) for a in apps] if t == "grpc" else apps
        try:
            got[t] = c.score_many(msgs, [f"s13-{t}-{i}" for i in range(len(apps))])
            got[f"{t}-brief"] = c.score_many(brief, [f"s4-{t}-{i}" for i in range(len(brief))])
        finally:
            c.close()
    for i, a in enumerate(apps):
        per = {k: got[k][i] for k in got}
        for k, r in per.items():
            assert "error" not in r, (k, a, r)
            assert r["applicant_id"] == a["applicant_id"]
        # bit for bit across transports: the 13-feature application, and the brief's
        # 4-field one (a different application to the v2 models, which use all 13)
        for group in (("http", "tcp", "grpc"), ("http-brief", "tcp-brief", "grpc-brief")):
            assert len({per[k]["score"] for k in group}) == 1, per
            assert len({per[k]["decision"] for k in group}) == 1, per
    # Events: the validated features, canonical and identical on both transports.
    want = {f"s13-{t}-{i}" for t in ("http", "tcp", "grpc") for i in range(len(apps))}

    def events() -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in stack.read_events() if e["event_id"] in want}

    cflib.wait_until(lambda: len(events()) == len(want), 30, "the 13-feature events")
    ev = events()
    for i, a in enumerate(apps):
        h, t, g = ev[f"s13-http-{i}"], ev[f"s13-tcp-{i}"], ev[f"s13-grpc-{i}"]
        assert h["features"] == t["features"] == g["features"] == \
            {k: v for k, v in a.items() if k != "applicant_id"}, (h, t, g)
        assert list(h["features"]) == [k for k in FULL if k != "applicant_id"]  # schema order
        assert h["config_version"] == t["config_version"] == g["config_version"]
        assert (h["income"], h["loan_amount"], h["credit_history"]) == \
            (a["income"], a["loan_amount"], a["credit_history"])
