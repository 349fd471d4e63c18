"""Plugin-level tests: http.so, rest.so and challenger-scorecard.so loaded by the stub
host (tests/gateway/stub_gateway.c) in front of real csg-model services.

They pin the transport and adapter behaviour independently of csg-gateway's router and
event pipeline (test_gateway.py covers the whole gateway)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator

import checks
import pytest
from gwlib import (
    GOOD_APP,
    PLUGIN_DIR,
    STUB_BIN,
    ConnectionClosed,
    HttpConn,
    Proc,
    TinyModel,
    applications,
    http_get_ok,
    start_model,
)
from harness import SLOW, free_port, wait_until

MAX_BODY = 4096


def start_stub(url: str, *extra: str, challenger: bool = True) -> tuple[Proc, int]:
    port = free_port()
    argv = [
        str(STUB_BIN), "--http", str(PLUGIN_DIR / "http.so"), "--listen", f"127.0.0.1:{port}",
        "--champion", str(PLUGIN_DIR / "rest.so"), "--url", url, "--workers", "2",
        "--max-body", str(MAX_BODY), *extra,
    ]
    if challenger:
        argv += ["--challenger", str(PLUGIN_DIR / "challenger-scorecard.so")]
    p = Proc("stub-gateway", argv)
    if not wait_until(lambda: http_get_ok(port, "/healthz"), 15):
        p.stop()
        raise RuntimeError(f"stub gateway did not start:\n{p.log()}")
    return p, port


@contextlib.contextmanager
def stub_behind(model: TinyModel) -> Iterator[int]:
    """A stub gateway whose champion is model (no challenger); yields its HTTP port.
    Both stop at the end, and the stub must exit cleanly."""
    try:
        p, port = start_stub(f"http://127.0.0.1:{model.port}/score", challenger=False)
    except BaseException:
        model.stop()
        raise
    try:
        yield port
    finally:
        model.stop()
        assert p.stop() == 0, p.log()


@pytest.fixture(scope="module")
def stub(champion: int) -> Iterator[int]:
    p, port = start_stub(f"http://127.0.0.1:{champion}/score")
    yield port
    assert p.alive(), p.log()
    assert p.stop() == 0, p.log()


def test_replies_equal_champion(stub: int, champion: int) -> None:
    apps = applications(200)
    want = checks.direct_answers(champion, apps)
    _, got = checks.sequential_latencies(stub, "/v1/score", apps)
    for a, w, g in zip(apps, want, got):
        assert g["applicant_id"] == a["applicant_id"]
        assert g["score"] == w["score"], (a, w, g)  # full precision, unchanged
        assert g["decision"] == w["decision"]
        assert g["reasons"] == w.get("reasons", [])  # the model's, whole ([] for none)
        assert g["arm"] == "champion"  # the core's reply writer, through the test host
        assert set(g) == {"applicant_id", "score", "decision", "model", "experiment_id",
                          "request_id", "reasons", "arm"}


def test_bad_inputs(stub: int) -> None:
    checks.check_bad_inputs(stub)


def test_routes(stub: int) -> None:
    checks.check_routes(stub)


def test_oversize(stub: int) -> None:
    checks.check_oversize(stub, MAX_BODY)


def test_request_id(stub: int) -> None:
    checks.check_request_id(stub)


def test_keepalive_pipelining(stub: int, champion: int) -> None:
    checks.check_keepalive_pipelining(stub, champion)


def test_chunked(stub: int) -> None:
    checks.check_chunked(stub, MAX_BODY)


def test_connection_close(stub: int) -> None:
    checks.check_connection_close(stub)


def test_malformed(stub: int) -> None:
    checks.check_malformed(stub)


def test_expect_continue(stub: int) -> None:
    checks.check_expect_continue(stub)


def test_metrics_and_challenger(stub: int) -> None:
    text = checks.check_metrics_text(stub)
    # the in-process scorecard answered (deferred callback) for the requests so far
    assert wait_until(lambda: "csg_stub_challenger_answers_total 0\n" not in
                      checks.check_metrics_text(stub), 5), text


def test_many_concurrent_clients(stub: int, champion: int) -> None:
    """16 clients, 40 requests each, through 2 workers and 4-connection pools."""
    apps = applications(640, seed=3)
    want = {a["applicant_id"]: w for a, w in zip(apps, checks.direct_answers(champion, apps))}
    errors: list[str] = []

    def client(part: list[dict]) -> None:
        try:
            c = HttpConn(stub)
            for a in part:
                g = c.score(a).json()
                if g.get("score") != want[a["applicant_id"]]["score"]:
                    errors.append(f"{a} -> {g}")
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(apps[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * SLOW)
    assert not errors, errors[:5]


def test_max_connections_refused_politely(champion: int) -> None:
    p, port = start_stub(f"http://127.0.0.1:{champion}/score", "--max-conns", "2", "--workers",
                         "1")
    try:
        a, b = HttpConn(port), HttpConn(port)
        assert a.score(GOOD_APP).status == 200 and b.score(GOOD_APP).status == 200
        c = HttpConn(port)
        r = c.read_response()  # sent unprompted, then closed
        assert r.status == 503 and r.json()["error"]["code"] == "overloaded"
        assert c.is_closed_by_peer(5)
        a.close()
        # a slot frees up once a connection goes
        assert wait_until(lambda: HttpConn(port).score(GOOD_APP).status == 200, 5)
        b.close()
    finally:
        assert p.stop() == 0, p.log()


def test_idle_timeout(champion: int) -> None:
    p, port = start_stub(f"http://127.0.0.1:{champion}/score", "--idle-ms", "300")
    try:
        c = HttpConn(port)
        assert c.score(GOOD_APP).status == 200
        t0 = time.monotonic()
        assert c.is_closed_by_peer(10)
        assert time.monotonic() - t0 >= 0.25  # not before the idle timeout
    finally:
        assert p.stop() == 0, p.log()


def test_champion_down_502() -> None:
    dead = free_port()  # nothing listens there
    p, port = start_stub(f"http://127.0.0.1:{dead}/score", "--timeout-ms", "2000")
    try:
        c = HttpConn(port)
        for _ in range(20):  # connect failures, then fast failures while backing off
            r = c.score(GOOD_APP)
            # champion_error, not champion_timeout: it never waited for the 2 s timeout
            assert r.status == 502, r.body
            assert r.json()["error"]["code"] == "champion_error"
    finally:
        assert p.stop() == 0, p.log()


def test_champion_recovers_after_restart() -> None:
    mport = free_port()
    p, port = start_stub(f"http://127.0.0.1:{mport}/score")
    m = None
    try:
        c = HttpConn(port)
        assert c.score(GOOD_APP).status == 502
        m = start_model("champion", mport)
        # reconnect with back-off (<= 2 s) picks the model up
        assert wait_until(lambda: c.score(GOOD_APP).status == 200, 10)
        m.stop()
        m = None
        assert wait_until(lambda: c.score(GOOD_APP).status == 502, 10)
    finally:
        if m:
            m.stop()
        assert p.stop() == 0, p.log()


def test_champion_slow_504() -> None:
    mport = free_port()
    m = start_model("champion", mport, "--latency-ms", "600")
    try:
        p, port = start_stub(f"http://127.0.0.1:{mport}/score", "--timeout-ms", "150")
    except BaseException:
        m.stop()
        raise
    try:
        c = HttpConn(port)
        t0 = time.monotonic()
        r = c.score(GOOD_APP)
        dt = time.monotonic() - t0
        # champion_timeout: cut at the timeout, not answered when the model was done
        assert r.status == 504 and r.json()["error"]["code"] == "champion_timeout", r.body
        assert dt >= 0.14, dt  # not before the timeout
        # the connection and the gateway stay usable
        assert c.request("GET", "/healthz").status == 200
    finally:
        p.stop()
        m.stop()


def test_model_errors_are_502() -> None:
    mport = free_port()
    m = start_model("champion", mport, "--error-rate", "1")
    try:
        p, port = start_stub(f"http://127.0.0.1:{mport}/score")
    except BaseException:
        m.stop()
        raise
    try:
        c = HttpConn(port)
        for _ in range(5):
            r = c.score(GOOD_APP)
            assert r.status == 502 and r.json()["error"]["code"] == "champion_error"
    finally:
        p.stop()
        m.stop()


GOOD_REPLY = b'{"score": 0.25, "decision": "decline"}'


@pytest.mark.parametrize("stream,status,message", [
    (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + GOOD_REPLY, 200, None),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + GOOD_REPLY, 200, None),
    (b"HTTP/1.0 200 OK\r\n\r\n" + GOOD_REPLY[:-4], 502, "not a JSON object"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + GOOD_REPLY, 502, "mid-reply"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + GOOD_REPLY, 502,
     "mid-reply"),
    (b"HTTP/1.1 200 OK\r\nContent-Ty", 502, "mid-reply"),
    (b"", 502, "model closed the connection"),
], ids=["http10-eof", "http11-eof", "eof-ends-bad-json", "short-content-length",
        "short-chunked", "eof-in-headers", "eof-before-any-byte"])
def test_rest_reply_ended_by_close(stream: bytes, status: int, message: str | None) -> None:
    """rest.so at the model's EOF: a body that runs to the close is a complete reply; a
    reply cut short (or none at all) is a model error."""
    with stub_behind(TinyModel(stream, raw=True)) as port:
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == status, r.body
        if status == 200:
            assert r.json()["score"] == 0.25 and r.json()["decision"] == "decline", r.body
        else:
            assert r.json()["error"]["code"] == "champion_error", r.body
            assert message in r.json()["error"]["message"], r.body


@pytest.mark.parametrize("body", [
    b'{"score":0.9,"score":0.1,"decision":"approve"}',
    b'{"score":0.9,"decision":"approve","decision":"decline"}',
    b'{"score":0.9,"decision":"approve","x":1,"x":2}',
    b'{"score":0.9,"sc\\u006fre":0.1,"decision":"approve"}',
    b'{"score":0.9,"decision":"approve","points":{"a":1,"a":2}}',
], ids=["score", "decision", "other-key", "escaped-score", "nested"])
def test_rest_reply_with_duplicate_key_is_an_error(body: bytes) -> None:
    """A model reply object with a key twice is malformed (no "last one wins")."""
    with stub_behind(TinyModel(body, content_length=True)) as port:
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == 502 and r.json()["error"]["code"] == "champion_error", r.body
        assert "duplicate key" in r.json()["error"]["message"], r.body


REASON = {"code": "INCOME", "feature": "income", "text": "Income insufficient"}


def decline_with(reasons: object, **extra: object) -> bytes:
    return json.dumps({"score": 0.2, "decision": "decline", "reasons": reasons,
                       **extra}).encode()


def test_rest_passes_reasons_and_points_on() -> None:
    """rest.so hands the model's reasons to the core in order, whole (escapes decoded);
    points and an approve's [] are fine."""
    debt = {"code": "DEBT", "feature": "debt", "text": 'Debt "high" \u00e9'}
    with stub_behind(TinyModel(decline_with([REASON, debt], points=571.3),
                               content_length=True)) as port:
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == 200 and r.json()["reasons"] == [REASON, debt], r.body
    with stub_behind(TinyModel(b'{"score":0.9,"decision":"approve","points":640,"reasons":[]}',
                               content_length=True)) as port:
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == 200 and r.json()["reasons"] == [], r.body


