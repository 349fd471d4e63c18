"""Child processes with their output in a log file, always stopped.

Every Proc is registered until it is stopped; stop_all() (run by tests/conftest.py at the
end of the session, and at interpreter exit) stops what is left, so a
failing test or fixture never leaves a service running. The `procs` fixture also prints
the tail of each of its processes' logs when the test failed.
"""

from __future__ import annotations

import atexit
import itertools
import os
import signal as _signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.env import ROOT, SLOW, TEST_VAR
from harness.waits import wait_for

_running: list[Proc] = []
_serial = itertools.count()


class Proc:
    """argv started at once, stdin from /dev/null, stdout+stderr to
    log_dir/<name>-<pid of the test process>-<n>.log (log_dir: $CSG_TEST_VAR/logs)."""

    def __init__(self, name: str, argv: list[str], log_dir: Path | None = None,
                 cwd: Path = ROOT, env: Mapping[str, str] | None = None,
                 new_session: bool = False) -> None:
        log_dir = log_dir or TEST_VAR / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_dir / f"{name}-{os.getpid()}-{next(_serial)}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.p = subprocess.Popen(self.argv, cwd=cwd, stdout=self._log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=None if env is None else dict(env),
                                  start_new_session=new_session)
        _running.append(self)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        return self.log()[-chars:]

    def ready(self, pred: Callable[[], Any], timeout: float, what: str = "") -> Proc:
        """Wait until pred() is true; fail at once if the process exits first, and
        after timeout (× SLOW) otherwise, with the log's tail in the message."""
        what = what or f"{self.name} to be ready"
        try:
            wait_for(lambda: pred() or (None if self.alive() else "exited"), timeout, what)
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}\n--- {self.log_path}:\n{self.tail()}") from None
        if not self.alive():
            rc = self.stop()
            raise AssertionError(f"{self.name} exited ({rc}) before {what}\n"
                                 f"--- {self.log_path}:\n{self.tail()}")
        return self

    def signal(self, sig: int) -> None:
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself (subprocess.TimeoutExpired if not)."""
        return self.p.wait(timeout * SLOW)

    def stop(self, timeout: float = 20.0, sig: int = _signal.SIGTERM) -> int:
        """sig (SIGTERM), then SIGKILL after timeout (× SLOW); the exit status."""
        if self.alive():
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.p.wait()
        self._log.close()
        if self in _running:
            _running.remove(self)
        return self.p.returncode

    def kill(self) -> int:
        return self.stop(sig=_signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (/proc/PID/stat)."""
        stat = Path(f"/proc/{self.p.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def stop_all() -> None:
    """Stop every Proc still registered (the session's safety net)."""
    while _running:
        _running[-1].stop(timeout=5)


atexit.register(stop_all)  # scripts outside pytest (bench) too


class Procs:
    """The `procs` fixture: start() registers the Proc with the current test."""

    def __init__(self) -> None:
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], **kw: Any) -> Proc:
        p = Proc(name, argv, **kw)
        self.started.append(p)
        return p

    def logs(self) -> str:
        return "".join(f"\n--- {p.name} ({p.log_path}):\n{p.tail()}" for p in self.started)

    def stop(self) -> None:
        for p in reversed(self.started):
            p.stop()
