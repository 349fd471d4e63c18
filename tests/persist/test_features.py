"""Any feature (issue 16, DESIGN §7): events with `features` and `config_version` round-trip
into their columns, the feature catalogue learned at ingest (counts survive a redelivered
duplicate), f.* filters on every endpoint, segments by a category, a boolean and a number
feature (deciles), and the 400s — on PostgreSQL and SQLite, against Python references
computed from the events the test wrote."""

from __future__ import annotations

import json
import random

import csgp
import pytest

HOMES = ("rent", "owner", "parents", "priv", "other", "ignore")


def with_features(events: list[dict], seed: int) -> list[dict]:
    """Two thirds of the events as an ABI 2.0 gateway writes them (features +
    config_version; home and vip sometimes absent; a few with the top-level income null,
    taken from features); the rest as an older gateway (no new keys)."""
    r = random.Random(seed)
    out = []
    for i, e in enumerate(events):
        e = dict(e)
        if i % 3:
            f: dict = {
                "income": e["income"],
                "loan_amount": e["loan_amount"],
                "credit_history": e["credit_history"],
                "age": r.randint(18, 90),
            }
            if r.random() < 0.8:
                f["home"] = r.choice(HOMES)
            if r.random() < 0.5:
                f["vip"] = r.random() < 0.3
            if r.random() < 0.3:
                f["debt"] = round(r.uniform(0, 5000), 2)
            e["features"] = f
            e["config_version"] = f"{r.getrandbits(64):016x}"
            if i % 7 == 0:
                e["income"] = None  # a schema without the top-level key: from features
        out.append(e)
    return out


def stored_income(e: dict) -> float | None:
    if e["income"] is not None:
        return e["income"]
    return (e.get("features") or {}).get("income")


def kind(v: object) -> str:
    return "boolean" if isinstance(v, bool) else "category" if isinstance(v, str) else "number"


def ref_catalogue(events: list[dict]) -> list[dict]:
    cat: dict[str, dict] = {}
    for e in events:
        for name, v in (e.get("features") or {}).items():
            c = cat.setdefault(name, {"name": name, "type": kind(v), "count": 0, "v": set()})
            assert c["type"] == kind(v)
            c["count"] += 1
            if isinstance(v, str):
                c["v"].add(v)
    out = []
    for name in sorted(cat):
        c = cat[name]
        item = {"name": name, "type": c["type"], "count": c["count"]}
        if c["type"] == "category":
            item["values"] = sorted(c["v"])
        out.append(item)
    return out


def feat(e: dict, name: str) -> object:
    return (e.get("features") or {}).get(name)


class FFilters(csgp.Filters):
    """csgp.Filters plus feature filters: {name: (min, max)} and {name: [values]}."""

    def __init__(self, ranges=None, values=None, **kw) -> None:
        super().__init__(**kw)
        self.ranges = ranges or {}
        self.values = values or {}

    def params(self) -> dict:
        p: dict = super().params()
        for name, (lo, hi) in self.ranges.items():
            if lo is not None:
                p[f"f.{name}.min"] = repr(lo)
            if hi is not None:
                p[f"f.{name}.max"] = repr(hi)
        for name, vals in self.values.items():
            p[f"f.{name}"] = list(vals)
        return p

    def keep(self, e: dict) -> bool:
        # min_income/max_income read the column, which holds the features' income when
        # the top-level key was null.
        e2 = dict(e, income=stored_income(e))
        if (self.min_income is not None or self.max_income is not None) and e2["income"] is None:
            return False
        if not super().keep(e2):
            return False
        for name, (lo, hi) in self.ranges.items():
            v = feat(e, name)
            if kind(v) != "number" or v is None:
                return False
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                return False
        for name, vals in self.values.items():
            v = feat(e, name)
            text = ("true" if v else "false") if isinstance(v, bool) else v
            if v is None or text not in vals:
                return False
        return True


def ref_groups(evs: list[dict], by: str, groups: list[tuple[str, object]]) -> dict:
    """ref_segments over labelled groups (label, predicate), in order."""
    segs = []
    for label, pred in groups:
        sub = [dict(e, income=0.0) for e in evs if pred(e)]  # one band holding them all
        seg = csgp.ref_segments(sub, "income", [float("-inf")])["segments"][0]
        seg["band"] = label
        segs.append(seg)
    return {"by": by, "segments": segs}


