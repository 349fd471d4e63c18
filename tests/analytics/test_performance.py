"""POST /outcomes, GET /metrics/performance and the outcome columns of /metrics/segments
against a real csg-persist on PostgreSQL and SQLite. Every number is compared with the
independent references in ref.py (scikit-learn, scipy, numpy, our own DeLong) computed from
the same labelled events, to 1e-9."""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import ref
import requests
from persist import csgp

N_EVENTS = 2500
SEED = 11
T = csgp.ts_ms("2026-11-25T09:00:00Z")
TOL = 1e-9


# --------------------------------------------------------------------------- helpers


def tree_like(events: list[dict], seed: int) -> list[dict]:
    """Put a third of the challenger scores on a 0.05 grid, as tree ensembles do, so AUC
    ties (counted ½) are common; keep the event self-consistent."""
    r = random.Random(seed)
    for e in events:
        if e["challenger_score"] is not None and r.random() < 0.35:
            e["challenger_score"] = round(round(e["challenger_score"] / 0.05) * 0.05, 2)
            if e["champion_score"] is not None:
                e["decision_diff"] = abs(e["champion_score"] - e["challenger_score"])
    return events


def make_outcomes(events: list[dict], seed: int, share: float = 0.8) -> dict[str, bool]:
    """A label for most applicants, more likely bad when the champion scored low."""
    r = random.Random(seed)
    out: dict[str, bool] = {}
    for e in events:
        a = e["applicant_id"]
        if a in out or r.random() > share:
            continue
        s = e["champion_score"] if e["champion_score"] is not None else 0.5
        out[a] = r.random() < 0.15 + 0.5 * (1 - s)
    return out


def load(database: csgp.Database, procs: list, tmp_path: Path, events: list[dict]) -> csgp.Persist:
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    r = csgp.run_cli("import", "--db", database.url, str(f))
    st = json.loads(r.stdout)
    assert st["rejected"] == 0, st
    p = csgp.Persist(database, topic=csgp.unique("an"), args=["--no-consume"]).start()
    procs.append(p)
    return p


def row_ids(database: csgp.Database) -> dict[str, int]:
    return {e: i for e, i in database.query("SELECT event_id, id FROM credit_score_metrics")}


def post(p: csgp.Persist, body: Any, ndjson: bool = False) -> requests.Response:
    if ndjson:
        data = "\n".join(json.dumps(x) for x in body) + "\n"
        return requests.post(p.url + "/outcomes", data=data.encode(), timeout=30,
                             headers={"Content-Type": "application/x-ndjson"})
    return requests.post(p.url + "/outcomes", json=body, timeout=30)


def post_outcomes(p: csgp.Persist, outcomes: dict[str, bool]) -> dict:
    r = post(p, [{"applicant_id": a, "defaulted": d} for a, d in outcomes.items()])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == len(outcomes) and body["rejected"] == [], body
    return body


def num_close(got: Any, want: Any, path: str) -> list[str]:
    if want is None:
        return [] if got is None else [f"{path}: {got!r}, want null"]
    if not isinstance(got, (int, float)) or isinstance(got, bool) or not math.isfinite(got):
        return [f"{path}: {got!r}, want {want!r}"]
    return [] if abs(got - want) <= TOL else [f"{path}: {got!r} != {want!r}"]


