"""Reason codes (issue 17, DESIGN §6/§7): champion_reasons / challenger_reasons round-trip
into their columns (PostgreSQL text[], SQLite JSON text) and /metrics/events, older events
without the keys are stored as NULL, the first event of an event_id keeps its lists, bad
lists go to the DLQ with their reason, and GET /metrics/reasons (counts, shares, ordering,
agreement, filters) equals a Python reference computed from the events the test wrote —
on PostgreSQL (through COPY) and SQLite."""

from __future__ import annotations

import json
import random
from typing import Any

import csgp
import pytest
from test_features import FFilters, with_features

# The contract's codes (one per characteristic); a few made-up ones test the code rule's
# edges (16 characters, digits, a code spelled NULL).
CODES = ("INCOME", "LOAN_AMOUNT", "RECORDS", "SENIORITY", "HOME", "TERM", "AGE", "MARITAL",
         "JOB", "EXPENSES", "ASSETS", "DEBT", "PRICE", "A234567890123456", "NULL")


def reason_list(r: random.Random, decision: str | None) -> list[str]:
    if decision != "decline":
        return []
    # skewed towards the first codes, so the ordering has clear leaders and some ties
    n = r.choice([0, 1, 2, 3, 4, 4]) if r.random() < 0.97 else 0
    codes = r.sample(CODES[: r.choice([3, 6, 15])], min(n, 3) if n else 0)
    if n == 4:
        codes.append(r.choice(codes) if r.random() < 0.3 else r.choice(CODES))  # repeats
    return codes


def with_reasons(events: list[dict], seed: int) -> list[dict]:
    """Four events in five as a reasons-aware gateway writes them: each model's list when
    it answered (codes on a decline, [] otherwise), null when it did not; the rest as an
    older gateway (no keys)."""
    r = random.Random(seed)
    out = []
    for i, e in enumerate(events):
        e = dict(e)
        if i % 5:
            e["champion_reasons"] = (
                reason_list(r, e["champion_decision"]) if e["champion_score"] is not None
                else None)
            e["challenger_reasons"] = (
                reason_list(r, e["challenger_decision"]) if e["challenger_score"] is not None
                else None)
        out.append(e)
    return out


def declined(e: dict, role: str) -> bool:
    return e[f"{role}_decision"] == "decline" and e[f"{role}_score"] is not None