@pytest.mark.parametrize("body,message", [
    (decline_with([REASON] * 2), "a code appears twice"),
    (decline_with([{**REASON, "code": c} for c in "ABCDE"]), "more than 4"),
    (decline_with("INCOME"), "not an array"),
    (decline_with(["INCOME"]), "an entry is not an object"),
    (decline_with([{**REASON, "code": "Income"}]), "code must be"),
    (decline_with([{**REASON, "feature": "Income"}]), "feature must be"),
    (decline_with([{"code": "INCOME", "text": "x"}]), "feature must be"),
    (decline_with([{**REASON, "text": "a\tb"}]), "text must be"),
    (decline_with([{**REASON, "text": "x" * 201}]), "text must be"),
    (json.dumps({"score": 0.9, "decision": "approve", "reasons": [REASON]}).encode(),
     "an approve carries none"),
    (decline_with([], points="571"), "malformed points"),
], ids=["code-twice", "five", "not-array", "entry-string", "bad-code", "bad-feature",
        "no-feature", "control-char", "text-201", "approve-with-reasons", "points-string"])
def test_rest_malformed_reasons_are_a_model_error(body: bytes, message: str) -> None:
    """A model reply with malformed reasons or points is a champion error that says
    what is wrong: never passed on in part."""
    with stub_behind(TinyModel(body, content_length=True)) as port:
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == 502 and r.json()["error"]["code"] == "champion_error", r.body
        assert message in r.json()["error"]["message"], r.body
        assert "reasons" not in r.json(), r.body