def compare(perf: dict, want: dict[tuple[str, str], dict]) -> list[str]:
    diffs: list[str] = []
    assert "NaN" not in json.dumps(perf) and "Infinity" not in json.dumps(perf)
    pairs = {(p["champion_model"], p["challenger_model"]) for p in perf["promotion"]}
    if pairs != set(want):
        return [f"pairs {sorted(pairs)} != {sorted(want)}"]
    for (ch, cl), w in want.items():
        for role, name, other in (("champion", ch, cl), ("challenger", cl, ch)):
            ms = [m for m in perf["models"]
                  if m["model"] == name and m["role"] == role and m["paired_with"] == other]
            if len(ms) != 1:
                diffs.append(f"models[{name},{role}]: {len(ms)} entries")
                continue
            for k, v in w[role].items():
                diffs += num_close(ms[0].get(k), v, f"{name}/{role}.{k}")
            roc = ms[0]["roc"]
            if w[role]["auc"] is None:
                diffs += [] if roc["fpr"] == [] else [f"{name}: roc without both classes"]
            elif len(roc["fpr"]) < ref_points_limit():
                area = sum((roc["fpr"][i] - roc["fpr"][i - 1]) * (roc["tpr"][i] + roc["tpr"][i - 1]) / 2
                           for i in range(1, len(roc["fpr"])))
                diffs += num_close(area, w[role]["auc"], f"{name}/{role}.roc area")
        pr = next(x for x in perf["promotion"] if (x["champion_model"], x["challenger_model"]) == (ch, cl))
        d = w["delong"]
        diffs += num_close(pr["delta_auc"], d["delta_auc"], f"{cl}.delta_auc")
        diffs += num_close(pr["se"], d["se"], f"{cl}.se")
        diffs += num_close(pr["ci95"][0], d["ci95"][0], f"{cl}.ci95[0]")
        diffs += num_close(pr["ci95"][1], d["ci95"][1], f"{cl}.ci95[1]")
        assert isinstance(pr["verdict"], str) and pr["verdict"]
        if d["se"] is not None and d["se"] > 0:
            lo, hi = d["ci95"]
            want_outcome = ("challenger_better" if lo > 0 else "challenger_worse" if hi < 0
                            else "not_distinguishable")
            if pr["outcome"] != want_outcome:
                diffs.append(f"{cl}.outcome {pr['outcome']} != {want_outcome}")
            if want_outcome == "not_distinguishable" and d["delta_auc"] != 0:
                n = w["champion"]["count"]
                need = n * (ref.Z975 * d["se"] / abs(d["delta_auc"])) ** 2 - n
                diffs += num_close(pr["more_outcomes_needed"], float(max(1, math.ceil(need))),
                                   f"{cl}.more_outcomes_needed")
        ps = next(x for x in perf["psi"] if (x["reference_model"], x["model"]) == (ch, cl))
        diffs += num_close(ps["psi"], w["psi"], f"{cl}.psi")
        sw = next(x for x in perf["swap_sets"] if (x["champion_model"], x["challenger_model"]) == (ch, cl))
        for k, v in w["swap_sets"].items():
            if sw[k]["count"] != v["count"] or sw[k]["bad_count"] != v["bad_count"]:
                diffs.append(f"{cl}.swap_sets.{k}: {sw[k]} != {v}")
            diffs += num_close(sw[k]["bad_rate"], v["bad_rate"], f"{cl}.swap_sets.{k}.bad_rate")
    return diffs


def ref_points_limit() -> int:
    return 201  # below this many distinct scores the ROC is not thinned: exact area


FILTERS = [
    csgp.Filters(),
    csgp.Filters(challenger_model="challenger-rf-v2"),
    csgp.Filters(experiment_id="exp-b"),
    csgp.Filters(from_ms=T + 1_200_000, to_ms=T + 5_400_000),
    csgp.Filters(min_income=20000.0, max_income=150000.5),
    csgp.Filters(applicant_id="17"),
    csgp.Filters(experiment_id="no-such-experiment"),
]


# --------------------------------------------------------------------------- tests


@pytest.fixture
def labelled(database: csgp.Database, procs, tmp_path):
    events = tree_like(csgp.make_events(N_EVENTS, SEED), SEED)
    p = load(database, procs, tmp_path, events)
    outcomes = make_outcomes(events, SEED)
    post_outcomes(p, outcomes)
    return p, events, outcomes, row_ids(database)


