"""The dashboard (streamlit.testing AppTest) against a real csg-persist holding the fixture
events. Expected numbers are computed here from the fixture file itself (reference.py),
never read back from the API."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from harness import free_port
from streamlit.testing.v1 import AppTest

import reference as ref

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TITLES = ["Summary", "Score distributions", "Latency trends", "Decision divergence",
          "Decline reasons", "Segments", "Model performance", "Stability", "Raw events"]
CHAMPION, GBM, CARD = "champion-lr-v1", "challenger-gbm-v1", "challenger-scorecard-v1"
# metrics shown once per model (or pair): keyed by their help text, which names it
PER_MODEL = ("Requests", "Approval rate", "Avg latency", "p99 latency", "First-reason agreement")


def run_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def ms(x: float | None) -> str:
    return "—" if x is None else (f"{x:.1f} ms" if x >= 100 else f"{x:.2f} ms")


def shown(at: AppTest) -> dict[tuple[str, str], str]:
    out = {}
    for m in at.metric:
        key = (m.label, m.help if m.label in PER_MODEL else "")
        assert key not in out, f"metric {key} twice"
        out[key] = m.value
    return out


def expected(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    s = ref.summary(events)
    errors = sum(n for k, n in s["status"].items() if k != "OK")
    exp = {
        ("Total requests", ""): f"{s['total']:,}",
        ("Challenger share", ""): pct(s["challenger_share"]),
        ("Avg score difference", ""): ("—" if s["avg_decision_diff"] is None
                                       else f"{s['avg_decision_diff']:.4f}"),
        ("Divergence rate", ""): pct(s["divergence_rate"]),
        ("Errors / timeouts", ""): f"{errors:,}",
    }
    for m in s["models"]:
        exp[("Requests", m["model"])] = f"{m['count']:,}"
        exp[("Approval rate", m["model"])] = pct(m["approval_rate"])
        exp[("Avg latency", m["model"])] = ms(m["latency_ms"]["avg"])
        exp[("p99 latency", m["model"])] = ms(m["latency_ms"]["p99"])
    r = ref.reasons(events)
    if any(m["declines"] for m in r["models"]):  # else the section shows its empty state
        for a in r["agreement"]:
            exp[("First-reason agreement", f"{a['champion']} vs {a['challenger']}")] = pct(
                a["rate"])
    return exp


SKETCH_ACCURACY = 0.01  # p99 from the API's rollups (persistence/sketch.h), else exact


def assert_kpis(at: AppTest, events: list[dict[str, Any]]) -> None:
    """Every KPI as the reference shows it; the p99 latencies within the rollups' stated
    1% (plus the display's rounding), since unfiltered summaries come from rollups."""
    assert events, "a filter case must keep some events"
    got, want = shown(at), expected(events)
    for key in [k for k in want if k[0] == "p99 latency"]:
        g, w = got.pop(key, None), want.pop(key)
        if w == "—" or g == "—":
            assert g == w, (key, g, w)
            continue
        gv, wv = float(g.split()[0]), float(w.split()[0])
        assert abs(gv - wv) <= SKETCH_ACCURACY * wv + (0.05 if wv >= 100 else 0.005), (key, g, w)
    assert got == want


def test_every_section_renders_in_order(dashboard_env: str) -> None:
    at = run_app()
    heads = [h.value for h in at.header]
    assert [h for h in heads if h in TITLES] == TITLES
    assert not at.error
    charts = at.get("plotly_chart")
    # 2 distributions, latency, 2 divergence pies, decline reasons, 3 segment charts
    assert len(charts) >= 9
    assert len(at.dataframe) >= 7  # 3 reason tables, segment tables, raw events
    assert len(at.metric) == 5 + 4 * 3 + 2  # KPIs, per model, agreement per pair


def test_kpis_equal_fixture(dashboard_env: str, events: list[dict]) -> None:
    assert_kpis(run_app(), events)


@pytest.mark.parametrize("case", [
    "challenger", "experiment", "income", "applicant", "dates", "combined"])
def test_filters_change_kpis(dashboard_env: str, events: list[dict], case: str) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    sb = at.sidebar
    busiest = Counter(e["applicant_id"] for e in events).most_common(1)[0][0]
    if case == "challenger":
        sb.selectbox(key="f_challenger").set_value(GBM)
        f = ref.F(challenger_model=GBM)
    elif case == "experiment":
        sb.selectbox(key="f_experiment").set_value("exp-scorecard-pilot")
        f = ref.F(experiment_id="exp-scorecard-pilot")
    elif case == "income":
        sb.number_input(key="f_min_income").set_value(30000.0)
        sb.number_input(key="f_max_income").set_value(80000.0)
        f = ref.F(min_income=30000, max_income=80000)
    elif case == "applicant":
        sb.text_input(key="f_applicant").input(busiest)
        f = ref.F(applicant_id=busiest)
    elif case == "dates":
        sb.selectbox(key="f_range").set_value("Custom dates")
        at.run()
        at.sidebar.date_input(key="f_dates").set_value((date(2026, 11, 21), date(2026, 11, 21)))
        f = ref.F(from_ts="2026-11-21T00:00:00Z", to_ts="2026-11-22T00:00:00Z")
    else:
        sb.selectbox(key="f_experiment").set_value("exp-champion-vs-gbm")
        sb.selectbox(key="f_challenger").set_value(CARD)
        sb.number_input(key="f_min_income").set_value(40000.0)
        f = ref.F(experiment_id="exp-champion-vs-gbm", challenger_model=CARD, min_income=40000)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    subset = ref.select(events, f)
    assert 0 < len(subset) < len(events)
    assert_kpis(at, subset)
    # An auto-refresh (a rerun) keeps the filters and the numbers.
    at.run()
    assert_kpis(at, subset)


def test_api_down_shows_banner(dashboard_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()  # reserved, nobody listens on it
    monkeypatch.setenv("CSG_API_URL", f"http://127.0.0.1:{port}")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    banners = [e.value for e in at.error]
    assert len(banners) == 1 and "not reachable" in banners[0] and str(port) in banners[0]
    assert "Summary" not in [h.value for h in at.header]


def _spec(at: AppTest, title_part: str) -> dict[str, Any]:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = (spec["layout"].get("title") or {}).get("text") or ""
        if title_part in title:
            return spec
    raise AssertionError(f"no chart titled {title_part!r}")


def test_distributions_pair_champion_with_each_challenger(dashboard_env: str,
                                                          events: list[dict]) -> None:
    at = run_app()
    for ch in (GBM, CARD):
        spec = _spec(at, f"Scores: {CHAMPION} vs {ch}")
        sub = [e for e in events if e["challenger_model"] == ch]
        n = {CHAMPION: sum(e["champion_score"] is not None for e in sub),
             ch: sum(e["challenger_score"] is not None for e in sub)}
        names = {t["name"] for t in spec["data"]}
        assert names == {f"{m} (n={k:,})" for m, k in n.items()}
        for t in spec["data"]:
            assert sum(t["y"]) == pytest.approx(100.0)
            assert sum(t["customdata"]) == n[t["name"].split(" ")[0]]


def test_latency_bucket_follows_time_range(dashboard_env: str) -> None:
    at = run_app()
    _spec(at, "(bucket 1h)")  # the fixture spans ~64 h
    at.sidebar.selectbox(key="f_range").set_value("Custom dates").run()
    at.sidebar.date_input(key="f_dates").set_value((date(2026, 11, 21), date(2026, 11, 21)))
    at.run()
    _spec(at, "(bucket 5m)")


def test_divergence_pies_per_challenger(dashboard_env: str, events: list[dict]) -> None:
    at = run_app()
    for ch in (GBM, CARD):
        d = ref.summary([e for e in events if e["challenger_model"] == ch])["decisions"]
        spec = _spec(at, f"Decisions: {CHAMPION} vs {ch}")
        pie = next(t for t in spec["data"] if t["type"] == "pie")
        assert pie["values"] == [d["both_approve"] + d["both_decline"],
                                 d["champion_only_approve"], d["challenger_only_approve"]]


def test_segments_by_income_bands(dashboard_env: str, events: list[dict]) -> None:
    at = run_app()
    at.text_input(key="bands_income").input("0,30000,60000,100000").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "band" in d.value.columns)
    edges = [0, 30000, 60000, 100000, float("inf")]
    counts = [sum(lo <= e["income"] < hi for e in events) for lo, hi in pairwise(edges)]
    assert list(table["requests"]) == [c for c in counts if c]
    assert [i.value for i in at.info if "No outcomes yet" in i.value]


def test_model_performance_without_outcomes(dashboard_env: str) -> None:
    at = run_app()
    infos = [i.value for i in at.info]
    assert any(v.startswith("No outcomes yet: performance") for v in infos)


def test_raw_events_paging(dashboard_env: str, events: list[dict]) -> None:
    at = run_app()
    newest_first = [e["event_id"] for e in reversed(events)]
    page_text = [m.value for m in at.markdown if "Page " in m.value]
    assert page_text and f"Page 1 of {-(-len(events) // 50)}" in page_text[0]
    assert list(at.dataframe[-1].value["event_id"]) == newest_first[:50]
    at.selectbox(key="ev_page_size").set_value(25)
    at.number_input(key="ev_page").set_value(3)
    at.run()
    assert list(at.dataframe[-1].value["event_id"]) == newest_first[50:75]


def test_model_performance_renders_outcome_metrics(dashboard_env: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The section's layout once /metrics/performance has labelled data, with the answer
    stubbed in the API's shape (docs/analytics.md; tests/analytics checks the API itself
    and the e2e demo test the real section); every other section reads the real API."""
    monkeypatch.syspath_prepend(str(APP.parent))  # as streamlit runs the app
    import data as dashboard_data  # the module object the app's sections use

    def model(name: str, role: str, other: str, auc: float, fpr: list, tpr: list) -> dict:
        return {"model": name, "role": role, "paired_with": other, "count": 120,
                "bad_count": 24, "auc": auc, "gini": 2 * auc - 1, "ks": 0.33, "brier": 0.19,
                "bad_rate": 0.2, "approval_rate": 0.6, "bad_rate_approved": 0.1,
                "roc": {"fpr": fpr, "tpr": tpr}}

    def swap(n: int, b: int) -> dict:
        return {"count": n, "bad_count": b, "bad_rate": b / n}

    verdict = (f"{GBM} and {CHAMPION} are not yet distinguishable: ΔAUC +0.0400 "
               "(95% CI -0.0100 to +0.0900, DeLong, n = 120); at this effect roughly 300 "
               "more labelled applicants would be needed")
    perf = {
        "models": [model(CHAMPION, "champion", GBM, 0.71, [0, 0.3, 1], [0, 0.6, 1]),
                   model(GBM, "challenger", CHAMPION, 0.75, [0, 0.25, 1], [0, 0.65, 1])],
        "swap_sets": [{"champion_model": CHAMPION, "challenger_model": GBM,
                       "champion_only": swap(10, 3), "challenger_only": swap(10, 1),
                       "both_approve": swap(60, 5), "both_decline": swap(40, 15)}],
        "psi": [{"model": GBM, "reference_model": CHAMPION, "count": 120, "psi": 0.04,
                 "edges": [0.1 * k for k in range(1, 10)], "expected_share": [0.1] * 10,
                 "actual_share": [0.05, 0.15] * 5}],
        "promotion": [{"champion_model": CHAMPION, "challenger_model": GBM, "count": 120,
                       "delta_auc": 0.04, "se": 0.0255, "ci95": [-0.01, 0.09], "z": 1.57,
                       "p_value": 0.12, "more_outcomes_needed": 300.0,
                       "outcome": "not_distinguishable", "verdict": verdict}],
    }
    monkeypatch.setattr(dashboard_data, "performance", lambda _f: perf)
    at = run_app()
    assert not at.exception
    assert not any(i.value.startswith("No outcomes yet: performance") for i in at.info)
    assert verdict in [i.value for i in at.info]
    table = next(d.value for d in at.dataframe if "auc" in d.value.columns)
    assert list(table["role"]) == ["champion", "challenger", "difference"]
    diff = table[table["role"] == "difference"].iloc[0]
    assert diff["auc"] == pytest.approx(0.04) and diff["brier"] == pytest.approx(0.0)
    swaps = next(d.value for d in at.dataframe if "bad rate %" in d.value.columns)
    assert list(swaps["applicants"]) == [10, 10, 60, 40]
    assert [m.value for m in at.metric if m.label.startswith("PSI")] == ["0.0400"]
    roc = _spec(at, "ROC")
    assert {t["name"] for t in roc["data"]} == {"chance", CHAMPION, GBM}
    assert {t["name"] for t in _spec(at, "PSI bins")["data"]} == {CHAMPION, GBM}


def test_model_performance_arm_selector(dashboard_env: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Arm choice reaches /metrics/performance as arm=live|shadow (issue 21 item 7)."""
    monkeypatch.syspath_prepend(str(APP.parent))  # as streamlit runs the app
    import data as dashboard_data

    asked: list[str | None] = []

    def fake(_f: Any, arm: str | None = None) -> dict:
        asked.append(arm)
        return {"models": []}

    monkeypatch.setattr(dashboard_data, "performance", fake)
    at = run_app()
    at.radio(key="perf_arm").set_value("live").run()
    assert not at.exception
    assert asked[0] is None and asked[-1] == "live", asked


def test_refused_filter_shows_banner(dashboard_env: str) -> None:
    """A filter the API refuses (400 invalid_parameter) is a banner naming it, no traceback."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.sidebar.text_input(key="f_applicant").input("A" * 200).run()
    assert not at.exception
    banners = [e.value for e in at.error]
    assert len(banners) == 1 and "rejected the filters" in banners[0]
    assert "applicant_id" in banners[0]


def test_outage_keeps_filters_and_recovers(dashboard_env: str, events: list[dict],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.sidebar.selectbox(key="f_challenger").set_value(CARD).run()
    monkeypatch.setenv("CSG_API_URL", "http://127.0.0.1:9")  # discard port: refused
    at.run()
    assert not at.exception
    assert ["not reachable" in e.value for e in at.error] == [True]
    assert at.sidebar.selectbox(key="f_challenger").value == CARD
    monkeypatch.setenv("CSG_API_URL", dashboard_env)
    at.run()
    assert not at.exception and not at.error
    assert at.sidebar.selectbox(key="f_challenger").value == CARD
    assert_kpis(at, ref.select(events, ref.F(challenger_model=CARD)))


def test_no_matching_events_renders_every_section_empty(dashboard_env: str) -> None:
    """"Last 24 hours" of a fixture that lies in Nov 2026's past (or future): nothing matches."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.sidebar.selectbox(key="f_range").set_value("Last 24 hours").run()
    assert not at.exception and not at.error
    assert [h.value for h in at.header if h.value in TITLES] == TITLES
    assert shown(at)[("Total requests", "")] == "0"
    assert shown(at)[("Divergence rate", "")] == "—"
    assert any("No events match" in i.value for i in at.info)
    assert any(i.value.startswith("No declines in the filtered requests") for i in at.info)
    assert any(i.value.startswith("No scored events in the filtered range") for i in at.info)


def test_fixture_file_is_the_generator_output() -> None:
    """The committed NDJSON is exactly what make_fixture.py produces (regenerable)."""
    import make_fixture

    text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in make_fixture.make_events())
    assert ref.FIXTURE.read_text() == text


