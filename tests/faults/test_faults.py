"""Fault scenarios (issue 11 part 1) against the real stack: load with unique request ids
→ csg-gateway → Kafka → csg-persist → PostgreSQL. Each scenario injects one fault,
recovers, then counts sent / answered / rows / duplicate rows / lost (faultlib.account)
and asserts lost = 0 and duplicate rows = 0 (SIGKILL of the gateway: lost is bounded by
csg_events_unacked read just before the kill). CSG_FAULTS_LONG=1 (make test-faults)
selects the long variants: minutes-long outages and kill loops × 10."""

from __future__ import annotations

import signal
import time

import faultlib as fl
from conftest import Stack
from faultlib import LONG, Load, account, events_total, wait_for

RATE = 200  # requests/s on loopback: small enough for 2 shared cores


def hold(seconds: float, load: Load | None = None) -> None:
    """Keep a fault in place for `seconds` while the load goes on (a deliberate outage
    duration, not a synchronisation sleep); fails early if the load threads died."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(0.5, left))
        if load is not None:
            assert any(t.is_alive() for t in load.threads), "load stopped during the fault"


def progress(load: Load, n: int, timeout: float = 30) -> None:
    start = load.answered()
    wait_for(lambda: load.answered() >= start + n, timeout, f"{n} more replies")


def spool_empty(s: Stack, timeout: float = 120) -> None:
    wait_for(lambda: s.gateway.metric("csg_spool_bytes") == 0, timeout, "empty spool", every=0.5)


def check(c: fl.Count, allow_unanswered: bool = False) -> None:
    print(f"\n{fl.format_table([c])}")
    assert c.dup_rows == 0, c
    assert c.lost == 0, c
    assert c.errors == 0, c
    if not allow_unanswered:
        assert c.unanswered == 0, c


def exact(st: int, body: dict, status: int, code: str | None) -> bool:
    """The reply is exactly the configured one: an error code, or the fallback."""
    if st != status:
        return False
    if code is not None:
        return body.get("error", {}).get("code") == code
    return (body.get("decision") == "review" and body.get("fallback") is True
            and body.get("score") is None)


def recovered(g: fl.Gateway, pg: fl.PgCluster, streak: int = 6) -> None:
    """Until `streak` probes in a row (ids f7w-*, not counted) took the timeout path, i.e.
    the gateway's calls reach the slow champion again instead of failing fast. Judged by
    outcome, each probe's stored event status (CHAMPION_TIMEOUT, not CHAMPION_ERROR): a
    gateway with a fallback answers both the same way."""
    deadline = time.monotonic() + 60
    for attempt in range(1000):
        prefix = f"f7w-{g.port}-{attempt}"
        for i in range(streak):
            c = fl.HttpConn(g.port, timeout=10)
            c.score(fl.applications(1)[0], headers={"X-Request-Id": f"{prefix}-{i}"})
            c.close()

        def stored(p: str = prefix) -> dict[str, str] | None:
            st = pg.statuses_for(p)
            return st if len(st) == streak else None

        statuses = wait_for(stored, 60, f"the events of probes {prefix}-*")
        if set(statuses.values()) == {"CHAMPION_TIMEOUT"}:
            return
        assert time.monotonic() < deadline, f"champion calls still fail fast: {statuses}"


def test_broker_kill9(stack: Stack) -> None:
    """kill -9 of the broker under load (30 s; short 8 s): every request is still
    answered 200 (events never sit on the request path), the outage goes through the
    spool, every event reaches the topic (duplicates only among spooled ones) and
    PostgreSQL once the broker is back."""
    outage = 30 if LONG else 8
    spool_empty(stack)
    m0 = stack.gateway.metrics()
    load = Load(stack.gateway.port, "f1", RATE)
    progress(load, 300)
    stack.broker.kill9()
    t0 = time.monotonic()
    hold(outage, load)
    stack.broker.up()
    restart = time.monotonic() - t0 - outage
    progress(load, 400, 60)
    load.finish()
    spool_empty(stack)
    c = account(f"broker kill -9 {outage}s", load, stack.pg, timeout=120)
    m1 = stack.gateway.metrics()
    c.notes.update(down_s=round(outage + restart, 1),
                   spooled=events_total(m1, "spooled") - events_total(m0, "spooled"),
                   replayed=events_total(m1, "replayed") - events_total(m0, "replayed"),
                   dropped=events_total(m1, "dropped") - events_total(m0, "dropped"))
    c.notes.update(fl.topic_report(stack.broker.bootstrap, stack.topic, load.ids()))
    check(c)
    assert c.notes["dropped"] == 0
    assert c.notes["spooled"] > 0, c  # the outage really went through the spool
    # The producer is idempotent: only an event that was also spooled (its ack lost in
    # the outage) can reach the topic twice.
    assert c.notes["topic_missing"] == 0 and c.notes["topic_dups"] <= c.notes["spooled"], c


def test_broker_down(stack: Stack) -> None:
    """The broker stopped for 5 min (short 15 s): the spool absorbs it — dropped = 0,
    replayed = spooled, every answered request's event is on the topic and in the DB."""
    outage = 300 if LONG else 15
    rate = 100 if LONG else RATE
    spool_empty(stack)
    m0 = stack.gateway.metrics()
    load = Load(stack.gateway.port, "f2", rate)
    progress(load, 200)
    t0 = time.monotonic()
    stack.broker.down()
    hold(max(0.0, outage - (time.monotonic() - t0)), load)
    spooled_during = stack.gateway.metric("csg_spool_bytes")
    stack.broker.up()
    down_s = time.monotonic() - t0
    progress(load, 300, 60)
    load.finish()

    def delta(m: dict[str, float], k: str) -> float:
        return events_total(m, k) - events_total(m0, k)

    # Replay done: spool empty and every spooled record acknowledged by Kafka.
    wait_for(lambda: (stack.gateway.metric("csg_spool_bytes") == 0
                      and delta(stack.gateway.metrics(), "replayed")
                      >= delta(stack.gateway.metrics(), "spooled")), 180,
             "spool replayed", every=0.5)
    c = account(f"broker down {outage}s", load, stack.pg, timeout=120)
    m1 = stack.gateway.metrics()
    c.notes.update(down_s=round(down_s, 1),
                   spool_bytes_at_peak=int(spooled_during),
                   spooled=delta(m1, "spooled"), replayed=delta(m1, "replayed"),
                   dropped=delta(m1, "dropped"), failed=delta(m1, "failed"))
    c.notes.update(fl.topic_report(stack.broker.bootstrap, stack.topic, load.ids()))
    check(c)
    assert c.notes["spooled"] > 0, c.notes
    assert c.notes["dropped"] == 0, c.notes
    assert c.notes["replayed"] == c.notes["spooled"], c.notes
    assert c.notes["topic_missing"] == 0, c.notes


