"""Experiment control through the real csg-gateway, http.so and rest.so (issue 21 items
1-3): a challenger switched to `mode: live` at 10% by SIGHUP answers its share (sticky,
`arm: challenger`, 0 failed requests across the reload); a live challenger that is down
falls back to the champion (LIVE_FALLBACK); `assignment: all` gives every event every
challenger's result; a weight edit followed by `csg-gateway rebalance` moves no applicant
between challengers."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from pathlib import Path

import checks
from gwlib import GATEWAY_BIN, HttpConn, applications
from harness import free_port, wait_until
from test_gateway import Gateway, rest_challenger, share_bounds

CHAMPION = "champion-scorecard-v2"
CHALLENGER = "challenger-gbm-v2"


def reloaded(g: Gateway, n: int) -> bool:
    return f'csg_config_reloads_total{{result="ok"}} {n}' in checks.check_metrics_text(g.port)


def score_all(port: int, apps: list[dict]) -> list[dict]:
    c = HttpConn(port)
    try:
        out = []
        for a in apps:
            r = c.score(a)
            assert r.status == 200, (r.status, r.body)
            out.append(r.json())
        return out
    finally:
        c.close()


def test_live_share_by_sighup_is_sticky_with_no_failures(models: tuple[int, int]) -> None:
    cp, hp = models
    g = Gateway(cp, [rest_challenger(hp, 0.1)])
    stop = threading.Event()
    statuses: list[int] = []
    errors: list[str] = []

    def load() -> None:
        try:
            c = HttpConn(g.port)
            apps = applications(200, seed=5)
            i = 0
            while not stop.is_set():
                statuses.append(c.score(apps[i % len(apps)]).status)
                i += 1
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    t = threading.Thread(target=load)
    try:
        apps = applications(1000, seed=31)
        before = score_all(g.port, apps[:50])
        assert all(r["arm"] == "champion" and r["model"] == CHAMPION for r in before)
        t.start()
        assert wait_until(lambda: len(statuses) >= 100, 20)
        g.write_config([rest_challenger(hp, 0.1) | {"mode": "live"}])
        g.proc.signal(signal.SIGHUP)
        assert wait_until(lambda: reloaded(g, 1), 20), g.proc.log()[-3000:]
        n = len(statuses)
        assert wait_until(lambda: len(statuses) >= n + 200, 20)
        stop.set()
        t.join(30)
        assert not errors, errors
        assert statuses and all(s == 200 for s in statuses), sorted(set(statuses))

        first = score_all(g.port, apps)
        again = score_all(g.port, apps)
        direct = {a["applicant_id"]: w for a, w in zip(apps, checks.direct_answers(hp, apps))}
        live = set()
        for r, r2 in zip(first, again):
            assert r["arm"] == r2["arm"] and r["model"] == r2["model"], (r, r2)  # sticky
            if r["arm"] == "challenger":
                live.add(r["applicant_id"])
                w = direct[r["applicant_id"]]
                assert r["model"] == CHALLENGER
                assert r["score"] == w["score"] and r["decision"] == w["decision"], (r, w)
                assert r["reasons"] == w.get("reasons", [])
            else:
                assert r["arm"] == "champion" and r["model"] == CHAMPION, r
        lo, hi = share_bounds(len(apps), 0.1)
        assert lo <= len(live) / len(apps) <= hi, len(live)
        events = g.wait_events(len(statuses) + 50 + 2 * len(apps), timeout=30)
        rids = {r["request_id"]: r for r in first + again}
        seen = 0
        for e in events:
            r = rids.get(e["event_id"])
            if r is None:
                continue
            seen += 1
            want = "challenger" if r["arm"] == "challenger" else "champion"
            assert e["decided_by"] == want, e
            if want == "challenger":
                assert e["challengers"] == [{
                    "model": CHALLENGER, "score": r["score"], "decision": r["decision"],
                    "latency_ms": e["latency_challenger_ms"], "status": "OK",
                    "reasons": e["challenger_reasons"], "mode": "live"}], e
                assert e["champion_score"] is not None  # the champion still scored
        assert seen == len(rids)
    finally:
        stop.set()
        if t.is_alive():
            t.join(30)
        assert g.stop() == 0, g.proc.log()


def test_live_challenger_down_falls_back_to_champion(models: tuple[int, int]) -> None:
    cp, _ = models
    dead = free_port()  # nothing listens: every live call fails at once
    g = Gateway(cp, [rest_challenger(dead, 1.0, timeout_ms=200) | {"mode": "live"}])
    try:
        apps = applications(40, seed=8)
        replies = score_all(g.port, apps)
        assert all(r["arm"] == "champion" and r["model"] == CHAMPION for r in replies)
        events = g.wait_events(len(apps))
        assert {e["status"] for e in events} == {"LIVE_FALLBACK"}, events[0]
        assert all(e["decided_by"] == "champion" and e["challengers"][0]["mode"] == "live"
                   and e["challengers"][0]["score"] is None for e in events)
        text = checks.check_metrics_text(g.port)
        m = re.search(r'csg_live_fallbacks_total\{model="challenger-gbm-v2"\} (\d+)', text)
        assert m and int(m.group(1)) == len(apps), text
    finally:
        assert g.stop() == 0, g.proc.log()


def test_assignment_all_every_event_has_every_challenger(models: tuple[int, int]) -> None:
    cp, hp = models
    chals = [rest_challenger(hp, 0.05), rest_challenger(hp, 0.05, name="challenger-b")]
    g = Gateway(cp, chals, assignment="all")
    try:
        out = subprocess.run([str(GATEWAY_BIN), "--check-config", str(g.config)],
                             check=False, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "weights and ranges are ignored" in out.stdout, out
        apps = applications(150, seed=12)
        replies = score_all(g.port, apps)
        assert all(r["arm"] == "champion" for r in replies)
        events = g.wait_events(len(apps))
        for e in events:
            names = [c["model"] for c in e["challengers"]]
            assert names == [CHALLENGER, "challenger-b"], e
            assert all(c["status"] == "OK" and c["mode"] == "shadow" for c in e["challengers"])
            assert e["challenger_model"] == CHALLENGER  # the brief's keys: the first result
            assert e["challenger_score"] == e["challengers"][0]["score"]
            assert e["challengers"][0]["score"] == e["challengers"][1]["score"]  # same model
        # live is not allowed with assignment: all
        bad = g.dir / "live-all.yaml"
        bad.write_text(g.config.read_text().replace("    weight: 0.05\n",
                                                    "    weight: 0.05\n    mode: live\n", 1))
        out = subprocess.run([str(GATEWAY_BIN), "--check-config", str(bad)],
                             check=False, capture_output=True, text=True, timeout=30)
        assert out.returncode == 1 and "not allowed with" in out.stderr, out
    finally:
        assert g.stop() == 0, g.proc.log()


def arms(g: Gateway, apps: list[dict], skip: int) -> dict[str, str | None]:
    score_all(g.port, apps)
    events = g.wait_events(skip + len(apps))[skip:]
    return {e["applicant_id"]: e["challenger_model"] for e in events}


def rebalance(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(GATEWAY_BIN), "rebalance", "--config", str(config)],
                          check=False, capture_output=True, text=True, timeout=30)


def test_weight_edit_with_rebalance_moves_nobody_between_challengers(
        models: tuple[int, int]) -> None:
    cp, hp = models
    g = Gateway(cp, [rest_challenger(hp, 0.2), rest_challenger(hp, 0.3, name="challenger-b")])
    try:
        apps = applications(1000, seed=44)
        old = arms(g, apps, 0)
        # The first rebalance writes today's list-order slices: nobody moves.
        r = rebalance(g.config)
        assert r.returncode == 0 and "ranges: [[0, 0.2]]" in g.config.read_text(), r
        text = g.config.read_text()
        # Lower the first, raise the second; without a rebalance the file is refused.
        g.config.write_text(text.replace("weight: 0.2\n", "weight: 0.1\n")
                            .replace("weight: 0.3\n", "weight: 0.45\n"))
        out = subprocess.run([str(GATEWAY_BIN), "--check-config", str(g.config)],
                             check=False, capture_output=True, text=True, timeout=30)
        assert out.returncode == 1 and "add up to" in out.stderr, out
        r = rebalance(g.config)
        assert r.returncode == 0 and "warning" not in r.stderr, r
        g.proc.signal(signal.SIGHUP)
        assert wait_until(lambda: reloaded(g, 1), 20), g.proc.log()[-3000:]
        new = arms(g, apps, len(apps))
        moved = [(a, old[a], new[a]) for a in old if old[a] and new[a] and old[a] != new[a]]
        assert not moved, moved[:5]
        gained = [a for a in old if new[a] == "challenger-b" and old[a] != "challenger-b"]
        left = [a for a in old if old[a] == CHALLENGER and new[a] != CHALLENGER]
        assert gained and left  # the edit did move applicants to and from the pool
        n_a = sum(1 for v in new.values() if v == CHALLENGER)
        n_b = sum(1 for v in new.values() if v == "challenger-b")
        lo, hi = share_bounds(len(apps), 0.1)
        assert lo <= n_a / len(apps) <= hi, n_a
        lo, hi = share_bounds(len(apps), 0.45)
        assert lo <= n_b / len(apps) <= hi, n_b
    finally:
        assert g.stop() == 0, g.proc.log()
