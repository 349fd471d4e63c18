"""TLS on every hop (issue 24 items 1-2): the real csg-gateway with `tls:` on http.so,
tcp.so and grpc.so (and one http.so with client_ca for mTLS) in front of csg-model,
with throw-away certificates made here (tlscerts.py). Covers: HTTPS scoring over a
keep-alive connection, TCP lines and gRPC calls over TLS, plaintext on a TLS port
gets not one byte, mTLS refusals (no certificate, another CA's, an expired one), a
handshake that never comes is cut at read_timeout_ms, --check-config's messages for
bad files, SIGHUP reloading the certificate for new connections, and rest.so calling
an https:// model with the host name verified."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gwlib import GATEWAY_BIN, PLUGIN_DIR, SLOW, VAR, Proc
from harness import free_port, wait_until
from tlscerts import CA
from transports import protogen

APP = {"applicant_id": "tls-1", "income": 52000.0, "loan_amount": 1200.0, "credit_history": 3}
READ_TIMEOUT_MS = 1500


class Certs:
    def __init__(self, d: Path) -> None:
        self.ca = CA(d, "ca")
        self.other = CA(d, "other")
        self.server, self.server_key = self.ca.issue("server")
        self.client, self.client_key = self.ca.issue("client", cn="client", client=True)
        self.stranger, self.stranger_key = self.other.issue("stranger", cn="x", client=True)
        self.expired, self.expired_key = self.ca.issue("expired", cn="old", client=True,
                                                       expired=True)


def tls_block(cert: Path, key: Path, extra: str = "") -> str:
    return f"tls: {{ cert: {cert}, key: {key}{extra} }}"


def write_config(path: Path, transports: list[str], champion_url: str,
                 champion_extra: list[str] | None = None) -> None:
    lines = ["gateway:", "  workers: 2", f"  plugin_dir: {PLUGIN_DIR}", f"  lock_dir: {path.parent}",
             "  drain_timeout_ms: 3000", "transports:"]
    lines += [f"  - {t}" for t in transports]
    lines += ["experiment:", "  id: exp-tls", "champion:", "  name: champion-scorecard-v2",
              "  adapter: rest.so", f"  url: {champion_url}", "  timeout_ms: 2000"]
    lines += [f"  {x}" for x in champion_extra or []]
    lines += ["events:", f"  sink: file:{path.parent / 'events.ndjson'}", "limits:",
              f"  read_timeout_ms: {READ_TIMEOUT_MS}", "  max_connections: 200"]
    path.write_text("\n".join(lines) + "\n")


class TlsGateway:
    def __init__(self, certs: Certs, champion_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tls-", dir=VAR))
        self.certs = certs
        # The served cert/key are copies, so the reload test can replace them.
        self.cert, self.key = self.dir / "server.pem", self.dir / "server-key.pem"
        shutil.copy(certs.server, self.cert)
        shutil.copy(certs.server_key, self.key)
        os.chmod(self.key, 0o600)
        self.http, self.tcp, self.grpc, self.mtls = (free_port() for _ in range(4))
        blk = tls_block(self.cert, self.key)
        tls13 = tls_block(self.cert, self.key, ', min_version: "1.3"')
        mtls = tls_block(self.cert, self.key, f", client_ca: {certs.ca.cert}")
        write_config(self.dir / "gw.yaml", [
            f'{{ plugin: http.so, listen: "127.0.0.1:{self.http}", {blk} }}',
            f'{{ plugin: tcp.so, listen: "127.0.0.1:{self.tcp}", {tls13} }}',
            f'{{ plugin: grpc.so, listen: "127.0.0.1:{self.grpc}", {tls13} }}',
            f'{{ plugin: http.so, listen: "127.0.0.1:{self.mtls}", {mtls} }}',
        ], f"http://127.0.0.1:{champion_port}/score")
        self.proc = Proc("gateway-tls", [str(GATEWAY_BIN), "--config", str(self.dir / "gw.yaml")])
        if not wait_until(lambda: https_status(self.http, self.ctx(), "/readyz") == 200, 20):
            self.proc.stop()
            raise RuntimeError(f"csg-gateway did not start:\n{self.proc.log()}")

    def ctx(self, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        c = ssl.create_default_context(cafile=str(self.certs.ca.cert))
        if client:
            c.load_cert_chain(str(client[0]), str(client[1]))
        return c


def https_status(port: int, ctx: ssl.SSLContext, path: str) -> int:
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=5 * SLOW)
    try:
        c.request("GET", path)
        return c.getresponse().status
    finally:
        c.close()


def score_https(port: int, ctx: ssl.SSLContext) -> dict:
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10 * SLOW)
    try:
        c.request("POST", "/v1/score", json.dumps(APP), {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200
        return json.loads(r.read())
    finally:
        c.close()


@pytest.fixture(scope="module")
def certs() -> Certs:
    VAR.mkdir(parents=True, exist_ok=True)
    return Certs(Path(tempfile.mkdtemp(prefix="certs-", dir=VAR)))


@pytest.fixture(scope="module")
def gw(certs: Certs, champion: int) -> Iterator[TlsGateway]:
    g = TlsGateway(certs, champion)
    yield g
    assert g.proc.alive(), g.proc.log()
    assert g.proc.stop() == 0, g.proc.log()


def test_https_scores_over_one_keepalive_connection(gw: TlsGateway) -> None:
    c = http.client.HTTPSConnection("localhost", gw.http, context=gw.ctx(), timeout=10 * SLOW)
    for i in range(3):
        c.request("POST", "/v1/score", json.dumps(dict(APP, applicant_id=f"tls-{i}")),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        assert r.status == 200 and body["applicant_id"] == f"tls-{i}", body
        assert 0 <= body["score"] <= 1
    assert c.sock.version() == "TLSv1.3"
    c.close()
    # Bad input still gets its DESIGN §5 error through the TLS layer.
    c = http.client.HTTPSConnection("localhost", gw.http, context=gw.ctx(), timeout=10 * SLOW)
    c.request("POST", "/v1/score", b"{", {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 400 and json.loads(r.read())["error"]["code"] == "invalid_json"
    c.close()


def test_tcp_lines_over_tls_and_min_version(gw: TlsGateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.tcp), timeout=10 * SLOW) as raw, \
            gw.ctx().wrap_socket(raw, server_hostname="localhost") as s:
        assert s.version() == "TLSv1.3"
        s.sendall(b"".join(json.dumps(dict(APP, applicant_id=f"t{i}")).encode() + b"\n"
                           for i in range(20)))
        buf = b""
        while buf.count(b"\n") < 20:
            chunk = s.recv(65536)
            assert chunk, buf
            buf += chunk
        ids = [json.loads(ln)["applicant_id"] for ln in buf.splitlines()]
        assert ids == [f"t{i}" for i in range(20)]
    # min_version "1.3": a TLS 1.2-only client is refused.
    ctx = gw.ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", gw.tcp), timeout=10 * SLOW) as raw, \
            pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname="localhost")


def grpc_score(gw: TlsGateway) -> None:
    pb, _ = protogen.load()
    import grpc

    creds = grpc.ssl_channel_credentials(root_certificates=gw.certs.ca.cert.read_bytes())
    with grpc.secure_channel(f"localhost:{gw.grpc}", creds) as ch:
        r = protogen.score_callable(ch, pb)(pb.ScoreRequest(**APP), timeout=10 * SLOW)
        assert r.applicant_id == "tls-1" and 0 <= r.score <= 1


def tls_handshake(port: int, ctx: ssl.SSLContext) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        return s.version() or ""


def test_grpc_over_tls(gw: TlsGateway) -> None:
    grpc_score(gw)
    # min_version "1.3" on grpc.so: a 1.3 handshake (h2, as gRPC clients ask) passes, a
    # TLS 1.2-only client is refused.
    ctx = gw.ctx()
    ctx.set_alpn_protocols(["h2"])
    assert tls_handshake(gw.grpc, ctx) == "TLSv1.3"
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        tls_handshake(gw.grpc, ctx)
    pb, _ = protogen.load()
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{gw.grpc}") as ch, pytest.raises(grpc.RpcError):
        protogen.score_callable(ch, pb)(pb.ScoreRequest(**APP), timeout=3 * SLOW)


def read_all(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(4096):
            out += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return out


@pytest.mark.parametrize("which", ["http", "tcp"])
def test_plaintext_on_a_tls_port_gets_nothing(gw: TlsGateway, which: str) -> None:
    port = gw.http if which == "http" else gw.tcp
    req = (b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" if which == "http"
           else json.dumps(APP).encode() + b"\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as s:
        s.sendall(req)
        assert read_all(s) == b""


def test_handshake_counts_against_read_timeout(gw: TlsGateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.http), timeout=10 * SLOW) as s:
        s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        t0 = time.monotonic()
        assert read_all(s) == b""
        assert time.monotonic() - t0 < 3 * READ_TIMEOUT_MS / 1000 * SLOW


def refused(port: int, ctx: ssl.SSLContext) -> bool:
    """The mTLS port refuses: the handshake fails or (TLS 1.3: the server checks the
    client's certificate after the client thinks it is done) the first read does."""
    try:
        score_https(port, ctx)
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
        return True
    return False


def test_mtls(gw: TlsGateway) -> None:
    c = gw.certs
    assert score_https(gw.mtls, gw.ctx((c.client, c.client_key)))["applicant_id"] == "tls-1"
    assert refused(gw.mtls, gw.ctx())  # no certificate
    assert refused(gw.mtls, gw.ctx((c.stranger, c.stranger_key)))  # another CA's
    assert refused(gw.mtls, gw.ctx((c.expired, c.expired_key)))  # expired
    # The port without client_ca does not ask for one.
    assert score_https(gw.http, gw.ctx())["applicant_id"] == "tls-1"


def peer_serial(port: int, ctx: ssl.SSLContext) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        return s.getpeercert()["serialNumber"]


def test_sighup_reloads_the_certificate(gw: TlsGateway) -> None:
    ctx = gw.ctx()
    before = peer_serial(gw.http, ctx)
    # A certificate whose key does not match: the reload fails, the old one serves on.
    new_cert, new_key = gw.certs.ca.issue(f"renewed-{time.monotonic_ns()}")
    shutil.copy(new_cert, gw.cert)
    gw.proc.signal(signal.SIGHUP)
    assert wait_until(lambda: "TLS reload failed" in gw.proc.log(), 10), gw.proc.log()[-2000:]
    assert peer_serial(gw.http, ctx) == before
    # With its key: new connections get the new certificate, on every transport.
    shutil.copy(new_key, gw.key)
    os.chmod(gw.key, 0o600)
    gw.proc.signal(signal.SIGHUP)
    # The transports reload one after the other: wait for the last one (tcp.so).
    assert wait_until(lambda: peer_serial(gw.tcp, ctx) != before, 10), gw.proc.log()[-2000:]
    assert peer_serial(gw.http, ctx) == peer_serial(gw.tcp, ctx)
    assert score_https(gw.http, ctx)["applicant_id"] == "tls-1"
    grpc_score(gw)  # grpc.so took the new files through its certificate fetcher


def test_grpc_listeners_must_share_min_version(certs: Certs, tmp_path: Path) -> None:
    """gRPC reads its TLS policy once per process: two grpc.so listeners asking for
    different minimum versions stop the start with a message naming both."""
    cfg = tmp_path / "two-grpc.yaml"
    tls12 = tls_block(certs.server, certs.server_key)
    tls13 = tls_block(certs.server, certs.server_key, ', min_version: "1.3"')
    write_config(cfg, [f'{{ plugin: grpc.so, listen: "127.0.0.1:{free_port()}", {tls13} }}',
                       f'{{ plugin: grpc.so, listen: "127.0.0.1:{free_port()}", {tls12} }}'],
                 "http://127.0.0.1:9/score")
    r = subprocess.run([str(GATEWAY_BIN), "--config", str(cfg)], capture_output=True,
                       text=True, timeout=30 * SLOW, check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "min_version 1.2 differs from this process's 1.3" in out, out


# ---------------------------------------------------------------------------------------
# --check-config


def check_config(d: Path, tls: str, champion_url: str = "http://127.0.0.1:9/score",
                 champion_extra: list[str] | None = None) -> str:
    cfg = d / "check.yaml"
    write_config(cfg, [f'{{ plugin: http.so, listen: "127.0.0.1:{free_port()}", {tls} }}'],
                 champion_url, champion_extra)
    r = subprocess.run([str(GATEWAY_BIN), "--check-config", str(cfg)], capture_output=True,
                       text=True, timeout=30, check=False)
    out = r.stdout + r.stderr
    assert (r.returncode == 0) == ("configuration OK" in out), out
    return out


def test_check_config_tls_files(certs: Certs, tmp_path: Path) -> None:
    ok = check_config(tmp_path, tls_block(certs.server, certs.server_key))
    assert "configuration OK" in ok, ok
    loose = tmp_path / "loose-key.pem"
    shutil.copy(certs.server_key, loose)
    os.chmod(loose, 0o644)
    cases = [
        (tls_block(certs.server, loose), "is readable by every user (mode 644): chmod 600 it"),
        (tls_block(certs.server, certs.client_key), "does not match cert"),
        (tls_block(tmp_path / "missing.pem", certs.server_key), "cannot be read"),
        (tls_block(certs.expired, certs.expired_key), "has expired"),
        (tls_block(certs.server, certs.server_key, ', min_version: "1.1"'),
         'min_version must be "1.2" or "1.3"'),
        (tls_block(certs.server, certs.server_key, f", client_ca: {certs.server_key}"),
         "holds no PEM CA certificate"),
        ("tls: { cert: /x }", '"key" is required in tls'),
        ("tls: { cert: /x, key: /y, ciphers: all }", 'unknown key "ciphers" in tls'),
    ]
    for tls, want in cases:
        out = check_config(tmp_path, tls)
        assert f"{tmp_path / 'check.yaml'}:" in out and want in out, (tls, out)


def test_check_config_https_model_options(certs: Certs, tmp_path: Path) -> None:
    out = check_config(tmp_path, tls_block(certs.server, certs.server_key),
                       "https://localhost:9/score", [f"ca_file: {tmp_path / 'nope.pem'}"])
    assert "nope.pem" in out and "configuration OK" not in out, out
    out = check_config(tmp_path, tls_block(certs.server, certs.server_key),
                       "http://127.0.0.1:9/score", [f"ca_file: {certs.ca.cert}"])
    assert "only for https://" in out, out


# ---------------------------------------------------------------------------------------
# rest.so to an https:// model


class HttpsModel:
    """A keep-alive HTTPS model in a thread: every POST scores 0.81 / approve."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None = None,
                 host: str = "127.0.0.1") -> None:
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b'{"score":0.81,"decision":"approve"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        if client_ca:
            ctx.load_verify_locations(str(client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def plain_gateway(d: Path, champion_url: str, extra: list[str]) -> tuple[Proc, int]:
    port = free_port()
    write_config(d / "gw.yaml", [f'{{ plugin: http.so, listen: "127.0.0.1:{port}" }}'],
                 champion_url, extra)
    p = Proc("gateway-rest-tls", [str(GATEWAY_BIN), "--config", str(d / "gw.yaml")])
    assert wait_until(lambda: p.alive() and _get(port, "/healthz") == 200, 20), p.log()
    return p, port


def _get(port: int, path: str) -> int:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        return c.getresponse().status
    except OSError:
        return 0


def _score(port: int) -> tuple[int, dict]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
    c.request("POST", "/v1/score", json.dumps(APP), {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read())


def test_rest_to_an_https_model(certs: Certs, tmp_path: Path) -> None:
    m = HttpsModel(certs.server, certs.server_key, client_ca=certs.ca.cert)
    p, port = plain_gateway(tmp_path, f"https://localhost:{m.port}/score",
                            [f"ca_file: {certs.ca.cert}", f"client_cert: {certs.client}",
                             f"client_key: {certs.client_key}", "pool_size: 2"])
    try:
        for _ in range(20):
            status, body = _score(port)
            assert status == 200 and body["score"] == 0.81, body
        assert m.connections <= 2 * 2, m.connections  # keep-alive: pool_size per worker
    finally:
        assert p.stop() == 0, p.log()
        m.stop()


def test_rest_https_model_with_the_wrong_host_name_fails(certs: Certs, tmp_path: Path) -> None:
    # The certificate names localhost and 127.0.0.1; the URL says 127.0.0.2.
    m = HttpsModel(certs.server, certs.server_key, host="127.0.0.2")
    p, port = plain_gateway(tmp_path, f"https://127.0.0.2:{m.port}/score",
                            [f"ca_file: {certs.ca.cert}"])
    try:
        status, body = _score(port)
        assert status == 502 and body["error"]["code"] == "champion_error", body
        assert wait_until(lambda: "certificate" in p.log(), 10), p.log()[-2000:]
    finally:
        assert p.stop() == 0, p.log()
        m.stop()
