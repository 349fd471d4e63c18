"""Sidebar filters. The widgets live outside the auto-refresh fragment (so a refresh never
resets them); `current_filters()` turns their session-state values into API parameters at
every refresh, so relative ranges ("Last hour") move with the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

import data

ALL_TIME = "All time"
CUSTOM = "Custom dates"
PRESETS: dict[str, timedelta | None] = {
    ALL_TIME: None,
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    CUSTOM: None,
}
ALL_EXPERIMENTS = "All experiments"
ALL_CHALLENGERS = "All challengers"


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _options(unfiltered: dict[str, Any] | None,
             sample: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    experiments = sorted({e.get("experiment_id") for e in (sample or {}).get("events", [])
                          if e.get("experiment_id")})
    challengers = sorted({m["model"] for m in (unfiltered or {}).get("models", [])
                          if m.get("role") == "challenger"})
    return experiments, challengers


def _keep(current: Any, options: list[str]) -> list[str]:
    return [*options, str(current)] if current and current not in options else options


def render(unfiltered: dict[str, Any] | None, sample: dict[str, Any] | None,
           refresh_s: float) -> None:
    experiments, challengers = _options(unfiltered, sample)
    sb = st.sidebar
    sb.header("Filters")
    sb.selectbox("Time range", list(PRESETS), key="f_range")
    if st.session_state.get("f_range") == CUSTOM:
        today = datetime.now(UTC).date()
        sb.date_input("Dates (UTC, inclusive)", value=(today - timedelta(days=6), today),
                      key="f_dates")
    c1, c2 = sb.columns(2)
    c1.number_input("Min income", min_value=0.0, value=None, step=1000.0, key="f_min_income")
    c2.number_input("Max income", min_value=0.0, value=None, step=1000.0, key="f_max_income")
    sb.text_input("Applicant ID", key="f_applicant", placeholder="e.g. A00042")
    # accept_new_options: an experiment older than the sampled events can still be typed.
    # A chosen value stays an option even when the API (briefly) lists nothing, so an
    # outage or a quiet period never silently drops a filter.
    exp_opts = _keep(st.session_state.get("f_experiment"), [ALL_EXPERIMENTS, *experiments])
    sb.selectbox("Experiment", exp_opts, key="f_experiment", accept_new_options=True)
    ch_opts = _keep(st.session_state.get("f_challenger"), [ALL_CHALLENGERS, *challengers])
    sb.selectbox("Challenger", ch_opts, key="f_challenger")
    sb.divider()
    if refresh_s > 0:
        sb.toggle(f"Auto-refresh every {refresh_s:g} s", value=True, key="f_autorefresh")
    else:
        sb.caption("Auto-refresh is off (CSG_REFRESH_SECONDS=0).")
    sb.caption(f"API: {data.api_url()}")


def current_filters(now: datetime | None = None) -> tuple[data.Filters, str | None]:
    """Filters from the widgets' state, plus a message when a value cannot be used."""
    ss = st.session_state
    now = now or datetime.now(UTC)
    from_ts = to_ts = None
    problem = None
    choice = ss.get("f_range", ALL_TIME)
    if choice == CUSTOM:
        dates = ss.get("f_dates")
        if isinstance(dates, date):
            dates = (dates, dates)
        if dates and len(dates) == 2:
            start, end = dates
            from_ts = rfc3339(datetime.combine(start, time(), UTC))
            # `to` is the end of the last chosen day.
            to_ts = rfc3339(datetime.combine(end, time(), UTC) + timedelta(days=1))
        elif dates:
            problem = "Pick an end date for the custom range."
    elif PRESETS.get(choice) is not None:
        from_ts, to_ts = rfc3339(now - PRESETS[choice]), rfc3339(now)  # type: ignore[operator]
    lo, hi = ss.get("f_min_income"), ss.get("f_max_income")
    if lo is not None and hi is not None and lo > hi:
        problem = "Min income is above max income: the income filter is ignored."
        lo = hi = None
    exp = ss.get("f_experiment")
    ch = ss.get("f_challenger")
    applicant = (ss.get("f_applicant") or "").strip()
    f = data.Filters(
        from_ts=from_ts,
        to_ts=to_ts,
        experiment_id=None if exp in (None, "", ALL_EXPERIMENTS) else str(exp),
        challenger_model=None if ch in (None, "", ALL_CHALLENGERS) else str(ch),
        applicant_id=applicant or None,
        min_income=float(lo) if lo is not None else None,
        max_income=float(hi) if hi is not None else None,
    )
    return f, problem


def time_span(f: data.Filters) -> tuple[datetime, datetime] | None:
    if f.from_ts and f.to_ts:
        return parse_ts(f.from_ts), parse_ts(f.to_ts)
    return None


def parse_ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))
