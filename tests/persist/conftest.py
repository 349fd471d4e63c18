"""pytest fixtures for csg-persist's integration tests."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import csgp
import pytest


@pytest.fixture(scope="session", autouse=True)
def services() -> Iterator[None]:
    """The shared test PostgreSQL (and Kafka, when a test asks for it) are up; the
    databases and topics the tests created are dropped at the end."""
    assert csgp.BIN.exists(), f"{csgp.BIN} not built"
    subprocess.run([str(csgp.ROOT / "tests/lib/need-postgres")], check=True)
    yield
    if csgp.CREATED_DATABASES:
        # One psql for all of them (each -c its own transaction, as DROP DATABASE needs):
        # a scripts/postgres process per database made this teardown tens of seconds.
        drops = [arg for name in csgp.CREATED_DATABASES
                 for arg in ("-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')]
        subprocess.run(
            [str(csgp.ROOT / "scripts/postgres"), "psql", "postgres", "--port",
             str(csgp.PG_PORT), "--", "-q", *drops],
            capture_output=True,
            check=False,
        )
    csgp.delete_topics(csgp.CREATED_TOPICS)


@pytest.fixture(scope="session")
def kafka() -> str:
    subprocess.run([str(csgp.ROOT / "tests/lib/need-kafka")], check=True)
    return csgp.KAFKA


@pytest.fixture(params=["pg", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> csgp.Database:
    if request.param == "pg":
        return csgp.new_pg_database()
    return csgp.new_sqlite_database(tmp_path)


@pytest.fixture(scope="module", params=["pg", "sqlite"])
def module_database(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> csgp.Database:
    """One database per backend shared by a module's tests that only read what the
    module loaded once (loading is most of such a test's time)."""
    if request.param == "pg":
        return csgp.new_pg_database()
    return csgp.new_sqlite_database(tmp_path_factory.mktemp("db"))


@pytest.fixture
def pg_database() -> csgp.Database:
    return csgp.new_pg_database()


@pytest.fixture
def procs() -> Iterator[list[csgp.Persist]]:
    """csg-persist processes started by a test; stopped afterwards with SIGTERM (so an
    ASan build runs its leak check at exit), killed if that does not work."""
    started: list[csgp.Persist] = []
    yield started
    for p in started:
        if p.proc is not None and p.proc.alive():
            with contextlib.suppress(AssertionError):  # stop() killed it
                p.stop()