def ref_reasons(evs: list[dict]) -> dict[str, Any]:
    models = []
    for role in ("champion", "challenger"):
        for m in sorted({e[f"{role}_model"] for e in evs if e[f"{role}_model"] is not None}):
            decl = [e for e in evs if e[f"{role}_model"] == m and declined(e, role)]
            counts: dict[str, list[int]] = {}
            for e in decl:
                codes = e.get(f"{role}_reasons") or []
                for k, code in enumerate(codes):
                    c = counts.setdefault(code, [0, 0])
                    if k == 0:
                        c[0] += 1
                for code in set(codes):  # a repeated code counts its row once
                    counts[code][1] += 1
            n = len(decl)
            reasons = [
                {"code": code, "first": f, "first_share": csgp.ratio(f, n), "any": a,
                 "any_share": csgp.ratio(a, n)}
                for code, (f, a) in sorted(counts.items(),
                                           key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
            ]
            models.append({"model": m, "role": role, "declines": n, "reasons": reasons})
    agreement = []
    pairs = sorted({(e["champion_model"], e["challenger_model"]) for e in evs
                    if e["challenger_model"] is not None})
    for champ, chall in pairs:
        both = [e for e in evs if e["champion_model"] == champ
                and e["challenger_model"] == chall and declined(e, "champion")
                and declined(e, "challenger") and e.get("champion_reasons")
                and e.get("challenger_reasons")]
        agree = sum(e["champion_reasons"][0] == e["challenger_reasons"][0] for e in both)
        agreement.append({"champion": champ, "challenger": chall, "both_declined": len(both),
                          "first_agree": agree, "rate": csgp.ratio(agree, len(both))})
    return {"models": models, "agreement": agreement}


def check(got: dict, want: dict) -> None:
    diffs = csgp.close(got, want)
    assert not diffs, "\n".join(diffs[:20])
    # exactly these keys (close() ignores extra ones), a "note" aside
    for g, w in zip(got["models"], want["models"], strict=True):
        assert set(g) - {"note"} == set(w), g
    for g, w in zip(got["agreement"], want["agreement"], strict=True):
        assert set(g) - {"note"} == set(w), g


def load(database: csgp.Database, tmp_path, events: list[dict]) -> dict:
    f = tmp_path / "events.ndjson"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return json.loads(csgp.run_cli("import", "--db", database.url, str(f)).stdout)


def stored(v: Any) -> list[str] | None:
    """A column value as a list: PostgreSQL gives a list, SQLite JSON text."""
    return json.loads(v) if isinstance(v, str) else v


@pytest.fixture
def reasoned(database: csgp.Database, procs, tmp_path):
    events = with_reasons(with_features(csgp.make_events(1500, 71), 8), 3)
    # the same event_ids again with other lists: the first stored is kept
    again = [dict(e, champion_reasons=["AGE"] if e["champion_score"] is not None else None)
             for e in events[:40]]
    stats = load(database, tmp_path, events + again)
    assert stats["rejected"] == 0 and stats["inserted"] == len(events), stats
    assert stats["duplicates"] == 40, stats
    p = csgp.Persist(database, topic=csgp.unique("rsn"), args=["--no-consume"]).start()
    procs.append(p)
    return p, events


def test_round_trip(reasoned, database: csgp.Database) -> None:
    p, events = reasoned
    by_id = {e["event_id"]: e for e in events}
    assert any(e.get("champion_reasons") for e in events)
    assert any("champion_reasons" not in e for e in events)
    rows = database.query(
        "SELECT event_id, champion_reasons, challenger_reasons FROM credit_score_metrics")
    assert len(rows) == len(events)
    for eid, cr, xr in rows:
        e = by_id[eid]
        assert stored(cr) == e.get("champion_reasons"), (eid, cr)
        assert stored(xr) == e.get("challenger_reasons"), (eid, xr)
    seen = p.get("/metrics/events", limit=1000).json()["events"]
    assert len(seen) == 1000
    for row in seen:
        e = by_id[row["event_id"]]
        assert row["champion_reasons"] == e.get("champion_reasons"), row
        assert row["challenger_reasons"] == e.get("challenger_reasons"), row


T = csgp.ts_ms("2026-11-25T09:00:00Z")
FILTERS = [
    FFilters(),
    FFilters(experiment_id="exp-b"),
    FFilters(challenger_model="challenger-rf-v2"),
    FFilters(from_ms=T + 1_800_000, to_ms=T + 5_400_000),
    FFilters(min_income=50000.0, max_income=150000.0),
    FFilters(values={"home": ["rent", "owner"]}),
    FFilters(ranges={"age": (30, 60)}, experiment_id="exp-champion-vs-gbm"),
    FFilters(experiment_id="no-such-experiment"),
]


def test_reasons_against_reference(reasoned) -> None:
    p, events = reasoned
    for f in FILTERS:
        evs = [e for e in events if f.keep(e)]
        r = p.get("/metrics/reasons", **f.params())
        assert r.status_code == 200, r.text
        want = ref_reasons(evs)
        check(r.json(), want)
    # the whole set exercises what the reference is meant to catch
    full = ref_reasons(events)
    champ = full["models"][0]
    assert champ["role"] == "champion" and champ["declines"] > 100
    firsts = [x["first"] for x in champ["reasons"]]
    assert firsts == sorted(firsts, reverse=True) and 0 in firsts  # codes only ever later
    assert any(a["both_declined"] > 0 and 0 < a["rate"] < 1 for a in full["agreement"])
    applicant = events[0]["applicant_id"]
    r = p.get("/metrics/reasons", applicant_id=applicant)
    check(r.json(), ref_reasons([e for e in events if e["applicant_id"] == applicant]))
    # Unfiltered it came from the rollups (issue 20); forced to rows it is the same.
    assert p.get("/metrics/reasons").json()["source"] == "rollup"
    assert p.get("/metrics/reasons", source="rows").json()["source"] == "rows"
    check(p.get("/metrics/reasons", source="rows").json(), full)


def test_rollups_rebuilt_with_reason_lists(reasoned, database: csgp.Database) -> None:
    """Migration 007's rebuild reads the stored lists (text[] / JSON) like ingest."""
    p, events = reasoned
    before = p.get("/metrics/reasons").json()
    csgp.drop_rollups(database)
    assert "3 migration(s) applied" in csgp.run_cli("migrate", "--db", database.owner_url).stdout
    after = p.get("/metrics/reasons").json()
    assert after["source"] == "rollup" and after == before
    check(after, ref_reasons(events))


def test_notes_and_edges(database: csgp.Database, procs, tmp_path) -> None:
    """Declines without lists count under no code (with a note); a model without declines
    has no reasons; a pair without common declines has rate null; no rows: empty lists."""
    p = csgp.Persist(database, topic="unused", args=["--no-consume"]).start()
    procs.append(p)
    assert p.get("/metrics/reasons").json() == {
        "models": [], "agreement": [], "note": "no events match the filters",
        "source": "rollup", "rollup_seconds": 86400}
    base = csgp.make_events(1, 5)[0]
    ok = dict(base, status="OK", champion_model="c1", challenger_model="g1",
              champion_score=0.2, champion_decision="decline", challenger_score=0.9,
              challenger_decision="approve", decision_match=False, decision_diff=0.7,
              latency_challenger_ms=1.0)
    evs = [
        dict(ok, event_id="a", champion_reasons=["DEBT", "INCOME"], challenger_reasons=[]),
        dict(ok, event_id="b"),  # an older gateway: no lists
        # a fallback "decline" is not the model's: no score, not a decline of c1
        dict(ok, event_id="c", status="CHAMPION_ERROR", champion_score=None,
             decision_match=None, decision_diff=None, champion_reasons=None,
             challenger_reasons=[]),
    ]
    assert load(database, tmp_path, evs)["inserted"] == 3
    body = p.get("/metrics/reasons").json()
    check(body, ref_reasons(evs))
    c1, g1 = body["models"]
    assert c1["declines"] == 2 and "1 of the declines carry no reason list" in c1["note"]
    assert [x["code"] for x in c1["reasons"]] == ["DEBT", "INCOME"]
    assert c1["reasons"][1] == {"code": "INCOME", "first": 0, "first_share": 0.0, "any": 1,
                                "any_share": 0.5}
    assert g1 == {"model": "g1", "role": "challenger", "declines": 0, "reasons": [],
                  "note": "no declines from this model"}
    assert body["agreement"][0]["rate"] is None and body["agreement"][0]["both_declined"] == 0
    for params, bad in (({"bins": "5"}, "bins"), ({"f.nosuch": "x"}, "f.nosuch"),
                        ({"from": "yesterday"}, "from")):
        r = p.get("/metrics/reasons", **params)
        assert r.status_code == 400 and r.json()["error"]["parameter"] == bad, r.text


BAD_LISTS = [
    ({"champion_reasons": ["INCOME", "DEBT", "AGE", "JOB", "HOME"]},
     '"champion_reasons": 5 reasons (at most 4)'),
    ({"champion_reasons": ["income"]}, '"champion_reasons[0]": must be a reason code'),
    ({"challenger_reasons": "DEBT"}, '"challenger_reasons": must be an array'),
    ({"challenger_reasons": [{"code": "DEBT"}]}, '"challenger_reasons[0]"'),
]


@pytest.mark.parametrize("database", ["pg", "sqlite"], indirect=True)
def test_kafka_reasons_and_dlq(kafka, database: csgp.Database, procs) -> None:
    """Through Kafka (the consumer's batches; COPY on PostgreSQL): lists stored, older
    events without them too, bad lists in the DLQ naming the key; a redelivery keeps the
    first lists."""
    topic = csgp.unique("rsnk")
    csgp.create_topics(topic, topic + ".dlq")
    events = with_reasons(csgp.make_events(400, 73), 9)
    ok = next(e for e in events if e["challenger_score"] is not None and "champion_reasons" in e)
    bad = [dict(ok, event_id=f"bad-{i}", **keys) for i, (keys, _) in enumerate(BAD_LISTS)]
    csgp.produce_events(topic, events + bad)
    p = csgp.Persist(database, topic).start()
    procs.append(p)
    csgp.wait_for(lambda: p.metric("csgp_rows_inserted_total") >= 400, 60, "400 rows",
                  every=0.25)
    dlq = csgp.read_topic(topic + ".dlq", len(BAD_LISTS))
    reasons = {json.loads(json.loads(m.value())["payload"])["event_id"]:
               json.loads(m.value())["reason"] for m in dlq}
    for i, (_, needle) in enumerate(BAD_LISTS):
        assert needle in reasons[f"bad-{i}"], reasons
    changed = [dict(e, champion_reasons=["PRICE"] if e["champion_score"] is not None else None)
               for e in events[:50]]
    csgp.produce_events(topic, changed)
    csgp.wait_for(lambda: p.metric("csgp_duplicates_total") >= 50, 60, "50 duplicates",
                  every=0.25)
    assert database.count() == 400
    check(p.get("/metrics/reasons").json(), ref_reasons(events))
