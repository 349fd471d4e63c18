"""REST API: every endpoint's numbers against a Python reference computed from the
events the test wrote (never from SQL), on PostgreSQL and SQLite; filters; paging;
parameter errors; empty results give null + note, never NaN."""

from __future__ import annotations

import json
import math

import csgp
import pytest

N_EVENTS = 3000
SEED = 7


def load(
    database: csgp.Database, procs: list[csgp.Persist], tmp_path, events: list[dict]
) -> csgp.Persist:
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    r = csgp.run_cli("import", "--db", database.url, str(f))
    stats = json.loads(r.stdout)
    assert stats["rejected"] == 0 and stats["inserted"] == len(csgp.dedup(events)), (
        stats
    )
    p = csgp.Persist(database, topic=csgp.unique("api"), args=["--no-consume"]).start()
    procs.append(p)
    return p


@pytest.fixture
def loaded(database: csgp.Database, procs, tmp_path):
    events = csgp.make_events(N_EVENTS, SEED)
    events += events[:40]  # repeated event_ids are stored once
    p = load(database, procs, tmp_path, events)
    return p, list(csgp.dedup(events).values())


T = csgp.ts_ms("2026-11-25T09:00:00Z")
FILTERS = [
    csgp.Filters(),
    csgp.Filters(from_ms=T + 1_800_000),
    csgp.Filters(from_ms=T + 600_000, to_ms=T + 3_600_000),
    csgp.Filters(experiment_id="exp-b"),
    csgp.Filters(challenger_model="challenger-rf-v2"),
    csgp.Filters(min_income=20000.0, max_income=120000.5),
    csgp.Filters(
        experiment_id="exp-champion-vs-gbm",
        challenger_model="challenger-gbm-v1",
        from_ms=T + 900_000,
        min_income=10000.0,
    ),
    csgp.Filters(applicant_id="17"),
    csgp.Filters(experiment_id="no-such-experiment"),  # empty: nulls with notes
]


def check(got: dict, want: dict) -> None:
    diffs = csgp.close(got, want)
    assert not diffs, "\n".join(diffs[:20])
    assert "NaN" not in json.dumps(got)


def test_endpoints_match_reference(loaded) -> None:
    p, events = loaded
    for f in FILTERS:
        evs = [e for e in events if f.keep(e)]
        params = f.params()
        r = p.get("/metrics/summary", **params)
        assert r.status_code == 200, r.text
        got = r.json()
        check(got, csgp.ref_summary(evs))
        if not evs:
            assert got["challenger_share"] is None and "note" in got
        for bucket in ("10s", "1m", "5m", "1h"):
            r = p.get("/metrics/latency", bucket=bucket, **params)
            assert r.status_code == 200, r.text
            check(r.json(), csgp.ref_latency(evs, bucket))
        for bins in (1, 7, 20):
            r = p.get("/metrics/distribution", bins=bins, **params)
            assert r.status_code == 200, r.text
            check(r.json(), csgp.ref_distribution(evs, bins))
        for by, edges in (
            ("income", [0, 20000, 50000, 100000]),
            ("loan_amount", [500, 10000.5, 30000]),
            ("credit_history", [0, 1, 5, 10]),
        ):
            r = p.get(
                "/metrics/segments",
                by=by,
                bands=",".join(csgp.fmt_edge(float(x)) for x in edges),
                **params,
            )
            assert r.status_code == 200, r.text
            check(r.json(), csgp.ref_segments(evs, by, [float(x) for x in edges]))


def test_latency_default_bucket_and_segment_defaults(loaded) -> None:
    p, events = loaded
    check(p.get("/metrics/latency").json(), csgp.ref_latency(events, "1m"))
    check(p.get("/metrics/distribution").json(), csgp.ref_distribution(events, 20))
    check(
        p.get("/metrics/segments").json(),
        csgp.ref_segments(events, "income", [0, 20000, 50000, 100000]),
    )


def test_events_paging(loaded, database: csgp.Database) -> None:
    p, events = loaded
    f = csgp.Filters(experiment_id="exp-champion-vs-gbm", min_income=5000.0)
    want_ids = {e["event_id"] for e in events if f.keep(e)}
    seen: list[dict] = []
    offset = 0
    while True:
        r = p.get(
            "/metrics/events",
            limit=1000 if offset else 333,
            offset=offset,
            **f.params(),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(want_ids)
        if not body["events"]:
            break
        seen += body["events"]
        offset += len(body["events"])
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True), "events must be ordered by id descending"
    assert {e["event_id"] for e in seen} == want_ids
    by_id = {e["event_id"]: e for e in events}
    for row in seen[:500]:
        ev = by_id[row["event_id"]]
        for c in csgp.COLUMNS:
            if c == "timestamp":
                assert row[c] == csgp.fmt_ms(csgp.ts_ms(ev[c]))
            elif isinstance(ev[c], float) or c in ("income", "loan_amount"):
                assert ev[c] is None or row[c] == float(ev[c]), (c, row[c], ev[c])
            else:
                assert row[c] == ev[c], (c, row[c], ev[c])
        assert row["ingested_at"].endswith("Z")
    r = p.get("/metrics/events")
    assert len(r.json()["events"]) == 100


