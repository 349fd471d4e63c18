"""POST /baselines as a job (issue 22, DESIGN §7): the store and its rollup rebuild run on
csg-persist's baseline thread, so a long rebuild neither blocks the other API requests nor
loses its reply. A POST waits up to `wait` seconds (200 once stored), else 202; GET
/baselines lists the stored baselines and the jobs. A rebuild is made to last by holding
a lock on csgp_baselines from another connection (PostgreSQL: the lock is the only way to
make a small database's rebuild outlast a wait, without timing anything)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import csgp
import pytest
import requests

MODEL = csgp.CHAMPIONS[0]


def doc(seed: int = 3) -> dict:
    return csgp.make_baseline(MODEL, seed)


def band(lo: float, hi: float) -> str:
    return f"[{csgp.fmt_edge(lo)},{csgp.fmt_edge(hi)})"


def post(p: csgp.Persist, body: object, **params: object) -> requests.Response:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(p.url + "/baselines", params=params, data=data, timeout=30)


def jobs(p: csgp.Persist) -> list[dict]:
    r = p.get("/baselines")
    assert r.status_code == 200, r.text
    return r.json()["jobs"]


def job(p: csgp.Persist, jid: int) -> dict:
    return next(j for j in jobs(p) if j["job"] == jid)


def ended(p: csgp.Persist, jid: int) -> bool:
    return job(p, jid)["status"] in ("done", "failed")


@contextmanager
def locked(db: csgp.Database, table: str = "csgp_baselines"):
    """An owner transaction holding table in SHARE mode: it can be read, but a job's store
    waits at its first write to it (csgp_baselines: the store's first statement;
    rollup_features: after the document and the bands are written, uncommitted)."""
    con = db.connect(owner=True, autocommit=False)
    try:
        con.execute(f"LOCK TABLE {table} IN SHARE MODE")
        yield con
    finally:
        con.rollback()
        con.close()


@pytest.fixture
def served(pg_database: csgp.Database, procs, tmp_path: Path):
    f = tmp_path / "events.ndjson"
    events = csgp.add_features(csgp.make_events(400, 61), 5)
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    csgp.run_cli("import", "--db", pg_database.url, str(f))
    p = csgp.Persist(pg_database, topic=csgp.unique("bj"), args=["--no-consume"]).start()
    procs.append(p)
    return pg_database, p


def test_a_long_store_answers_202_and_the_api_goes_on(served) -> None:
    db, p = served
    first = doc(3)
    r = post(p, first)
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    second = doc(4)
    age = second["features"][1]
    assert age["name"] == "age"
    age["cuts"], age["shares"] = [30, 50], [0.3, 0.3, 0.3, 0.1]
    with locked(db, "rollup_features"):
        r = post(p, second, wait=1)
        assert r.status_code == 202, r.text
        got = r.json()
        assert got["status"] in ("queued", "running") and got["model"] == MODEL, got
        assert r.headers["Location"] == "/baselines"
        jid = got["job"]
        # The job waits with the document and the bands written: the API answers
        # meanwhile, and reads the first baseline and its bands (one transaction).
        def waiting() -> bool:
            return bool(db.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = "
                                 "'Lock' AND query LIKE %s", ("%rollup_features%",)))

        csgp.wait_for(waiting, 10, f"job {jid} waiting at rollup_features")
        assert job(p, jid)["status"] == "running"
        assert p.get("/metrics/summary").status_code == 200
        seg = p.get("/metrics/segments", by="age").json()
        assert seg["segments"][1]["band"] == band(25, 40), seg
        stored = json.loads(db.query("SELECT doc FROM csgp_baselines")[0][0])
        assert stored["features"][1]["cuts"] == first["features"][1]["cuts"]
    csgp.wait_for(lambda: ended(p, jid), 60, f"job {jid}")
    j = job(p, jid)
    assert j["status"] == "done" and j["seconds"] >= 0 and j["finished_at"] >= j["started_at"], j
    seg = p.get("/metrics/segments", by="age").json()
    assert seg["segments"][1]["band"] == band(30, 50), seg
    assert sum(s["count"] for s in seg["segments"]) == db.count()
    diffs = csgp.rollup_vs_rows(p)
    assert not diffs, "\n".join(diffs[:20])


def test_jobs_run_in_order_and_the_queue_is_bounded(served) -> None:
    db, p = served
    with locked(db):
        ids = []
        for k in range(8):  # CSGP_BASELINE_JOBS_QUEUED_MAX
            r = post(p, doc(10 + k), wait=0)
            assert r.status_code == 202, r.text
            ids.append(r.json()["job"])
        assert ids == sorted(ids) and len(set(ids)) == 8
        r = post(p, doc(30), wait=0)
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_jobs", r.text
        csgp.wait_for(lambda: job(p, ids[0])["status"] == "running", 10, "the first job")
        listed = jobs(p)
        assert [j["job"] for j in listed] == ids[::-1]  # newest first
        assert [j["status"] for j in listed] == ["queued"] * 7 + ["running"], listed
    csgp.wait_for(lambda: ended(p, ids[-1]), 60, "the last job")
    listed = jobs(p)
    assert all(j["status"] == "done" for j in listed), listed
    starts = [j["started_at"] for j in listed[::-1]]
    assert starts == sorted(starts)
    # The last one stored wins: its score shares are the stored document's.
    stored = db.query("SELECT doc FROM csgp_baselines WHERE model = %s", (MODEL,))[0][0]
    assert json.loads(stored)["score"]["shares"] == doc(17)["score"]["shares"]


def test_a_failed_store(served) -> None:
    db, p = served
    owner = db.connect(owner=True)
    try:
        owner.execute("REVOKE INSERT ON csgp_baselines FROM csg_app")
        r = post(p, doc(5))
        assert r.status_code == 503 and r.json()["error"]["code"] == "db_unavailable", r.text
        j = jobs(p)[0]
        assert j["status"] == "failed" and "permission denied" in j["error"], j
    finally:
        owner.execute("GRANT INSERT ON csgp_baselines TO csg_app")
        owner.close()
    assert db.query("SELECT count(*) FROM csgp_baselines")[0][0] == 0
    r = post(p, doc(5))
    assert r.status_code == 200 and r.json()["status"] == "done", r.text


def test_stop_during_a_store(served) -> None:
    """SIGTERM while a job waits: csg-persist exits at once, and the server ends the
    abandoned store (client_connection_check_interval) while the lock is still held —
    not when it is released, running on with the bands lock meanwhile. Nothing stored."""
    db, p = served

    def store_sessions() -> int:  # the job's connection, in its store
        return len(db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE %s",
                            ("%csgp_baselines%",)))

    with locked(db):
        r = post(p, doc(6), wait=0)
        assert r.status_code == 202, r.text
        csgp.wait_for(store_sessions, 10, "the job's store waiting")
        assert p.stop() == 0
        csgp.wait_for(lambda: store_sessions() == 0, 10, "the abandoned store ended")
    assert db.query("SELECT count(*) FROM csgp_baselines")[0][0] == 0


def test_bad_requests(served) -> None:
    _, p = served
    for params, name in (({"wait": "26"}, "wait"), ({"wait": "-1"}, "wait"),
                         ({"wait": "1.5"}, "wait"), ({"wait": "x"}, "wait"),
                         ({"timeout": "3"}, "timeout")):
        r = post(p, doc(), **params)
        assert r.status_code == 400, (params, r.text)
        e = r.json()["error"]
        assert e["code"] == "invalid_parameter" and e["parameter"] == name, e
    r = p.get("/baselines", model=MODEL)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter", r.text
    r = requests.put(p.url + "/baselines", data="{}", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST", r.text
    r = requests.get(p.url + "/outcomes", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST", r.text
    r = requests.post(p.url + "/metrics/summary", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD", r.text
    assert jobs(p) == []  # none of those queued anything
    got = p.get("/baselines").json()
    assert got == {"baselines": [], "jobs": []}, got


def test_listing(database: csgp.Database, procs, tmp_path: Path) -> None:
    """Both backends: --baseline at start and a POST, as GET /baselines lists them."""
    f = tmp_path / "b.json"
    f.write_text(json.dumps(csgp.make_baseline(csgp.CHAMPIONS[1], 7)))
    p = csgp.Persist(database, topic=csgp.unique("bjl"),
                     args=["--no-consume", "--baseline", str(f)]).start()
    procs.append(p)
    r = post(p, csgp.make_baseline(csgp.CHALLENGERS[0], 8, features=False))
    assert r.status_code == 200, r.text
    got = p.get("/baselines").json()
    assert [(b["model"], b["source"], b["score_bins"], b["features"])
            for b in got["baselines"]] == [
        (csgp.CHALLENGERS[0], "test", 8, 0), (csgp.CHAMPIONS[1], "test", 8, 6)]
    assert all(b["loaded_at"].endswith("Z") for b in got["baselines"])
    assert [(j["model"], j["status"]) for j in got["jobs"]] == [(csgp.CHALLENGERS[0], "done")]


def test_a_blocked_read_answers_503_outage(served) -> None:
    """A query the database holds past the API's statement timeout (25 s) is answered 503
    before the server's 30 s idle close, not dropped. ("outage": not under ASan.)"""
    db, p = served
    con = db.connect(owner=True, autocommit=False)
    try:
        con.execute("LOCK TABLE csgp_baselines IN ACCESS EXCLUSIVE MODE")
        r = p.get("/baselines")
        assert r.status_code == 503 and r.json()["error"]["code"] == "db_unavailable", r.text
    finally:
        con.rollback()
        con.close()
    assert p.get("/baselines").status_code == 200