def ref_category_segments(evs: list[dict], name: str) -> dict:
    def text(v: object) -> str | None:
        if v is None:
            return None
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    present = sorted({text(feat(e, name)) for e in evs if feat(e, name) is not None})
    groups: list[tuple[str, object]] = [
        (v, lambda e, v=v: text(feat(e, name)) == v) for v in present
    ]
    if any(feat(e, name) is None for e in evs):
        groups.append(("(missing)", lambda e: feat(e, name) is None))
    return ref_groups(evs, name, groups)


def ref_decile_segments(evs: list[dict], name: str, first: list[dict]) -> dict:
    """Segments of evs by the deciles frozen from `first` (the first batch that stored the
    feature: csg-persist fixes a number feature's bands then, docs/persistence.md)."""
    vals = [feat(e, name) for e in first if feat(e, name) is not None]
    edges: list[float] = []
    for p in [0.0] + [k / 10 for k in range(1, 10)]:
        v = float(min(vals)) if p == 0 else csgp.pct([float(x) for x in vals], p)
        if not edges or v > edges[-1]:
            edges.append(v)
    groups: list[tuple[str, object]] = []
    for k, lo in enumerate(edges):
        hi = edges[k + 1] if k + 1 < len(edges) else None
        label = f"[{csgp.fmt_edge(lo)},{csgp.fmt_edge(hi) if hi is not None else 'inf'})"
        groups.append(
            (
                label,
                lambda e, lo=lo, hi=hi: feat(e, name) is not None
                and feat(e, name) >= lo
                and (hi is None or feat(e, name) < hi),
            )
        )
    if any(feat(e, name) is None for e in evs):
        groups.append(("(missing)", lambda e: feat(e, name) is None))
    return ref_groups(evs, name, groups)


def check(got: dict, want: dict) -> None:
    diffs = csgp.close(got, want)
    assert not diffs, "\n".join(diffs[:20])


def load(database: csgp.Database, tmp_path, events: list[dict]) -> dict:
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return json.loads(csgp.run_cli("import", "--db", database.url, str(f)).stdout)


@pytest.fixture
def featured(database: csgp.Database, procs, tmp_path):
    events = with_features(csgp.make_events(1500, 23), 5)
    events += events[:30]  # repeated event_ids: stored and counted once
    stats = load(database, tmp_path, events)
    assert stats["rejected"] == 0 and stats["inserted"] == len(csgp.dedup(events)), stats
    p = csgp.Persist(database, topic=csgp.unique("feat"), args=["--no-consume"]).start()
    procs.append(p)
    return p, list(csgp.dedup(events).values())


def test_round_trip_and_catalogue(featured, database: csgp.Database, tmp_path) -> None:
    p, events = featured
    by_id = {e["event_id"]: e for e in events}
    rows = database.query(
        "SELECT event_id, features, config_version, income, loan_amount, credit_history "
        "FROM credit_score_metrics"
    )
    assert len(rows) == len(events)
    for eid, features, version, income, loan, history in rows:
        e = by_id[eid]
        if isinstance(features, str):
            features = json.loads(features)
        assert features == e.get("features"), eid
        assert version == e.get("config_version"), eid
        assert income == stored_income(e) and loan == e["loan_amount"], eid
        assert history == e["credit_history"], eid
    # /metrics/events shows both keys, null for the older events
    seen = p.get("/metrics/events", limit=1000).json()["events"]
    for row in seen:
        e = by_id[row["event_id"]]
        assert row["features"] == e.get("features")
        assert row["config_version"] == e.get("config_version")
        assert row["income"] == stored_income(e)
    want = ref_catalogue(events)
    assert {f["name"] for f in want} == {
        "income", "loan_amount", "credit_history", "age", "home", "vip", "debt"
    }
    assert p.get("/metrics/features").json() == {"features": want}
    # A redelivery (the same file again: every event a duplicate) counts nothing twice.
    stats = load(database, tmp_path, events[:500])
    assert stats["inserted"] == 0 and stats["duplicates"] == 500, stats
    assert p.get("/metrics/features").json() == {"features": want}
    # New events add to the counts and values.
    more = with_features(csgp.make_events(60, 99), 6)
    for e in more:
        e["event_id"] = "more-" + e["event_id"]
        if e.get("features"):
            e["features"]["home"] = "zz-new"
    assert load(database, tmp_path, more)["inserted"] == 60
    assert p.get("/metrics/features").json() == {"features": ref_catalogue(events + more)}


