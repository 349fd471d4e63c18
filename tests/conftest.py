"""Shared pytest setup of every suite under tests/ (the harness package: tests/harness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.procs import Procs, stop_all


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keep each phase's report on the item, so fixtures can tell a failed test.
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture
def procs(request: pytest.FixtureRequest) -> Iterator[Procs]:
    """Processes of one test: procs.start(name, argv, ...) -> harness.Proc. All are
    stopped after the test; when it failed, their log tails are printed."""
    ps = Procs()
    yield ps
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed and ps.started:
        print(f"\n=== logs of {request.node.nodeid}:{ps.logs()}")
    ps.stop()


@pytest.fixture(scope="session", autouse=True)
def _stop_leftover_processes() -> Iterator[None]:
    yield
    stop_all()