def test_performance_matches_reference(labelled) -> None:
    p, events, outcomes, ids = labelled
    for f in FILTERS:
        evs = [e for e in events if f.keep(e)]
        want = ref.performance(ref.paired_population(evs, ids, outcomes, csgp.ts_ms), outcomes)
        r = p.get("/metrics/performance", **f.params())
        assert r.status_code == 200, r.text
        perf = r.json()
        diffs = compare(perf, want)
        assert not diffs, f"{f}:\n" + "\n".join(diffs[:20])
        if not want:
            assert perf["models"] == [] and perf.get("note"), perf
    # The unfiltered data really exercises ties, both pairs and a non-trivial CI.
    full = ref.performance(ref.paired_population(events, ids, outcomes, csgp.ts_ms), outcomes)
    assert len(full) >= 3 and all(w["champion"]["count"] > 50 for w in full.values())


def test_segments_outcome_columns(labelled) -> None:
    p, events, outcomes, ids = labelled
    for by, edges in (("income", [0.0, 20000.0, 50000.0, 100000.0]), ("credit_history", [0.0, 1.0, 5.0])):
        for f in (csgp.Filters(), csgp.Filters(challenger_model="challenger-gbm-v2")):
            evs = [e for e in events if f.keep(e)]
            want = ref.segments_outcomes(evs, ids, outcomes, csgp.ts_ms, by, edges)
            r = p.get("/metrics/segments", by=by, bands=",".join(csgp.fmt_edge(x) for x in edges),
                      **f.params())
            assert r.status_code == 200, r.text
            got = r.json()
            assert "NaN" not in json.dumps(got)
            seen = set()
            for k, seg in enumerate(got["segments"]):
                for m in seg["models"]:
                    w = want.get((k, m["model"]))
                    seen.add((k, m["model"]))
                    if w is None:
                        assert m.get("labelled", 0) == 0 and m.get("auc") is None, m
                        continue
                    assert m["labelled"] == w["labelled"], (by, k, m, w)
                    assert not num_close(m["auc"], w["auc"], "auc"), (by, k, m, w)
                    assert not num_close(m["bad_rate"], w["bad_rate"], "bad_rate"), (by, k, m, w)
            assert set(want) <= seen, set(want) - seen


def test_latest_event_per_applicant_counts_once(database: csgp.Database, procs, tmp_path) -> None:
    base = [e for e in csgp.make_events(400, 3) if e["status"] == "OK" and e["challenger_score"] is not None]
    tmpl = base[0]
    evs = []
    for i in range(6):  # applicants a0..a5, a0 scored three times with different scores
        e = copy.deepcopy(tmpl)
        e.update(event_id=f"late-{i}", applicant_id=f"a{i}", champion_score=0.1 * (i + 1),
                 challenger_score=0.9 - 0.1 * i, timestamp=csgp.fmt_ms(T + 1000 * i),
                 challenger_model="challenger-gbm-v2", champion_model="champion-scorecard-v2",
                 experiment_id="exp-champion-vs-gbm")
        e["decision_diff"] = abs(e["champion_score"] - e["challenger_score"])
        evs.append(e)
    for j, (cs, xs, dt) in enumerate(((0.99, 0.01, 10_000), (0.98, 0.02, 20_000))):
        e = copy.deepcopy(evs[0])
        e.update(event_id=f"again-{j}", champion_score=cs, challenger_score=xs,
                 timestamp=csgp.fmt_ms(T - dt))  # earlier than a0's first event: ignored
        e["decision_diff"] = abs(cs - xs)
        evs.append(e)
    late = copy.deepcopy(evs[0])
    late.update(event_id="latest", champion_score=0.05, challenger_score=0.95,
                timestamp=csgp.fmt_ms(T + 60_000))
    late["decision_diff"] = 0.9
    evs.append(late)
    p = load(database, procs, tmp_path, evs)
    outcomes = {"a0": True, "a1": True, "a2": False, "a3": False, "a4": True, "a5": False}
    post_outcomes(p, outcomes)
    perf = p.get("/metrics/performance").json()
    ch = next(m for m in perf["models"] if m["role"] == "champion")
    cl = next(m for m in perf["models"] if m["role"] == "challenger")
    assert ch["count"] == 6 and cl["count"] == 6
    ids = row_ids(database)
    want = ref.performance(ref.paired_population(evs, ids, outcomes, csgp.ts_ms), outcomes)
    assert not compare(perf, want)
    # a0 counts by its latest event (champion 0.05): goods 0.3,0.4,0.6 vs bads 0.05,0.2,0.5
    # → 2 + 2 + 3 of 9 pairs.
    assert abs(ch["auc"] - 7 / 9) < TOL