def test_feature_filters_from_catalogue(dashboard_env: str, events: list[dict]) -> None:
    """The sidebar builds its feature filters from /metrics/features: min/max for the number
    feature `age`, a multiselect of the catalogue's values for the category `home`; income
    stays the one Min/Max income pair. Choosing a value changes the query (the KPIs)."""
    at = run_app()
    sb = at.sidebar
    keys = {w.key for w in [*sb.number_input, *sb.multiselect]}
    assert {"f_feat_min_age", "f_feat_max_age", "f_feat_in_home"} <= keys
    assert {"f_feat_min_loan_amount", "f_feat_min_credit_history"} <= keys
    assert "f_feat_min_income" not in keys  # no second income filter
    homes = sorted({e["features"]["home"] for e in events if "home" in e.get("features", {})})
    assert sb.multiselect(key="f_feat_in_home").options == homes
    sb.multiselect(key="f_feat_in_home").set_value(["rent", "owner"]).run()
    assert not at.exception, [e.value for e in at.exception]
    subset = ref.select(events, ref.F(feature_values=(("home", ("rent", "owner")),)))
    assert 0 < len(subset) < len(events)
    assert_kpis(at, subset)
    at.sidebar.number_input(key="f_feat_min_age").set_value(40.0).run()
    subset = ref.select(events, ref.F(feature_values=(("home", ("rent", "owner")),),
                                      feature_ranges=(("age", 40.0, None),)))
    assert len(subset) > 0
    assert_kpis(at, subset)
    at.run()  # an auto-refresh keeps them
    assert_kpis(at, subset)