def test_rest_queue_full_is_overloaded_and_queue_expiry_a_timeout() -> None:
    """rest.so: a full queue answers CSG_SCORE_OVERLOADED (503 overloaded); a call
    expiring while still queued behind a slow call is a timeout (504 champion_timeout);
    an expired call stays in the list until a
    connection frees up but no longer counts toward max_queue, so the next call waits
    its turn instead of being refused at once. (The stub has no health probe.)"""
    mport = free_port()
    m = start_model("champion", mport, "--latency-ms", "3000")
    try:
        p, port = start_stub(f"http://127.0.0.1:{mport}/score", "--timeout-ms", "500",
                             "--workers", "1", "--pool", "1", "--max-queue", "1",
                             challenger=False)
    except BaseException:
        m.stop()
        raise
    try:
        results: list[tuple[int, dict]] = []

        def one(i: int) -> None:
            r = HttpConn(port).score({**GOOD_APP, "applicant_id": f"q{i}"})
            results.append((r.status, r.json()))

        first = threading.Thread(target=one, args=(0,))
        first.start()  # takes the one connection
        assert wait_until(lambda: "csg_stub_inflight 1\n" in checks.check_metrics_text(port), 10)
        t0 = time.monotonic()
        r = HttpConn(port).score(GOOD_APP)  # queued, expires at 500 ms
        assert r.status == 504 and r.json()["error"]["code"] == "champion_timeout", r.body
        assert "waiting for a free connection" in r.json()["error"]["message"], r.body
        assert time.monotonic() - t0 >= 0.4
        first.join(10 * SLOW)
        assert results and results[0][0] == 504, results  # timed out in flight
        t0 = time.monotonic()
        r = HttpConn(port).score(GOOD_APP)  # the expired call no longer fills the queue
        dt = time.monotonic() - t0
        assert r.status in (503, 504) and dt >= 0.3, (r.status, r.body, dt)
        # queue full: the connection is still held by the abandoned first call (until it
        # is closed as stalled), one call queued, the next refused at once
        queued = threading.Thread(target=one, args=(1,))
        queued.start()
        assert wait_until(lambda: "csg_stub_inflight 1\n" in checks.check_metrics_text(port), 10)
        r = HttpConn(port).score(GOOD_APP)
        assert r.status == 503 and "model queue full" in r.json()["error"]["message"], r.body
        # refused at once: answered before the queued call's own answer (its 500 ms timeout)
        assert len(results) == 1, results
        queued.join(10 * SLOW)
    finally:
        p.stop()
        m.stop()


