"""Fixtures for the dashboard tests: a real csg-persist (SQLite) holding the fixture events.

tests/suites/70-dashboard.sh starts one and passes its URL in CSG_TEST_API_URL; run alone
(`pytest tests/dashboard`), this starts its own from $CSG_BUILD_DIR/bin/csg-persist.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
import requests
from harness import BUILD, Proc, free_port, http_ok, wait_for

import reference


@pytest.fixture(scope="session")
def api_url() -> Iterator[str]:
    given = os.environ.get("CSG_TEST_API_URL")
    if given:
        wait_for(lambda: requests.get(given + "/healthz", timeout=1).ok, 10, f"{given} healthy")
        yield given.rstrip("/")
        return
    binary = BUILD / "bin" / "csg-persist"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build csg-persist first (make build)")
    with tempfile.TemporaryDirectory(prefix="csg-dash-") as tmp:
        db = f"sqlite:{tmp}/metrics.db"
        subprocess.run([str(binary), "import", "--db", db, str(reference.FIXTURE)],
                       check=True, timeout=60, capture_output=True)
        port = free_port()
        proc = Proc("dashboard-persist", [str(binary), "--db", db, "--listen",
                                          f"127.0.0.1:{port}", "--no-consume",
                                          "--baseline", str(reference.BASELINE)])
        try:
            proc.ready(lambda: http_ok(port), 20, "csg-persist healthy")
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.stop(10)


@pytest.fixture(scope="session")
def events() -> list[dict]:
    return reference.load()


@pytest.fixture()
def dashboard_env(api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CSG_API_URL", api_url)
    monkeypatch.setenv("CSG_REFRESH_SECONDS", "5")
    return api_url
