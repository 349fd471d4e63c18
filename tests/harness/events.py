"""The one reader of the gateway's events file (NDJSON, one MetricEvent a line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.waits import wait_for


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every whole line of path as a dict ([] before the file exists). A line not yet
    ended by a newline is left out: the sink may be half-way through writing it."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    text = text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_events(path: Path, n: int, timeout: float = 20) -> list[dict[str, Any]]:
    """All events of path once there are at least n (AssertionError after timeout)."""

    def enough() -> list[dict[str, Any]] | None:
        events = read_events(path)
        return events if len(events) >= n else None

    try:
        return wait_for(enough, timeout, f"{n} events in {path}")
    except AssertionError as e:
        raise AssertionError(f"{e}: {len(read_events(path))} there") from None
