"""Segments: divergence and approval rate per model by income, credit-history and loan-amount
bands, and by any feature of the API's catalogue (its values for categories and booleans,
deciles or typed band edges for numbers); accuracy columns (AUC, bad rate) once outcomes
exist."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, plot_layout, source_text

TITLE = "Segments"
DIMENSIONS = (("income", "Income"), ("credit_history", "Credit history"),
              ("loan_amount", "Loan amount"))
NO_OUTCOMES = ("No outcomes yet: accuracy columns (AUC, bad rate per model and band) appear "
               "once loan outcomes are posted to the API's /outcomes.")


def valid_bands(text: str) -> bool:
    """Increasing numbers; empty is valid too (the API's default bands)."""
    if not text.strip():
        return True
    try:
        edges = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        return False
    return len(edges) >= 1 and all(a < b for a, b in pairwise(edges))


def table(seg: dict[str, Any]) -> tuple[pd.DataFrame, bool]:
    rows, has_outcomes = [], False
    for s in seg.get("segments", []):
        row: dict[str, Any] = {"band": s.get("band"), "requests": s.get("count"),
                               "divergence rate %": _pct(s.get("divergence_rate"))}
        for m in s.get("models", []):
            name = m.get("model", "?")
            row[f"approval % · {name}"] = _pct(m.get("approval_rate"))
            for key, label in (("auc", "AUC"), ("bad_rate", "bad rate %")):
                if m.get(key) is not None:
                    has_outcomes = True
                    row[f"{label} · {name}"] = (_pct(m[key]) if key == "bad_rate"
                                                else round(float(m[key]), 4))
        rows.append(row)
    return pd.DataFrame(rows), has_outcomes


def _pct(v: Any) -> float | None:
    return None if v is None else round(100.0 * float(v), 2)


def chart(ctx: Context, seg: dict[str, Any], label: str) -> go.Figure:
    segs = seg.get("segments", [])
    bands = [s.get("band") for s in segs]
    models: list[str] = []
    for s in segs:
        for m in s.get("models", []):
            if m.get("model") not in models:
                models.append(m.get("model"))
    fig = go.Figure()
    for name in models:
        y = []
        for s in segs:
            rate = next((m.get("approval_rate") for m in s.get("models", [])
                         if m.get("model") == name), None)
            y.append(_pct(rate))
        fig.add_bar(x=bands, y=y, name=f"approval · {name}", marker_color=ctx.colour(name),
                    hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>")
    fig.add_scatter(x=bands, y=[_pct(s.get("divergence_rate")) for s in segs],
                    name="divergence rate", mode="lines+markers",
                    line={"color": "#333333", "width": 2},
                    hovertemplate="%{x}: %{y:.1f}% divergent<extra></extra>")
    plot_layout(fig, height=340, barmode="group", title=f"By {label.lower()}",
                xaxis_title=f"{label.lower()} band", yaxis_title="rate (%)")
    fig.update_yaxes(range=[0, 100])
    return fig


BY_FEATURE = "By feature"


def _show(ctx: Context, seg: dict[str, Any], label: str, key: str) -> bool:
    """Chart and table of one answer; True when it has outcome columns."""
    st.plotly_chart(chart(ctx, seg, label), key=f"seg-{key}")
    df, has_outcomes = table(seg)
    st.dataframe(df, hide_index=True, key=f"segtab-{key}")
    if source_text(seg):
        st.caption(f"<small>{source_text(seg)}</small>", unsafe_allow_html=True)
    return has_outcomes


def _by_feature(ctx: Context, catalogue: list[dict[str, Any]]) -> bool:
    """The "by" selector over every catalogue feature."""
    names = [str(f["name"]) for f in catalogue]
    if not names:
        st.info("No features in the catalogue yet: events from a gateway with a feature "
                "schema fill it.")
        return False
    by = st.selectbox("Segment by", names, key="seg_feature")
    kind = next((f.get("type") for f in catalogue if f["name"] == by), None)
    bands = None
    if kind == "number":
        bands = st.text_input("Band edges (empty: deciles of the filtered events)",
                              key=f"seg_bands_{by}").replace(" ", "")
        if bands and not valid_bands(bands):
            st.warning("Band edges must be increasing numbers, e.g. 0,20000,50000.")
            return False
    seg = data.segments(ctx.filters, by, bands)
    if not seg.get("segments"):
        st.info("No events hold this feature under these filters.")
        return False
    return _show(ctx, seg, by.replace("_", " "), "feature")


def render(ctx: Context, catalogue: list[dict[str, Any]] | None = None) -> None:
    st.header(TITLE)
    if not ctx.models():
        st.info("No events match the filters yet.")
        return
    any_outcomes = False
    tabs = st.tabs([label for _, label in DIMENSIONS] + [BY_FEATURE])
    for tab, (by, label) in zip(tabs[:-1], DIMENSIONS, strict=True):
        with tab:
            # Empty: the API's default bands, answered from its rollups without reading rows
            # (issue 20); typed edges read the rows of the filtered range.
            bands = st.text_input(f"{label} band edges (comma-separated lower bounds; empty: "
                                  "the default bands)", key=f"bands_{by}")
            if not valid_bands(bands):
                st.warning("Band edges must be increasing numbers, e.g. 0,20000,50000.")
                continue
            seg = data.segments(ctx.filters, by, bands.replace(" ", "") or None)
            if not seg.get("segments"):
                st.info("No events in these bands.")
                continue
            any_outcomes = _show(ctx, seg, label, by) or any_outcomes
    with tabs[-1]:
        any_outcomes = _by_feature(ctx, catalogue or []) or any_outcomes
    if not any_outcomes:
        st.info(NO_OUTCOMES)
