"""Raw events: the stored MetricEvents, newest first, a page at a time."""

from __future__ import annotations

import json
import math

import pandas as pd
import streamlit as st

import data
from common import Context

TITLE = "Raw events"
PAGE_SIZES = (25, 50, 100, 250)
COLUMNS = ("id", "timestamp", "applicant_id", "experiment_id", "status", "champion_model",
           "champion_score", "champion_decision", "champion_reasons", "latency_champion_ms",
           "challenger_model", "challenger_score", "challenger_decision", "challenger_reasons",
           "latency_challenger_ms", "decision_match",
           "decision_diff", "income", "loan_amount", "credit_history", "transport", "event_id")


def render(ctx: Context) -> None:
    st.header(TITLE)
    c1, c2, c3 = st.columns([1, 1, 3])
    size = int(c1.selectbox("Rows per page", PAGE_SIZES, index=1, key="ev_page_size"))
    page = int(c2.number_input("Page", min_value=1, step=1, value=1, key="ev_page"))
    d = data.events(ctx.filters, size, (page - 1) * size)
    total = int(d.get("total") or 0)
    pages = max(1, math.ceil(total / size))
    if page > pages:  # the filters shrank the result: show the last page instead
        page = pages
        d = data.events(ctx.filters, size, (page - 1) * size)
    c3.markdown(f"<div style='padding-top:2.1em'>Page {page} of {pages} · {total:,} events, "
                "newest first</div>", unsafe_allow_html=True)
    df = pd.DataFrame(d.get("events") or [])
    if df.empty:
        st.info("No events match the filters yet.")
        return
    if "features" in df.columns:  # an object per row: shown as its compact JSON text
        df["features"] = df["features"].map(
            lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True) if v else None)
    for col in ("champion_reasons", "challenger_reasons"):  # code lists as "INCOME, DEBT"
        if col in df.columns:
            df[col] = df[col].map(lambda v: ", ".join(v) if isinstance(v, list) else None)
    cols = [c for c in COLUMNS if c in df.columns] + [c for c in df.columns if c not in COLUMNS]
    st.dataframe(df[cols], hide_index=True, key="events-table",
                 column_config={"latency_champion_ms": st.column_config.NumberColumn(
                                    "latency_champion_ms", format="%.3f ms"),
                                "latency_challenger_ms": st.column_config.NumberColumn(
                                    "latency_challenger_ms", format="%.3f ms")})
