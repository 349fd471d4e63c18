"""e2e: `csg-replay` (issue 23, DESIGN §10) on a private stack (tests/analytics/gwstack.py).

The demo replays the hold-out as live traffic (challenger at 100%) and posts the outcomes;
then csg-replay backtests stored applications from csg-persist's GET /export/events:
- through the bundled GBM (rest.so → csg-model, the live challenger): its report's ΔAUC,
  CI and swap sets equal the live run's /metrics/performance to 1e-9, and once its events
  are stored (experiment replay-…, transport replay) the API gives the same numbers and
  the dashboard filtered to that experiment shows them;
- through the in-process example challenger-scorecard.so: the report is printed and
  --require-better exits as the CI says (0 above zero, else 3);
- a hanging candidate (the fixture adapter answering after 60 s, timeout 100 ms) is
  bounded and counted; a crashing one (SIGSEGV) gives a partial report; both exit 4;
- Ctrl-C gives a clean partial report (exit 130): every event it counted is stored, no more.
GET /export/events validates its parameters (400 invalid_parameter) and pages by id.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gwstack import NEEDED, ROOT, Stack, wait
from persist import csgp
from streamlit.testing.v1 import AppTest
from test_e2e_demo import demo_application_block, holdout

REPLAY = csgp.BUILD / "bin" / "csg-replay"
SCORECARD = csgp.BUILD / "lib" / "csg" / "challenger-scorecard.so"
FIXTURE = csgp.BUILD / "tests" / "fixtures" / "good_adapter.so"

pytestmark = [
    pytest.mark.skipif(not all(p.exists() for p in [*NEEDED, REPLAY, SCORECARD, FIXTURE]),
                       reason="needs the gateway, csg-replay, model services and plugins built"),
    pytest.mark.skipif(os.environ.get("CSG_UNDER_SANITIZER") == "1",
                       reason="e2e runs once, on the regular build"),
]

LIVE = "exp-demo-e2e"  # the experiment id gwstack's configs use


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("replay", numbered=True),
              application=demo_application_block())
    yield s
    s.close()


@pytest.fixture(scope="module")
def live(stack: Stack) -> dict:
    """The demo run: every hold-out applicant scored by both models, outcomes posted."""
    proc = stack.demo("--rate", "1000")
    text, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, text
    return paired_performance(stack, LIVE, len(holdout()))


def paired_performance(stack: Stack, experiment: str, n: int) -> dict:
    """/metrics/performance of experiment once n applicants are paired (polled)."""
    def ready() -> dict | None:
        p = stack.persist.get("/metrics/performance", experiment_id=experiment).json()
        return p if p["models"] and p["models"][0]["count"] == n else None
    return wait(ready, 60, f"{n} paired applicants of {experiment} to be stored")


def candidate_config(stack: Stack, name: str, block: str) -> Path:
    """The demo config plus one more challenger (block: its YAML lines under the name)."""
    text = stack.demo_cfg.read_text()
    extra = f"  - name: {name}\n" + "".join(f"    {line}\n" for line in block.splitlines())
    path = stack.dir / f"{name}.yaml"
    path.write_text(text.replace("\nevents:\n", "\n" + extra + "events:\n", 1))
    return path


def replay(stack: Stack, config: Path, name: str, out: Path, *args: str,
           **popen: object) -> subprocess.Popen:
    cmd = [str(REPLAY), "--config", str(config), "--challenger", name,
           "--api", stack.persist.url, "--json", str(out), *args]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)  # type: ignore[call-overload]


def run(stack: Stack, config: Path, name: str, tmp: Path, *args: str) -> tuple[int, str, dict]:
    out = tmp / f"{name}.json"
    p = replay(stack, config, name, out, *args)
    text, _ = p.communicate(timeout=180)
    return p.returncode, text, json.loads(out.read_text())


def close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) < 1e-9


def same_comparison(rep: dict, perf: dict) -> None:
    """rep (a replay report or /metrics/performance) has perf's ΔAUC, CI and swap sets."""
    want, got = perf["promotion"][0], rep["promotion"][0]
    assert close(got["delta_auc"], want["delta_auc"]), (got, want)
    assert all(close(a, b) for a, b in zip(got["ci95"], want["ci95"], strict=True)), (got, want)
    sw_want, sw_got = perf["swap_sets"][0], rep["swap_sets"][0]
    for k in ("champion_only", "challenger_only", "both_approve", "both_decline"):
        assert sw_got[k]["count"] == sw_want[k]["count"], (k, sw_got, sw_want)
        assert sw_got[k]["bad_rate"] == sw_want[k]["bad_rate"] or close(
            sw_got[k]["bad_rate"], sw_want[k]["bad_rate"]), (k, sw_got, sw_want)
    assert close(rep["psi"][0]["psi"], perf["psi"][0]["psi"])


