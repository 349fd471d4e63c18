"""Polled waits with a deadline and a clear failure message (never a bare sleep)."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable
from typing import Any

from harness.env import SLOW

# A predicate raising one of these means "not yet" (a service still starting).
NOT_YET: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


def wait_for(pred: Callable[[], Any], timeout: float, what: str, every: float = 0.05,
             retry_on: tuple[type[BaseException], ...] = NOT_YET) -> Any:
    """Poll pred until it returns a truthy value, and return it. After timeout seconds
    (× SLOW) raise AssertionError naming `what` and the last value or exception seen.
    Exceptions of the types in retry_on count as "not yet"; others propagate."""
    limit = timeout * SLOW
    deadline = time.monotonic() + limit
    last: Any = None
    while True:
        try:
            last = pred()
            if last:
                return last
        except retry_on as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {limit:.1f}s waiting for {what} "
                                 f"(last: {last!r})")
        time.sleep(every)


def wait_until(pred: Callable[[], Any], timeout: float, every: float = 0.05,
               retry_on: tuple[type[BaseException], ...] = NOT_YET) -> bool:
    """wait_for that returns False at the deadline instead of raising."""
    try:
        wait_for(pred, timeout, "", every, retry_on)
        return True
    except AssertionError:
        return False


def http_ok(port: int, path: str = "/healthz", host: str = "127.0.0.1",
            timeout: float = 1.0) -> bool:
    """True when GET path answers 200 (False on any connection error)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status == 200
    except NOT_YET:
        return False
    finally:
        c.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
