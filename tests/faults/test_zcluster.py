"""3-broker KRaft cluster (issue 11 part 2; scripts/kafka cluster, replication factor 3,
min.insync.replicas=2): the leader of a partition is bounced under load — once in the
short suite (kill -9), five times alternating SIGTERM / kill -9 in the long one — and
nothing answered is lost or stored twice. Runs after the single-broker scenarios (file
name), with the same PostgreSQL and models. CSG_FAULTS_CLUSTER=0 skips it."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import faultlib as fl
import pytest
from confluent_kafka.admin import AdminClient
from conftest import Stack
from faultlib import LONG, Load, account, wait_for

pytestmark = pytest.mark.skipif(os.environ.get("CSG_FAULTS_CLUSTER", "1") == "0",
                                reason="CSG_FAULTS_CLUSTER=0")


class Cluster:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in fl.CLUSTER_PORTS)
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

    def kafka(self, *args: str) -> None:
        fl.run(str(fl.ROOT / "scripts" / "kafka"), "cluster", *args, "--quiet",
               "--ports", ",".join(map(str, fl.CLUSTER_PORTS)), "--data", str(self.data),
               timeout=300)

    def pid(self, node: int) -> int:
        return int((self.data / f"node{node}" / "broker.pid").read_text().strip())

    def partitions(self, topic: str) -> dict:
        return self.admin.list_topics(topic, timeout=5).topics[topic].partitions

    def leader(self, topic: str, partition: int = 0) -> int:
        return self.partitions(topic)[partition].leader

    def all_in_sync(self, topic: str) -> bool:
        return all(p.leader >= 0 and len(p.isrs) == 3
                   for p in self.partitions(topic).values())


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster(fl.VAR / "cluster")
    props = c.data / "node1" / "server.properties"
    if props.exists() and f"127.0.0.1:{fl.CLUSTER_PORTS[0]}," not in props.read_text():
        # Formatted for other ports: the KRaft voter set would not match; start afresh.
        shutil.rmtree(c.data)
    try:
        c.kafka("up")
        yield c
    finally:
        c.kafka("down")


def test_bounce_partition_leader(stack: Stack, cluster: Cluster) -> None:
    bounces = 5 if LONG else 1
    topic = fl.create_topic(cluster.bootstrap, f"faults-rf3-{uuid.uuid4().hex[:8]}", rf=3)
    persist = fl.Persist(stack.pg, cluster.bootstrap, topic, f"csg-faults-{topic}").start()
    gw = fl.Gateway(cluster.bootstrap, topic, stack.champion.port, stack.challenger.port,
                    name="gw-cluster").start()
    done: list[str] = []
    try:
        load = Load(gw.port, "f9", 200)
        wait_for(lambda: load.answered() >= 300, 30, "load running")
        for b in range(bounces):
            old = cluster.leader(topic)
            sig = signal.SIGKILL if b % 2 == 0 else signal.SIGTERM
            pid = cluster.pid(old)
            os.kill(pid, sig)
            t0 = time.monotonic()
            wait_for(lambda o=old: cluster.leader(topic) not in (o, -1), 60,
                     "a new partition leader")
            failover = time.monotonic() - t0
            wait_for(lambda p=pid: not fl.pid_alive(p), 60, f"node {old} stopped")
            cluster.kafka("up")  # restarts the missing node
            wait_for(lambda: cluster.all_in_sync(topic), 120, "ISR back to 3", every=0.5)
            done.append(f"node {old} {signal.Signals(sig).name}, new leader after "
                        f"{failover:.1f}s")
            a = load.answered()
            wait_for(lambda a=a: load.answered() >= a + 200, 30, "load after the bounce")
        load.finish()
        wait_for(lambda: gw.metric("csg_spool_bytes") == 0, 120, "empty spool", every=0.5)
        c = account(f"3-broker leader bounce x{bounces}", load, stack.pg, timeout=120)
        m = gw.metrics()
        c.notes.update(bounces=done, spooled=fl.events_total(m, "spooled"),
                       dropped=fl.events_total(m, "dropped"))
        c.notes.update(fl.topic_report(cluster.bootstrap, topic, load.ids()))
        print(f"\n{fl.format_table([c])}")
        assert c.lost == 0 and c.dup_rows == 0 and c.errors == 0 and c.unanswered == 0, c
        assert c.notes["topic_missing"] == 0, c.notes
    finally:
        gw.stop()
        persist.stop()
        fl.delete_topic(cluster.bootstrap, topic)
