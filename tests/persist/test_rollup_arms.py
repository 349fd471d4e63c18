"""Per-challenger rollups (DESIGN §7 "Scale": keyed by each challenger result and by arm;
issue 20) on PostgreSQL and SQLite: with `arm=` and on `assignment: all` data (several
challengers per request) /metrics/summary, latency and distribution answer from the
rollups with the same counts, rates and divergence counts as the rows (averages to 1e-9,
latency percentiles within the sketch's 1%); a redelivered event never counts twice;
`csg-persist migrate` builds them from the results already stored; purge keeps them.
Segments and reasons per arm: test_rollup_arm_segments.py."""

from __future__ import annotations

import csgp
import pytest

T = csgp.ts_ms("2026-11-25T09:00:00Z")
CH0, CH1 = csgp.CHALLENGERS


load = csgp.import_events


def results(db: csgp.Database) -> int:
    return db.query("SELECT count(*) FROM challenger_results")[0][0]


def pair_totals(db: csgp.Database) -> list[tuple]:
    """(res, challenger results) per resolution of the per-challenger rollups."""
    return [(int(r), int(n)) for r, n in db.query(
        "SELECT res, sum(n) FROM rollup_pair_counts GROUP BY res ORDER BY res")]


@pytest.fixture(scope="module")
def loaded(module_database: csgp.Database, tmp_path_factory):
    """Loaded once per backend (twice: the second import redelivers every event)."""
    events = csgp.with_arms(csgp.make_events(2500, 41, span_s=3 * 3600), 41)
    events += events[:40]  # repeated event_ids in one batch
    load(module_database, tmp_path_factory.mktemp("arms"), events, times=2)
    p = csgp.Persist(module_database, topic=csgp.unique("arms"),
                     args=["--no-consume"]).start()
    yield p, list(csgp.dedup(events).values())
    p.stop()


PAIR_FILTERS = [
    {},
    {"arm": "live"},
    {"arm": "shadow"},
    {"challenger_model": CH1},
    {"arm": "shadow", "challenger_model": CH0},
    {"arm": "live", "experiment_id": "exp-champion-vs-gbm",
     "from": csgp.fmt_ms(T + 3_600_000)},  # hour boundary: per-hour rollups
    {"arm": "shadow", "from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z"},
    {"arm": "live", "experiment_id": "no-such-experiment"},
]


@pytest.mark.parametrize("filters", PAIR_FILTERS, ids=range(len(PAIR_FILTERS)))
def test_pair_rollups_equal_rows(loaded, filters) -> None:
    p, events = loaded
    n_results = sum(len(e.get("challengers") or []) or (e["challenger_model"] is not None)
                    for e in events)
    assert results(p.db) == n_results
    assert pair_totals(p.db) == [(3600, n_results), (86400, n_results)]
    diffs = csgp.rollup_vs_rows(p, filters, csgp.PAIR_ENDPOINTS)
    assert not diffs, "\n".join(diffs[:20])
    for path, extra in csgp.PAIR_ENDPOINTS:  # source=auto picks the rollups
        assert p.get(path, **filters, **extra).json()["source"] == "rollup", path
    rolled = p.get("/metrics/summary", **filters).json()
    rows = p.get("/metrics/summary", **filters, source="rows").json()
    assert (rolled["first"], rolled["last"]) == (rows["first"], rows["last"])


def test_pair_numbers(loaded) -> None:
    """What the rows are compared with: several challengers per request and both arms
    are present, and the arm's request counts are those of the events."""
    p, events = loaded
    assert p.get("/metrics/summary").json()["source"] == "rollup"
    multi = [e for e in events if len(e.get("challengers") or []) > 1]
    assert multi, "no request with several challengers"

    def arm_of(c: dict) -> str:
        return "live" if c["mode"] == "live" and c["status"] == "OK" else "shadow"

    def arms(e: dict) -> set[str]:
        cs = e.get("challengers")
        if cs is None and e["challenger_model"] is not None:
            return {"shadow"}
        return {arm_of(c) for c in cs or []}

    for arm in ("live", "shadow"):
        body = p.get("/metrics/summary", arm=arm).json()
        assert body["source"] == "rollup"
        assert body["total"] == sum(arm in arms(e) for e in events), arm
    body = p.get("/metrics/summary", challenger_model=CH1).json()
    count = {m["model"]: m["count"] for m in body["models"] if m["role"] == "challenger"}
    assert count[CH1] == sum(
        any(c["model"] == CH1 for c in e["challengers"]) if e.get("challengers") is not None
        else e["challenger_model"] == CH1 for e in events)


def test_migration_builds_pair_rollups(database: csgp.Database, procs, tmp_path) -> None:
    """A database from before 050 with results stored: migrate builds the per-challenger
    rollups equal to those ingest writes; purge then keeps them."""
    events = csgp.with_arms(csgp.make_events(900, 42, span_s=2 * 86400, t0=csgp.T0.replace(
        hour=0)), 42)
    load(database, tmp_path, events)
    owner = database.owner_url
    tables = ("rollup_pair_counts", "rollup_pair_latency", "rollup_pair_scores")
    ingested = csgp.remigrate(database, 50, tables)
    for t in tables:  # counts exact, sums to 1e-9 (summation order)
        assert not csgp.close(csgp.table_rows(database, t), ingested[t]), t
    p = csgp.Persist(database, topic=csgp.unique("pm"), args=["--no-consume"]).start()
    procs.append(p)
    diffs = csgp.rollup_vs_rows(p, {"arm": "shadow"}, csgp.PAIR_ENDPOINTS)
    assert not diffs, "\n".join(diffs[:20])
    totals = pair_totals(database)
    before = p.get("/metrics/summary", arm="live").json()
    csgp.run_cli("purge", "--db", owner, "--before", "2026-11-26")
    assert pair_totals(database) == totals
    after = p.get("/metrics/summary", arm="live").json()
    assert after["source"] == "rollup" and after["total"] == before["total"] > 0
    assert p.get("/metrics/summary", arm="live", source="rows").json()["total"] < before["total"]