def test_rest_pipeline_mode(champion: int) -> None:
    """pipeline: true with one connection per worker: concurrent calls share it."""
    p, port = start_stub(f"http://127.0.0.1:{champion}/score", "--pipeline", "--pool", "1",
                         "--workers", "1")
    try:
        apps = applications(200, seed=5)
        want = {a["applicant_id"]: w for a, w in zip(apps, checks.direct_answers(champion, apps))}
        c = HttpConn(port)
        blob = b"".join(HttpConn.build("POST", "/v1/score", json.dumps(a).encode()) for a in apps)
        c.send(blob)
        for a in apps:
            r = c.read_response()
            assert r.status == 200, r.body
            assert r.json()["score"] == want[a["applicant_id"]]["score"]
    finally:
        assert p.stop() == 0, p.log()


def test_drain_on_sigterm() -> None:
    """SIGTERM: the listener closes, the request in flight still gets its reply."""
    mport = free_port()
    m = start_model("champion", mport, "--latency-ms", "400")
    try:
        p, port = start_stub(f"http://127.0.0.1:{mport}/score", "--timeout-ms", "3000")
    except BaseException:
        m.stop()
        raise
    try:
        c = HttpConn(port)
        c.send(HttpConn.build("POST", "/v1/score", json.dumps(GOOD_APP).encode()))
        # SIGTERM only once the request is in flight (an idle connection would be closed)
        assert wait_until(lambda: "csg_stub_inflight 1\n" in checks.check_metrics_text(port), 10)
        p.signal(signal.SIGTERM)
        r = c.read_response()
        assert r.status == 200, r.body
        assert r.headers.get("connection") == "close"
        with pytest.raises((ConnectionClosed, ConnectionResetError)):
            c.read_response()
        assert p.p.wait(10 * SLOW) == 0, p.log()
    finally:
        p.stop()
        m.stop()


