"""pytest set-up of the fault suite: one stack for all scenarios (the suite's own
PostgreSQL and Kafka broker, both models, csg-persist, csg-gateway), torn down at the
end; the count table is printed after the run and kept in $CSG_TEST_VAR/faults/."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import faultlib as fl
import pytest


@dataclass
class Stack:
    pg: fl.PgCluster
    broker: fl.Broker
    topic: str
    champion: fl.Model
    challenger: fl.Model
    persist: fl.Persist
    gateway: fl.Gateway


@pytest.fixture(scope="session", autouse=True)
def clean_previous_run() -> Iterator[None]:
    """Gateway dirs (config, spool) and csg-persist logs of earlier runs; at the very end,
    whatever daemon is still running (the last safety net; `stack` reaps first)."""
    for d in fl.VAR.glob("gw*-*"):
        shutil.rmtree(d, ignore_errors=True)
    for f in fl.VAR.glob("persist-*.log"):
        f.unlink(missing_ok=True)
    yield
    fl.reap_all()


@pytest.fixture(scope="session")
def pg() -> Iterator[fl.PgCluster]:
    c = fl.PgCluster()
    c.up()
    c.create_database()
    yield c
    c.up()  # a failed scenario may have left it stopped
    c.drop_database()
    c.down()


@pytest.fixture(scope="session")
def broker() -> Iterator[fl.Broker]:
    b = fl.Broker()
    b.up()
    yield b
    b.down()


@pytest.fixture(scope="session")
def stack(pg: fl.PgCluster, broker: fl.Broker) -> Iterator[Stack]:
    topic = fl.create_topic(broker.bootstrap, f"faults-{uuid.uuid4().hex[:8]}")
    champion = fl.Model("champion").start()
    challenger = fl.Model("challenger").start()
    persist = fl.Persist(pg, broker.bootstrap, topic, f"csg-faults-{topic}").start()
    gw = fl.Gateway(broker.bootstrap, topic, champion.port, challenger.port).start()
    s = Stack(pg, broker, topic, champion, challenger, persist, gw)
    yield s
    # Tests replace s.gateway / s.persist when they restart them. Each stop is attempted
    # even if one before it failed, then anything still running (a process whose restart
    # failed an assertion) is reaped, so no daemon outlives the suite.
    try:
        for stop in (s.gateway.stop, s.persist.stop, s.champion.stop, s.challenger.stop):
            with contextlib.suppress(Exception):
                stop()
    finally:
        fl.reap_all()
    try:
        broker.up()
        fl.delete_topic(broker.bootstrap, topic)
    except AssertionError:
        pass


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not fl.TABLE:
        return
    text = fl.format_table(fl.TABLE)
    terminalreporter.write_line("")
    for line in text.splitlines():
        terminalreporter.write_line(line)
    fl.VAR.mkdir(parents=True, exist_ok=True)
    (fl.VAR / "count-table.txt").write_text(text + "\n")
