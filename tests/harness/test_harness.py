"""The harness's own promises (run by tests/suites/10-unit.sh)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from harness import free_port, http_ok, read_events, wait_events, wait_for, wait_until


def test_free_port_is_reserved_for_a_reuseaddr_listener_only() -> None:
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    lo, hi = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert all(lo <= p <= hi for p in ports)  # never a fixed port of the suites
    p = ports[0]
    # an unrelated bind without SO_REUSEADDR is refused ...
    with socket.socket() as s, pytest.raises(OSError):
        s.bind(("127.0.0.1", p))
    with socket.socket() as s:  # ... while the child's listener gets it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.listen()


def test_wait_for_returns_the_value_or_names_what_it_waited_for() -> None:
    n = iter(range(10))
    assert wait_for(lambda: next(n) >= 3 and "ok", 5, "three") == "ok"
    with pytest.raises(AssertionError, match=r"waiting for the moon \(last: False\)"):
        wait_for(lambda: False, 0.1, "the moon")
    assert not wait_until(lambda: None, 0.1)


def test_read_events_keeps_whole_lines_only(tmp_path: Path) -> None:
    f = tmp_path / "events.ndjson"
    assert read_events(f) == []
    f.write_text('{"a": 1}\n{"a": 2}\n{"a": ')
    assert read_events(f) == [{"a": 1}, {"a": 2}]
    with pytest.raises(AssertionError, match="2 there"):
        wait_events(f, 3, timeout=0.1)


def test_procs_ready_fails_with_the_log_of_a_process_that_exited(procs) -> None:
    p = procs.start("early-exit", [sys.executable, "-c", "print('no config'); raise SystemExit(3)"])
    with pytest.raises(AssertionError, match="(?s)exited.*no config"):
        p.ready(lambda: http_ok(free_port()), 10)
    port = free_port()
    web = procs.start("web", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                              str(port)])
    web.ready(lambda: http_ok(port, "/"), 10)
    assert web.alive()
