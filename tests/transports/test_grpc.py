"""grpc.so against csg-stub-gateway: statuses, validation, deadlines, health, drain."""

from __future__ import annotations

import math
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import protogen
import pytest
from conftest import Stub

pb, health_pb = protogen.load()
# One connection per channel, never shared between channels in this process.
CHANNEL_OPTS = [("grpc.use_local_subchannel_pool", 1)]


def req(aid: str = "g1", **kw: Any) -> Any:
    fields: dict[str, Any] = {"applicant_id": aid, "income": 50000.0, "loan_amount": 1000.0,
                              "credit_history": 2}
    fields.update(kw)
    return pb.ScoreRequest(**fields)


def fv(v: Any) -> Any:
    """bool → flag, number → number, str → category, None → no oneof member set."""
    if v is None:
        return pb.FeatureValue()
    if isinstance(v, bool):
        return pb.FeatureValue(flag=v)
    if isinstance(v, int | float):
        return pb.FeatureValue(number=float(v))
    return pb.FeatureValue(category=v)


# The shipped 13-feature application (DESIGN §9), every feature present.
FEATURES13: dict[str, Any] = {
    "income": 131, "loan_amount": 1000, "credit_history": 1, "seniority_years": 9,
    "home": "rent", "term_months": 60, "age": 30, "marital": "married", "job": "freelance",
    "expenses": 73, "assets": 0, "debt": 0, "purchase_price": 1200.5}


def freq(aid: str = "f1", fields: dict[str, Any] | None = None, **features: Any) -> Any:
    """A ScoreRequest with the application in the features map (FEATURES13 + features)."""
    m = pb.ScoreRequest(applicant_id=aid, **(fields or {}))
    for k, v in {**FEATURES13, **features}.items():
        m.features[k].CopyFrom(fv(v))
    return m


def pb_len(field: int, data: bytes) -> bytes:
    assert len(data) < 128
    return bytes([field << 3 | 2, len(data)]) + data


def pb_entry(key: bytes, value: bytes) -> bytes:
    """A features-map entry (field 5) with a FeatureValue's bytes."""
    return pb_len(5, pb_len(1, key) + pb_len(2, value))


@pytest.fixture
def grpc_stub(stub_factory: Any) -> Stub:
    return stub_factory(["grpc"])


def channel(s: Stub) -> grpc.Channel:
    return grpc.insecure_channel(f"127.0.0.1:{s.ports['grpc']}", options=CHANNEL_OPTS)


