"""Score distributions: champion vs each challenger, overlaid, on the API's common bins."""

from __future__ import annotations

from itertools import pairwise

import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, plot_layout, source_text

TITLE = "Score distributions"
BINS = 20


def render(ctx: Context) -> None:
    st.header(TITLE)
    challengers = ctx.challengers()
    if not ctx.models():
        st.info("No scores match the filters yet.")
        return
    # Per challenger, the champion is shown on the same requests (challenger filter set),
    # so the two histograms compare the same applicants.
    targets: list[str | None] = list(challengers) if challengers else [None]
    cols = st.columns(min(len(targets), 2))
    for i, ch in enumerate(targets):
        f = ctx.filters.with_challenger(ch) if ch else ctx.filters
        d = data.distribution(f, BINS)
        edges = d.get("edges") or []
        with cols[i % len(cols)]:
            if len(edges) < 2:
                st.info("No scores to plot.")
                continue
            centres = [(a + b) / 2 for a, b in pairwise(edges)]
            widths = [b - a for a, b in pairwise(edges)]
            fig = go.Figure()
            for m in d.get("models", []):
                name, counts = m.get("model", "?"), m.get("counts") or []
                n = sum(counts)
                if ch and name not in (ch, ctx.champion()) and ctx.champion() is not None:
                    continue
                share = [100.0 * c / n if n else 0.0 for c in counts]
                fig.add_bar(x=centres, y=share, width=widths, name=f"{name} (n={n:,})",
                            marker_color=ctx.colour(name), opacity=0.55,
                            customdata=counts,
                            hovertemplate="score %{x:.3f}<br>%{y:.1f}% (%{customdata} scores)"
                                          "<extra>" + name + "</extra>")
            title = f"Scores: {ctx.champion() or 'champion'} vs {ch}" if ch else "Champion scores"
            plot_layout(fig, barmode="overlay", bargap=0, title=title,
                        xaxis_title="score (probability of repayment)",
                        yaxis_title="share of the model's scores (%)")
            fig.update_xaxes(range=[edges[0], edges[-1]])
            st.plotly_chart(fig, key=f"dist-{ch or 'champion'}")
            if source_text(d):
                st.caption(f"<small>{source_text(d)}</small>", unsafe_allow_html=True)
