"""Checks of the HTTP surface of DESIGN §5, shared by the plugin-level tests (stub
host) and the gateway tests (real csg-gateway): each takes the port to talk to."""

from __future__ import annotations

import json
import re
import socket
import time

from gwlib import BAD_INPUTS, GOOD_APP, HttpConn, applications
from harness import SLOW

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def direct_answers(model_port: int, apps: list[dict]) -> list[dict]:
    c = HttpConn(model_port)
    try:
        out = []
        for a in apps:
            r = c.score(a, path="/score")
            assert r.status == 200, r.body
            out.append(r.json())
        return out
    finally:
        c.close()


def check_bad_inputs(port: int) -> None:
    """Every bad input gets its status, code and field, and the same connection
    then serves a good request."""
    c = HttpConn(port)
    try:
        for name, body, headers, status, code, fld in BAD_INPUTS:
            r = c.score(body, headers=headers)
            assert r.status == status, (name, r.status, r.body)
            err = r.json()["error"]
            assert err["code"] == code, (name, err)
            assert err.get("field") == fld, (name, err)
            assert err["message"], name
            assert r.headers.get("content-type") == "application/json", name
            ok = c.score(GOOD_APP)
            assert ok.status == 200, (name, "connection unusable after the error", ok.body)
    finally:
        c.close()


def check_routes(port: int) -> None:
    c = HttpConn(port)
    try:
        r = c.request("GET", "/nope")
        assert r.status == 404 and r.json()["error"]["code"] == "not_found"
        r = c.request("GET", "/v1/score")
        assert r.status == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert r.headers["allow"] == "POST"
        r = c.request("PUT", "/score", b"{}")
        assert r.status == 405 and r.headers["allow"] == "POST"
        r = c.request("POST", "/healthz", b"{}")
        assert r.status == 405 and r.headers["allow"] == "GET"
        r = c.request("GET", "/healthz")
        assert r.status == 200 and r.json() == {"status": "ok"}
        r = c.request("GET", "/readyz")
        assert r.status == 200, r.body
        r = c.score(GOOD_APP, path="/score")  # the alias
        assert r.status == 200 and r.json()["applicant_id"] == GOOD_APP["applicant_id"]
        r = c.score(GOOD_APP, path="/v1/score?trace=1")  # a query string is not part of the path
        assert r.status == 200
        for ctype in ("application/json; charset=utf-8", "Application/JSON"):
            r = c.score(GOOD_APP, headers={"Content-Type": ctype})
            assert r.status == 200, (ctype, r.body)
        for ctype in ("application/jsonx", "application/json-seq", "text/json"):
            r = c.score(GOOD_APP, headers={"Content-Type": ctype})
            assert r.status == 415, (ctype, r.body)
        # absolute-form target (RFC 9112 §3.2.2) routes by its path
        r = c.score(GOOD_APP, path=f"http://127.0.0.1:{port}/v1/score")
        assert r.status == 200 and r.json()["applicant_id"] == GOOD_APP["applicant_id"], r.body
        r = c.request("GET", f"HTTP://127.0.0.1:{port}/healthz?x=1")
        assert r.status == 200, r.body
        r = c.request("GET", f"http://127.0.0.1:{port}")
        assert r.status == 404, r.body
    finally:
        c.close()
    check_head(port)


