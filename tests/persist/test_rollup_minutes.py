"""Per-minute rollups for recent data (issues 20 + 22, docs/persistence.md "Rollups"), on
PostgreSQL and SQLite: events whose minute lies within `--minute-window` before now get
minute rows (res = 60), older ones do not; a query starting inside the window on a minute
boundary answers from them exactly as the rows do (counts exact, averages 1e-9,
percentiles within the sketch's 1%), one starting outside reads the rows; a redelivery
counts once; expired minute rows are deleted by the writers and by `partitions`;
migration 065 builds them for the recent rows; stability bucket=1m reads them, also
after a baseline stored later rebuilt the feature bins."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import csgp
import pytest
from test_stability import baseline, check, post, ref_stability

NOW = int(time.time()) // 60 * 60
# 40 minutes of recent events ending 5 minutes ago (the module's clock: a run takes far less
# than the 48 h window), plus old ones (csgp.T0, days ago) that get no minute rows.
T_RECENT = NOW - 45 * 60
RECENT = csgp.add_features(
    csgp.make_events(2000, 61, span_s=40 * 60, t0=datetime.fromtimestamp(T_RECENT, UTC)), 61)
OLD = csgp.make_events(500, 62)
MINUTE_TABLES = ("rollup_counts", "rollup_latency", "rollup_scores", "rollup_segments",
                 "rollup_reason_codes", "rollup_features", "rollup_pair_counts",
                 "rollup_pair_latency", "rollup_pair_scores")


def at(minutes: int) -> str:
    """T_RECENT + minutes, as RFC 3339 (a minute boundary, not an hour one unless it is)."""
    return csgp.fmt_ms((T_RECENT + minutes * 60) * 1000)


def minute_of(e: dict) -> int:
    return csgp.ts_ms(e["timestamp"]) // 60_000 * 60


@pytest.fixture(scope="module")
def loaded(module_database: csgp.Database, tmp_path_factory):
    """Recent and old events (50 repeated), imported twice (a redelivery of all)."""
    events = RECENT + OLD + RECENT[:50]
    csgp.import_events(module_database, tmp_path_factory.mktemp("min"), events, times=2)
    p = csgp.Persist(module_database, topic=csgp.unique("min"), args=["--no-consume"]).start()
    yield p
    p.stop()


def test_minute_rows_only_for_recent_events(loaded) -> None:
    p = loaded
    assert csgp.rollup_totals(p.db) == [(60, len(RECENT)), (3600, len(RECENT) + len(OLD)),
                                        (86400, len(RECENT) + len(OLD))]
    oldest = min(csgp.ts_ms(e["timestamp"]) for e in RECENT) // 60_000 * 60
    for t in MINUTE_TABLES:
        (lo,) = p.db.query(f"SELECT min(t) FROM {t} WHERE res = 60")[0]
        assert lo is None or lo >= oldest, (t, lo)


MINUTE_FILTERS = [
    {"from": at(7)},
    {"from": at(3), "to": at(23)},
    {"from": at(11), "to": at(60), "experiment_id": "exp-b"},
    {"from": at(0), "challenger_model": "challenger-rf-v2"},
]
MINUTE_ENDPOINTS = [("/metrics/latency", {"bucket": "1m"}),
                    ("/metrics/latency", {"bucket": "5m"})]


@pytest.mark.parametrize("filters", MINUTE_FILTERS, ids=range(len(MINUTE_FILTERS)))
def test_minute_rollups_equal_rows(loaded, filters) -> None:
    p = loaded
    endpoints = csgp.ROLLUP_ENDPOINTS + csgp.FEATURE_ENDPOINTS + MINUTE_ENDPOINTS
    diffs = csgp.rollup_vs_rows(p, filters, endpoints)
    assert not diffs, "\n".join(diffs[:20])
    # the coarsest resolution that fits: an hour when every bound falls on one (by chance)
    hourly = all(csgp.ts_ms(filters[k]) % 3_600_000 == 0 for k in ("from", "to") if k in filters)
    for path, extra in endpoints:
        body = p.get(path, **filters, **extra).json()
        res = 3600 if hourly and extra.get("bucket") not in ("1m", "5m") else 60
        assert body["source"] == "rollup" and body["rollup_seconds"] == res, (path, body)
    summary = p.get("/metrics/summary", **filters).json()
    lo = csgp.ts_ms(filters["from"]) // 1000
    hi = csgp.ts_ms(filters["to"]) // 1000 if "to" in filters else NOW + 3600
    assert summary["total"] == sum(
        1 for e in RECENT if lo <= csgp.ts_ms(e["timestamp"]) // 1000 < hi
        and e["experiment_id"] == filters.get("experiment_id", e["experiment_id"])
        and e.get("challenger_model") == filters.get("challenger_model",
                                                     e.get("challenger_model")))


def test_outside_the_window_reads_rows(loaded) -> None:
    p = loaded
    old_from = csgp.fmt_ms(csgp.ts_ms("2026-11-25T09:07:00Z"))  # a minute, days ago
    for params in ({"from": old_from}, {"from": old_from, "bucket": "1m"}, {"bucket": "1m"}):
        path = "/metrics/latency" if "bucket" in params else "/metrics/summary"
        assert p.get(path, **params).json()["source"] == "rows", params
        r = p.get(path, source="rollup", **params)
        assert r.status_code == 400 and r.json()["error"]["parameter"] == "source", r.text
    # A window of 30 minutes: a range from 45 minutes ago (or more) is outside it.
    short = csgp.Persist(p.db, topic=csgp.unique("min"),
                         args=["--no-consume", "--minute-window", "30"]).start()
    try:
        assert short.get("/metrics/summary", **{"from": at(0)}).json()["source"] == "rows"
        inside = csgp.fmt_ms((int(time.time()) // 60 * 60 - 600) * 1000)  # 10 minutes ago
        assert short.get("/metrics/summary", **{"from": inside}).json()["source"] == "rollup"
    finally:
        short.stop()


def minute_total(db: csgp.Database) -> int:
    (n,) = db.query("SELECT coalesce(sum(n), 0) FROM rollup_counts WHERE res = 60")[0]
    return int(n)


def test_expired_minute_rows_are_deleted(database: csgp.Database, tmp_path: Path) -> None:
    csgp.import_events(database, tmp_path, RECENT)
    assert minute_total(database) == len(RECENT)
    # The writers expire them as the service role (csg_app on PostgreSQL): an import of one
    # more recent event with a 20-minute window deletes the minutes before it, less the
    # 5 minutes a concurrent batch may still be writing.
    extra = dict(RECENT[-1], event_id=csgp.unique("late"),
                 timestamp=csgp.fmt_ms(int(time.time() * 1000)))  # inside even that window
    before = int(time.time()) - 25 * 60
    (tmp_path / "one").mkdir()
    csgp.run_cli("import", "--db", database.url, "--minute-window", "20",
                 str(write(tmp_path / "one", [extra])))
    after = int(time.time()) - 25 * 60
    kept = minute_total(database)
    assert (sum(1 for e in RECENT + [extra] if minute_of(e) >= after) <= kept
            <= sum(1 for e in RECENT + [extra] if minute_of(e) >= before // 60 * 60)), kept
    for t in MINUTE_TABLES:
        (lo,) = database.query(f"SELECT min(t) FROM {t} WHERE res = 60")[0]
        assert lo is None or lo >= before // 60 * 60, (t, lo)
    assert csgp.rollup_totals(database)[1:] == [(3600, len(RECENT) + 1), (86400, len(RECENT) + 1)]
    # `partitions` (the owner's upkeep) with a 10-minute window.
    out = csgp.run_cli("partitions", "--db", database.owner_url, "--minute-window", "10").stdout
    assert "expired minute rollup row(s) deleted" in out, out
    cut = int(time.time()) - 10 * 60
    assert minute_total(database) <= sum(1 for e in RECENT + [extra] if minute_of(e) >= cut - 60)
    # with no window at all every minute row goes
    csgp.run_cli("partitions", "--db", database.owner_url, "--minute-window", "0")
    assert minute_total(database) == 0


def write(d: Path, events: list[dict]) -> Path:
    f = d / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return f


def test_migration_065_builds_minute_rollups(database: csgp.Database, tmp_path: Path) -> None:
    """A database migrated to 065 gets the minute rows of its recent stored rows (and
    their challenger results); the old rows get none."""
    events = csgp.with_arms(RECENT[:600], 65) + OLD[:200]
    csgp.import_events(database, tmp_path, events)
    want = database.query("SELECT res, t, n FROM rollup_counts WHERE res = 60 ORDER BY 2, 3")
    pairs = database.query("SELECT t, arm, n FROM rollup_pair_counts WHERE res = 60 "
                           "ORDER BY 1, 2, 3")
    csgp.owner_exec(database, *(f"DELETE FROM {t} WHERE res = 60" for t in MINUTE_TABLES),
                    "DELETE FROM schema_migrations WHERE version = 65")
    assert minute_total(database) == 0
    csgp.run_cli("migrate", "--db", database.owner_url)
    assert sorted(database.query("SELECT res, t, n FROM rollup_counts WHERE res = 60")) == \
        sorted(want)
    assert sorted(database.query("SELECT t, arm, n FROM rollup_pair_counts WHERE res = 60")) \
        == sorted(pairs)
    assert minute_total(database) == 600


def test_stability_1m_from_minute_rollups(database: csgp.Database, procs, tmp_path) -> None:
    """Baselines stored after the events rebuild the feature bins at every level, the
    minute one included: bucket=1m inside the window answers from them, equal to the rows
    and to the Python reference."""
    from test_features import with_features

    events = with_features(csgp.make_events(
        900, 43, span_s=20 * 60, t0=datetime.fromtimestamp(T_RECENT, UTC)), 9)
    csgp.import_events(database, tmp_path, events)
    p = csgp.Persist(database, topic=csgp.unique("stabm"), args=["--no-consume"]).start()
    procs.append(p)
    bases = {m: baseline(m, k, features=m.startswith("champion"))
             for k, m in enumerate([*csgp.CHAMPIONS, csgp.CHALLENGERS[0]])}
    for doc in bases.values():
        r = post(p, doc)
        assert r.status_code == 200, r.text
    start = T_RECENT + 2 * 60
    got = p.get("/metrics/stability", bucket="1m", **{"from": csgp.fmt_ms(start * 1000)})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["source"] == "rollup" and body["rollup_seconds"] == 60, body.get("source")
    rows = p.get("/metrics/stability", bucket="1m", source="rows",
                 **{"from": csgp.fmt_ms(start * 1000)}).json()
    check(body, rows | {"source": "rollup", "rollup_seconds": 60})
    kept = [e for e in events if csgp.ts_ms(e["timestamp"]) >= start * 1000]  # stored order
    check(body, ref_stability(kept, bases, 60))