@pytest.fixture(scope="module", params=["pg", "sqlite"])
def idle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One API-only csg-persist per backend for the parameter checks."""
    db = (
        csgp.new_pg_database()
        if request.param == "pg"
        else csgp.new_sqlite_database(tmp_path_factory.mktemp("idle"))
    )
    p = csgp.Persist(db, topic="unused", args=["--no-consume"]).start()
    yield p
    p.stop()


@pytest.mark.parametrize(
    "path,params,bad",
    [
        ("/metrics/summary", {"from": "yesterday"}, "from"),
        ("/metrics/summary", {"to": "2026-13-01T00:00:00Z"}, "to"),
        (
            "/metrics/summary",
            {"from": "2026-11-25T10:00:00Z", "to": "2026-11-25T09:00:00Z"},
            "to",
        ),
        ("/metrics/summary", {"min_income": "abc"}, "min_income"),
        ("/metrics/summary", {"max_income": "nan"}, "max_income"),
        ("/metrics/summary", {"min_income": "10", "max_income": "5"}, "max_income"),
        ("/metrics/summary", {"bogus": "1"}, "bogus"),
        ("/metrics/latency", {"bucket": "2m"}, "bucket"),
        ("/metrics/distribution", {"bins": "0"}, "bins"),
        ("/metrics/distribution", {"bins": "1001"}, "bins"),
        ("/metrics/distribution", {"bins": "3.5"}, "bins"),
        ("/metrics/segments", {"by": "age"}, "by"),
        ("/metrics/segments", {"bands": "10,5"}, "bands"),
        ("/metrics/segments", {"bands": "0,,5"}, "bands"),
        ("/metrics/segments", {"bands": "0,x"}, "bands"),
        ("/metrics/events", {"limit": "1001"}, "limit"),
        ("/metrics/events", {"limit": "0"}, "limit"),
        ("/metrics/events", {"offset": "-1"}, "offset"),
        ("/metrics/events", {"bins": "5"}, "bins"),
    ],
)
def test_bad_parameters(idle: csgp.Persist, path: str, params: dict, bad: str) -> None:
    r = idle.get(path, **params)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert (
        err["code"] == "invalid_parameter"
        and err["parameter"] == bad
        and err["message"]
    )


def test_repeated_parameter_and_routes(database: csgp.Database, procs) -> None:
    p = csgp.Persist(database, topic="unused", args=["--no-consume"]).start()
    procs.append(p)
    import requests

    r = requests.get(
        p.url + "/metrics/summary?experiment_id=a&experiment_id=b", timeout=10
    )
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "experiment_id"
    assert requests.get(p.url + "/nope", timeout=10).status_code == 404
    assert requests.post(p.url + "/metrics/summary", timeout=10).status_code == 405
    # Epoch-second filters are accepted like RFC 3339 ones.
    assert (
        p.get(
            "/metrics/summary", **{"from": "1764061200", "to": "1764064800.5"}
        ).status_code
        == 200
    )
    h = p.get("/healthz").json()
    assert h["status"] == "ok" and h["db"] == "ok" and h["consumer"] == "off"
    text = p.get("/metrics").text
    for name in (
        "csgp_messages_consumed_total",
        "csgp_rows_inserted_total",
        "csgp_duplicates_total",
        "csgp_dlq_total",
        "csgp_db_errors_total",
        "csgp_consumer_lag",
    ):
        assert name in text


def test_empty_database_gives_nulls_with_notes(database: csgp.Database, procs) -> None:
    p = csgp.Persist(database, topic="unused", args=["--no-consume"]).start()
    procs.append(p)
    s = p.get("/metrics/summary").json()
    assert s["total"] == 0 and s["challenger_share"] is None and s["note"]
    assert s["models"] == [] and s["divergence_rate"] is None
    seg = p.get("/metrics/segments").json()
    assert all(
        x["count"] == 0 and x["divergence_rate"] is None and x["note"]
        for x in seg["segments"]
    )
    d = p.get("/metrics/distribution", bins=4).json()
    assert d["edges"] == [0, 0.25, 0.5, 0.75, 1] and d["models"] == []
    assert p.get("/metrics/events").json() == {"total": 0, "events": []}
    assert not math.isnan(0.0)