def test_gbm_replay_equals_live_run(stack: Stack, live: dict, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    n = len(holdout())
    code, text, rep = run(stack, stack.demo_cfg, "challenger-gbm-v2", tmp_path,
                          "--require-better", "--concurrency", "16")
    print(text)
    assert "Replay report" in text and "ΔAUC" in text, text
    assert rep["complete"] and rep["rows"] == rep["scored"] == n, rep
    assert rep["errors"] == rep["timeouts"] == rep["skipped"] == 0
    assert rep["source_experiment"] == LIVE and rep["experiment_id"].startswith(
        "replay-challenger-gbm-v2-")
    assert rep["paired"] == n and rep["latency_ms"]["p50"] > 0
    same_comparison(rep, live)
    # The same keys as /metrics/performance's promotion entry, at the top (DESIGN §10).
    assert rep["delta_auc"] == rep["promotion"][0]["delta_auc"]
    assert rep["outcome"] == live["promotion"][0]["outcome"]
    assert code == (0 if rep["ci95"][0] > 0 else 3), text
    # Its events went through the sink into csg-persist: the API says the same.
    exp = rep["experiment_id"]
    perf = paired_performance(stack, exp, n)
    same_comparison(rep, perf)
    rows = stack.db.query("SELECT DISTINCT transport, challenger_model FROM credit_score_metrics "
                          "WHERE experiment_id = ?", (exp,))
    assert rows == [("replay", "challenger-gbm-v2")]
    # The live experiment got nothing new.
    assert stack.persist.get("/metrics/events", experiment_id=LIVE).json()["total"] == n
    # The dashboard, filtered to the replay experiment, shows it.
    monkeypatch.setenv("CSG_API_URL", stack.persist.url)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert exp in at.sidebar.selectbox(key="f_experiment").options
    at.sidebar.selectbox(key="f_experiment").set_value(exp).run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Total requests"] == f"{n:,}"


def test_scorecard_report_and_require_better(stack: Stack, live: dict, tmp_path: Path) -> None:
    cfg = candidate_config(stack, "challenger-scorecard-v1",
                           f"adapter: {SCORECARD}\nweight: 0.0\ntimeout_ms: 200")
    code, text, rep = run(stack, cfg, "challenger-scorecard-v1", tmp_path, "--require-better",
                          "--labelled-only")
    print(text)
    assert "Replay report" in text and "swap sets" in text and "PSI" in text, text
    assert rep["complete"] and rep["scored"] == len(holdout()) and rep["paired"] > 0
    lo = rep["ci95"][0]
    assert code == (0 if lo > 0 else 3), (code, rep["ci95"], text)
    assert ("not met" in text) == (code == 3)


def test_hanging_candidate_is_bounded(stack: Stack, live: dict, tmp_path: Path) -> None:
    cfg = candidate_config(stack, "fixture-hang",
                           f"adapter: {FIXTURE}\nweight: 0.0\ntimeout_ms: 100\ndelay_ms: 60000")
    code, text, rep = run(stack, cfg, "fixture-hang", tmp_path, "--concurrency", "2")
    assert code == 4, text
    assert "hung 3 times" in rep["stopped"] and not rep["complete"]
    assert rep["timeouts"] == rep["rows"] == 6 and rep["scored"] == 0, rep
    assert "Replay report" in text and "PARTIAL" in text


def test_crashing_candidate_gives_partial_report(stack: Stack, live: dict,
                                                 tmp_path: Path) -> None:
    cfg = candidate_config(stack, "fixture-crash",
                           f"adapter: {FIXTURE}\nweight: 0.0\ntimeout_ms: 500\ncrash_after: 50")
    code, text, rep = run(stack, cfg, "fixture-crash", tmp_path, "--concurrency", "4")
    assert code == 4, text
    assert "killed by signal" in rep["stopped"], rep["stopped"]  # SIGSEGV (ASan: SIGABRT)
    assert 0 < rep["scored"] < 50 and rep["rows"] == rep["scored"] + rep["errors"], rep
    assert "PARTIAL" in text


def test_interrupt_gives_clean_partial_report(stack: Stack, live: dict, tmp_path: Path) -> None:
    out = tmp_path / "int.json"
    p = replay(stack, stack.demo_cfg, "challenger-gbm-v2", out, "--rate", "50")
    line = ""
    while "replaying experiment" not in line:  # "csg-replay: replaying experiment … as …"
        line = p.stdout.readline()
        assert line, "csg-replay ended before it started"
    exp = line.rsplit(" as ", 1)[1].strip()
    wait(lambda: stack.persist.get("/metrics/events", experiment_id=exp).json()["total"] >= 5,
         30, "some replayed events to be stored")
    p.send_signal(signal.SIGINT)
    text, _ = p.communicate(timeout=60)
    assert p.returncode == 130, text
    rep = json.loads(out.read_text())
    assert rep["stopped"].startswith("interrupted") and 5 <= rep["rows"] < len(holdout())
    # Every event the report counts was delivered, and no other.
    wait(lambda: stack.persist.get("/metrics/events", experiment_id=exp).json()["total"]
         == rep["rows"], 30, "the interrupted replay's events")


def test_export_events_pages_and_validates(stack: Stack, live: dict) -> None:
    url = stack.persist.url + "/export/events"
    for bad in ({"limit": "0"}, {"limit": "10001"}, {"after_id": "-1"}, {"labelled": "yes"},
                {"offset": "5"}, {"from": "yesterday"}):
        r = requests.get(url, params=bad, timeout=10)
        assert r.status_code == 400, (bad, r.text)
        err = r.json()["error"]
        assert err["code"] == "invalid_parameter" and err["parameter"] == next(iter(bad))
    r = requests.get(url, params={"experiment_id": LIVE, "limit": 400}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
    page = [json.loads(line) for line in r.text.splitlines()]
    ids = [e["id"] for e in page]
    assert len(page) == 400 and ids == sorted(ids)
    assert all(e["experiment_id"] == LIVE and e["defaulted"] in (True, False) for e in page)
    assert {"features", "champion_score", "champion_decision", "timestamp"} <= set(page[0])
    nxt = requests.get(url, params={"experiment_id": LIVE, "limit": 400, "after_id": ids[-1]},
                       timeout=10).text.splitlines()
    assert json.loads(nxt[0])["id"] > ids[-1]


def test_require_better_passes_against_a_weak_champion(stack: Stack, live: dict,
                                                       tmp_path: Path) -> None:
    """The live events again, as another experiment whose stored champion answered noise:
    the GBM is then clearly better and --require-better exits 0."""
    r = random.Random(23)
    rows = [json.loads(line) for line in requests.get(
        stack.persist.url + "/export/events", params={"experiment_id": LIVE, "limit": 5000},
        timeout=30).text.splitlines()]
    events = []
    for e in rows:
        for k in ("id", "ingested_at", "defaulted"):
            e.pop(k)
        s = r.random()
        e.update(event_id=f"weak-{e['event_id']}", experiment_id="exp-weak-champion",
                 champion_score=s, champion_decision="approve" if s >= 0.5 else "decline",
                 champion_reasons=None if s >= 0.5 else [], challenger_model=None,
                 challenger_score=None, challenger_decision=None, decision_match=None,
                 latency_challenger_ms=None, decision_diff=None, challenger_reasons=None)
        events.append(e)
    csgp.produce_events(stack.topic, events)
    wait(lambda: stack.persist.get("/metrics/events", experiment_id="exp-weak-champion")
         .json()["total"] == len(events), 60, "the weak champion's events")
    code, text, rep = run(stack, stack.demo_cfg, "challenger-gbm-v2", tmp_path,
                          "--experiment", "exp-weak-champion", "--require-better")
    assert rep["ci95"][0] > 0 and rep["outcome"] == "challenger_better", rep
    assert code == 0, text
