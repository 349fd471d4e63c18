"""Hostile clients against the real csg-gateway (http.so + tcp.so + rest.so) in front of a
real csg-model champion, on free loopback ports (issue 11, part 3).

Each attack runs while a well-behaved client keeps scoring, and asserts behaviour: the
well-behaved client is served (every request answered correctly, latency within a
generous multiple of its own baseline measured in the same run), the hostile clients get
the documented answers (413, 431, payload_too_large, overloaded), and the gateway's RSS
stays within a bound derived from the configured limits. Every loop is bounded; every
wait has a deadline. Hostile sockets are closed with RST so no TIME_WAIT piles up.
"""

from __future__ import annotations

import json
import resource
import selectors
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import gwlib
import pytest
from gwlib import (
    GATEWAY_BIN,
    PLUGIN_DIR,
    SLOW,
    UNDER_SANITIZER,
    HttpConn,
    Proc,
    applications,
    free_port,
    http_get_ok,
    percentile,
    start_model,
    wait_until,
)

MAX_BODY = 4096
MAX_LINE = 2048
MAX_CONNS = 10_000
# ASan's quarantine and shadow memory make RSS meaningless as a buffer bound.
CHECK_RSS = not UNDER_SANITIZER
SCALE = 4 if UNDER_SANITIZER else 1  # fewer hostile connections under ASan


def rst_close(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): no TIME_WAIT, and the server sees the reset."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def http_reader(s: socket.socket) -> HttpConn:
    """gwlib's response reader on a socket this test opened and wrote itself."""
    c = HttpConn.__new__(HttpConn)
    c.port, c.s, c.buf = 0, s, b""
    return c


def raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class HostileGateway:
    """csg-gateway with HTTP and TCP transports and a generated config."""

    def __init__(self, champion_port: int, idle_timeout_ms: int = 120000) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gw-", dir=gwlib.VAR))
        plugins = self.dir / "plugins"
        plugins.mkdir()
        for so in ("http.so", "tcp.so", "rest.so"):
            shutil.copy(PLUGIN_DIR / so, plugins / so)
        self.http_port, self.tcp_port = free_port(), free_port()
        cfg = self.dir / "experiments.yaml"
        cfg.write_text("\n".join([
            "gateway:",
            "  workers: 2",
            f"  plugin_dir: {plugins}",
            f"  lock_dir: {self.dir}",
            "  drain_timeout_ms: 5000",
            "transports:",
            f'  - {{ plugin: http.so, listen: "127.0.0.1:{self.http_port}" }}',
            f'  - {{ plugin: tcp.so, listen: "127.0.0.1:{self.tcp_port}" }}',
            "experiment:",
            "  id: exp-hostile",
            '  salt: "hostile"',
            "champion:",
            "  name: champion-lr-v1",
            "  adapter: rest.so",
            f"  url: http://127.0.0.1:{champion_port}/score",
            "  timeout_ms: 5000",
            "events:",
            f"  sink: file:{self.dir / 'events.ndjson'}",
            "limits:",
            f"  max_body_bytes: {MAX_BODY}",
            f"  max_line_bytes: {MAX_LINE}",
            f"  max_connections: {MAX_CONNS}",
            f"  idle_timeout_ms: {idle_timeout_ms}",
        ]) + "\n")
        # The gateway needs a descriptor per connection plus its own.
        raise_nofile(MAX_CONNS + 2000)
        self.proc = Proc("gateway", [str(GATEWAY_BIN), "--config", str(cfg)])
        if not wait_until(lambda: http_get_ok(self.http_port, "/readyz"), 20):
            self.proc.stop()
            raise RuntimeError(f"csg-gateway did not start:\n{self.proc.log()}")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def assert_alive(self) -> None:
        assert self.proc.alive(), self.proc.log()[-3000:]


