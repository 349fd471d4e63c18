"""Sidebar filters. The widgets live outside the auto-refresh fragment (so a refresh never
resets them); `current_filters()` turns their session-state values into API parameters at
every refresh, so relative ranges ("Last hour") move with the clock (by whole minutes).

Feature filters are built from the API's feature catalogue (GET /metrics/features): a
min/max pair per number feature, a multiselect per category (and boolean) feature. The
`income` feature is the Min/Max income pair above (the income column, which events fill
from that feature), so it is not offered twice."""

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


FEATURE_MIN, FEATURE_MAX, FEATURE_IN = "f_feat_min_", "f_feat_max_", "f_feat_in_"
COLUMN_FILTERS = ("income",)  # features already filtered by their own widgets


def _feature_widgets(catalogue: list[dict[str, Any]]) -> None:
    feats = [f for f in catalogue if f.get("name") not in COLUMN_FILTERS]
    if not feats:
        return
    sb = st.sidebar
    sb.subheader("Features")
    for f in feats:
        name, kind = str(f["name"]), f.get("type")
        label = name.replace("_", " ").capitalize()
        if kind == "number":
            c1, c2 = sb.columns(2)
            c1.number_input(f"Min {label.lower()}", value=None, key=FEATURE_MIN + name)
            c2.number_input(f"Max {label.lower()}", value=None, key=FEATURE_MAX + name)
        elif kind in ("category", "boolean"):
            values = [str(v) for v in f.get("values") or []] if kind == "category" \
                else ["false", "true"]
            chosen = [v for v in st.session_state.get(FEATURE_IN + name) or []]
            options = values + [v for v in chosen if v not in values]
            sb.multiselect(label, options, key=FEATURE_IN + name, placeholder="any")


def _feature_filters() -> tuple[tuple[tuple[str, float | None, float | None], ...],
                                tuple[tuple[str, tuple[str, ...]], ...], str | None]:
    """(ranges, values, problem) from the feature widgets' state."""
    ss = st.session_state
    ranges, values, problem = [], [], None
    names = sorted({str(k)[len(p):] for k in list(ss) for p in (FEATURE_MIN, FEATURE_MAX)
                    if str(k).startswith(p)})
    for name in names:
        lo, hi = ss.get(FEATURE_MIN + name), ss.get(FEATURE_MAX + name)
        if lo is not None and hi is not None and lo > hi:
            problem = f"Min {name} is above max {name}: that filter is ignored."
            continue
        if lo is not None or hi is not None:
            ranges.append((name, None if lo is None else float(lo),
                           None if hi is None else float(hi)))
    for key in sorted(str(k) for k in list(ss) if str(k).startswith(FEATURE_IN)):
        chosen = tuple(str(v) for v in ss.get(key) or [])
        if chosen:
            values.append((key[len(FEATURE_IN):], chosen))
    return tuple(ranges), tuple(values), problem


def _keep(current: Any, options: list[str]) -> list[str]:
    return [*options, str(current)] if current and current not in options else options


def render(unfiltered: dict[str, Any] | None, sample: dict[str, Any] | None,
           refresh_s: float, catalogue: list[dict[str, Any]] | None = None) -> None:
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
    _feature_widgets(catalogue or [])
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
        # Ends at the next minute boundary (the current minute included): a range on minute
        # boundaries lets csg-persist answer recent ranges from its per-minute rollups.
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        from_ts, to_ts = rfc3339(end - PRESETS[choice]), rfc3339(end)  # type: ignore[operator]
    lo, hi = ss.get("f_min_income"), ss.get("f_max_income")
    if lo is not None and hi is not None and lo > hi:
        problem = "Min income is above max income: the income filter is ignored."
        lo = hi = None
    ranges, values, feature_problem = _feature_filters()
    problem = problem or feature_problem
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
        feature_ranges=ranges,
        feature_values=values,
    )
    return f, problem


def time_span(f: data.Filters) -> tuple[datetime, datetime] | None:
    if f.from_ts and f.to_ts:
        return parse_ts(f.from_ts), parse_ts(f.to_ts)
    return None


def parse_ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))
