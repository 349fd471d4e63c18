"""Rollups (DESIGN §7 "Scale", issue 20) on PostgreSQL and SQLite: the aggregate endpoints
answer from the rollups whenever no row-level filter is given, with the same counts and
rates as the rows, averages to 1e-9 and latency percentiles within the sketch's 1%;
redelivered events never count twice; a database of the previous layout gets the rollups
of its rows when migrated; the source is stated in every reply."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import csgp
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

T = csgp.ts_ms("2026-11-25T09:00:00Z")


load = csgp.import_events


@pytest.fixture(scope="module")
def loaded(module_database: csgp.Database, tmp_path_factory):
    """Loaded once per backend: the tests below only read."""
    events = csgp.add_features(csgp.make_events(4000, 21, span_s=3 * 3600), 21)
    events += events[:50]  # repeated event_ids in one batch
    load(module_database, tmp_path_factory.mktemp("roll"), events, times=2)
    p = csgp.Persist(module_database, topic=csgp.unique("roll"),
                     args=["--no-consume"]).start()
    yield p, list(csgp.dedup(events).values())
    p.stop()


ROLLUP_FILTERS = [
    {},
    {"from": csgp.fmt_ms(T + 3_600_000)},  # hour boundary: per-hour rollups
    {"from": csgp.fmt_ms(T), "to": csgp.fmt_ms(T + 7_200_000)},
    {"from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z"},  # a day: daily rollups
    {"experiment_id": "exp-b"},
    {"challenger_model": "challenger-rf-v2"},
    {"experiment_id": "exp-champion-vs-gbm", "challenger_model": "challenger-gbm-v1",
     "from": str((T + 3_600_000) // 1000)},  # epoch seconds
    {"experiment_id": "no-such-experiment"},
]


@pytest.mark.parametrize("filters", ROLLUP_FILTERS, ids=range(len(ROLLUP_FILTERS)))
def test_rollup_equals_rows(loaded, filters) -> None:
    p, events = loaded
    assert csgp.rollup_totals(p.db) == [(3600, len(events)), (86400, len(events))]
    diffs = csgp.rollup_vs_rows(p, filters)
    assert not diffs, "\n".join(diffs[:20])
    # source=auto picks the rollups for these queries.
    for path, extra in csgp.ROLLUP_ENDPOINTS + csgp.FEATURE_ENDPOINTS:
        body = p.get(path, **filters, **extra).json()
        assert body["source"] == "rollup", (path, body)
        if path in ("/metrics/summary", "/metrics/latency"):
            assert body["percentile_relative_accuracy"] == csgp.SKETCH_ACCURACY
    # The span (first/last event, for the dashboard's latency bucket): the rollups find the
    # two hours, their rows give the exact times, equal to the rows' min/max.
    rolled = p.get("/metrics/summary", **filters).json()
    rows = p.get("/metrics/summary", **filters, source="rows").json()
    assert (rolled["first"], rolled["last"]) == (rows["first"], rows["last"])
    if rows["total"]:
        assert rows["first"] <= rows["last"], rows
    else:
        assert rows["first"] is None and rows["last"] is None


@pytest.mark.parametrize(
    "path,params",
    [
        ("/metrics/summary", {"applicant_id": "17"}),
        ("/metrics/summary", {"min_income": "1000"}),
        ("/metrics/summary", {"from": "2026-11-25T09:30:00Z"}),  # not an hour boundary
        ("/metrics/latency", {"bucket": "10s"}),
        ("/metrics/latency", {"bucket": "5m"}),
        ("/metrics/distribution", {"bins": 7}),
        ("/metrics/segments", {"by": "income", "bands": "0,1000"}),
    ],
)
def test_row_level_queries_read_rows(loaded, path: str, params: dict) -> None:
    p, _ = loaded
    body = p.get(path, **params).json()
    assert body["source"] == "rows", body
    if "percentile_relative_accuracy" in body:
        assert body["percentile_relative_accuracy"] == 0
    r = p.get(path, source="rollup", **params)
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "source", r.text


def test_source_parameter_checked(loaded) -> None:
    p, _ = loaded
    r = p.get("/metrics/summary", source="cache")
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "source"
    r = p.get("/metrics/events", source="rows")  # only the aggregate endpoints take it
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "source"
    for path in ("/metrics/events", "/metrics/performance"):
        assert p.get(path).json()["source"] == "rows", path


def test_parallel_imports_count_once(database: csgp.Database, procs, tmp_path) -> None:
    """bench/persist loads with several `csg-persist import` processes at once (as two
    consumer members write): their transactions upsert the same rollup keys (one two-hour
    window, batches of 50) and redeliver each other's events. None deadlocks or fails (on
    SQLite the writers wait for each other), every event is stored once, and every rollup
    equals the rows — also the later batches' feature values below the first batch's
    frozen deciles (in no band, not "(missing)")."""
    parts = [csgp.add_features(csgp.make_events(600, 30 + j, span_s=2 * 3600), 30 + j)
             for j in range(4)]
    files = []
    for j, evs in enumerate(parts):
        f = tmp_path / f"part{j}.ndjson"
        again = parts[(j + 1) % 4][:150]  # the next loader's first events, redelivered
        f.write_text("\n".join(json.dumps(e) for e in evs + again) + "\n")
        files.append(f)
    loaders = [subprocess.Popen([str(csgp.BIN), "import", "--db", database.url, "--batch-max",
                                 "50", str(f)], env=csgp.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for f in files]
    outs = [p.communicate(timeout=120) for p in loaders]
    assert [p.returncode for p in loaders] == [0] * 4, outs
    n = len(csgp.dedup(e for evs in parts for e in evs))
    assert sum(json.loads(o)["inserted"] for o, _ in outs) == n == database.count()
    assert csgp.rollup_totals(database) == [(3600, n), (86400, n)]
    p = csgp.Persist(database, topic=csgp.unique("par"), args=["--no-consume"]).start()
    procs.append(p)
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])


def test_migration_builds_rollups_of_existing_rows(database: csgp.Database, procs,
                                                   tmp_path) -> None:
    """The layout before 004 (migrations up to 003 with rows): migrate adds the rollup
    tables (004, 007, 045) and fills them from the rows; no row is lost."""
    events = csgp.add_features(csgp.make_events(2500, 22, span_s=2 * 3600), 22)
    load(database, tmp_path, events)
    csgp.drop_rollups(database)
    before = sorted(database.query("SELECT id, event_id FROM credit_score_metrics"))
    assert len(before) == len(events)
    out = csgp.run_cli("migrate", "--db", database.owner_url).stdout
    assert "3 migration(s) applied" in out, out
    assert sorted(database.query("SELECT id, event_id FROM credit_score_metrics")) == before
    assert csgp.rollup_totals(database) == [(3600, len(events)), (86400, len(events))]
    p = csgp.Persist(database, topic=csgp.unique("mig"), args=["--no-consume"]).start()
    procs.append(p)
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])
    # and new events keep adding to them
    more = csgp.add_features(csgp.make_events(300, 23, span_s=600), 23)
    load(database, tmp_path, more)
    n = len(events) + len(csgp.dedup(more))
    assert csgp.rollup_totals(database) == [(3600, n), (86400, n)]
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])


def test_migration_007_converts_bucket_rows(database: csgp.Database, procs, tmp_path) -> None:
    """Rollups of the 004 layout (one row per latency bucket / score bin) become one sketch
    row per key and period without reading the rows (rollups outlive purged rows): the
    endpoints answer the same before and after."""
    load(database, tmp_path, csgp.make_events(1500, 31, span_s=2 * 3600))
    p = csgp.Persist(database, topic=csgp.unique("m7"), args=["--no-consume"]).start()
    procs.append(p)
    paths = [("/metrics/summary", {}), ("/metrics/latency", {"bucket": "1h"}),
             ("/metrics/distribution", {"bins": 20})]
    before = [p.get(path, **q).json() for path, q in paths]
    assert all(b["source"] == "rollup" for b in before)
    owner = database.owner_url
    setup = csgp.Database(url=owner, owner_url=owner, kind=database.kind)
    keys = "res, t, experiment_id, challenger_model, model, role"
    lat = setup.query(f"SELECT {keys}, count, total, sketch FROM rollup_latency")
    scores = setup.query(f"SELECT {keys}, count, sketch FROM rollup_scores")
    assert lat and scores
    con = setup.connect()
    cur = con.cursor()
    ph = "%s" if database.kind == "pg" else "?"
    cur.execute("DROP TABLE rollup_latency")
    cur.execute("DROP TABLE rollup_scores")
    cur.execute("CREATE TABLE rollup_latency (res integer NOT NULL, t bigint NOT NULL, "
                "experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT "
                "NULL, role integer NOT NULL, bucket integer NOT NULL, count bigint NOT NULL, "
                "total double precision NOT NULL, PRIMARY KEY (res, t, experiment_id, "
                "challenger_model, model, role, bucket))")
    cur.execute("CREATE TABLE rollup_scores (res integer NOT NULL, t bigint NOT NULL, "
                "experiment_id text NOT NULL, challenger_model text NOT NULL, model text NOT "
                "NULL, role integer NOT NULL, bin integer NOT NULL, count bigint NOT NULL, "
                "PRIMARY KEY (res, t, experiment_id, challenger_model, model, role, bin))")
    for *key, count, total, sketch in lat:
        pairs = [tuple(int(v) for v in x.split(":")) for x in sketch.split(",")]
        assert sum(c for _, c in pairs) == count
        for i, (b, c) in enumerate(pairs):  # the key's total on its first bucket
            cur.execute(f"INSERT INTO rollup_latency VALUES ({', '.join([ph] * 9)})",
                        (*key, b, c, total if i == 0 else 0.0))
    for *key, count, sketch in scores:
        for x in sketch.split(","):
            b, c = (int(v) for v in x.split(":"))
            cur.execute(f"INSERT INTO rollup_scores VALUES ({', '.join([ph] * 8)})",
                        (*key, b, c))
    cur.execute("DELETE FROM schema_migrations WHERE version = 7")
    con.commit()
    con.close()
    out = csgp.run_cli("migrate", "--db", owner).stdout
    assert "1 migration(s) applied" in out, out
    assert sorted(setup.query(f"SELECT {keys}, count, sketch FROM rollup_scores")) == sorted(
        scores)
    after = [p.get(path, **q).json() for path, q in paths]
    assert after == before


def test_feature_rollups_follow_a_baseline(database: csgp.Database, procs, tmp_path) -> None:
    """A number feature's bands freeze at its first batch (deciles); a baseline stored after
    events arrived replaces them with its cuts and rebuilds that feature's rollups from the
    rows in the same transaction: segments from rollups still equal the rows'."""
    events = csgp.add_features(csgp.make_events(1200, 24, span_s=2 * 3600), 24)
    load(database, tmp_path, events)
    p = csgp.Persist(database, topic=csgp.unique("fb"), args=["--no-consume"]).start()
    procs.append(p)
    before = p.get("/metrics/segments", by="age").json()
    assert before["source"] == "rollup" and before["segments"][0]["band"].startswith("[18,"), before
    doc = json.loads((ROOT / "models" / "champion.baseline.json").read_text())
    r = requests.post(p.url + "/baselines", data=json.dumps(doc), timeout=30)
    assert r.status_code == 200, r.text
    cuts = next(f["cuts"] for f in doc["features"] if f["name"] == "age")
    after = p.get("/metrics/segments", by="age").json()
    assert [s["band"] for s in after["segments"]][:2] == [
        f"[-inf,{csgp.fmt_edge(cuts[0])})", f"[{csgp.fmt_edge(cuts[0])},{csgp.fmt_edge(cuts[1])})"]
    assert sum(s["count"] for s in after["segments"]) == len(events)
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])
    # and new events are counted in the baseline's bands
    load(database, tmp_path, csgp.add_features(csgp.make_events(200, 25, span_s=600), 25))
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])
