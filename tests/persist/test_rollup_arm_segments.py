"""Per-challenger segments and reasons (issue 20 item 2; DESIGN §7 "Scale": per-challenger
rollups keyed by each challenger result and by arm) on PostgreSQL and SQLite: with `arm=`
and on `assignment: all` data (several challengers per request) /metrics/segments — by the
three columns' default bands and by number, category and boolean features at their fixed
bands — and /metrics/reasons answer from rollup_pair_segments / _reason_codes / _features
with the rows' counts and rates exactly; a redelivered event never counts twice;
`csg-persist migrate` builds them from the results already stored, a baseline stored later
rebuilds a feature's per-challenger bins, and purge keeps them; the rebuild of several
number features and score bins at once (one statement per table and resolution) counts
exactly what ingest counts."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime

import csgp
import pytest
import requests
from test_reasons import reason_list, with_reasons
from test_rollup_arms import PAIR_FILTERS as FILTERS  # {}: assignment: all

CH0, CH1 = csgp.CHALLENGERS
TABLES = ("rollup_pair_segments", "rollup_pair_reason_codes", "rollup_pair_features")
ENDPOINTS = [
    ("/metrics/segments", {"by": "income"}),
    ("/metrics/segments", {"by": "loan_amount"}),
    ("/metrics/segments", {"by": "credit_history"}),
    *csgp.FEATURE_ENDPOINTS,
    ("/metrics/reasons", {}),
]


def make(n: int, seed: int, **kw) -> list[dict]:
    """Events with several challengers per request and both arms (csgp.with_arms), a
    features object (csgp.add_features) and reason lists, each challenger result its own
    (the first repeats the top-level challenger_reasons)."""
    r = random.Random(seed)
    out = []
    for e in with_reasons(csgp.add_features(csgp.with_arms(csgp.make_events(n, seed, **kw),
                                                           seed), seed), seed):
        if e.get("challengers"):
            e["challengers"] = [dict(c, reasons=e.get("challenger_reasons") if k == 0 else
                                     reason_list(r, c["decision"]) if c["score"] is not None
                                     else None)
                                for k, c in enumerate(e["challengers"])]
        out.append(e)
    return out


def arms(e: dict) -> set[str]:
    cs = e.get("challengers")
    if cs is None:
        return {"shadow"} if e["challenger_model"] is not None else set()
    return {"live" if c["mode"] == "live" and c["status"] == "OK" else "shadow" for c in cs}


@pytest.fixture(scope="module")
def loaded(module_database: csgp.Database, tmp_path_factory):
    """Loaded once per backend (twice: the second import redelivers every event)."""
    events = make(2000, 43, span_s=3 * 3600)
    events += events[:40]  # repeated event_ids in one batch
    csgp.import_events(module_database, tmp_path_factory.mktemp("armseg"), events, times=2)
    p = csgp.Persist(module_database, topic=csgp.unique("armseg"),
                     args=["--no-consume"]).start()
    yield p, list(csgp.dedup(events).values())
    p.stop()


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
def test_arm_segments_and_reasons_equal_rows(loaded, filters) -> None:
    p, _ = loaded
    diffs = csgp.rollup_vs_rows(p, filters, ENDPOINTS)
    assert not diffs, "\n".join(diffs[:20])
    for path, extra in ENDPOINTS:  # source=auto picks the rollups
        assert p.get(path, **filters, **extra).json()["source"] == "rollup", (path, extra)


def test_arm_numbers(loaded) -> None:
    """What the rows are compared with: each arm's requests are counted once across the
    segments (also with two results of a request in one arm), and codes of several
    challengers' declines are there."""
    p, events = loaded
    assert any(len(e.get("challengers") or []) > 1 and len(arms(e)) == 1 for e in events)
    for arm in ("live", "shadow"):
        body = p.get("/metrics/segments", by="vip", arm=arm).json()
        assert body["source"] == "rollup"
        assert sum(s["count"] for s in body["segments"]) == sum(arm in arms(e) for e in events)
    body = p.get("/metrics/reasons").json()
    coded = {m["model"] for m in body["models"] if m["role"] == "challenger" and m["reasons"]}
    assert coded == {CH0, CH1}, body
    body = p.get("/metrics/segments", by="home", arm="live").json()
    assert {s["band"] for s in body["segments"]} >= {"rent", "owner", "(missing)"}, body