T = csgp.ts_ms("2026-11-25T09:00:00Z")
FEATURE_FILTERS = [
    FFilters(values={"home": ["rent"]}),
    FFilters(values={"home": ["rent", "owner"]}),  # OR within a feature
    FFilters(ranges={"age": (30, 50)}),
    FFilters(ranges={"age": (None, 40.5)}, values={"home": ["parents", "priv"]}),  # AND
    FFilters(ranges={"debt": (1000.0, None)}),
    FFilters(values={"vip": ["true"]}),
    FFilters(values={"vip": ["false", "true"]}, experiment_id="exp-b"),
    FFilters(ranges={"income": (20000.0, 90000.0)}, min_income=30000.0),  # old + new
    FFilters(values={"home": ["no-such-value"]}),  # empty: nulls with notes
    FFilters(from_ms=T + 1_800_000, ranges={"credit_history": (2, 9)}),
]


def test_feature_filters_every_endpoint(featured) -> None:
    p, events = featured
    for f in FEATURE_FILTERS:
        evs = [e for e in events if f.keep(e)]
        params = f.params()
        r = p.get("/metrics/summary", **params)
        assert r.status_code == 200, r.text
        check(r.json(), csgp.ref_summary(evs))
        r = p.get("/metrics/latency", bucket="5m", **params)
        assert r.status_code == 200, r.text
        check(r.json(), csgp.ref_latency(evs, "5m"))
        r = p.get("/metrics/distribution", bins=10, **params)
        assert r.status_code == 200, r.text
        check(r.json(), csgp.ref_distribution(evs, 10))
        r = p.get("/metrics/events", limit=1000, **params)
        assert r.status_code == 200 and r.json()["total"] == len(evs), r.text
        assert {e["event_id"] for e in r.json()["events"]} == {e["event_id"] for e in evs}
        assert p.get("/metrics/performance", **params).status_code == 200
        r = p.get("/metrics/segments", by="credit_history", bands="0,3,8", **params)
        assert r.status_code == 200, r.text
        check(r.json(), csgp.ref_segments(evs, "credit_history", [0.0, 3.0, 8.0]))


def test_segments_by_feature(featured) -> None:
    p, events = featured
    for f in (FFilters(), FFilters(experiment_id="exp-b"), FFilters(ranges={"age": (25, 70)})):
        evs = [e for e in events if f.keep(e)]
        for name in ("home", "vip"):
            r = p.get("/metrics/segments", by=name, **f.params())
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["type"] == ("category" if name == "home" else "boolean")
            check(body, ref_category_segments(evs, name))
        r = p.get("/metrics/segments", by="age", **f.params())
        assert r.status_code == 200, r.text
        check(r.json(), ref_decile_segments(evs, "age", events))  # one import batch
        assert len(r.json()["segments"]) >= 9  # ten deciles (ties may merge), (missing)
        # bands= on a number feature: fixed edges, rows without the feature in (missing)
        r = p.get("/metrics/segments", by="debt", bands="0,1000,2500", **f.params())
        assert r.status_code == 200, r.text
        groups: list[tuple[str, object]] = [
            ("[0,1000)", lambda e: feat(e, "debt") is not None and feat(e, "debt") < 1000),
            (
                "[1000,2500)",
                lambda e: feat(e, "debt") is not None and 1000 <= feat(e, "debt") < 2500,
            ),
            ("[2500,inf)", lambda e: feat(e, "debt") is not None and feat(e, "debt") >= 2500),
            ("(missing)", lambda e: feat(e, "debt") is None),
        ]
        check(r.json(), ref_groups(evs, "debt", groups))
    # by=income keeps mapping to the column (today's bands), not to the feature
    r = p.get("/metrics/segments", by="income")
    evs = [dict(e, income=stored_income(e)) for e in events]
    evs = [e for e in evs if e["income"] is not None]
    check(r.json(), csgp.ref_segments(evs, "income", [0, 20000, 50000, 100000]))
    assert "type" not in r.json()


