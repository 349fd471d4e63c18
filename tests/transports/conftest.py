"""Fixtures for transport tests: a csg-transport-stub running tcp.so / grpc.so.

The stub answers every request itself (see tests/transports/csg_stub_gateway.c),
so these tests check the transports' framing, ordering and flow control alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from harness import BUILD, TEST_VAR, UNDER_SANITIZER, free_port, wait_for

VAR = TEST_VAR
STUB = BUILD / "tests" / "csg-transport-stub"
PLUGINS = BUILD / "lib" / "csg"


@dataclass
class Stub:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    counts_path: Path
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    def terminate(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def counts(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for line in self.counts_path.read_text().splitlines():
            t, s, n = line.split()
            out[(t, s)] = out.get((t, s), 0) + int(n)
        return out

    def wait_submitted(self, applicant_id: str, deadline_s: float = 10.0) -> None:
        """Wait until the stub core received applicant_id (needs --trace)."""
        want = f"stub: submit {applicant_id}\n"
        wait_for(lambda: want in self.log_path.read_text(), deadline_s,
                 f"{applicant_id} to reach the core", every=0.01)

    def cpu_seconds(self) -> float:
        """User + system CPU time the stub has used so far (/proc/PID/stat)."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_lines_since(self, offset: int, containing: bytes) -> int:
        """Log lines written after byte offset that contain the given text."""
        n = 0
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            for raw in f:
                n += containing in raw
        return n

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def start_stub(
    transports: list[str], args: list[str] | None = None, name: str = "stub"
) -> Stub:
    """Start the stub with the named plugins (tcp, grpc) on free ports."""
    VAR.mkdir(parents=True, exist_ok=True)
    ports = {t: free_port() for t in transports}
    counts = VAR / f"{name}-{os.getpid()}-{ports[transports[0]]}.counts"
    log = VAR / f"{name}-{os.getpid()}-{ports[transports[0]]}.log"
    cmd = [str(STUB), "--counts", str(counts)]
    for t in transports:
        cmd += ["--transport", f"{PLUGINS / (t + '.so')}=127.0.0.1:{ports[t]}"]
    cmd += args or []
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=logf)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "READY" once every worker runs; EOF on failure
    if line.strip() != b"READY":
        proc.wait(timeout=5)
        raise RuntimeError(f"stub did not start: {log.read_text()}")
    return Stub(proc, ports, counts, log)


@pytest.fixture
def stub_factory() -> Iterator[object]:
    started: list[Stub] = []

    def make(transports: list[str], args: list[str] | None = None) -> Stub:
        s = start_stub(transports, args)
        started.append(s)
        return s

    yield make
    for s in started:
        if s.proc.poll() is None:
            rc = s.terminate()
            assert rc == 0, f"stub exited {rc}: {s.log_path.read_text()[-2000:]}"
        if UNDER_SANITIZER:
            text = s.log_path.read_text()
            assert "ERROR: AddressSanitizer" not in text, text[-4000:]
            assert "runtime error:" not in text, text[-4000:]