def feature_table(at: AppTest) -> Any:
    """The "By feature" tab's table: the last segment table (that tab renders last)."""
    return [d.value for d in at.dataframe if "band" in d.value.columns][-1]


def test_segments_by_any_feature(dashboard_env: str, events: list[dict]) -> None:
    """Segments offers every catalogue feature in its "by" selector; a category is grouped
    by its values (plus "(missing)"), a number by its fixed bands (the baseline's bins)."""
    at = run_app()
    sel = at.selectbox(key="seg_feature")
    assert set(sel.options) == {"age", "credit_history", "home", "income", "loan_amount"}
    sel.set_value("home").run()
    assert not at.exception, [e.value for e in at.exception]
    table = feature_table(at)
    counts = Counter((e.get("features") or {}).get("home", "(missing)") for e in events)
    assert dict(zip(table["band"], table["requests"], strict=True)) == dict(counts)
    at.selectbox(key="seg_feature").set_value("age").run()
    table = feature_table(at)
    # the stored baseline's bins are age's bands ([-inf,c1), …, [ck,inf)), then (missing)
    base = json.loads(ref.BASELINE.read_text())
    cuts = [f"{c:.15g}" for f in base["features"] if f["name"] == "age" for c in f["cuts"]]
    edges = ["-inf", *cuts, "inf"]
    want = [f"[{lo},{hi})" for lo, hi in pairwise(edges)]
    assert list(table["band"]) == [*want, "(missing)"], list(table["band"])
    assert sum(table["requests"]) == len(events)