BAD_FEATURE_PARAMS = [
        ({"f.nosuch.min": "1"}, "f.nosuch.min"),
        ({"f.nosuch": "x"}, "f.nosuch"),
        ({"f.home.min": "1"}, "f.home.min"),  # min on a category
        ({"f.vip.max": "1"}, "f.vip.max"),  # max on a boolean
        ({"f.age": "30"}, "f.age"),  # a value on a number
        ({"f.vip": "yes"}, "f.vip"),  # booleans are true/false
        ({"f.Home": "rent"}, "f.Home"),  # not a feature name
        ({"f.age.min": "x"}, "f.age.min"),
        ({"f.age.min": "9", "f.age.max": "1"}, "f.age.max"),
]


def test_feature_parameter_errors(featured) -> None:
    p, _ = featured
    for params, bad in BAD_FEATURE_PARAMS:
        for path in ("/metrics/summary", "/metrics/events", "/metrics/segments"):
            r = p.get(path, **params)
            assert r.status_code == 400, r.text
            err = r.json()["error"]
            assert err["code"] == "invalid_parameter" and err["parameter"] == bad, err
    r = p.get("/metrics/segments", by="nosuch")
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "by"
    r = p.get("/metrics/segments", by="home", bands="1,2")
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "bands"


@pytest.mark.parametrize("database", ["pg", "sqlite"], indirect=True)
def test_features_on_empty_db(database: csgp.Database, procs) -> None:
    p = csgp.Persist(database, topic="unused", args=["--no-consume"]).start()
    procs.append(p)
    assert p.get("/metrics/features").json() == {"features": []}
    r = p.get("/metrics/features", x="1")
    assert r.status_code == 400
    r = p.get("/metrics/summary", **{"f.home": "rent"})
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "f.home"


@pytest.mark.parametrize("database", ["pg", "sqlite"], indirect=True)
def test_kafka_features_and_redelivery(kafka, database: csgp.Database, procs) -> None:
    """Through Kafka: events with features are stored, older ones without still ingest,
    a bad feature goes to the DLQ with its reason, and a redelivered batch (the same
    messages produced again) leaves the catalogue's counts as they were."""
    topic = csgp.unique("featk")
    csgp.create_topics(topic, topic + ".dlq")
    events = with_features(csgp.make_events(600, 31), 7)
    bad = dict(events[1], event_id="bad-feature", features={"Home": "rent"})
    csgp.produce_events(topic, events + [bad])
    p = csgp.Persist(database, topic).start()
    procs.append(p)
    csgp.wait_for(
        lambda: p.metric("csgp_rows_inserted_total") >= 600, 60, "600 rows", every=0.25
    )
    want = ref_catalogue(events)
    assert p.get("/metrics/features").json() == {"features": want}
    csgp.produce_events(topic, events[:200])
    csgp.wait_for(
        lambda: p.metric("csgp_duplicates_total") >= 200, 60, "200 duplicates", every=0.25
    )
    assert database.count() == 600
    assert p.get("/metrics/features").json() == {"features": want}
    dlq = csgp.read_topic(topic + ".dlq", 1)
    assert len(dlq) == 1
    env = json.loads(dlq[0].value())
    assert "Home" in env["reason"] and "feature" in env["reason"], env


@pytest.mark.parametrize("database", ["pg", "sqlite"], indirect=True)
def test_category_values_bounded(database: csgp.Database, procs, tmp_path) -> None:
    """A category with 120 distinct values, in two batches (transactions) in shuffled
    order: the catalogue keeps the 100 smallest (byte order) with values_truncated, counts
    all 120; segments by it show those 100 values and "(other)" for the rest."""
    events = csgp.make_events(120, 41)
    codes = [f"v{i:03d}" for i in range(120)]
    random.Random(4).shuffle(codes)
    for e, code in zip(events, codes, strict=True):
        e["features"] = {"code": code}
    assert load(database, tmp_path, events[:70])["inserted"] == 70
    assert load(database, tmp_path, events[70:])["inserted"] == 50
    p = csgp.Persist(database, topic="unused", args=["--no-consume"]).start()
    procs.append(p)
    assert p.get("/metrics/features").json() == {"features": [{
        "name": "code", "type": "category", "values": sorted(codes)[:100],
        "values_truncated": True, "count": 120}]}
    segs = p.get("/metrics/segments", by="code").json()["segments"]
    assert [s["band"] for s in segs] == sorted(codes)[:100] + ["(other)"]
    assert [s["count"] for s in segs] == [1] * 100 + [20]
