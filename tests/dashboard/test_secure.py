"""The dashboard against csg-persist with TLS and tokens (issue 24): with CSG_API_TOKEN
(a read token) and CSG_API_CA_FILE (the throw-away CA of scripts/secure) over https it
shows the same KPIs as over plain HTTP; without the token it shows one banner that
names the token, and no traceback."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from harness import ROOT, free_port
from streamlit.testing.v1 import AppTest

import reference
from test_dashboard import APP, assert_kpis, run_app


def _answers(url: str, ca: Path, token: str) -> bool:
    try:
        return requests.get(url + "/healthz", verify=str(ca), timeout=1,
                            headers={"Authorization": f"Bearer {token}"}).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def secure_api() -> Iterator[tuple[str, str, Path]]:
    """(https URL, read token, CA file) of a TLS + token csg-persist holding the fixture."""
    binary = Path(os.environ.get("CSG_BUILD_DIR", ROOT / "build")) / "bin" / "csg-persist"
    secure = [str(ROOT / "scripts" / "secure")]
    with tempfile.TemporaryDirectory(prefix="csg-dash-tls-") as tmp:
        sec = Path(tmp) / "secure"
        subprocess.run([*secure, "init", "--dir", str(sec)], check=True,
                       capture_output=True, timeout=60)
        token = subprocess.run([*secure, "token", "read", "--dir", str(sec)], check=True,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        db = f"sqlite:{tmp}/metrics.db"
        subprocess.run([str(binary), "import", "--db", db, str(reference.FIXTURE)],
                       check=True, timeout=60, capture_output=True)
        port = free_port()
        log = open(Path(tmp) / "persist.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [str(binary), "--db", db, "--listen", f"127.0.0.1:{port}", "--no-consume",
             "--token-file", str(sec / "api-tokens"), "--tls-cert", str(sec / "server.pem"),
             "--tls-key", str(sec / "server-key.pem")],
            stdout=log, stderr=subprocess.STDOUT)
        url, ca = f"https://127.0.0.1:{port}", sec / "ca.pem"
        try:
            deadline = time.monotonic() + 20
            while not _answers(url, ca, token):
                assert proc.poll() is None, f"csg-persist exited with {proc.returncode}"
                assert time.monotonic() < deadline, "csg-persist (TLS) did not answer"
                time.sleep(0.1)
            yield url, token, ca
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def test_without_token_one_banner(secure_api: tuple[str, str, Path],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url, _token, ca = secure_api
    monkeypatch.setenv("CSG_API_URL", url)
    monkeypatch.setenv("CSG_API_CA_FILE", str(ca))
    monkeypatch.delenv("CSG_API_TOKEN", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    banners = [e.value for e in at.error]
    assert len(banners) == 1 and "refused the dashboard's token" in banners[0], banners
    assert "CSG_API_TOKEN" in banners[0] and "401" in banners[0]


def test_with_token_and_ca_same_kpis(secure_api: tuple[str, str, Path], events: list[dict],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url, token, ca = secure_api
    monkeypatch.setenv("CSG_API_URL", url)
    monkeypatch.setenv("CSG_API_CA_FILE", str(ca))
    monkeypatch.setenv("CSG_API_TOKEN", token)
    monkeypatch.setenv("CSG_REFRESH_SECONDS", "5")
    at = run_app()
    assert not at.error, [e.value for e in at.error]
    assert_kpis(at, events)
