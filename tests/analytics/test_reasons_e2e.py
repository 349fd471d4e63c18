"""e2e (issue 17, "Done when"): adverse-action reasons through a real stack — both csg-model
services with the bundled v2 models, csg-gateway (HTTP, TCP, gRPC; the shipped schema; the
challenger at 100%) publishing to the test Kafka broker, csg-persist on the test
PostgreSQL, and the dashboard (AppTest) against that csg-persist.

1. Hold-out applications (all 13 characteristics, missing ones left out) get, on HTTP, TCP
   and gRPC, the same reasons: exactly the list csg-model gives directly, 1–4 on a
   decline, none on an approve.
2. The stored events carry both models' codes, in order, as the models gave them.
3. /metrics/reasons counts, per model, each code first and anywhere over the declines, and
   the first-reason agreement where both declined, equal to what the models answered.
4. The dashboard's Decline reasons section (after Decision divergence) shows both models.

Every wait polls a condition under the module's deadline (BUDGET_S).
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conformance import cflib
from conformance.cflib import GrpcClient, HttpClient, TcpClient, as_features
from gwstack import NEEDED, ROOT, Stack, wait
from persist import csgp
from streamlit.testing.v1 import AppTest

pytestmark = [
    pytest.mark.skipif(not all(p.exists() for p in NEEDED),
                       reason="needs the gateway, model services and plugins built"),
    pytest.mark.skipif(os.environ.get("CSG_UNDER_SANITIZER") == "1",
                       reason="e2e runs once, on the regular build"),
]

BUDGET_S = 110.0
APP = ROOT / "dashboard" / "app.py"
SHIPPED = cflib.shipped_application_block("ignore")
EXPERIMENT = "exp-demo-e2e"  # gwstack's
CHAMPION, CHALLENGER = "champion-scorecard-v2", "challenger-gbm-v2"
INTEGERS = {"credit_history", "seniority_years", "term_months", "age"}
CATEGORIES = {"home", "marital", "job"}
SCAN = 80  # hold-out rows scored directly to pick from
DECLINES, APPROVES = 8, 4  # champion declines / approves sent through the gateway


def holdout(n: int) -> list[dict[str, Any]]:
    """The first n hold-out rows as applications: every characteristic the row has."""
    out: list[dict[str, Any]] = []
    with open(ROOT / "models" / "holdout.csv", newline="") as f:
        for row in csv.DictReader(f):
            app: dict[str, Any] = {"applicant_id": row["applicant_id"]}
            for k, v in row.items():
                if k in ("applicant_id", "defaulted") or v == "":
                    continue
                app[k] = v if k in CATEGORIES else int(v) if k in INTEGERS else float(v)
            out.append(app)
            if len(out) == n:
                break
    return out


@dataclass
class Run:
    stack: Stack
    deadline: float
    direct: dict[str, dict[str, dict[str, Any]]]  # applicant → role → csg-model's answer
    apps: list[dict[str, Any]]

    def left(self, cap: float) -> float:
        t = min(cap, self.deadline - time.monotonic())
        assert t > 0, f"the module's {BUDGET_S:.0f} s budget is spent"
        return t


def model_answer(port: int, app: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(f"http://127.0.0.1:{port}/score", json=app, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    deadline = time.monotonic() + BUDGET_S
    s = Stack(tmp_path_factory.mktemp("reasons", numbered=True), application=SHIPPED,
              db=csgp.new_pg_database())
    try:
        ok = s.reloads("ok")
        s.reload(s.demo_cfg)  # every request also goes to the challenger
        wait(lambda: s.reloads("ok") == ok + 1, 20, "the reload to the 100% challenger")
        wait(lambda: cflib.grpc_health(s.ports["grpc"]) == "SERVING", 20, "gRPC health")
        scanned = holdout(SCAN)
        direct = {a["applicant_id"]: {role: model_answer(s.ports[role], a)
                                      for role in ("champion", "challenger")}
                  for a in scanned}
        declined = [a for a in scanned
                    if direct[a["applicant_id"]]["champion"]["decision"] == "decline"]
        approved = [a for a in scanned
                    if direct[a["applicant_id"]]["champion"]["decision"] == "approve"]
        assert len(declined) >= DECLINES and len(approved) >= APPROVES, (
            f"{len(declined)} declines, {len(approved)} approves in the first {SCAN} rows")
        yield Run(s, deadline, direct, declined[:DECLINES] + approved[:APPROVES])
    finally:
        s.close()


def codes(answer: dict[str, Any]) -> list[str]:
    return [r["code"] for r in answer.get("reasons", [])]


def test_1_same_reasons_on_three_transports_as_the_model(run: Run) -> None:
    h, t, g = (HttpClient(run.stack.ports["http"]), TcpClient(run.stack.ports["tcp"]),
               GrpcClient(run.stack.ports["grpc"]))
    try:
        rids = [f"rs-{i}" for i in range(len(run.apps))]
        got = {"http": h.score_many(run.apps, [r + "-http" for r in rids]),
               "tcp": t.score_many(run.apps, [r + "-tcp" for r in rids]),
               "grpc": g.score_many([as_features(a) for a in run.apps],
                                    [r + "-grpc" for r in rids])}
    finally:
        h.close()
        t.close()
        g.close()
    for i, app in enumerate(run.apps):
        want = run.direct[app["applicant_id"]]["champion"]
        for transport, replies in got.items():
            rep = replies[i]
            assert "error" not in rep, (transport, rep)
            assert rep["model"] == CHAMPION and rep["decision"] == want["decision"], rep
            assert rep["score"] == want["score"], (transport, rep, want)
            assert rep["reasons"] == want["reasons"], (transport, rep, want)
        n = len(want["reasons"])
        assert (1 <= n <= 4) if want["decision"] == "decline" else n == 0, want
        for r in want["reasons"]:
            assert set(r) == {"code", "feature", "text"} and r["text"], r


def stored(run: Run) -> list[dict[str, Any]]:
    want = 3 * len(run.apps)

    def rows() -> list[tuple] | None:
        got = run.stack.db.query(
            "SELECT applicant_id, champion_reasons, challenger_reasons, challenger_model "
            "FROM credit_score_metrics WHERE experiment_id = %s", (EXPERIMENT,))
        return got if len(got) >= want else None

    got = wait(rows, run.left(30), f"{want} events stored")
    assert len(got) == want, got
    return [{"applicant_id": a, "champion_reasons": c, "challenger_reasons": ch,
             "challenger_model": m} for a, c, ch, m in got]


def test_2_events_carry_both_models_codes(run: Run) -> None:
    for ev in stored(run):
        d = run.direct[ev["applicant_id"]]
        assert ev["challenger_model"] == CHALLENGER, ev
        assert ev["champion_reasons"] == codes(d["champion"]), ev
        assert ev["challenger_reasons"] == codes(d["challenger"]), ev


def expected(run: Run) -> tuple[dict[str, tuple[int, Counter, Counter]], int, int]:
    """From csg-model's own answers, each application sent on 3 transports: per role
    (declines, first-code counts, any-code counts), and the joint declines with reasons
    on both sides and how many of them agree on the first code."""
    per_role = {}
    for role in ("champion", "challenger"):
        lists = [codes(run.direct[a["applicant_id"]][role]) for a in run.apps
                 if run.direct[a["applicant_id"]][role]["decision"] == "decline"]
        first = Counter({c: 3 * k for c, k in Counter(x[0] for x in lists if x).items()})
        anywhere = Counter({c: 3 * k for c, k in Counter(c for x in lists for c in set(x)).items()})
        per_role[role] = (3 * len(lists), first, anywhere)
    both = [(codes(d["champion"]), codes(d["challenger"]))
            for d in (run.direct[a["applicant_id"]] for a in run.apps)
            if d["champion"]["decision"] == d["challenger"]["decision"] == "decline"]
    both = [(a, b) for a, b in both if a and b]
    return per_role, 3 * len(both), 3 * sum(1 for a, b in both if a[0] == b[0])


def test_3_metrics_reasons_counts_what_the_models_said(run: Run) -> None:
    body = requests.get(f"{run.stack.persist.url}/metrics/reasons",
                        params={"experiment_id": EXPERIMENT}, timeout=10).json()
    models = {(m["role"], m["model"]): m for m in body["models"]}
    assert set(models) == {("champion", CHAMPION), ("challenger", CHALLENGER)}, body
    per_role, both, agree = expected(run)
    for (role, _), m in models.items():
        declines, first, anywhere = per_role[role]
        assert m["declines"] == declines, (role, m)
        assert {r["code"]: (r["first"], r["any"]) for r in m["reasons"]} == {
            c: (first[c], anywhere[c]) for c in anywhere}, (role, m)
    [pair] = body["agreement"]
    assert (pair["champion"], pair["challenger"]) == (CHAMPION, CHALLENGER), pair
    assert (pair["both_declined"], pair["first_agree"]) == (both, agree), pair


def test_4_dashboard_shows_decline_reasons_of_both_models(
        run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSG_API_URL", run.stack.persist.url)
    at = AppTest.from_file(str(APP), default_timeout=run.left(30)).run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.header]
    i = headers.index("Decline reasons")
    assert headers[i - 1] == "Decision divergence" and headers[i + 1] == "Segments", headers
    per_role, both, agree = expected(run)
    markdown = [m.value for m in at.markdown]
    for role, name in (("champion", CHAMPION), ("challenger", CHALLENGER)):
        assert any(f"**{name}** · {per_role[role][0]:,} declines" in m for m in markdown), (
            name, markdown)
    captions = [c.value for c in at.caption]
    assert f"{CHAMPION} vs {CHALLENGER}: {agree:,} of {both:,} joint declines" in captions, (
        captions)
    # The champion's most frequent first reason heads its table.
    top = per_role["champion"][1].most_common(1)[0][0]
    assert any(not df.value.empty and df.value.iloc[0]["reason"] == top
               and list(df.value.columns[:3]) == ["reason", "first %", "any %"]
               for df in at.dataframe), top