def test_gateway_sigterm(stack: Stack) -> None:
    """SIGTERM under load: the gateway stops accepting, finishes in-flight requests,
    flushes its queue and exits 0; restarted, it serves again. Nothing answered is lost
    (requests that hit the closed port are unanswered, not lost)."""
    load = Load(lambda: stack.gateway.port, "f3", 300)
    progress(load, 400)
    stack.gateway.signal(signal.SIGTERM)
    rc = stack.gateway.wait_exit(60)
    assert rc == 0, stack.gateway.log()[-3000:]
    stack.gateway.start()
    progress(load, 300)
    load.finish()
    c = account("gateway SIGTERM", load, stack.pg)
    c.notes["exit_status"] = rc
    check(c, allow_unanswered=True)


def test_gateway_sigkill(stack: Stack) -> None:
    """SIGKILL under load: only what was in memory may be lost, and it is bounded by
    csg_events_unacked read just before the kill (plus what was answered after that
    reading). The restarted gateway replays whatever reached its spool."""
    load = Load(lambda: stack.gateway.port, "f4", 400)
    progress(load, 600)
    samples = [stack.gateway.metric("csg_events_unacked") for _ in range(4)]
    # Replies counted before the last reading: their events are acked or in that reading;
    # anything answered later is added to the bound.
    answered_at_sample = load.answered()
    samples.append(stack.gateway.metric("csg_events_unacked"))
    stack.gateway.signal(signal.SIGKILL)
    stack.gateway.wait_exit(10)
    answered_after = load.answered() - answered_at_sample
    stack.gateway.start()
    progress(load, 300)
    load.finish()
    spool_empty(stack)
    c = account("gateway SIGKILL", load, stack.pg, timeout=60, settle=5)
    c.notes.update(unacked_before_kill=samples[-1], unacked_max=max(samples),
                   answered_after_reading=answered_after,
                   bound=samples[-1] + answered_after)
    print(f"\n{fl.format_table([c])}\nSIGKILL: lost {c.lost} ≤ csg_events_unacked "
          f"{samples[-1]:.0f} (read just before the kill) + {answered_after} answered "
          "after that reading")
    assert c.dup_rows == 0 and c.errors == 0, c
    assert c.lost <= samples[-1] + answered_after, c