def test_bad_listen_address(champion: int) -> None:
    for addr, why in (("127.0.0.1:99999", "port"), ("no-such-host.invalid:80", "resolve"),
                      ("127.0.0.1", "port")):
        p = Proc("stub-bad", [str(STUB_BIN), "--http", str(PLUGIN_DIR / "http.so"), "--listen",
                              addr, "--champion", str(PLUGIN_DIR / "rest.so"), "--url",
                              f"http://127.0.0.1:{champion}/score"])
        assert p.p.wait(10 * SLOW) == 1
        assert "bad listen address" in p.log() and why in p.log(), p.log()
        p.stop()


def test_mutated_requests_do_not_break_the_server(stub: int) -> None:
    """400 seeded mutations of valid requests (byte flips, cuts, duplicated and
    oversized headers, odd framing): every connection ends (reply or close), and the
    server keeps answering. Under ASan+UBSan this is a small fuzz run of the parser path."""
    import random
    import socket

    rng = random.Random(1234)
    seeds = [
        HttpConn.build("POST", "/v1/score", json.dumps(GOOD_APP).encode()),
        HttpConn.build("POST", "/score", json.dumps(GOOD_APP).encode(),
                       {"X-Request-Id": "fuzz-1", "Connection": "keep-alive"}),
        (b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n1}\n\r\n0\r\n\r\n"),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.0\r\n\r\n",
    ]
    for i in range(400):
        data = bytearray(rng.choice(seeds) * rng.randint(1, 3))
        for _ in range(rng.randint(1, 6)):
            op = rng.randrange(6)
            pos = rng.randrange(len(data))
            if op == 0:
                data[pos] = rng.randrange(256)
            elif op == 1:
                del data[pos:]
                if not data:
                    data = bytearray(b"G")
            elif op == 2:
                data[pos:pos] = rng.choice([b"\r\n", b"\n", b":", b" ", b"\x00", b"0" * 40])
            elif op == 3:
                data[pos:pos] = b"X-Big: " + b"a" * rng.randint(100, 100_000) + b"\r\n"
            elif op == 4:
                data[pos:pos] = b"Content-Length: " + str(rng.randint(0, 10**12)).encode() + b"\r\n"
            else:
                data[pos:pos] = b"Transfer-Encoding: chunked\r\n"
        s = socket.create_connection(("127.0.0.1", stub), timeout=5 * SLOW)
        try:
            try:
                s.sendall(bytes(data))
                s.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
            except TimeoutError:
                raise AssertionError(f"case {i}: connection neither answered nor closed") from None
        finally:
            s.close()
    c = HttpConn(stub)
    assert c.score(GOOD_APP).status == 200
    c.close()
