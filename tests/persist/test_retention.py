"""Day partitions, the dedup table and purge (DESIGN §7 "Scale", issue 20): PostgreSQL
stores events in day partitions (a default one for days without), exactly-once stays
keyed by event_id alone (a retry with a new timestamp is stored once), `csg-persist
partitions` / `purge` run as csg_owner only, purge drops whole day partitions on
PostgreSQL and rows on SQLite, the rollups keep every event, and the feature catalogue's
counts drop the purged ones."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import csgp
import pytest

DAY0 = csgp.T0.replace(hour=0)  # 2026-11-25T00:00Z


def load(database: csgp.Database, tmp_path, events: list[dict]) -> dict:
    f = tmp_path / f"ev{len(events)}.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return json.loads(csgp.run_cli("import", "--db", database.url, str(f)).stdout)


def partitions(db: csgp.Database) -> list[str]:
    return [r[0] for r in db.query(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'credit_score_metrics'::regclass ORDER BY 1")]


def test_purge_keeps_rollups(database: csgp.Database, procs, tmp_path) -> None:
    # Three days of events: 25, 26, 27 November (UTC).
    events = csgp.add_features(csgp.make_events(3000, 51, span_s=3 * 86400 - 60, t0=DAY0), 51)
    st = load(database, tmp_path, events)
    assert st["inserted"] == len(events)
    n = len(events)
    if database.kind == "pg":
        assert partitions(database) == ["credit_score_metrics_default"]
        out = csgp.run_cli("partitions", "--db", database.owner_url, "--days-ahead", "0").stdout
        assert "partition(s) created" in out, out
        parts = partitions(database)
        for d in ("20261125", "20261126", "20261127"):
            assert f"credit_score_metrics_{d}" in parts, parts
        owner = csgp.Database(url=database.owner_url, owner_url=database.owner_url, kind="pg")
        assert owner.query("SELECT count(*) FROM credit_score_metrics_default") == [(0,)]
        assert database.count() == n
        # The service role may neither create partitions nor purge.
        r = csgp.run_cli("purge", "--db", database.url, "--before", "2026-11-26", check=False)
        assert r.returncode == 1 and "permission denied" in r.stderr, r.stderr
        r = csgp.run_cli("partitions", "--db", database.url, check=False)
        assert r.returncode == 1 and "permission denied" in r.stderr, r.stderr
        assert database.count() == n
    p = csgp.Persist(database, topic=csgp.unique("ret"), args=["--no-consume"]).start()
    procs.append(p)
    before = p.get("/metrics/summary").json()
    assert before["source"] == "rollup" and before["total"] == n
    by_home = p.get("/metrics/segments", by="home").json()

    cut = DAY0 + timedelta(days=1)
    old = [e for e in events if csgp.ts_ms(e["timestamp"]) < csgp.ts_ms(cut.isoformat())]
    assert 0 < len(old) < n
    r = csgp.run_cli("purge", "--db", database.owner_url, "--before", "2026-11-26")
    assert f"{len(old)} row(s) before 2026-11-26T00:00:00.000Z removed" in r.stdout, r.stdout
    if database.kind == "pg":
        assert "(1 day partition(s) dropped)" in r.stdout, r.stdout
        assert "credit_score_metrics_20261125" not in partitions(database)
        assert database.query("SELECT count(*) FROM csg_event_ids") == [(n - len(old),)]
    assert database.count() == n - len(old)
    # Rollups keep every event; the rows answer for what is left.
    assert csgp.rollup_totals(database) == [(3600, n), (86400, n)]
    after = p.get("/metrics/summary").json()
    # first/last: the rollups still know the first hour, whose rows are gone: its start
    # stands in for the first event (earlier than it, never later); the rest is the same.
    assert after.pop("first") == "2026-11-25T00:00:00.000Z" <= before.pop("first")
    assert after.pop("last") == before.pop("last")
    assert not csgp.close(after, before)  # the same (sums to 1e-9: summation order)
    rows = p.get("/metrics/summary", source="rows").json()
    assert rows["total"] == n - len(old)
    # and so do the feature-bin rollups
    assert p.get("/metrics/segments", by="home").json() == by_home
    since = {"from": "2026-11-26T00:00:00Z"}
    diffs = csgp.rollup_vs_rows(p, since)  # the range still held in rows: equal
    assert not diffs, "\n".join(diffs[:20])
    # Purging again removes nothing; a bad date is refused.
    r = csgp.run_cli("purge", "--db", database.owner_url, "--before", "2026-11-26")
    assert "0 row(s)" in r.stdout, r.stdout
    r = csgp.run_cli("purge", "--db", database.owner_url, "--before", "yesterday", check=False)
    assert r.returncode == 2 and "--before" in r.stderr


@pytest.mark.parametrize("database", ["pg"], indirect=True)
def test_retry_with_new_timestamp_stored_once(database: csgp.Database, tmp_path) -> None:
    """event_id alone decides, across partitions: the same id a day later is a duplicate."""
    ev = csgp.make_events(20, 52, t0=DAY0)
    assert load(database, tmp_path, ev)["inserted"] == 20
    csgp.run_cli("partitions", "--db", database.owner_url, "--days-ahead", "0")
    later = [dict(e, timestamp=(DAY0 + timedelta(days=2)).isoformat().replace("+00:00", "Z"))
             for e in ev[:5]]
    st = load(database, tmp_path, later)
    assert st["inserted"] == 0, st
    assert database.count() == 20
    assert csgp.rollup_totals(database) == [(3600, 20), (86400, 20)]


def test_purge_drops_feature_counts(database: csgp.Database, procs, tmp_path) -> None:
    """/metrics/features counts the stored events holding each feature: a purge takes the
    purged events out (values of another type than the feature's were never counted)."""
    events = csgp.make_events(400, 53, span_s=2 * 86400 - 60, t0=DAY0)
    rng = random.Random(53)
    for i, e in enumerate(events):
        f = {"age": rng.randint(18, 90), "home": rng.choice(["rent", "own"]),
             "employed": rng.random() < 0.5}
        if i and rng.random() < 0.1:
            f["age"] = "unknown"  # another type: stored, not counted
        for k in list(f):
            if i and rng.random() < 0.2:
                del f[k]
        e["features"] = f
    assert load(database, tmp_path, events)["inserted"] == len(events)
    types = {"age": int, "home": str, "employed": bool}

    def expected(evs: list[dict]) -> dict[str, int]:
        return {k: sum(type(e["features"].get(k)) is t for e in evs) for k, t in types.items()}

    p = csgp.Persist(database, topic=csgp.unique("fc"), args=["--no-consume"]).start()
    procs.append(p)

    def counts() -> dict[str, int]:
        return {f["name"]: f["count"] for f in p.get("/metrics/features").json()["features"]}

    assert counts() == expected(events)
    cut = csgp.ts_ms("2026-11-26T00:00:00Z")
    left = [e for e in events if csgp.ts_ms(e["timestamp"]) >= cut]
    assert 0 < len(left) < len(events)
    if database.kind == "pg":
        csgp.run_cli("partitions", "--db", database.owner_url, "--days-ahead", "0")
    csgp.run_cli("purge", "--db", database.owner_url, "--before", "2026-11-26")
    assert counts() == expected(left)
    assert p.get("/metrics/summary", **{"f.age.min": "18"}).json()["source"] == "rows"