def test_persist_kill9_loop(stack: Stack) -> None:
    """csg-persist kill -9 × 10 (short × 3) while events flow: rows are exactly once."""
    kills = 10 if LONG else 3
    load = Load(stack.gateway.port, "f5", RATE)
    for _ in range(kills):
        before = sum(stack.pg.rows_for("f5").values())
        wait_for(lambda b=before: sum(stack.pg.rows_for("f5").values()) > b, 60,
                 "rows growing", every=0.25)
        port = stack.persist.port
        stack.persist.kill9()
        stack.persist = fl.Persist(stack.pg, stack.broker.bootstrap, stack.topic,
                                   stack.persist.group, port=port).start()
    progress(load, 200)
    load.finish()
    c = account(f"csg-persist kill -9 x{kills}", load, stack.pg, timeout=120)
    c.notes["kills"] = kills
    check(c)


def test_postgres_stopped(stack: Stack) -> None:
    """PostgreSQL stopped for 60 s (short 10 s): csg-persist pauses (nothing committed),
    the gateway is unaffected, and every row arrives once the database is back."""
    outage = 60 if LONG else 10
    load = Load(stack.gateway.port, "f6", RATE)
    wait_for(lambda: sum(stack.pg.rows_for("f6").values()) > 100, 30, "rows flowing")
    t0 = time.monotonic()
    stack.pg.down()
    wait_for(lambda: stack.persist.metric("csgp_ingest_paused") == 1, 30, "ingest paused")
    hold(max(0.0, outage - (time.monotonic() - t0)), load)
    assert stack.persist.proc is not None and stack.persist.proc.poll() is None
    stack.pg.up()
    down_s = time.monotonic() - t0
    progress(load, 200)
    load.finish()
    c = account(f"PostgreSQL stopped {outage}s", load, stack.pg, timeout=120)
    c.notes.update(down_s=round(down_s, 1),
                   db_errors=stack.persist.metric("csgp_db_errors_total"))
    check(c)
    wait_for(lambda: stack.persist.metric("csgp_ingest_paused") == 0, 30, "ingest resumed")