def test_single_class_and_empty_are_null_with_note(database: csgp.Database, procs, tmp_path) -> None:
    events = csgp.make_events(600, 5)
    p = load(database, procs, tmp_path, events)
    r = p.get("/metrics/performance")
    assert r.status_code == 200
    assert r.json()["models"] == [] and r.json()["note"]  # no outcomes at all
    post_outcomes(p, {e["applicant_id"]: False for e in events})
    perf = p.get("/metrics/performance").json()
    assert perf["models"]
    text = json.dumps(perf)
    assert "NaN" not in text and "Infinity" not in text
    for m in perf["models"]:
        assert m["count"] > 0 and m["bad_rate"] == 0.0
        assert m["auc"] is None and m["gini"] is None and m["ks"] is None and m["note"]
        assert m["brier"] is not None and m["roc"] == {"fpr": [], "tpr": []}
    for pr in perf["promotion"]:
        assert pr["delta_auc"] is None and pr["ci95"] == [None, None] and pr["note"]
        assert pr["outcome"] == "insufficient_data" and pr["verdict"].startswith("no verdict")
    seg = p.get("/metrics/segments").json()
    assert "NaN" not in json.dumps(seg)
    aucs = [m.get("auc", "absent") for s in seg["segments"] for m in s["models"]]
    assert aucs and all(a is None for a in aucs)
    r = p.get("/metrics/performance", experiment_id="nothing")
    assert r.status_code == 200 and r.json()["models"] == [] and r.json()["note"]
    assert p.get("/metrics/performance", min_income="abc").status_code == 400


# --------------------------------------------------------------------------- outcomes


def stored(database: csgp.Database) -> dict[str, tuple[bool, int]]:
    out = {}
    for a, d, t in database.query("SELECT applicant_id, defaulted, observed_at FROM loan_outcomes"):
        ms = csgp.ts_ms(t) if isinstance(t, str) else round(t.timestamp() * 1000)
        out[a] = (bool(d), ms)
    return out


def test_outcomes_rejected_by_index(database: csgp.Database, procs, tmp_path) -> None:
    p = load(database, procs, tmp_path, csgp.make_events(10, 1))
    body = [
        {"applicant_id": "x1", "defaulted": True},
        {"applicant_id": "x2", "defaulted": "yes"},
        {"defaulted": False},
        "not an object",
        {"applicant_id": "x5", "defaulted": False, "observed_at": "2026-13-01T00:00:00Z"},
        {"applicant_id": "y" * 65, "defaulted": False},
        {"applicant_id": "x7", "defaulted": False, "observed_at": "2026-11-25T10:00:00Z",
         "extra": 1},
    ]
    for ndjson in (False, True):
        r = post(p, body, ndjson=ndjson)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["accepted"] == 2
        assert [x["index"] for x in got["rejected"]] == [1, 2, 3, 4, 5]
        errs = [x["error"] for x in got["rejected"]]
        assert "defaulted" in errs[0] and "applicant_id" in errs[1] and "object" in errs[2]
        assert "observed_at" in errs[3] and "applicant_id" in errs[4]
    r = requests.post(p.url + "/outcomes", data=b"{broken\n{\"applicant_id\":\"z\",\"defaulted\":true}\n",
                      headers={"Content-Type": "application/x-ndjson"}, timeout=10)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert r.json()["rejected"][0]["index"] == 0
    for bad in (b"", b"[{", b"42", b"\x00\xff"):
        r = requests.post(p.url + "/outcomes", data=bad, timeout=10,
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] in ("invalid_json", "invalid_body"), r.text
    assert requests.get(p.url + "/outcomes", timeout=10).status_code == 405
    s = stored(database)
    assert set(s) == {"x1", "x7", "z"}
    assert s["x7"] == (False, csgp.ts_ms("2026-11-25T10:00:00Z"))


