"""Fixtures for the dashboard tests: a real csg-persist (SQLite) holding the fixture events.

tests/suites/70-dashboard.sh starts one and passes its URL in CSG_TEST_API_URL; run alone
(`pytest tests/dashboard`), this starts its own from $CSG_BUILD_DIR/bin/csg-persist.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import reference  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes] | None, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"csg-persist exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"csg-persist at {url} not healthy within {deadline_s}s")


@pytest.fixture(scope="session")
def api_url() -> Iterator[str]:
    given = os.environ.get("CSG_TEST_API_URL")
    if given:
        _wait_healthy(given, None, 10)
        yield given.rstrip("/")
        return
    binary = Path(os.environ.get("CSG_BUILD_DIR", ROOT / "build")) / "bin" / "csg-persist"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build csg-persist first (make build)")
    with tempfile.TemporaryDirectory(prefix="csg-dash-") as tmp:
        db = f"sqlite:{tmp}/metrics.db"
        subprocess.run([str(binary), "import", "--db", db, str(reference.FIXTURE)],
                       check=True, timeout=60, capture_output=True)
        port = _free_port()
        log = open(Path(tmp) / "persist.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([str(binary), "--db", db, "--listen", f"127.0.0.1:{port}",
                                 "--no-consume", "--baseline", str(reference.BASELINE)],
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, 20)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


@pytest.fixture(scope="session")
def events() -> list[dict]:
    return reference.load()


@pytest.fixture()
def dashboard_env(api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CSG_API_URL", api_url)
    monkeypatch.setenv("CSG_REFRESH_SECONDS", "5")
    return api_url