def test_champion_down_and_slow(stack: Stack) -> None:
    """Champion down, then slow (600 ms against a 200 ms timeout), through a gateway
    without and one with `fallback_decision: review`: every reply is exactly what is
    configured (502 champion_error / 504 champion_timeout, or 200 decision review with
    fallback true) and every request's event is stored with CHAMPION_ERROR /
    CHAMPION_TIMEOUT."""
    champ = fl.Model("champion").start()
    plain = fl.Gateway(stack.broker.bootstrap, stack.topic, champ.port, stack.challenger.port,
                       name="gw-plain", champion_timeout_ms=200).start()
    fb = fl.Gateway(stack.broker.bootstrap, stack.topic, champ.port, stack.challenger.port,
                    name="gw-fallback", champion_timeout_ms=200, fallback="review").start()
    n = 200 if LONG else 60
    try:
        champ.kill9()
        phases = [
            ("champion down, no fallback", "f7a", plain, 502, "champion_error",
             "CHAMPION_ERROR"),
            ("champion down, fallback", "f7b", fb, 200, None, "CHAMPION_ERROR"),
        ]
        loads = [(p, Load(p[2].port, p[1], 60, total=n)) for p in phases]
        done = [(p, ld.run_until_done(120)) for p, ld in loads]
        champ.start("--latency-ms", "600")
        # rest.so fails calls at once while every pooled connection is backing off
        # (≤ 2 s after the champion went away): wait until both gateways' calls reach the
        # slow champion again (their events say CHAMPION_TIMEOUT), so the phase below is the
        # slow case.
        for g in (plain, fb):
            recovered(g, stack.pg)
        phases = [
            ("champion slow, no fallback", "f7c", plain, 504, "champion_timeout",
             "CHAMPION_TIMEOUT"),
            ("champion slow, fallback", "f7d", fb, 200, None, "CHAMPION_TIMEOUT"),
        ]
        loads = [(p, Load(p[2].port, p[1], 60, total=n, threads=8)) for p in phases]
        done += [(p, ld.run_until_done(120)) for p, ld in loads]
        for (name, prefix, _gw, status, code, ev_status), load in done:
            c = account(name, load, stack.pg)
            c.errors = 0  # the non-200 replies here are the configured answer; checked below
            wrong = [(i, st, body) for i, (st, body) in load.replies.items()
                     if not exact(st, body, status, code)]
            statuses = stack.pg.statuses_for(prefix)
            bad_rows = [(k, v) for k, v in statuses.items() if v != ev_status]
            c.notes.update(reply=f"{status} {code or 'review/fallback'}",
                           event_status=ev_status, wrong_replies=len(wrong),
                           wrong_event_status=len(bad_rows))
            check(c)
            assert len(load.replies) == n, c
            assert not wrong, wrong[:3]
            assert not bad_rows, bad_rows[:3]
    finally:
        plain.stop()
        fb.stop()
        champ.kill9()


def test_sighup_bad_then_good(stack: Stack) -> None:
    """SIGHUP with a bad file (weight 1.5: rejected, old table stays) then a good one
    (weight 0.5) under load: no request fails, nothing is lost."""
    gw = stack.gateway
    m0 = gw.metrics()
    err0 = m0.get('csg_config_reloads_total{result="error"}', 0)
    ok0 = m0.get('csg_config_reloads_total{result="ok"}', 0)
    load = Load(gw.port, "f8", 300)
    try:
        progress(load, 300)
        gw.write_config(1.5)
        gw.signal(signal.SIGHUP)
        wait_for(lambda: gw.metric('csg_config_reloads_total{result="error"}') == err0 + 1,
                 20, "bad reload rejected")
        progress(load, 200)
        gw.write_config(0.5)
        gw.signal(signal.SIGHUP)
        wait_for(lambda: gw.metric('csg_config_reloads_total{result="ok"}') == ok0 + 1,
                 20, "good reload")
        progress(load, 300)
        load.finish()
    finally:
        load.finish()
        gw.write_config(0.2)
        gw.signal(signal.SIGHUP)
        wait_for(lambda: gw.metric('csg_config_reloads_total{result="ok"}') == ok0 + 2,
                 20, "reload back to 0.2")
    c = account("SIGHUP bad then good", load, stack.pg)
    c.notes["reloads"] = {"error": 1, "ok": 1}
    check(c)
