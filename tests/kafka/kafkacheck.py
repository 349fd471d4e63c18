"""Read a whole topic back with a real Kafka consumer (confluent-kafka).

Used by the Kafka integration tests: `read_topic` returns every message;
`count_ids` checks a set of expected event_ids against what is on the topic and
reports lost and duplicate counts. Also a CLI:

    python tests/kafka/kafkacheck.py --bootstrap 127.0.0.1:9192 --topic T \
        --prefix drv --count 5000 [--start 0] [--timeout 60]

prints {"expected":N,"found":N,"lost":N,"duplicates":N,...} and exits 0 only
when nothing was lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, TopicPartition


@dataclass
class Message:
    key: str | None
    value: dict
    partition: int
    offset: int


def _end_offsets(consumer: Consumer, topic: str, timeout: float) -> dict[int, int]:
    md = consumer.list_topics(topic, timeout=timeout)
    parts = md.topics[topic].partitions
    ends = {}
    for p in parts:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        ends[p] = high
    return ends


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every message on `topic` up to the high-water marks taken now."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"csg-check-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "log_level": 0,
        }
    )
    try:
        ends = _end_offsets(consumer, topic, timeout)
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        pos = {p: 0 for p in ends}
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while any(pos[p] < ends[p] for p in ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: at {pos}, end {ends}")
            for m in consumer.consume(num_messages=5000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(str(m.error()))
                pos[m.partition()] = m.offset() + 1
                key = m.key().decode() if m.key() is not None else None
                out.append(Message(key, json.loads(m.value()), m.partition(), m.offset()))
        return out
    finally:
        consumer.close()


@dataclass
class IdReport:
    expected: int
    found: int
    lost: int
    duplicates: int
    lost_sample: list[str] = field(default_factory=list)
    unexpected: int = 0

    def as_dict(self) -> dict:
        return self.__dict__


def count_ids(messages: list[Message], expected: list[str]) -> IdReport:
    counts = Counter(m.value.get("event_id") for m in messages)
    want = set(expected)
    lost = [e for e in expected if counts[e] == 0]
    dups = sum(c - 1 for e, c in counts.items() if e in want and c > 1)
    unexpected = sum(c for e, c in counts.items() if e not in want)
    return IdReport(len(expected), len(want) - len(lost), len(lost), dups, lost[:5], unexpected)


def wait_for_ids(
    bootstrap: str, topic: str, expected: list[str], timeout: float
) -> tuple[IdReport, list[Message]]:
    """Re-read the topic until every expected id is there or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = read_topic(bootstrap, topic, timeout=max(5.0, deadline - time.monotonic()))
        rep = count_ids(msgs, expected)
        if rep.lost == 0 or time.monotonic() > deadline:
            return rep, msgs
        time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    expected = [f"{a.prefix}-{i}" for i in range(a.start, a.start + a.count)]
    rep, msgs = wait_for_ids(a.bootstrap, a.topic, expected, a.timeout)
    bad_keys = sum(1 for m in msgs if m.key != m.value.get("applicant_id"))
    print(json.dumps({**rep.as_dict(), "messages": len(msgs), "bad_keys": bad_keys}))
    return 0 if rep.lost == 0 and bad_keys == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
