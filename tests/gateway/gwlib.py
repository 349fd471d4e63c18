"""Helpers for the gateway integration tests: csg-model and the gateway's binaries, a fake
model server, a raw HTTP/1.1 client (ports, waits and processes: the harness package).

The client is deliberately raw (one socket, explicit writes and reads) so tests can
pipeline, send malformed or partial requests and see exactly when the server closes.
"""

from __future__ import annotations

import csv
import json
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import harness
from harness import BUILD, ROOT, SLOW, TEST_VAR, UNDER_SANITIZER

MODEL_BIN = Path(os.environ.get("CSG_MODEL_BIN", BUILD / "bin" / "csg-model"))
GATEWAY_BIN = Path(os.environ.get("CSG_GATEWAY_BIN", BUILD / "bin" / "csg-gateway"))
STUB_BIN = BUILD / "tests" / "csg-stub-gateway"
PLUGIN_DIR = BUILD / "lib" / "csg"
# The ASan pass (90-sanitizers) runs beside the other suites in make test (a side lane of
# tests/run), so it gets a directory of its own: the conftests empty this one.
VAR = TEST_VAR / ("gateway-asan" if UNDER_SANITIZER else "gateway")

def applications(n: int, seed: int = 7) -> list[dict]:
    """n distinct applications: the hold-out rows first, then seeded synthetic ones."""
    rows: list[dict] = []
    with open(ROOT / "models" / "holdout.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.append(
                {
                    "applicant_id": r["applicant_id"],
                    "income": float(r["income"]),
                    "loan_amount": float(r["loan_amount"]),
                    "credit_history": int(r["credit_history"]),
                }
            )
    rng = random.Random(seed)
    i = 0
    while len(rows) < n:
        rows.append(
            {
                "applicant_id": f"syn-{seed}-{i}",
                "income": round(rng.uniform(0, 400), 2),
                "loan_amount": round(rng.uniform(100, 5000), 2),
                "credit_history": rng.randint(0, 1),
            }
        )
        i += 1
    return rows[:n]


class Proc(harness.Proc):
    """harness.Proc with its log in this suite's VAR (read at start: tests/hostile sets its
    own)."""

    def __init__(self, name: str, argv: list[str], cwd: Path = ROOT) -> None:
        super().__init__(name, argv, log_dir=VAR, cwd=cwd)


def http_get_ok(port: int, path: str) -> bool:
    try:
        c = HttpConn(port, timeout=1)
        try:
            return c.request("GET", path).status == 200
        finally:
            c.close()
    except (OSError, ConnectionClosed):
        return False


def start_model(kind: str, port: int, *extra: str) -> Proc:
    """csg-model serving models/<kind>.json on port, ready when it returns."""
    p = Proc(
        f"model-{kind}",
        [str(MODEL_BIN), "--model", str(ROOT / "models" / f"{kind}.json"), "--port", str(port),
         *extra],
    )
    return p.ready(lambda: http_get_ok(port, "/healthz"), 15, f"csg-model {kind} on {port}")


class TinyModel:
    """A model API written with Python's http.server, in a thread of the test process:
    every POST gets `reply` with status 200 (or reply(request body) when reply is a
    function, to answer per application; it may return (status, body)). With content_length=False it answers the
    way http.server does by default (HTTP/1.0, no Content-Length, the body ends when it
    closes the connection), which is legal HTTP and what many small model servers do.
    With raw=True, `reply` is the whole byte stream sent back before the close."""

    def __init__(self, reply: bytes | Callable[[bytes], bytes | tuple[int, bytes]],
                 content_length: bool = False,
                 raw: bool = False) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                out = reply(body) if callable(reply) else reply
                code = 200
                if isinstance(out, tuple):  # (status, body) from a reply function
                    code, out = out
                if raw:
                    self.wfile.write(out)
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                if content_length:
                    self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ConnectionClosed(Exception):
    """The server closed the connection."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> dict:
        return json.loads(self.body)


class HttpConn:
    """One client connection: explicit writes, responses read one at a time."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.port = port
        self.s = socket.create_connection((host, port), timeout=timeout * SLOW)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.s.close()

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    @staticmethod
    def build(method: str, path: str, body: bytes | None = None,
              headers: dict[str, str | None] | None = None) -> bytes:
        h: dict[str, str | None] = {"Host": "127.0.0.1"}
        if body is not None:
            h["Content-Type"] = "application/json"
            h["Content-Length"] = str(len(body))
        h.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in h.items() if v is not None
        )
        return head.encode() + b"\r\n" + (body or b"")

    def _fill(self) -> None:
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionClosed()
        self.buf += chunk

    def read_response(self, for_head: bool = False) -> Response:
        """for_head: the answer to a HEAD request (Content-Length given, no body follows)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if for_head else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        if status == 100:
            return self.read_response()
        return Response(status, headers, body)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str | None] | None = None) -> Response:
        self.send(self.build(method, path, body, headers))
        return self.read_response()

    def score(self, app: dict | bytes, path: str = "/v1/score",
              headers: dict[str, str | None] | None = None) -> Response:
        body = app if isinstance(app, bytes) else json.dumps(app).encode()
        return self.request("POST", path, body, headers)

    def is_closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True when the server closes (EOF or reset) within timeout seconds."""
        self.s.settimeout(timeout * SLOW)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


