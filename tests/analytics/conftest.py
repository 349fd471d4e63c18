"""Fixtures for the outcome-analytics tests: real csg-persist on the shared test
PostgreSQL and on SQLite (helpers from tests/persist/csgp.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from persist import csgp


@pytest.fixture(scope="session", autouse=True)
def services() -> None:
    assert csgp.BIN.exists(), f"{csgp.BIN} not built"
    subprocess.run([str(csgp.ROOT / "tests/lib/need-postgres")], check=True)


@pytest.fixture(params=["pg", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> csgp.Database:
    if request.param == "pg":
        return csgp.new_pg_database()
    return csgp.new_sqlite_database(tmp_path)


@pytest.fixture
def procs() -> Iterator[list[csgp.Persist]]:
    started: list[csgp.Persist] = []
    yield started
    for p in started:
        if p.proc is not None:
            p.proc.kill()
