"""pytest setup for tests/kafka: the shared test broker, a second broker that the
fault tests may kill, per-test topics, and the helpers of tests/gateway."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from harness import ROOT, TEST_VAR

SHARED_PORT = int(os.environ.get("CSG_TEST_KAFKA_PORT", "9192"))
# The fault tests kill this one, so they never disturb the shared broker.
FAULT_PORT = int(os.environ.get("CSG_TEST_KAFKA_FAULT_PORT", str(SHARED_PORT + 20)))


class Broker:
    """A scripts/kafka broker: up (idempotent), kill -9, down."""

    def __init__(self, port: int, data: Path) -> None:
        self.port = port
        self.data = data
        self.bootstrap = f"127.0.0.1:{port}"
        self.created: list[str] = []

    def _kafka(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "scripts" / "kafka"), *args, "--port", str(self.port),
             "--data", str(self.data)],
            cwd=ROOT, capture_output=True, text=True, check=check, timeout=180,
        )

    def delete_created(self) -> None:
        """Delete this session's topics so the broker's data does not grow run by run."""
        if not self.created:
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        for fut in admin.delete_topics(self.created, operation_timeout=30).values():
            with contextlib.suppress(KafkaException, TimeoutError):  # best-effort clean-up
                fut.result(timeout=60)
        self.created.clear()

    def up(self) -> None:
        r = self._kafka("up", "--quiet", check=False)
        assert r.returncode == 0, r.stderr[-3000:]

    def down(self) -> None:
        self._kafka("down", "--quiet", check=False)

    def kill9(self) -> None:
        pid = int(self._kafka("pid").stdout.strip())
        os.kill(pid, 9)

    def topic(self, name: str | None = None, partitions: int = 6) -> str:
        """A fresh topic for one test."""
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        self.up()  # idempotent (0.2 s); brings back a broker another run stopped
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        fut = admin.create_topics([NewTopic(name, num_partitions=partitions,
                                            replication_factor=1)], operation_timeout=30)
        fut[name].result(timeout=60)
        self.created.append(name)
        # Wait for leaders so the first produce does not race topic creation.
        for _ in range(200):
            md = admin.list_topics(name, timeout=5)
            t = md.topics.get(name)
            if t and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()
            ):
                break
        return name


@pytest.fixture(scope="session")
def shared_broker() -> Iterator[Broker]:
    r = subprocess.run([str(ROOT / "tests" / "lib" / "need-kafka")], check=False, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    b = Broker(SHARED_PORT, TEST_VAR / "kafka")
    yield b
    b.delete_created()


@pytest.fixture(scope="session")
def fault_broker() -> Iterator[Broker]:
    b = Broker(FAULT_PORT, TEST_VAR / "kafka-faults")
    b.up()
    yield b
    b.delete_created()
    b.down()