def test_score_ok_and_request_id(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        r = score(req("g1"), timeout=10, metadata=[("x-request-id", "rid-g1")])
        assert r.applicant_id == "g1" and r.request_id == "rid-g1"
        assert r.decision in ("approve", "decline") and 0 <= r.score <= 1
        assert r.model == "stub-champion" and r.experiment_id == "exp-stub"
        r2 = score(req("g2", income=0.0, credit_history=0), timeout=10)  # zeros are valid
        assert r2.applicant_id == "g2" and r2.request_id


BAD = [
    (req(""), "applicant_id"),
    (req("x" * 65), "applicant_id"),
    (req("a\x01b"), "applicant_id"),
    (req(loan_amount=0.0), "loan_amount"),
    (req(loan_amount=-5.0), "loan_amount"),
    (req(loan_amount=math.inf), "loan_amount"),
    (req(loan_amount=math.nan), "loan_amount"),
    (req(income=-1.0), "income"),
    (req(income=math.nan), "income"),
    (req(income=math.inf), "income"),
    (req(credit_history=-1), "credit_history"),
]


@pytest.mark.parametrize("bad,field", BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_invalid_argument_names_the_field(grpc_stub: Stub, bad: Any, field: str) -> None:
    with channel(grpc_stub) as ch:
        with pytest.raises(grpc.RpcError) as e:
            protogen.score_callable(ch, pb)(bad, timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details().startswith(field + ":"), e.value.details()


def test_features_map_scores(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        r = score(freq("f1"), timeout=10, metadata=[("x-request-id", "rid-f1")])
        assert r.applicant_id == "f1" and r.request_id == "rid-f1"
        # the same applicant by the legacy fields: the same answer (the stub scores the id)
        r2 = score(req("f1"), timeout=10)
        assert (r.score, r.decision) == (r2.score, r2.decision)
        # flags, extra features, zeros: what the core accepts from JSON
        assert score(freq("f2", owner=True, income=0, credit_history=0), timeout=10).applicant_id
        # a key sent twice: the last entry wins (a NaN first, then a number)
        nan, five = struct.pack("<d", math.nan), struct.pack("<d", 5.0)
        body = (pb_len(1, b"f3") + pb_entry(b"income", b"\x09" + nan)
                + pb_entry(b"income", b"\x09" + five) + pb_entry(b"loan_amount", b"\x09" + five)
                + pb_entry(b"credit_history", b"\x09" + struct.pack("<d", 1.0)))
        r3 = pb.ScoreResponse.FromString(ch.unary_unary(protogen.SCORE_METHOD)(body, timeout=10))
        assert r3.applicant_id == "f3"


FEATURE_BAD = [
    (freq(fields={"income": 5.0}), "income: set either the field or features, not both"),
    (freq(fields={"loan_amount": 1.0}), "loan_amount: set either the field or features"),
    (freq(fields={"credit_history": 2}), "credit_history: set either the field or features"),
    (freq(age=None), "age: FeatureValue has no value (set number, category or flag)"),
    (freq(**{"Bad Key": 1}),
     'features: key "Bad Key" is not a feature name ([a-z][a-z0-9_]{0,31})'),
    (freq(**{"a" * 33: 1}), "features: key"),
    (freq(debt=math.nan), "debt: must be a finite number (JSON has no NaN or Infinity)"),
    (freq(income=-math.inf), "income: must be a finite number"),
    (freq(home="re\x00nt"), "home: category must not contain a NUL character"),
    (freq(applicant_id="x"), "applicant_id: is field 1 of ScoreRequest, not a feature"),
    # the core's rules, by feature name, as for a JSON body
    (freq(income="lots"), "income: must be a finite number >= 0"),
    (freq(loan_amount=0), "loan_amount: must be a finite number > 0"),
    (freq(credit_history=1.5), "credit_history: must be an integer in [0, 2147483647]"),
    (freq(credit_history=True), "credit_history: must be an integer"),
    (freq(request_id="a b"), "request_id: must be 1-64 printable ASCII characters"),
    (pb.ScoreRequest(applicant_id="f", features={"age": fv(40)}), "income: is required"),
]


@pytest.mark.parametrize("bad,details", FEATURE_BAD,
                         ids=[d.split(":")[0] + f"-{i}" for i, (_, d) in enumerate(FEATURE_BAD)])
def test_features_invalid_argument_names_the_feature(grpc_stub: Stub, bad: Any,
                                                     details: str) -> None:
    with channel(grpc_stub) as ch:
        with pytest.raises(grpc.RpcError) as e:
            protogen.score_callable(ch, pb)(bad, timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details().startswith(details), e.value.details()
    assert grpc_stub.terminate() == 0
    assert grpc_stub.counts()[("grpc", "invalid_field")] == 1


def test_feature_category_must_be_utf8(grpc_stub: Stub) -> None:
    five = b"\x09" + struct.pack("<d", 5.0)
    base = (pb_len(1, b"u") + pb_entry(b"income", five) + pb_entry(b"loan_amount", five)
            + pb_entry(b"credit_history", b"\x09" + struct.pack("<d", 0.0)))
    with channel(grpc_stub) as ch:
        raw = ch.unary_unary(protogen.SCORE_METHOD)
        for bad in (b"\xff", b"a\xc0\xaf", b"\xed\xa0\x80"):
            with pytest.raises(grpc.RpcError) as e:
                raw(base + pb_entry(b"home", pb_len(2, bad)), timeout=10)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert e.value.details() == "home: category must be valid UTF-8", e.value.details()
        ok = "\u00e9t\u00e9".encode()
        assert raw(base + pb_entry(b"home", pb_len(2, ok)), timeout=10)


def test_application_json_over_max_body_bytes(grpc_stub: Stub) -> None:
    """The message fits the 64 KiB receive limit, its JSON (each control byte is 6
    bytes as JSON) does not fit max_body_bytes: RESOURCE_EXHAUSTED, as an HTTP body
    that size gets 413."""
    with channel(grpc_stub) as ch:
        with pytest.raises(grpc.RpcError) as e:
            protogen.score_callable(ch, pb)(freq(note="\x01" * 20000), timeout=10)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_body_bytes" in e.value.details()
    assert grpc_stub.terminate() == 0
    assert grpc_stub.counts()[("grpc", "payload_too_large")] == 1


def test_bad_request_id_and_malformed_message(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        with pytest.raises(grpc.RpcError) as e:
            protogen.score_callable(ch, pb)(req(), timeout=10, metadata=[("x-request-id", "a b")])
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "x-request-id" in e.value.details()
        raw = ch.unary_unary(protogen.SCORE_METHOD)  # bytes in, bytes out
        with pytest.raises(grpc.RpcError) as e:
            raw(b"\xff\xff\xff", timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("aid", [b"\xff\xfeZ", b"a\xc0\xaf", b"\xed\xa0\x80", b"ab\xe2\x82"],
                         ids=["invalid-byte", "overlong", "surrogate", "truncated"])
def test_applicant_id_must_be_utf8(grpc_stub: Stub, aid: bytes) -> None:
    # proto3 strings must be UTF-8 but protobuf-c does not check; hand-encode the
    # message: field 1 (applicant_id), 2 income, 3 loan_amount, 4 credit_history.
    msg = (b"\x0a" + bytes([len(aid)]) + aid + b"\x11" + struct.pack("<d", 100.0)
           + b"\x19" + struct.pack("<d", 1000.0) + b"\x20\x01")
    with channel(grpc_stub) as ch:
        with pytest.raises(grpc.RpcError) as e:
            ch.unary_unary(protogen.SCORE_METHOD)(msg, timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details().startswith("applicant_id:"), e.value.details()
        ok = "\u00e9t\u00e9-\U0001f600".encode()  # valid multi-byte UTF-8 is accepted
        good = (b"\x0a" + bytes([len(ok)]) + ok + b"\x11" + struct.pack("<d", 100.0)
                + b"\x19" + struct.pack("<d", 1000.0) + b"\x20\x01")
        assert ch.unary_unary(protogen.SCORE_METHOD)(good, timeout=10)


def test_champion_failures_map_to_statuses(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        for aid, code in (("fail-error-1", grpc.StatusCode.UNAVAILABLE),
                          ("fail-timeout-1", grpc.StatusCode.DEADLINE_EXCEEDED)):
            with pytest.raises(grpc.RpcError) as e:
                score(req(aid), timeout=10)
            assert e.value.code() == code
        with pytest.raises(grpc.RpcError) as e:
            score(req("overloaded-1"), timeout=10)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert grpc_stub.terminate() == 0
    counts = grpc_stub.counts()
    assert counts[("grpc", "champion_error")] == 1 and counts[("grpc", "champion_timeout")] == 1
    assert counts[("grpc", "overloaded")] == 1


def _md(call: Any) -> dict[str, str]:
    """Initial and trailing metadata of a finished call (or RpcError), merged."""
    out: dict[str, str] = {}
    for part in (call.initial_metadata() or (), call.trailing_metadata() or ()):
        for k, v in part:
            out[k] = v
    return out


def test_fallback_sends_score_0_and_metadata(grpc_stub: Stub) -> None:
    """proto3 has no null: a fallback reply is score 0 + `x-csg-fallback: true`
    (HTTP/TCP send "score":null,"fallback":true), never NaN."""
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        r, call = score.with_call(req("fallback-1"), timeout=10)
        assert r.decision == "review" and r.score == 0.0 and not math.isnan(r.score)
        assert _md(call).get("x-csg-fallback") == "true"
        r, call = score.with_call(req("g1"), timeout=10)
        assert "x-csg-fallback" not in _md(call)


def test_reasons_in_field_7(grpc_stub: Stub) -> None:
    """The core's reasons become ScoreResponse.reasons, in order, texts unchanged (UTF-8);
    a fallback's FALLBACK reason has feature ""; an approve has none."""
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        r = score(req("reasons-1"), timeout=10)
        assert r.decision == "decline"
        assert [(x.code, x.feature, x.text) for x in r.reasons] == [
            ("INCOME", "income", "Income insufficient for amount of credit requested"),
            ("DEBT", "debt", 'Debt "too high" \u2014 r\u00e9duire')]
        r = score(req("fallback-2"), timeout=10)
        assert [(x.code, x.feature) for x in r.reasons] == [("FALLBACK", "")]
        assert r.reasons[0].text == "No model answer; the configured fallback decision was applied"
        r = score(req("g1"), timeout=10)
        assert list(r.reasons) == []


def test_old_client_without_field_7_still_decodes(grpc_stub: Stub) -> None:
    """A client generated before reasons existed reads fields 1-6 of a reply that has
    field 7 (it skips it as unknown), on the wire as the server sends it."""
    old = protogen.load_old()
    assert "reasons" not in old.ScoreResponse.DESCRIPTOR.fields_by_name
    with channel(grpc_stub) as ch:
        raw = ch.unary_unary(protogen.SCORE_METHOD)(req("reasons-2").SerializeToString(),
                                                    timeout=10)
    new = pb.ScoreResponse.FromString(raw)
    assert len(new.reasons) == 2  # field 7 is really on the wire
    o = old.ScoreResponse.FromString(raw)
    assert (o.applicant_id, o.score, o.decision, o.model, o.experiment_id, o.request_id) == (
        new.applicant_id, new.score, new.decision, new.model, new.experiment_id,
        new.request_id)
    assert o.applicant_id == "reasons-2" and o.decision == "decline" and o.request_id


def test_request_id_metadata_on_replies_and_errors(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        _r, call = score.with_call(req("g1"), timeout=10, metadata=[("x-request-id", "rid-ok")])
        assert _md(call)["x-request-id"] == "rid-ok"
        for aid, rid in (("fail-error-9", "rid-e"), ("overloaded-9", "rid-o"), ("", "rid-bad")):
            with pytest.raises(grpc.RpcError) as e:
                score(req(aid), timeout=10, metadata=[("x-request-id", rid)])
            assert _md(e.value)["x-request-id"] == rid, (aid, _md(e.value))
        # accepted without an id: the generated one
        with pytest.raises(grpc.RpcError) as e:
            score(req("fail-error-8"), timeout=10)
        assert _md(e.value)["x-request-id"]
        # an invalid client id is not echoed
        with pytest.raises(grpc.RpcError) as e:
            score(req(), timeout=10, metadata=[("x-request-id", "a b")])
        assert "x-request-id" not in _md(e.value)


def test_client_deadline_is_honoured_and_counted(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        with pytest.raises(grpc.RpcError) as e:
            score(req("slow-deadline"), timeout=0.1)  # the stub answers after 300 ms
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert score(req("after"), timeout=10).applicant_id == "after"
    # The stub core got the deadline and answers CSG_REPLY_DEADLINE at 300 ms;
    # SIGTERM drains until that reply was sent and counted.
    assert grpc_stub.terminate() == 0
    # the same status vocabulary as HTTP and TCP (DESIGN §5 codes)
    assert grpc_stub.counts()[("grpc", "deadline_exceeded")] == 1


def test_unknown_method_is_unimplemented_at_once(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            ch.unary_unary("/csg.v1.CreditScoring/Nope")(b"", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert time.monotonic() - t0 < 2
        with pytest.raises(grpc.RpcError) as e:
            ch.unary_unary("/other.Service/Method")(b"", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_check(grpc_stub: Stub) -> None:
    with channel(grpc_stub) as ch:
        check = protogen.health_callable(ch, health_pb)
        serving = health_pb.HealthCheckResponse.SERVING
        assert check(health_pb.HealthCheckRequest(service=""), timeout=10).status == serving
        r = check(health_pb.HealthCheckRequest(service="csg.v1.CreditScoring"), timeout=10)
        assert r.status == serving
        with pytest.raises(grpc.RpcError) as e:
            check(health_pb.HealthCheckRequest(service="nope"), timeout=10)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_sigterm_finishes_in_flight_calls(stub_factory: Any) -> None:
    grpc_stub = stub_factory(["grpc"], ["--trace"])
    with channel(grpc_stub) as ch:
        score = protogen.score_callable(ch, pb)
        assert score(req("warm"), timeout=10).applicant_id == "warm"
        fut = score.future(req("slow-drain"), timeout=10)
        grpc_stub.wait_submitted("slow-drain")
        grpc_stub.proc.send_signal(15)
        assert fut.result(timeout=10).applicant_id == "slow-drain"
    assert grpc_stub.proc.wait(timeout=15) == 0


def test_second_server_on_same_port_fails(grpc_stub: Stub, stub_factory: Any) -> None:
    import subprocess

    from conftest import PLUGINS, STUB

    port = grpc_stub.ports["grpc"]
    p = subprocess.run([str(STUB), "--transport", f"{PLUGINS / 'grpc.so'}=127.0.0.1:{port}"],
                       check=False, capture_output=True, timeout=20)
    assert p.returncode != 0 and b"cannot listen" in p.stderr


def test_200_concurrent_connections_no_mixups(grpc_stub: Stub) -> None:
    chans = [channel(grpc_stub) for _ in range(200)]
    try:
        calls = [protogen.score_callable(c, pb) for c in chans]

        def one(k: int) -> list[str]:
            errs = []
            futs = [(j, calls[k].future(req(f"c{k}-{j}"), timeout=30,
                                        metadata=[("x-request-id", f"rid-{k}-{j}")]))
                    for j in range(5)]
            for j, f in futs:
                r = f.result()
                if r.applicant_id != f"c{k}-{j}" or r.request_id != f"rid-{k}-{j}":
                    errs.append(f"c{k}-{j} got {r.applicant_id}/{r.request_id}")
            return errs

        with ThreadPoolExecutor(max_workers=50) as ex:
            errors = [e for errs in ex.map(one, range(200)) for e in errs]
        assert not errors, errors[:5]
    finally:
        for c in chans:
            c.close()