def percentile(xs: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (like numpy's default)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# Every bad input of DESIGN §5: (name, body bytes, headers, status, code, field).
BAD_INPUTS: list[tuple[str, bytes, dict[str, str | None] | None, int, str, str | None]] = []


def _bad(name: str, body: bytes | dict, status: int, code: str, fld: str | None,
         headers: dict[str, str | None] | None = None) -> None:
    b = body if isinstance(body, bytes) else json.dumps(body).encode()
    BAD_INPUTS.append((name, b, headers, status, code, fld))


_GOOD = {"applicant_id": "bad-1", "income": 100.0, "loan_amount": 1000.0, "credit_history": 1}
_bad("invalid json", b'{"applicant_id": "x",', 400, "invalid_json", None)
_bad("empty body", b"", 400, "invalid_json", None)
_bad("not an object", b"[1,2]", 400, "invalid_json", None)
_bad("number too large", b'{"applicant_id":"x","income":1e999,"loan_amount":1,"credit_history":1}',
     400, "invalid_json", None)
for _f in ("applicant_id", "income", "loan_amount", "credit_history"):
    _bad(f"{_f} missing", {k: v for k, v in _GOOD.items() if k != _f}, 400, "invalid_field", _f)
    _bad(f"{_f} wrong type", {**_GOOD, _f: [1]}, 400, "invalid_field", _f)
_bad("applicant_id empty", {**_GOOD, "applicant_id": ""}, 400, "invalid_field", "applicant_id")
_bad("applicant_id too long", {**_GOOD, "applicant_id": "x" * 65}, 400, "invalid_field",
     "applicant_id")
_bad("income negative", {**_GOOD, "income": -1}, 400, "invalid_field", "income")
_bad("income string", {**_GOOD, "income": "100"}, 400, "invalid_field", "income")
_bad("loan_amount zero", {**_GOOD, "loan_amount": 0}, 400, "invalid_field", "loan_amount")
_bad("loan_amount negative", {**_GOOD, "loan_amount": -5}, 400, "invalid_field", "loan_amount")
_bad("credit_history negative", {**_GOOD, "credit_history": -1}, 400, "invalid_field",
     "credit_history")
_bad("credit_history fractional", {**_GOOD, "credit_history": 1.5}, 400, "invalid_field",
     "credit_history")
_bad("credit_history above int32 (gRPC's type)", {**_GOOD, "credit_history": 2**31}, 400,
     "invalid_field", "credit_history")
_bad("credit_history bool", {**_GOOD, "credit_history": True}, 400, "invalid_field",
     "credit_history")
_bad("request id too long", _GOOD, 400, "invalid_field", "request_id",
     {"X-Request-Id": "r" * 65})
_bad("request id with a space", _GOOD, 400, "invalid_field", "request_id",
     {"X-Request-Id": "a b"})
_bad("form post", b"applicant_id=x", 415, "unsupported_media_type", None,
     {"Content-Type": "application/x-www-form-urlencoded"})
_bad("text/plain", json.dumps(_GOOD).encode(), 415, "unsupported_media_type", None,
     {"Content-Type": "text/plain"})
_bad("no content type", json.dumps(_GOOD).encode(), 415, "unsupported_media_type", None,
     {"Content-Type": None})
GOOD_APP = _GOOD