def check_head(port: int) -> None:
    """HEAD on the GET endpoints: the GET's status and headers (Content-Length of the
    GET body), no body, and the keep-alive connection goes on; HEAD elsewhere is a
    bodiless 404/405."""
    c = HttpConn(port)
    try:
        for path in ("/healthz", "/readyz"):
            g = c.request("GET", path)
            c.send(HttpConn.build("HEAD", path))
            h = c.read_response(for_head=True)
            assert h.status == g.status, (path, h)
            assert h.headers["content-length"] == str(len(g.body)), (path, h.headers)
            assert h.headers["content-type"] == g.headers["content-type"]
            assert c.buf == b"", (path, "bytes after a HEAD response", c.buf)
        c.send(HttpConn.build("HEAD", "/metrics"))
        h = c.read_response(for_head=True)
        assert h.status == 200 and int(h.headers["content-length"]) > 0
        assert h.headers["content-type"].startswith("text/plain")
        c.send(HttpConn.build("HEAD", "/v1/score"))
        h = c.read_response(for_head=True)
        assert h.status == 405 and h.headers["allow"] == "POST"
        c.send(HttpConn.build("HEAD", "/nope"))
        h = c.read_response(for_head=True)
        assert h.status == 404
        # pipelined HEAD then GET: the GET's reply is parsed right after the HEAD's headers
        c.send(HttpConn.build("HEAD", "/healthz") + HttpConn.build("GET", "/healthz"))
        assert c.read_response(for_head=True).status == 200
        r = c.read_response()
        assert r.status == 200 and r.json() == {"status": "ok"}
        assert c.score(GOOD_APP).status == 200  # keep-alive intact
        assert c.buf == b""
    finally:
        c.close()


def check_oversize(port: int, max_body: int) -> None:
    """413 from the Content-Length header alone, before any body byte is sent;
    then the server closes the connection."""
    c = HttpConn(port)
    try:
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {max_body + 1}\r\n\r\n".encode()
        )
        r = c.read_response()
        assert r.status == 413, r.body
        assert r.json()["error"]["code"] == "payload_too_large"
        assert r.headers.get("connection") == "close"
        assert "x-request-id" not in r.headers
        assert c.is_closed_by_peer(5)
    finally:
        c.close()
    # a valid X-Request-Id is echoed on the 413 too
    c = HttpConn(port)
    try:
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + b"X-Request-Id: big-1\r\n"
            + f"Content-Length: {max_body + 1}\r\n\r\n".encode()
        )
        r = c.read_response()
        assert r.status == 413 and r.headers.get("x-request-id") == "big-1", r.headers
    finally:
        c.close()
    # Exactly at the limit is accepted by the transport (it is then just bad JSON).
    c = HttpConn(port)
    try:
        r = c.score(b" " * max_body)
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_json"
    finally:
        c.close()


def check_request_id(port: int) -> None:
    c = HttpConn(port)
    try:
        r = c.score(GOOD_APP, headers={"X-Request-Id": "client-id-42"})
        assert r.status == 200
        assert r.headers["x-request-id"] == "client-id-42"
        assert r.json()["request_id"] == "client-id-42"
        r = c.score(GOOD_APP)
        rid = r.json()["request_id"]
        assert UUID_RE.match(rid), rid
        assert r.headers["x-request-id"] == rid
        r = c.score(GOOD_APP, headers={"X-Request-Id": "~" * 64})  # 64 printable: the maximum
        assert r.status == 200 and r.json()["request_id"] == "~" * 64
    finally:
        c.close()


def check_keepalive_pipelining(port: int, model_port: int) -> None:
    apps = applications(60, seed=11)[-60:]
    want = direct_answers(model_port, apps)
    c = HttpConn(port)
    try:
        # keep-alive: 30 sequential requests on one connection
        for a, w in zip(apps[:30], want[:30]):
            got = c.score(a).json()
            assert got["applicant_id"] == a["applicant_id"]
            assert got["score"] == w["score"] and got["decision"] == w["decision"]
        # pipelining: 30 requests in one write, replies in request order
        blob = b"".join(
            HttpConn.build("POST", "/v1/score", json.dumps(a).encode(),
                           {"X-Request-Id": f"pipe-{i}"})
            for i, a in enumerate(apps[30:])
        )
        c.send(blob)
        for i, (a, w) in enumerate(zip(apps[30:], want[30:])):
            r = c.read_response()
            assert r.status == 200, r.body
            got = r.json()
            assert got["request_id"] == f"pipe-{i}", (i, got)
            assert got["applicant_id"] == a["applicant_id"]
            assert got["score"] == w["score"]
        # pipelined mix of errors and good requests stays in order too
        mixed = [GOOD_APP, b"{", GOOD_APP, b"[]", GOOD_APP]
        c.send(b"".join(
            HttpConn.build("POST", "/v1/score",
                           m if isinstance(m, bytes) else json.dumps(m).encode())
            for m in mixed))
        assert [c.read_response().status for _ in mixed] == [200, 400, 200, 400, 200]
    finally:
        c.close()