def test_migration_builds_arm_rollups(database: csgp.Database, procs, tmp_path) -> None:
    """A database from before 075 with results stored: migrate builds the per-challenger
    segment, reason and feature-bin rollups equal to those ingest writes; a baseline stored
    later rebuilds a feature's per-challenger bins; purge keeps them all."""
    events = make(900, 44, span_s=2 * 86400, t0=csgp.T0.replace(hour=0))
    csgp.import_events(database, tmp_path, events)
    ingested = csgp.remigrate(database, 75, TABLES)
    for t in TABLES:  # counts: exact
        assert csgp.table_rows(database, t) == ingested[t], t
    p = csgp.Persist(database, topic=csgp.unique("asm"), args=["--no-consume"]).start()
    procs.append(p)
    doc = csgp.make_baseline(csgp.CHAMPIONS[0], 44)
    r = requests.post(p.url + "/baselines", data=json.dumps(doc), timeout=30)
    assert r.status_code == 200, r.text
    age = p.get("/metrics/segments", by="age", arm="shadow").json()
    assert age["source"] == "rollup" and age["segments"][0]["band"] == "[-inf,25)", age
    for filters in ({"arm": "shadow"}, {}):
        diffs = csgp.rollup_vs_rows(p, filters, ENDPOINTS)
        assert not diffs, "\n".join(diffs[:20])
    before = {t: csgp.table_rows(database, t) for t in TABLES}
    answer = p.get("/metrics/segments", by="home", arm="live").json()
    csgp.run_cli("purge", "--db", database.owner_url, "--before", "2026-11-26")
    assert {t: csgp.table_rows(database, t) for t in TABLES} == before
    assert p.get("/metrics/segments", by="home", arm="live").json() == answer
    rows = p.get("/metrics/segments", by="home", arm="live", source="rows").json()
    assert sum(s["count"] for s in rows["segments"]) < sum(
        s["count"] for s in answer["segments"])


def test_baseline_rebuild_equals_ingest(database: csgp.Database, procs, tmp_path) -> None:
    """Baselines stored after the events (the champion's: three number features' cuts and
    its score bins; a challenger's: its score bins) rebuild rollup_features and
    rollup_pair_features, hours, days and minutes, to exactly the rows ingest writes when
    the same baselines were stored before the same events (a second database)."""
    now = int(time.time())
    events = [e for e in make(700, 48, span_s=3 * 86400 - 600,
                              t0=datetime.fromtimestamp(now - 3 * 86400, UTC))
              # none near the minute window's start (48 h ago), which moves between the two
              if abs(csgp.ts_ms(e["timestamp"]) // 1000 - (now - 48 * 3600)) > 3600]
    docs = [csgp.make_baseline(csgp.CHAMPIONS[0], 48),
            csgp.make_baseline(CH0, 49, features=False)]
    ref = (csgp.new_pg_database() if database.kind == "pg"
           else csgp.new_sqlite_database(tmp_path))
    for db, baselines_first in ((database, False), (ref, True)):
        if not baselines_first:
            csgp.import_events(db, tmp_path, events)
        p = csgp.Persist(db, topic=csgp.unique("rb"), args=["--no-consume"]).start()
        procs.append(p)
        for doc in docs:
            r = requests.post(p.url + "/baselines", data=json.dumps(doc), timeout=30)
            assert r.status_code == 200, r.text
        assert r.json()["score_bins"] > 0
        if baselines_first:
            csgp.import_events(db, tmp_path, events)
    for t in ("rollup_features", "rollup_pair_features"):
        got, want = csgp.table_rows(database, t), csgp.table_rows(ref, t)
        assert {r[0] for r in want} == {60, 3600, 86400}, t  # minutes, hours, days
        assert {r[7] for r in want} >= {1, 5, 6} if t == "rollup_features" else {1}, t
        assert got == want, t