def reason_tables(at: AppTest) -> list[Any]:
    """The Decline reasons tables, in the order shown (champion, then challengers)."""
    return [d.value for d in at.dataframe if "reason" in d.value.columns]


@pytest.mark.parametrize("case", ["all", "challenger"])
def test_decline_reasons(dashboard_env: str, events: list[dict], case: str) -> None:
    """Top reasons per model side by side (first and any share of its declines, the API's
    order), the first-reason chart, and the agreement per pair, under the sidebar filter."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    f = ref.F()
    if case == "challenger":
        at.sidebar.selectbox(key="f_challenger").set_value(GBM).run()
        f = ref.F(challenger_model=GBM)
    assert not at.exception, [e.value for e in at.exception]
    want = ref.reasons(ref.select(events, f))
    declining = [m for m in want["models"] if m["declines"]]
    assert len(declining) == (3 if case == "all" else 2)
    tables = reason_tables(at)
    assert len(tables) == len(declining)
    for m, t in zip(declining, tables, strict=True):
        top = m["reasons"][:8]
        assert list(t["reason"]) == [r["code"] for r in top]
        assert list(t["first %"]) == [pct(r["first_share"]) for r in top]
        assert list(t["any %"]) == [pct(r["any_share"]) for r in top]
        assert list(t["first"]) == [r["first"] for r in top]
    spec = _spec(at, "First reason, share")
    assert [t["name"] for t in spec["data"]] == [m["model"] for m in declining]
    champ = next(t for t in spec["data"] if t["name"] == CHAMPION)
    first = {r["code"]: 100 * r["first_share"] for r in declining[0]["reasons"]}
    assert dict(zip(champ["y"], champ["x"], strict=True)) == pytest.approx(
        {c: first.get(c, 0.0) for c in champ["y"]})
    agreement = {(m.label, m.help): m.value for m in at.metric
                 if m.label == "First-reason agreement"}
    assert agreement == {("First-reason agreement", f"{a['champion']} vs {a['challenger']}"):
                         pct(a["rate"]) for a in want["agreement"]}
    assert all(a["both_declined"] > 0 for a in want["agreement"])


def test_stability_section(dashboard_env: str) -> None:
    """PSI per model, the CSI heat map with one row per baseline characteristic, and the
    three worst characteristics (by the latest bucket's CSI) with their bins — as the API
    answers for the fixture and its champion's baseline."""
    import requests

    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception and not at.error
    at.selectbox(key="stability_bucket").set_value("1d").run()
    assert not at.exception and not at.error
    api = requests.get(dashboard_env + "/metrics/stability", params={"bucket": "1d"},
                       timeout=10).json()
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    specs = list(charts.values())
    heat = [s for s in specs if s["data"] and s["data"][0].get("type") == "heatmap"]
    assert len(heat) == 1
    baseline = json.loads(ref.BASELINE.read_text())
    assert heat[0]["data"][0]["y"] == [f["name"] for f in baseline["features"]]
    psi = [s for s in specs if "Score PSI" in str(s["layout"].get("title"))]
    assert len(psi) == 1 and [t["name"] for t in psi[0]["data"]] == [CHAMPION]
    want = sorted(api["features"], key=lambda f: f["points"][-1]["csi"], reverse=True)[:3]
    shown_worst = [m.value.split("**")[1] for m in at.markdown
                   if m.value.startswith("**") and " · CSI " in m.value]
    assert shown_worst == [f["name"] for f in want]


def test_stability_names_baseline_jobs(dashboard_env: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /baselines' jobs in the Stability section: none on the fixture's API (its
    baseline was stored at start); a job still storing is an info naming its model, a model
    whose newest job failed a warning with the error, an older failure under a newer job
    nothing."""
    import data

    assert data.baseline_jobs() == []
    at = run_app()
    assert not at.exception and not any("baseline of" in i.value for i in at.info)
    jobs = [
        {"job": 9, "model": CHAMPION, "status": "running", "submitted_at": "T9",
         "started_at": "S9", "finished_at": None, "seconds": None},
        {"job": 8, "model": GBM, "status": "failed", "submitted_at": "T8",
         "started_at": "S8", "finished_at": "F8", "seconds": 1.5,
         "error": "permission denied for table csgp_baselines"},
        {"job": 7, "model": CHAMPION, "status": "failed", "submitted_at": "T7",
         "started_at": "S7", "finished_at": "F7", "seconds": 1.0, "error": "old"},
    ]
    monkeypatch.setattr(data, "baseline_jobs", lambda: jobs)
    at = run_app()
    assert not at.exception
    infos = [i.value for i in at.info if "baseline of" in i.value]
    assert len(infos) == 1 and CHAMPION in infos[0] and "job 9, running since S9" in infos[0]
    warns = [w.value for w in at.warning if "was not stored" in w.value]
    assert len(warns) == 1 and GBM in warns[0] and "permission denied" in warns[0], warns


def test_srm_and_suspended_banners_name_the_arm(dashboard_env: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An SRM flag in /metrics/summary is a red banner above Summary naming the arm; an
    unflagged arm none; requests held off by a guardrail a warning with their count."""
    import data

    real = data.summary

    def with_srm(filters: data.Filters) -> dict[str, Any]:
        s = real(filters)
        s["srm"] = [{"config_version": "0123456789abcdef", "experiment_id": "e",
                     "assignment": "hash", "applicants": 300, "ended": False,
                     "challengers": [
                         {"challenger": GBM, "expected_share": 0.5, "observed_share": 0.1,
                          "applicants": 30, "srm_p_value": 1e-40, "srm": True},
                         {"challenger": CARD, "expected_share": 0.2, "observed_share": 0.2,
                          "applicants": 60, "srm_p_value": 0.9, "srm": False}]}]
        s.setdefault("status", {})["CHALLENGER_SUSPENDED"] = 7
        return s

    monkeypatch.setattr(data, "summary", with_srm)
    at = run_app()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and GBM in errors[0] and "Sample-ratio mismatch" in errors[0]
    assert "10.0%" in errors[0] and "50.0%" in errors[0] and CARD not in errors[0]
    assert any("7 request(s)" in w.value for w in at.warning)
    assert [h.value for h in at.header][:1] == ["Summary"]