def test_baselines_stored_during_ingest(database: csgp.Database, kafka: str, procs,
                                        tmp_path: Path) -> None:
    """Baselines changing the bands of three number features and the score bins, stored
    while the consumer writes batches: every event is in the bins of the bands its batch
    was counted with, so the rollups equal the rows at the end (a batch that read the old
    bands while a rebuild was uncommitted counted its events in the old bins)."""
    import threading

    db = database
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in
                           csgp.add_features(csgp.make_events(20000, 71), 7)) + "\n")
    csgp.run_cli("import", "--db", db.url, str(f))
    topic = csgp.unique("bji")
    csgp.create_topics(topic, topic + ".dlq")
    p = csgp.Persist(db, topic=topic, args=["--batch-max", "40"]).start()
    procs.append(p)
    live = csgp.add_features(csgp.make_events(4000, 72), 8)
    done = threading.Event()

    def feed() -> None:
        prod = csgp.producer()
        for k in range(0, len(live), 20):  # small flushed chunks: batches all along
            for e in live[k:k + 20]:
                prod.produce(topic, key=e["applicant_id"].encode(), value=csgp.dumps(e))
            assert prod.flush(30) == 0
        done.set()

    t = threading.Thread(target=feed)
    t.start()
    try:
        csgp.wait_for(lambda: db.count() > 20000, 30, "the consumer's first batches")
        before = db.count()
        for k in range(6):
            d = doc(40 + k)
            for feat in d["features"]:
                if feat["type"] == "number" and feat["name"] != "never_seen":
                    feat["cuts"] = [c * (1 + 0.1 * k) for c in feat["cuts"]]
            d["score"]["edges"][1:-1] = [e * (1 - 0.02 * k) for e in d["score"]["edges"][1:-1]]
            r = post(p, d, wait=25)
            assert r.status_code == 200, r.text
        during = db.count() - before
        assert 0 < during < 4000, during  # batches were written while baselines were stored
    finally:
        t.join(120)
    assert done.is_set()
    csgp.wait_for(lambda: db.count() == 24000, 60, "every event stored")
    diffs = csgp.rollup_vs_rows(p)
    for bucket in ("1h", "1d"):  # the score bins (and the champion's features) too
        a = p.get("/metrics/stability", bucket=bucket).json()
        b = p.get("/metrics/stability", bucket=bucket, source="rows").json()
        assert a["source"] == "rollup" and b["source"] == "rows", (a["source"], b["source"])
        assert MODEL in {m["model"] for m in a["models"]}, a["models"]
        diffs += csgp.close({k: a[k] for k in ("models", "features")},
                            {k: b[k] for k in ("models", "features")}, f"stability {bucket}")
    assert not diffs, "\n".join(diffs[:20])
