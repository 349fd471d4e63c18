"""Stability monitoring (issue 22, DESIGN §7): baselines stored by POST /baselines and
`--baseline FILE`, GET /metrics/stability's score PSI per model and feature CSI per time
bucket against them (or against a reference window), its 400s, the csgp_psi / csgp_csi
gauges, and the bundled baselines models/train.py writes — on PostgreSQL and SQLite,
against an independent Python computation to 1e-9."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import csgp
import pytest
from test_features import FFilters, with_features

FLOOR = 1e-4  # empty bins, as every PSI in csg-persist
ROOT = Path(__file__).resolve().parents[2]


baseline = csgp.make_baseline


def score_bin(b: dict, s: float) -> int:
    inner = b["score"]["edges"][1:-1]
    return sum(1 for e in inner if s >= e)


def feature_bin(f: dict, v: object) -> int:
    if f["type"] == "category":
        levels = f["levels"]
        if isinstance(v, bool):
            v = "true" if v else "false"
        if not isinstance(v, str):
            return len(levels)  # missing
        return levels.index(v) if v in levels else len(levels) + 1  # other
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return len(f["cuts"]) + 1
    return sum(1 for c in f["cuts"] if v >= c)


def label(f: dict, k: int) -> str:
    n = len(f["levels"]) if f["type"] == "category" else len(f["cuts"]) + 1
    if k == n:
        return "(missing)"
    if k > n:
        return "(other)"
    if f["type"] == "category":
        return f["levels"][k]
    cuts = [format(c, ".15g") for c in f["cuts"]]
    if n == 1:
        return "(any)"
    if k == 0:
        return f"< {cuts[0]}"
    if k == n - 1:
        return f">= {cuts[-1]}"
    return f"[{cuts[k - 1]}, {cuts[k]})"


def index(expected: list[float], counts: list[int]) -> float:
    total = sum(counts)
    out = 0.0
    for e, c in zip(expected, counts, strict=True):
        e, a = max(e, FLOOR), max(c / total, FLOOR)
        out += (a - e) * math.log(a / e)
    return out


def band(v: float) -> str:
    return "stable" if v < 0.10 else "watch" if v <= 0.25 else "shifted"


def point(t: int, expected: list[float] | None, counts: list[int], key: str) -> dict:
    if expected is None:
        return {"t": csgp.fmt_ms(t * 1000), key: None, "band": None, "count": sum(counts)}
    v = index(expected, counts)
    return {"t": csgp.fmt_ms(t * 1000), key: v, "band": band(v), "count": sum(counts)}


def ref_stability(evs: list[dict], bases: dict[str, dict], secs: int) -> dict:
    """The reply for the (already filtered) events in stored order, from first principles."""
    bucket = {}  # model -> t -> counts
    seen: set[str] = set()
    for e in evs:
        t = csgp.ts_ms(e["timestamp"]) // 1000 // secs * secs
        for role in ("champion", "challenger"):
            m, s = e[f"{role}_model"], e[f"{role}_score"]
            if m is None or s is None:
                continue
            seen.add(m)
            b = bases.get(m)
            n = len(b["score"]["shares"]) if b else 1
            c = bucket.setdefault(m, {}).setdefault(t, [0] * n)
            c[score_bin(b, s) if b else 0] += 1
    models = []
    for m in sorted(seen):
        b = bases.get(m)
        pts = [point(t, b["score"]["shares"] if b else None, c, "psi")
               for t, c in sorted(bucket[m].items())]
        models.append({"model": m, "points": pts})
    champion = evs[-1]["champion_model"] if evs else None
    cb = bases.get(champion)
    features = []
    for f in (cb or {}).get("features", []):
        extra = 1 if f["type"] == "category" else 0
        per: dict[int, list[int]] = {}
        for e in evs:
            if not isinstance(e.get("features"), dict):
                continue
            t = csgp.ts_ms(e["timestamp"]) // 1000 // secs * secs
            c = per.setdefault(t, [0] * (len(f["shares"]) + extra))
            c[feature_bin(f, e["features"].get(f["name"]))] += 1
        exp = f["shares"] + [0.0] * extra
        item = {"name": f["name"],
                "points": [point(t, exp, c, "csi") for t, c in sorted(per.items())],
                "latest": None}
        if per:
            t, c = max(per.items())
            item["latest"] = {"t": csgp.fmt_ms(t * 1000), "bins": [
                {"bin": label(f, k), "expected": e, "actual": n / sum(c)}
                for k, (e, n) in enumerate(zip(exp, c, strict=True))]}
        features.append(item)
    return {"models": models, "features": features}


def check(got: dict, want: dict) -> None:
    diffs = csgp.close(got, want)
    assert not diffs, "\n".join(diffs[:20])


def load(database: csgp.Database, tmp_path: Path, events: list[dict]) -> None:
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    stats = json.loads(csgp.run_cli("import", "--db", database.url, str(f)).stdout)
    assert stats["rejected"] == 0 and stats["inserted"] == len(events), stats


def post(p: csgp.Persist, doc: object) -> object:
    import requests

    body = doc if isinstance(doc, (bytes, str)) else json.dumps(doc)
    return requests.post(p.url + "/baselines", data=body, timeout=30)


@pytest.fixture
def stable(database: csgp.Database, procs, tmp_path):
    events = with_features(csgp.make_events(1500, 41), 9)
    load(database, tmp_path, events)
    bases = {m: baseline(m, k, features=m.startswith("champion"))
             for k, m in enumerate([*csgp.CHAMPIONS, csgp.CHALLENGERS[0]])}
    f = tmp_path / "champion.baseline.json"
    f.write_text(json.dumps(bases[csgp.CHAMPIONS[0]]))
    p = csgp.Persist(database, topic=csgp.unique("stab"),
                     args=["--no-consume", "--baseline", str(f)]).start()
    procs.append(p)
    for m in (csgp.CHAMPIONS[1], csgp.CHALLENGERS[0]):
        r = post(p, bases[m])
        assert r.status_code == 200, r.text
        got = r.json()
        assert {k: got[k] for k in ("model", "score_bins", "features", "status")} == {
            "model": m, "score_bins": 8, "features": len(bases[m]["features"]),
            "status": "done"}, got
        assert isinstance(got["job"], int) and got["seconds"] >= 0, got
    return p, events, bases


T = csgp.ts_ms("2026-11-25T09:00:00Z")
FILTERS = [
    FFilters(),
    FFilters(experiment_id="exp-b"),
    FFilters(from_ms=T + 1_800_000, to_ms=T + 5_400_000),
    FFilters(challenger_model="challenger-rf-v2"),
    FFilters(values={"home": ["rent"]}),
    FFilters(experiment_id="no-such-experiment"),
]


def test_stability_against_reference(stable) -> None:
    p, events, bases = stable
    for secs, bucket in ((86400, "1d"), (3600, "1h"), (60, "1m")):
        for f in FILTERS:
            evs = [e for e in events if f.keep(e)]
            r = p.get("/metrics/stability", bucket=bucket, **f.params())
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["bucket"] == bucket
            check(got, ref_stability(evs, bases, secs))
            # without row-level filters hour and day buckets come from the feature-bin
            # rollups (the baselines were stored after the events: rebuilt), equal to rows
            rollup = secs > 60 and not f.values and f.from_ms is None
            assert got["source"] == ("rollup" if rollup else "rows"), (bucket, f, got["source"])
            if rollup:
                rows = p.get("/metrics/stability", bucket=bucket, source="rows", **f.params())
                check(got, rows.json() | {"source": "rollup", "rollup_seconds": secs})
            if evs:
                assert got["baseline"] == {"source": "file",
                                           "model": evs[-1]["champion_model"]}
    # the default bucket is a day; the whole set exercises what the reference is for
    full = p.get("/metrics/stability").json()
    assert full["bucket"] == "1d"
    want = ref_stability(events, bases, 86400)
    check(full, want)
    csi = {f["name"]: f["points"] for f in want["features"]}
    assert csi["never_seen"][0]["band"] == "shifted"  # all missing against a 1/3 share
    assert {pt["band"] for m in want["models"] for pt in m["points"]} >= {"shifted"}
    assert all(pt["psi"] is None for m in want["models"] if m["model"] not in bases
               for pt in m["points"])  # a model without a baseline is listed, psi null


def test_reference_window(stable) -> None:
    """Against a reference window the first hour is compared with itself: every model's
    PSI and every feature's CSI is ~0 in that hour (the window's deciles and shares)."""
    p, _, bases = stable
    ref = {"reference_from": csgp.fmt_ms(T), "reference_to": csgp.fmt_ms(T + 3_600_000)}
    r = p.get("/metrics/stability", bucket="1h", **ref)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["baseline"]["source"] == "window"
    assert got["baseline"]["from"] == csgp.fmt_ms(T)
    assert got["models"] and got["features"]
    first = csgp.fmt_ms(T)
    for s in got["models"] + got["features"]:
        p0 = s["points"][0]
        assert p0["t"] == first
        value = p0["psi"] if "psi" in p0 else p0["csi"]
        assert value is not None and abs(value) < 1e-9, s
    # the champion's stored feature bins are the window's bins
    names = [f["name"] for f in got["features"]]
    champion = got["baseline"]["model"]
    assert names == [f["name"] for f in bases[champion]["features"]]


def test_bad_requests(stable) -> None:
    p, _, bases = stable
    cases = [
        ({"bucket": "10s"}, "bucket"),
        ({"reference_from": "2026-11-25T09:00:00Z"}, "reference_to"),
        ({"reference_from": "2026-11-25T09:00:00Z", "reference_to": "2026-11-25T08:00:00Z"},
         "reference_to"),
        ({"bins": "3"}, "bins"),
    ]
    for params, name in cases:
        r = p.get("/metrics/stability", **params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"]["parameter"] == name, r.text
    good = bases[csgp.CHAMPIONS[0]]
    bad_docs = [
        (b"{", "not valid JSON"),
        ([], "JSON object"),
        (dict(good, format="csg-baseline/9"), "format"),
        (dict(good, model=""), "model"),
        (dict(good, score={"edges": [0, 0.5, 0.4, 1], "shares": [0.5, 0.2, 0.3]}),
         "score.edges"),
        (dict(good, score={"edges": [0.1, 1], "shares": [1]}), "score.edges"),
        (dict(good, score={"edges": [0, 0.5, 1], "shares": [0.5, 0.6]}), "score.shares"),
        (dict(good, features=[{"name": "Income", "type": "number", "cuts": [],
                               "shares": [1, 0]}]), "features[0].name"),
        (dict(good, features=[{"name": "x", "type": "number", "cuts": [2, 1],
                               "shares": [0.5, 0.5, 0, 0]}]), "features[0].cuts"),
        (dict(good, features=[{"name": "x", "type": "category", "levels": ["a", "a"],
                               "shares": [0.5, 0.5, 0]}]), "features[0].levels"),
        (dict(good, features=[{"name": "x", "type": "text", "shares": [1]}]),
         "features[0].type"),
    ]
    for doc, needle in bad_docs:
        r = post(p, doc)
        assert r.status_code == 400, (doc, r.text)
        body = r.json()["error"]
        assert body["code"] == "invalid_baseline" and needle in body["message"], body
    assert post(p, good).status_code == 200  # and nothing above replaced it
    r = p.get("/metrics/stability")
    assert r.json()["baseline"]["source"] == "file"


def test_no_baseline_and_bad_file(database: csgp.Database, procs, tmp_path) -> None:
    p = csgp.Persist(database, topic=csgp.unique("stab0"), args=["--no-consume"]).start()
    procs.append(p)
    got = p.get("/metrics/stability").json()
    assert got["baseline"] is None and got["models"] == [] and got["features"] == []
    assert "POST /baselines" in got["note"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "csg-baseline/1", "model": "m"}')
    q = csgp.Persist(database, topic=csgp.unique("stab1"),
                     args=["--no-consume", "--baseline", str(bad)])
    q.start(wait=False)
    procs.append(q)
    assert q.proc.wait(timeout=30) == 1
    assert f"{bad}: baseline field \"score\"" in q.log.read_text()


def test_gauges_for_the_latest_complete_hour(database: csgp.Database, procs, tmp_path) -> None:
    """csgp_psi{model} and csgp_csi{feature} on /metrics cover the last complete hour."""
    hour = int(time.time()) // 3600 * 3600 - 3600
    events = with_features(
        csgp.make_events(300, 5, span_s=3599, t0=datetime.fromtimestamp(hour, tz=UTC)), 2)
    load(database, tmp_path, events)
    p = csgp.Persist(database, topic=csgp.unique("stabg"), args=["--no-consume"]).start()
    procs.append(p)
    champion = events[-1]["champion_model"]
    doc = baseline(champion, 3)
    assert post(p, doc).status_code == 200
    want = ref_stability(events, {champion: doc}, 3600)
    text = p.get("/metrics").text
    psi = next(m for m in want["models"] if m["model"] == champion)["points"][-1]["psi"]
    assert f"csgp_psi{{model=\"{champion}\"}} " in text
    line = next(x for x in text.splitlines() if x.startswith(f'csgp_psi{{model="{champion}"}}'))
    assert math.isclose(float(line.split()[-1]), psi, rel_tol=1e-9)
    for f in want["features"]:
        line = next(x for x in text.splitlines()
                    if x.startswith(f'csgp_csi{{feature="{f["name"]}"}}'))
        assert math.isclose(float(line.split()[-1]), f["points"][-1]["csi"], rel_tol=1e-9)
    assert "# TYPE csgp_psi gauge" in text and "# TYPE csgp_csi gauge" in text


def test_bundled_baselines(database: csgp.Database, procs) -> None:
    """models/*.baseline.json load, and describe the training sample: ten score bins of
    about a tenth each, and all 13 characteristics with a missing bin."""
    args = ["--no-consume"]
    for role in ("champion", "challenger"):
        args += ["--baseline", str(ROOT / "models" / f"{role}.baseline.json")]
    p = csgp.Persist(database, topic=csgp.unique("stabm"), args=args).start()
    procs.append(p)
    for role, name in (("champion", "champion-scorecard-v2"),
                       ("challenger", "challenger-gbm-v2")):
        doc = json.loads((ROOT / "models" / f"{role}.baseline.json").read_text())
        assert doc["model"] == name
        assert len(doc["score"]["shares"]) == 10
        assert all(abs(s - 0.1) < 0.002 for s in doc["score"]["shares"])
        assert len(doc["features"]) == 13
        r = post(p, doc)
        assert r.status_code == 200 and r.json()["features"] == 13, r.text
