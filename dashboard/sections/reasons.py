"""Decline reasons: the adverse-action reason codes of each model's declines side by side
(share of declines with the code first, and anywhere in the list), and how often champion
and challenger name the same first reason when both decline (GET /metrics/reasons)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, fmt_int, fmt_pct, plot_layout
from sections.summary import ordered

TITLE = "Decline reasons"
TOP = 8  # codes per model in its table and in the chart
NO_DECLINES = "No declines in the filtered requests, so no decline reasons to show."


def top_table(model: dict[str, Any]) -> pd.DataFrame:
    """The model's TOP codes as the API ordered them (first desc, any desc, code)."""
    rows = [{"reason": r["code"], "first %": fmt_pct(r.get("first_share")),
             "any %": fmt_pct(r.get("any_share")), "first": r.get("first"), "any": r.get("any")}
            for r in (model.get("reasons") or [])[:TOP]]
    return pd.DataFrame(rows, columns=["reason", "first %", "any %", "first", "any"])


def chart(ctx: Context, models: list[dict[str, Any]]) -> go.Figure:
    """First-reason share per code, one bar per model; codes in the first model's order."""
    codes: list[str] = []
    for m in models:
        codes += [r["code"] for r in (m.get("reasons") or [])[:TOP] if r["code"] not in codes]
    fig = go.Figure()
    for m in models:
        by_code = {r["code"]: r for r in m.get("reasons") or []}
        fig.add_trace(go.Bar(
            name=m["model"], y=codes, orientation="h",
            x=[100.0 * float(by_code[c]["first_share"] or 0) if c in by_code else 0.0
               for c in codes],
            customdata=[100.0 * float(by_code[c]["any_share"] or 0) if c in by_code else 0.0
                        for c in codes],
            marker={"color": ctx.colour(m["model"])},
            hovertemplate=("%{y}: first reason in %{x:.1f}% of declines, anywhere in "
                           "%{customdata:.1f}%<extra>" + m["model"] + "</extra>")))
    plot_layout(fig, height=max(300, 90 + 18 * len(codes) * max(1, len(models))),
                title="First reason, share of each model's declines (%)", barmode="group")
    fig.update_yaxes(autorange="reversed")
    return fig


def render(ctx: Context) -> None:
    st.header(TITLE)
    d = data.reasons(ctx.filters)
    if d is None:
        st.info("This metrics API has no /metrics/reasons yet (csg-persist before reason "
                "codes).")
        return
    models = [m for m in ordered(d.get("models") or []) if int(m.get("declines") or 0) > 0]
    if not models:
        st.info(NO_DECLINES)
        return
    listed = [m for m in models if m.get("reasons")]
    cols = st.columns(min(len(models), 3))
    for i, m in enumerate(models):
        with cols[i % len(cols)]:
            name = m["model"]
            st.markdown(f"<span style='color:{ctx.colour(name)}'>●</span> **{name}** · "
                        f"{fmt_int(m.get('declines'))} declines", unsafe_allow_html=True)
            if not m.get("reasons"):
                st.info(f"{name}: no reason codes on its declines (events from a gateway "
                        "before reason codes).")
                continue
            st.dataframe(top_table(m), hide_index=True, key=f"reasons-{name}",
                         column_config={"first": st.column_config.NumberColumn(
                             "first", help="declines with this code first"),
                             "any": st.column_config.NumberColumn(
                                 "any", help="declines with this code anywhere")})
    if listed:
        st.plotly_chart(chart(ctx, listed), key="reasons-chart")
    pairs = d.get("agreement") or []
    if pairs:
        st.caption("First-reason agreement: of the requests both models declined with "
                   "reasons, the share where they name the same first reason")
        acols = st.columns(min(len(pairs), 4))
        for i, a in enumerate(pairs):
            acols[i % len(acols)].metric(
                "First-reason agreement", fmt_pct(a.get("rate")),
                help=f"{a['champion']} vs {a['challenger']}")
            acols[i % len(acols)].caption(
                f"{a['champion']} vs {a['challenger']}: {fmt_int(a.get('first_agree'))} of "
                f"{fmt_int(a.get('both_declined'))} joint declines")
