"""Experiment control through the real csg-gateway (http.so + rest.so), DESIGN §3/§6:
a challenger's guardrail suspends it when it starts failing (HTTP 500s) or answering in
2 s, the champion path stays intact, and a trial share after the cool-down brings it
back once healthy; `schedule:` keeps challengers off outside its window."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import pytest
from gwlib import (
    GATEWAY_BIN,
    PLUGIN_DIR,
    HttpConn,
    TinyModel,
    applications,
    start_model,
)
from harness import free_port, read_events, wait_for, wait_until
from test_gateway import Gateway, rest_challenger

CHAL = "challenger-flaky"


class FlakyModel(TinyModel):
    """A model API whose behaviour the test switches: healthy (200 with a score),
    failing (HTTP 500) or slow (answers after `delay` seconds)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 2.0
        super().__init__(self._answer, content_length=True)
        # The gateway gives up on a slow answer and closes: the late write's broken pipe
        # is expected, not worth a traceback.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        if self.mode == "slow":
            time.sleep(self.delay)  # the fault being tested, not synchronisation
        if self.mode == "error":
            return 500, b'{"error":"boom"}'
        return 200, b'{"score":0.61,"decision":"approve"}'


@pytest.fixture(scope="module")
def champion_port() -> Iterator[int]:
    port = free_port()
    p = start_model("champion", port)
    yield port
    p.stop()


def metric(port: int, name: str) -> float | None:
    c = HttpConn(port)
    try:
        text = c.request("GET", "/metrics").body.decode()
    finally:
        c.close()
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else None


def suspended(port: int) -> float | None:
    return metric(port, f'csg_challenger_suspended{{model="{CHAL}"}}')


def drive(port: int, apps: list[dict]) -> None:
    """Send apps; every reply must be the champion's 200 whatever the challenger does."""
    c = HttpConn(port)
    try:
        for a in apps:
            r = c.score(a)
            assert r.status == 200, r.body
            assert r.json()["model"] == "champion-scorecard-v2"
    finally:
        c.close()