class RssPeak:
    """Samples the gateway's RSS in a thread; .growth_mb() = peak minus the start."""

    def __init__(self, gw: HostileGateway) -> None:
        self.gw = gw
        self.start_kb = gw.rss_kb()
        self.peak_kb = self.start_kb
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak_kb = max(self.peak_kb, self.gw.rss_kb())
            except (OSError, RuntimeError):
                return

    def __enter__(self) -> Self:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join(5)
        self.peak_kb = max(self.peak_kb, self.gw.rss_kb())

    def growth_mb(self) -> float:
        return (self.peak_kb - self.start_kb) / 1024


class TcpConn:
    """One newline-delimited JSON connection to tcp.so."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def read_line(self) -> dict:
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise gwlib.ConnectionClosed()
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def score(self, app: dict) -> dict:
        self.send(json.dumps(app).encode() + b"\n")
        return self.read_line()

    def close(self) -> None:
        self.s.close()


@pytest.fixture(scope="module")
def champion() -> Iterator[int]:
    port = free_port()
    m = start_model("champion", port)
    yield port
    m.stop()


@pytest.fixture(scope="module")
def gw(champion: int) -> Iterator[HostileGateway]:
    g = HostileGateway(champion)
    yield g
    g.assert_alive()
    assert g.proc.stop() == 0, g.proc.log()[-3000:]


def well_behaved(gw: HostileGateway, apps: list[dict]) -> dict[str, list[float]]:
    """Score apps over HTTP (keep-alive) and TCP, every 10th on a new connection;
    return the latencies per transport. Asserts every answer."""
    lat: dict[str, list[float]] = {"http": [], "tcp": []}
    h = HttpConn(gw.http_port)
    t = TcpConn(gw.tcp_port)
    try:
        for i, a in enumerate(apps):
            if i % 10 == 9:
                h.close()
                t.close()
                h = HttpConn(gw.http_port)
                t = TcpConn(gw.tcp_port)
            t0 = time.perf_counter()
            r = h.score(a)
            lat["http"].append(time.perf_counter() - t0)
            assert r.status == 200, r.body
            assert r.json()["applicant_id"] == a["applicant_id"]
            t0 = time.perf_counter()
            got = t.score(a)
            lat["tcp"].append(time.perf_counter() - t0)
            assert got.get("applicant_id") == a["applicant_id"], got
    finally:
        h.close()
        t.close()
    return lat


def well_behaved_for(gw: HostileGateway, seconds: float, seed: int) -> dict[str, list[float]]:
    """well_behaved() in rounds of 50 applications for at least `seconds` (≤ 40 rounds)."""
    lat: dict[str, list[float]] = {"http": [], "tcp": []}
    end = time.monotonic() + seconds
    for r in range(40):
        got = well_behaved(gw, applications(50, seed=seed + r))
        for k in lat:
            lat[k] += got[k]
        if time.monotonic() >= end:
            break
    return lat


def assert_latency_bounded(name: str, base: dict[str, list[float]],
                           under: dict[str, list[float]]) -> None:
    """Under attack the well-behaved client may slow down (2 shared cores), but within a
    multiple of its own baseline: p50 ≤ 5×base + 5 ms, p99 ≤ 10×base + 50 ms."""
    for tr in ("http", "tcp"):
        b50, b99 = percentile(base[tr], 0.5) * 1e3, percentile(base[tr], 0.99) * 1e3
        u50, u99 = percentile(under[tr], 0.5) * 1e3, percentile(under[tr], 0.99) * 1e3
        print(f"{name} {tr}: baseline p50 {b50:.2f} ms p99 {b99:.2f} ms | "
              f"under attack p50 {u50:.2f} ms p99 {u99:.2f} ms")
        assert u50 <= 5 * b50 + 5 * SLOW, (tr, b50, u50)
        assert u99 <= 10 * b99 + 50 * SLOW, (tr, b99, u99)


# ---------------------------------------------------------------------------------------


def test_requests_split_at_every_byte(gw: HostileGateway) -> None:
    """A request trickled one byte per segment is parsed like a whole one; an Expect:
    100-continue whose value is split across segments is still honoured."""
    app = applications(1, seed=3)[0]
    body = json.dumps(app).encode()
    c = HttpConn(gw.http_port)
    try:
        for b in HttpConn.build("POST", "/v1/score", body, {"X-Request-Id": "split-1"}):
            c.send(bytes([b]))
        r = c.read_response()
        assert r.status == 200 and r.json()["request_id"] == "split-1", r.body
        head = HttpConn.build("POST", "/v1/score", body, {"Expect": "100-continue"})
        head = head[: len(head) - len(body)]
        cut = head.index(b"100-continue") + 5  # "100-c" | "ontinue\r\n\r\n"
        c.send(head[:cut])
        time.sleep(0.05)  # a separate segment, not a synchronisation
        c.send(head[cut:])
        c.s.settimeout(5 * SLOW)
        while b"\r\n\r\n" not in c.buf:
            c._fill()
        assert c.buf.startswith(b"HTTP/1.1 100 Continue\r\n"), c.buf[:200]
        c.buf = c.buf.split(b"\r\n\r\n", 1)[1]
        c.send(body)
        r = c.read_response()
        assert r.status == 200, r.body
    finally:
        c.close()
    t = TcpConn(gw.tcp_port)
    try:
        for b in json.dumps({**app, "request_id": "split-2"}).encode() + b"\n":
            t.send(bytes([b]))
        got = t.read_line()
        assert got.get("request_id") == "split-2", got
    finally:
        t.close()


def test_slowloris(gw: HostileGateway) -> None:
    """Hundreds of clients trickle request heads (HTTP) and lines (TCP) a byte at a time;
    a well-behaved client keeps being served with bounded latency."""
    n = 400 // SCALE
    base = well_behaved(gw, applications(150, seed=21))
    slow_http: list[socket.socket] = []
    slow_tcp: list[socket.socket] = []
    stop = threading.Event()
    sent = [0]

    def trickle() -> None:
        for _ in range(600):  # bounded: at most 60 s
            if stop.wait(0.1):
                return
            for s in slow_http + slow_tcp:
                try:
                    s.send(b"a")
                    sent[0] += 1
                except OSError:
                    pass

    with RssPeak(gw) as rss:
        try:
            for i in range(n):
                h = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5 * SLOW)
                h.sendall(f"POST /v1/score HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ".encode())
                slow_http.append(h)
                t = socket.create_connection(("127.0.0.1", gw.tcp_port), timeout=5 * SLOW)
                t.sendall(b'{"applicant_id":"')
                slow_tcp.append(t)
            th = threading.Thread(target=trickle, daemon=True)
            th.start()
            # Measure only once every trickler has sent at least two bytes.
            assert wait_until(lambda: sent[0] >= 4 * n, 10), sent[0]
            under = well_behaved_for(gw, 3.0, seed=22)
            stop.set()
            th.join(10)
            # The tricklers were never answered or cut off: nothing in their heads/lines
            # was complete, and they were not idle.
            still_open = 0
            for s in slow_http + slow_tcp:
                s.setblocking(False)
                try:
                    still_open += 1 if s.recv(1) == b"" else 0
                except BlockingIOError:
                    still_open += 1
                except OSError:
                    pass
            print(f"slowloris: {2 * n} trickling connections, {sent[0]} trickled bytes, "
                  f"{still_open} still open at the end; {len(under['http'])} well-behaved "
                  "requests per transport meanwhile")
        finally:
            stop.set()
            for s in slow_http + slow_tcp:
                rst_close(s)
    gw.assert_alive()
    print(f"slowloris: gateway RSS growth {rss.growth_mb():.1f} MiB")
    assert_latency_bounded("slowloris", base, under)
    if CHECK_RSS:
        # Per trickling connection: its state plus a partial head/line (bytes, not KiB).
        assert rss.growth_mb() < 48, rss.growth_mb()


def send_all_until(s: socket.socket, data: bytes, limit: int, deadline: float) -> int:
    """Send data repeatedly until limit bytes, the peer closes, or the deadline; returns
    bytes sent. Non-blocking so a server that stops reading cannot hang the test."""
    s.setblocking(False)
    sent = 0
    view = memoryview(data)
    off = 0
    while sent < limit and time.monotonic() < deadline:
        try:
            k = s.send(view[off:])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError:
            break
        sent += k
        off = (off + k) % len(data)
    return sent


def test_oversized_bodies_headers_and_lines(gw: HostileGateway) -> None:
    """10 MB bodies (declared and chunked), 1 MB of headers and 8 MB lines: 413 / 431 /
    payload_too_large, the connection (TCP) resynchronises, memory stays bounded."""
    n = 16 // SCALE
    results: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 60 * SLOW

    def declared() -> None:
        s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10 * SLOW)
        try:
            s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 10000000\r\n\r\n")
            c = http_reader(s)
            r = c.read_response()  # answered from the header, before the body
            with lock:
                results.append(f"declared {r.status} {r.json()['error']['code']}")
            send_all_until(s, b"x" * 65536, 10_000_000, deadline)
        finally:
            rst_close(s)

    def chunked() -> None:
        s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10 * SLOW)
        try:
            s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            send_all_until(s, b"10000\r\n" + b"x" * 65536 + b"\r\n", 10_000_000,
                           min(deadline, time.monotonic() + 5 * SLOW))
            s.setblocking(True)
            s.settimeout(10 * SLOW)
            c = http_reader(s)
            r = c.read_response()
            with lock:
                results.append(f"chunked {r.status} {r.json()['error']['code']}")
        finally:
            rst_close(s)

    def headers() -> None:
        s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10 * SLOW)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            send_all_until(s, b"X-Pad: " + b"p" * 1000 + b"\r\n", 1_000_000,
                           min(deadline, time.monotonic() + 5 * SLOW))
            s.setblocking(True)
            s.settimeout(10 * SLOW)
            c = http_reader(s)
            r = c.read_response()
            with lock:
                results.append(f"headers {r.status} {r.json()['error']['code']}")
        finally:
            rst_close(s)

    def line() -> None:
        t = TcpConn(gw.tcp_port)
        try:
            send_all_until(t.s, b'{"applicant_id":"' + b"y" * 65536, 8_000_000, deadline)
            t.s.setblocking(True)
            t.s.settimeout(10 * SLOW)
            app = applications(1, seed=5)[0]
            t.send(b"\n" + json.dumps(app).encode() + b"\n")
            first = t.read_line()
            second = t.read_line()
            with lock:
                results.append(f"line {first['error']['code']} then "
                               f"{'reply' if second.get('applicant_id') == app['applicant_id'] else second}")
        finally:
            rst_close(t.s)

    with RssPeak(gw) as rss:
        threads = [threading.Thread(target=f, daemon=True)
                   for f in (declared, chunked, headers, line) for _ in range(n)]
        for th in threads:
            th.start()
        under = well_behaved(gw, applications(100, seed=31))
        for th in threads:
            th.join(max(1.0, deadline - time.monotonic()))
        assert not any(th.is_alive() for th in threads), "hostile clients did not finish"
    gw.assert_alive()
    summary = sorted(set(results))
    print(f"oversized: {len(results)} hostile clients: {summary}; "
          f"RSS growth {rss.growth_mb():.1f} MiB; well-behaved p50 "
          f"{percentile(under['http'], 0.5) * 1e3:.2f} ms")
    assert summary == [
        "chunked 413 payload_too_large",
        "declared 413 payload_too_large",
        "headers 431 headers_too_large",
        "line payload_too_large then reply",
    ], results
    assert len(results) == 4 * n
    if CHECK_RSS:
        # Legitimate state: ≤ max_body / max_line / 32 KiB of head per connection, plus
        # the read buffers — well under 1 MiB each.
        assert rss.growth_mb() < 4 * n + 32, rss.growth_mb()


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_pipelining_flood_never_reading(gw: HostileGateway, transport: str) -> None:
    """Clients pipeline requests as fast as they can and never read a reply: the gateway
    stops reading them (back-pressure) instead of buffering replies without bound, and
    keeps serving everyone else."""
    n = 24 // SCALE
    if transport == "http":
        port, data = gw.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        port, data = gw.tcp_port, b'{"applicant_id":""}\n'  # answered at once: an error line
    per_conn = 64 << 20
    floods: list[socket.socket] = []
    written: list[int] = []
    lock = threading.Lock()
    flood_s = 4.0 * SLOW

    def flood() -> None:
        s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        with lock:
            floods.append(s)
        k = send_all_until(s, data * 512, per_conn, time.monotonic() + flood_s)
        with lock:
            written.append(k)

    with RssPeak(gw) as rss:
        try:
            threads = [threading.Thread(target=flood, daemon=True) for _ in range(n)]
            for th in threads:
                th.start()
            under = well_behaved_for(gw, flood_s / 2, seed=41)
            for th in threads:
                th.join(flood_s + 10 * SLOW)
            assert not any(th.is_alive() for th in threads)
        finally:
            with lock:
                for s in floods:
                    rst_close(s)
    gw.assert_alive()
    growth = rss.growth_mb()
    print(f"flood {transport}: {n} connections wrote {min(written) / 1e6:.1f}-"
          f"{max(written) / 1e6:.1f} MB each and never read; gateway RSS growth "
          f"{growth:.1f} MiB ({growth / n:.2f} MiB per connection); well-behaved p50 http "
          f"{percentile(under['http'], 0.5) * 1e3:.2f} ms tcp "
          f"{percentile(under['tcp'], 0.5) * 1e3:.2f} ms ({len(under['http'])} requests)")
    # Every flood was pushed back: none could write its whole budget in the time.
    assert max(written) < per_conn, written
    if CHECK_RSS:
        # tcp.so stops reading at max_output_bytes (256 KiB) of unsent replies; allow
        # 1 MiB per flooding connection for that, its input buffer and allocator slack.
        assert growth < n + 32, growth


def test_flood_then_read_everything(gw: HostileGateway) -> None:
    """The other side of back-pressure: a client that pipelines 30,000 requests and only
    starts reading a second later still gets every reply, in order (parsing resumes
    when the replies drain)."""
    n = 30_000 // SCALE
    c = HttpConn(gw.http_port, timeout=30)
    blob = b"".join(f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: r{i}\r\n\r\n".encode()
                    for i in range(n))
    writer = threading.Thread(target=c.s.sendall, args=(blob,), daemon=True)
    try:
        writer.start()
        writer.join(1.0)  # not a synchronisation: the reader simply starts late
        for i in range(n):
            r = c.read_response()
            assert r.status == 200 and r.headers.get("x-request-id") == f"r{i}", (i, r)
        writer.join(30 * SLOW)
        assert not writer.is_alive()
        t = TcpConn(gw.tcp_port, timeout=30)
        lines = b"".join(json.dumps({"applicant_id": "", "request_id": f"r{i}"}).encode() + b"\n"
                         for i in range(n))
        tw = threading.Thread(target=t.s.sendall, args=(lines,), daemon=True)
        tw.start()
        tw.join(1.0)
        for _ in range(n):
            assert t.read_line()["error"]["field"] == "applicant_id"
        tw.join(30 * SLOW)
        t.close()
    finally:
        c.close()
    print(f"flood then read: {n} pipelined HTTP requests and {n} TCP lines, every reply "
          "received in order")


def test_10000_connections(gw: HostileGateway) -> None:
    """limits.max_connections (10,000 on this gateway) connections all served; the next
    ones refused with 503 overloaded; the TCP transport (its own limit) unaffected;
    closing some lets new clients in again."""
    n = MAX_CONNS // SCALE
    raise_nofile(n + 1000)
    sel = selectors.DefaultSelector()
    conns: list[socket.socket] = []
    rss_before = gw.rss_kb()
    deadline = time.monotonic() + 90 * SLOW
    try:
        for _ in range(n):
            s = socket.socket()
            s.settimeout(5 * SLOW)
            s.connect(("127.0.0.1", gw.http_port))
            conns.append(s)
        # One request on every connection, answered: every one was accepted and served.
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for s in conns:
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        answered = 0
        while answered < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1.0):
                buf: bytearray = key.data
                try:
                    chunk = key.fileobj.recv(4096)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                buf += chunk
                if not chunk or buf.endswith(b'{"status":"ok"}'):
                    assert buf.startswith(b"HTTP/1.1 200"), bytes(buf[:100])
                    sel.unregister(key.fileobj)
                    answered += 1
        assert answered == n, (answered, n)
        rss_held = gw.rss_kb()
        per_conn_kb = (rss_held - rss_before) / n
        # Over the limit: refused at once with 503 overloaded (only when at the limit).
        refused = 0
        if n == MAX_CONNS:
            for _ in range(20):
                c = HttpConn(gw.http_port)
                try:
                    r = c.read_response()
                    refused += r.status == 503 and r.json()["error"]["code"] == "overloaded"
                finally:
                    rst_close(c.s)
            assert refused == 20
        # The TCP transport has its own limit and serves on.
        t = TcpConn(gw.tcp_port)
        app = applications(1, seed=51)[0]
        assert t.score(app).get("applicant_id") == app["applicant_id"]
        t.close()
        # Some clients leave: new ones get in again.
        for s in conns[:100]:
            rst_close(s)
        del conns[:100]

        def served() -> bool:
            c = HttpConn(gw.http_port, timeout=2)
            try:
                return c.request("GET", "/healthz").status == 200
            except gwlib.ConnectionClosed:
                return False
            finally:
                rst_close(c.s)

        assert wait_until(served, 10)
        print(f"10k: {n} connections served, {refused} over the limit refused with 503; "
              f"gateway RSS {rss_before / 1024:.0f} → {rss_held / 1024:.0f} MiB "
              f"({per_conn_kb:.1f} KiB per idle connection)")
        if CHECK_RSS:
            assert per_conn_kb < 16, per_conn_kb
    finally:
        sel.close()
        for s in conns:
            rst_close(s)
    gw.assert_alive()
    assert wait_until(lambda: http_get_ok(gw.http_port, "/healthz"), 10)


def test_idle_and_trickling_connections(champion: int) -> None:
    """limits.idle_timeout_ms closes connections that send nothing (HTTP and TCP, also
    mid-request). A client trickling one byte per 300 ms is not idle: it keeps its
    connection until its head or line hits the size limit — max_connections is the
    bound on how many such clients there can be (printed, not asserted)."""
    g = HostileGateway(champion, idle_timeout_ms=1000)
    socks: dict[str, socket.socket] = {}
    try:
        for name, port, first in [
            ("http-idle", g.http_port, b""),
            ("http-half-head", g.http_port, b"GET /healthz HTTP/1.1\r\nHost"),
            ("tcp-idle", g.tcp_port, b""),
            ("tcp-half-line", g.tcp_port, b'{"applicant_id":'),
            ("http-trickle", g.http_port, b"GET /healthz HTTP/1.1\r\nX-T: "),
            ("tcp-trickle", g.tcp_port, b'{"applicant_id":"'),
        ]:
            s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
            if first:
                s.sendall(first)
            socks[name] = s
        closed_at: dict[str, float] = {}
        t0 = time.monotonic()
        for _ in range(int(4.0 / 0.3)):  # 4 s of trickling, bounded
            time.sleep(0.3)  # the trickle rate itself, not a synchronisation
            for name, s in socks.items():
                if name in closed_at:
                    continue
                if name.endswith("trickle"):
                    try:
                        s.send(b"a")
                    except OSError:
                        closed_at[name] = time.monotonic() - t0
                        continue
                s.setblocking(False)
                try:
                    if s.recv(65536) == b"":
                        closed_at[name] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[name] = time.monotonic() - t0
        state = {k: f"closed after {closed_at[k]:.1f} s" if k in closed_at else "open after 4 s"
                 for k in socks}
        print("idle timeout 1000 ms: " + ", ".join(f"{k} {v}" for k, v in state.items()))
        for name in ("http-idle", "http-half-head", "tcp-idle", "tcp-half-line"):
            assert name in closed_at and closed_at[name] < 3.5 * SLOW, (name, closed_at)
        g.assert_alive()
        assert http_get_ok(g.http_port, "/healthz")
    finally:
        for s in socks.values():
            rst_close(s)
        assert g.proc.stop() == 0, g.proc.log()[-3000:]