def test_outcomes_idempotent_and_replaced(database: csgp.Database, procs, tmp_path) -> None:
    p = load(database, procs, tmp_path, csgp.make_events(10, 2))
    t1, t2, t0 = "2025-06-02T10:00:00Z", "2025-06-03T10:00:00Z", "2025-06-01T10:00:00Z"
    first = [{"applicant_id": "a", "defaulted": False, "observed_at": t1},
             {"applicant_id": "b", "defaulted": True, "observed_at": t1}]
    assert post(p, first).json() == {"accepted": 2, "stored": 2, "rejected": []}
    before = stored(database)
    assert post(p, first).json()["accepted"] == 2  # the same labels again: nothing changes
    assert stored(database) == before and len(before) == 2
    # A later observation replaces; an older one does not; equal time = a correction.
    post(p, [{"applicant_id": "a", "defaulted": True, "observed_at": t2},
             {"applicant_id": "b", "defaulted": False, "observed_at": t0}])
    s = stored(database)
    assert s["a"] == (True, csgp.ts_ms(t2)) and s["b"] == (True, csgp.ts_ms(t1))
    post(p, [{"applicant_id": "b", "defaulted": False, "observed_at": t1}])
    assert stored(database)["b"] == (False, csgp.ts_ms(t1))
    # Inside one request the later item wins too.
    post(p, [{"applicant_id": "c", "defaulted": True, "observed_at": t1},
             {"applicant_id": "c", "defaulted": False, "observed_at": t1}])
    assert stored(database)["c"][0] is False
    post(p, [{"applicant_id": "d", "defaulted": True, "observed_at": t2},
             {"applicant_id": "d", "defaulted": False, "observed_at": t1}])
    assert stored(database)["d"] == (True, csgp.ts_ms(t2))
    # Many items (several INSERT chunks), with repeats across chunks.
    many = [{"applicant_id": f"m{i % 1500}", "defaulted": i >= 1500} for i in range(3000)]
    r = post(p, many).json()
    assert r["accepted"] == 3000 and r["rejected"] == []
    s = stored(database)
    assert all(s[f"m{i}"][0] is True for i in range(1500))
    # No observed_at: the time of the request, so a fresh label replaces an old one.
    post(p, [{"applicant_id": "a", "defaulted": False}])
    assert stored(database)["a"][0] is False


def test_export_events_pages_by_id(database: csgp.Database, procs, tmp_path) -> None:
    """GET /export/events (csg-replay's stream) on both backends: pages of `limit` rows by
    id cover every filtered row once, oldest first, with its outcome; labelled=true keeps
    only applicants with one."""
    events = csgp.make_events(300, seed=23)
    p = load(database, procs, tmp_path, events)
    outcomes = make_outcomes(events, seed=23, share=0.5)
    post_outcomes(p, outcomes)
    exp = events[0]["experiment_id"]
    want = {e: i for e, i in database.query(
        "SELECT event_id, id FROM credit_score_metrics WHERE experiment_id = "
        + ("%s" if database.kind == "pg" else "?"), (exp,))}

    def stream(**params: Any) -> list[dict]:
        rows: list[dict] = []
        after = 0
        while True:
            r = requests.get(p.url + "/export/events", timeout=30,
                             params={"experiment_id": exp, "limit": 70, "after_id": after, **params})
            assert r.status_code == 200, r.text
            page = [json.loads(line) for line in r.text.splitlines()]
            rows += page
            if len(page) < 70:
                return rows
            after = page[-1]["id"]

    rows = stream()
    assert [r["id"] for r in rows] == sorted(want.values())
    assert {r["event_id"]: r["id"] for r in rows} == want
    for r in rows:
        assert r["defaulted"] == outcomes.get(r["applicant_id"]), r
    labelled = stream(labelled="true")
    assert [r["id"] for r in labelled] == [r["id"] for r in rows if r["defaulted"] is not None]
