"""Decision divergence: agree / champion-only approve / challenger-only approve, per challenger."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import data
from common import AGREE_COLOUR, Context, fmt_int, fmt_pct, plot_layout

TITLE = "Decision divergence"


def split(decisions: dict[str, int]) -> tuple[int, int, int]:
    agree = int(decisions.get("both_approve", 0)) + int(decisions.get("both_decline", 0))
    return (agree, int(decisions.get("champion_only_approve", 0)),
            int(decisions.get("challenger_only_approve", 0)))


def render(ctx: Context) -> None:
    st.header(TITLE)
    challengers = ctx.challengers()
    if not challengers:
        st.info("No challenger answered for the filtered requests yet.")
        return
    champion = ctx.champion() or "champion"
    cols = st.columns(min(len(challengers), 3))
    for i, ch in enumerate(challengers):
        s = ctx.summary if ctx.filters.challenger_model == ch else data.summary(
            ctx.filters.with_challenger(ch))
        agree, champ_only, chall_only = split(s.get("decisions") or {})
        n = agree + champ_only + chall_only
        with cols[i % len(cols)]:
            if n == 0:
                st.info(f"{ch}: no paired decisions yet.")
                continue
            fig = go.Figure(go.Pie(
                labels=["agree", f"only {champion} approves", f"only {ch} approves"],
                values=[agree, champ_only, chall_only], sort=False, hole=0.45,
                marker={"colors": [AGREE_COLOUR, ctx.colour(champion), ctx.colour(ch)]},
                textinfo="percent", hovertemplate="%{label}: %{value} (%{percent})<extra></extra>"))
            plot_layout(fig, height=360, title=f"Decisions: {champion} vs {ch}")
            fig.update_layout(legend={"orientation": "v", "y": -0.1, "yanchor": "top"})
            st.plotly_chart(fig, key=f"div-{ch}")
            st.caption(f"{fmt_int(n)} paired decisions · divergence "
                       f"{fmt_pct(s.get('divergence_rate'))}")
