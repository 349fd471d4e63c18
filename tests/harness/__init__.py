"""The Python test harness: what every suite under tests/ shares (issue 18).

Importable as ``harness`` without sys.path edits: pytest.ini sets ``pythonpath = tests``
(scripts run outside pytest, such as bench/, set PYTHONPATH=tests or add tests/ once).

API (small on purpose; domain helpers stay beside their suites and use these):

  env       ROOT, BUILD, TEST_VAR, UNDER_SANITIZER, SLOW (timeout factor under ASan)
  ports     free_port() -> int          a loopback port reserved by the OS, no race
  waits     wait_for(pred, timeout, what) -> pred's truthy value, else AssertionError
            wait_until(pred, timeout) -> bool   (same poll, no exception)
            http_ok(port, path) / port_open(port)   readiness predicates
  procs     Proc(name, argv, log_dir=...)  a child with its output in a log file;
            .alive() .pid .log() .tail() .signal(sig) .stop() -> rc .cpu_seconds() .rss_kb()
            Proc.ready(pred, timeout, what)  wait for readiness or fail with the log tail
            fixture `procs` (tests/conftest.py): procs.start(...) stops at test end and
            prints the logs of a failed test; every Proc is stopped at session end anyway
  events    read_events(path) -> list[dict]   whole NDJSON lines only (a writer may be
            half-way through the last one); wait_events(path, n, timeout)

Timeouts given to wait_for / wait_until / Proc.stop are multiplied by SLOW (4 under the
ASan+UBSan build, else 1): tests state the time a normal build needs.
"""

from harness.env import BUILD, ROOT, SLOW, TEST_VAR, UNDER_SANITIZER
from harness.events import read_events, wait_events
from harness.ports import free_port
from harness.procs import Proc, stop_all
from harness.waits import http_ok, port_open, wait_for, wait_until

__all__ = [
    "BUILD", "ROOT", "SLOW", "TEST_VAR", "UNDER_SANITIZER", "Proc", "free_port", "http_ok",
    "port_open", "read_events", "stop_all", "wait_events", "wait_for", "wait_until",
]