def check_chunked(port: int, max_body: int) -> None:
    body = json.dumps(GOOD_APP).encode()
    half = len(body) // 2
    c = HttpConn(port)
    try:
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + f"{half:x}\r\n".encode() + body[:half] + b"\r\n"
            + f"{len(body) - half:x}\r\n".encode() + body[half:] + b"\r\n0\r\n\r\n"
        )
        r = c.read_response()
        assert r.status == 200, r.body
        assert r.json()["applicant_id"] == GOOD_APP["applicant_id"]
        # a chunked body that grows past the limit: 413, then close
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + f"{max_body + 10:x}\r\n".encode() + b"x" * (max_body + 10) + b"\r\n0\r\n\r\n"
        )
        r = c.read_response()
        assert r.status == 413, r.body
        assert c.is_closed_by_peer(5)
    finally:
        c.close()


def check_connection_close(port: int) -> None:
    # HTTP/1.0 without keep-alive, and HTTP/1.1 with Connection: close
    for req in (
        b"GET /healthz HTTP/1.0\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ):
        c = HttpConn(port)
        try:
            c.send(req)
            r = c.read_response()
            assert r.status == 200
            assert r.headers.get("connection") == "close"
            assert c.is_closed_by_peer(5)
        finally:
            c.close()


def check_malformed(port: int) -> None:
    # both Content-Length and chunked: a request-smuggling shape, refused
    c = HttpConn(port)
    try:
        c.send(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 400 and r.json()["error"]["code"] == "bad_request", r.body
        assert c.is_closed_by_peer(5)
    finally:
        c.close()
    c = HttpConn(port)
    try:
        c.send(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        r = c.read_response()
        assert r.status == 400 and r.json()["error"]["code"] == "bad_request"
        assert c.is_closed_by_peer(5)
    finally:
        c.close()
    c = HttpConn(port)  # an endless header section is cut at 32 KiB
    try:
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        r = c.read_response()
        assert r.status == 431 and r.json()["error"]["code"] == "headers_too_large"
        assert c.is_closed_by_peer(5)
    finally:
        c.close()


def check_expect_continue(port: int) -> None:
    app = {**GOOD_APP, "padding": "p" * 2000}
    body = json.dumps(app).encode()
    c = HttpConn(port)
    try:
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        c.s.settimeout(5 * SLOW)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.s.recv(1024)
            assert chunk, "closed before 100 Continue"
            head += chunk
        assert head.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), head
        c.buf = head[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        c.send(body)
        r = c.read_response()
        assert r.status == 200, r.body
    finally:
        c.close()
    # an error known from the headers is answered at once, not after a 100 Continue
    c = HttpConn(port)
    try:
        c.send(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        r = c.read_response()
        assert r.status == 415, r.body
        assert c.is_closed_by_peer(5)
    finally:
        c.close()


def check_metrics_text(port: int) -> str:
    c = HttpConn(port)
    try:
        r = c.request("GET", "/metrics")
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/plain")
        text = r.body.decode()
        # one status vocabulary for every transport: the DESIGN §5 codes
        assert re.search(r'^csg_requests_total\{transport="http",status="ok"\} \d+$', text,
                         re.MULTILINE), text
        assert not re.search(r'^csg_requests_total\{[^}]*status="\d+"', text, re.MULTILINE), text
        return text
    finally:
        c.close()


def sequential_latencies(port: int, path: str, apps: list[dict]) -> tuple[list[float], list[dict]]:
    """Per-request wall time (s) of sequential requests on one keep-alive connection."""
    c = HttpConn(port)
    lat: list[float] = []
    out: list[dict] = []
    try:
        for a in apps:
            body = json.dumps(a).encode()
            req = HttpConn.build("POST", path, body)
            t0 = time.perf_counter()
            c.send(req)
            r = c.read_response()
            lat.append(time.perf_counter() - t0)
            assert r.status == 200, r.body
            out.append(r.json())
        return lat, out
    finally:
        c.close()


def raw_connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
    return s