def drive_until(port: int, pred, apps: list[dict], timeout: float) -> bool:
    """Send batches of apps until pred() holds (bounded by timeout seconds)."""
    it = iter(range(10**9))

    def step() -> bool:
        i = next(it) % (len(apps) // 20)
        drive(port, apps[i * 20:(i + 1) * 20])
        return bool(pred())

    return wait_until(step, timeout, every=0.01)


@pytest.mark.parametrize("fault", ["error", "slow"])
def test_guardrail_suspends_and_resumes(champion_port: int, fault: str) -> None:
    flaky = FlakyModel()
    guard = ("{ max_error_rate: 0.2, max_p99_ms: 250, window_s: 3, min_calls: 10, "
             "cooldown_s: 1 }")
    chal = rest_challenger(flaky.port, 1.0, name=CHAL, timeout_ms=400) | {
        "pool_size": 64, "guardrail": guard}
    g = Gateway(champion_port, [chal])
    apps = applications(400, seed=33)
    try:
        drive(g.port, apps[:40])
        assert suspended(g.port) == 0
        flaky.mode = fault
        # Suspended within the window: the breach is seen after min_calls bad calls.
        assert drive_until(g.port, lambda: suspended(g.port) == 1, apps, 15), g.proc.log()[-3000:]
        assert metric(g.port, f'csg_challenger_suspensions_total{{model="{CHAL}"}}') >= 1
        ready = HttpConn(g.port).request("GET", "/readyz")
        assert ready.status == 200  # the champion still serves
        states = {c["model"]: c["state"] for c in ready.json()["challengers"]}
        assert states[CHAL] in ("suspended", "trial"), states
        # Healthy again: after the cool-down the trial share brings it back.
        flaky.mode = "ok"
        assert drive_until(g.port, lambda: suspended(g.port) == 0, apps, 30), g.proc.log()[-3000:]
        log = g.proc.log()
        assert "suspended by its guardrail" in log and f"challenger {CHAL} resumed" in log
        events = g.wait_events(60)
        held = [e for e in events if e["status"] == "CHALLENGER_SUSPENDED"]
        assert held, "no event says the challenger was held off"
        for e in held:
            assert e["challenger_model"] == CHAL
            assert e["challenger_score"] is None and e["latency_challenger_ms"] is None
            assert e["champion_score"] is not None
        assert any(e["status"] == "OK" and e["challenger_score"] is not None
                   for e in events[-20:]), "not resumed in the events"
        # The calls of the trial share say so (csg-persist leaves them out of the SRM count):
        # at least min_calls of them, all after the suspension; once resumed, none.
        trial = [i for i, e in enumerate(events)
                 if e["challengers"] and e["challengers"][0].get("trial") is True]
        assert len(trial) >= 10, "the trial share's calls are not marked"
        assert min(trial) > events.index(held[0])
        after = [dict(a, applicant_id=f"after-{i}") for i, a in enumerate(apps[:20])]
        drive(g.port, after)

        def after_events() -> list[dict] | None:
            got = [e for e in read_events(g.events) if e["applicant_id"].startswith("after-")]
            return got if len(got) >= 20 else None

        resumed = wait_for(after_events, 20, "the events of the requests after the resumption")
        assert all(e["challengers"] and "trial" not in e["challengers"][0] for e in resumed)
    finally:
        assert g.stop() == 0, g.proc.log()
        flaky.stop()


def test_schedule_keeps_challengers_off_outside_it(champion_port: int) -> None:
    flaky = FlakyModel()
    chal = rest_challenger(flaky.port, 1.0, name=CHAL)
    g = Gateway(champion_port, [chal])
    try:
        cfg = g.config.read_text().replace(
            "  reply: after_champion",
            '  reply: after_champion\n  schedule: { start: "2020-01-01T00:00:00Z", '
            'end: "2020-02-01T00:00:00Z" }')
        g.config.write_text(cfg)
        g.proc.signal(1)  # SIGHUP
        assert wait_until(lambda: "configuration reloaded" in g.proc.log(), 10), g.proc.log()
        n0 = len(g.read_events())
        drive(g.port, applications(10, seed=5))
        events = g.wait_events(n0 + 10)[n0:]
        assert all(e["challenger_model"] is None for e in events), events[:2]
    finally:
        assert g.stop() == 0, g.proc.log()
        flaky.stop()


def test_guardrail_and_schedule_are_checked(tmp_path) -> None:
    """--check-config names the bad keys with their lines."""
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"""gateway: {{ plugin_dir: {PLUGIN_DIR} }}
transports: [ {{ plugin: http.so, listen: "127.0.0.1:1" }} ]
experiment:
  id: e
  schedule: {{ start: "tomorrow" }}
champion: {{ name: c, adapter: rest.so, url: "http://127.0.0.1:1/score",
             guardrail: {{ max_error_rate: 0.1 }} }}
challengers:
  - name: h
    adapter: rest.so
    url: http://127.0.0.1:1/score
    weight: 0.5
    guardrail: {{ max_error_rate: 2, window: 5 }}
""")
    r = subprocess.run([str(GATEWAY_BIN), "--check-config", str(cfg)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 1
    err = r.stderr
    assert re.search(r"e.yaml:5: .*\"start\" must be an RFC 3339 UTC time", err), err
    assert re.search(r"e.yaml:7: \"guardrail\" is only allowed for a challenger", err), err
    assert re.search(r"e.yaml:13: .*max_error_rate", err), err
    assert re.search(r'e.yaml:13: unknown key "window" in guardrail', err), err


def audit_records(g: Gateway) -> list[dict]:
    path = g.events.with_name(g.events.name + ".audit")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_promote_then_rollback_with_audit_trail(champion_port: int) -> None:
    """promote rewrites the config, reloads the running gateway and the audit trail says
    so; rollback restores the previous file and version. Audit records go to
    PATH.audit with a file sink, never into the events."""
    g = Gateway(champion_port, [rest_challenger(champion_port, 0.3, name="challenger-gbm-v2")])
    try:
        pid_file = g.dir / "gateway.pid"
        pid_file.write_text(f"{g.proc.p.pid}\n")
        assert wait_until(lambda: len(audit_records(g)) == 1, 10), g.proc.log()
        start = audit_records(g)[0]
        assert start["action"] == "start" and start["champion"] == "champion-scorecard-v2"
        assert start["challengers"] == [{"name": "challenger-gbm-v2", "weight": 0.3,
                                         "mode": "shadow", "ranges": None, "guardrail": False}]
        assert re.fullmatch(r"[0-9a-f]{16}", start["config_version"])

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(GATEWAY_BIN), *args, "--config", str(g.config),
                                   "--pid-file", str(pid_file)], capture_output=True,
                                  text=True, check=False, timeout=60)

        bad = run("promote", "--challenger", "no-such-model")
        assert bad.returncode == 1 and "no challenger named" in bad.stderr
        r = run("promote", "--challenger", "challenger-gbm-v2")
        assert r.returncode == 0, (r.stdout, r.stderr, g.proc.log()[-2000:])
        assert "reloaded" in r.stdout
        promoted = audit_records(g)[1]
        assert promoted["action"] == "promote" and "@" in promoted["applied_by"]
        assert promoted["champion"] == "challenger-gbm-v2"
        assert [(c["name"], c["weight"]) for c in promoted["challengers"]] == [
            ("champion-scorecard-v2", 0.3)]
        assert promoted["config_version"] != start["config_version"]
        c = HttpConn(g.port)
        assert c.score(applications(1, seed=9)[0]).json()["model"] == "challenger-gbm-v2"

        r = run("rollback")
        assert r.returncode == 0, (r.stdout, r.stderr)
        back = audit_records(g)[2]
        assert back["action"] == "rollback"
        assert back["config_version"] == start["config_version"]
        assert c.score(applications(1, seed=9)[0]).json()["model"] == "champion-scorecard-v2"
        c.close()
        assert run("rollback").returncode == 1  # nothing saved to roll back to
        g.proc.signal(1)
        assert wait_until(lambda: len(audit_records(g)) == 4, 10)
        assert audit_records(g)[3]["action"] == "reload"
        assert all("action" not in e for e in g.read_events())
    finally:
        assert g.stop() == 0, g.proc.log()
