"""Latency trends: avg and p95 per model over time; the bucket follows the time span shown."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, plot_layout, source_text
from sidebar import parse_ts

TITLE = "Latency trends"
# (largest span, bucket): keeps a chart between a few dozen and a few hundred points.
BUCKETS = ((timedelta(minutes=45), "10s"), (timedelta(hours=8), "1m"),
           (timedelta(days=2), "5m"))


def choose_bucket(span: timedelta) -> str:
    for limit, bucket in BUCKETS:
        if span <= limit:
            return bucket
    return "1h"


def data_span(summary: dict) -> tuple[datetime, datetime] | None:
    """First and last timestamps of the filtered events: the summary's first/last (read from
    the rollups plus the rows of two hours, not a scan of the events)."""
    if not summary.get("total") or not summary.get("first") or not summary.get("last"):
        return None
    a, b = parse_ts(summary["first"]), parse_ts(summary["last"])
    return (a, b) if a <= b else (b, a)


def render(ctx: Context) -> None:
    st.header(TITLE)
    span = data_span(ctx.summary)
    if span is None:
        st.info("No events match the filters yet.")
        return
    bucket = choose_bucket(span[1] - span[0])
    log_y = st.toggle("Logarithmic latency axis", key="lat_log",
                      help="Timeouts (hundreds of ms) dwarf normal calls (a few ms).")
    d = data.latency(ctx.filters, bucket)
    fig = go.Figure()
    for s in d.get("series", []):
        name, pts = s.get("model", "?"), s.get("points") or []
        xs = [p.get("t") for p in pts]
        colour = ctx.colour(name)
        fig.add_scatter(x=xs, y=[p.get("avg") for p in pts], name=f"{name} avg",
                        mode="lines+markers", line={"color": colour, "width": 2},
                        marker={"size": 4}, legendgroup=name,
                        hovertemplate="%{x}<br>avg %{y:.2f} ms<extra>" + name + "</extra>")
        fig.add_scatter(x=xs, y=[p.get("p95") for p in pts], name=f"{name} p95",
                        mode="lines", line={"color": colour, "width": 1.5, "dash": "dash"},
                        legendgroup=name,
                        hovertemplate="%{x}<br>p95 %{y:.2f} ms<extra>" + name + "</extra>")
    plot_layout(fig, height=360, title=f"Latency per model (bucket {d.get('bucket', bucket)})",
                xaxis_title="time (UTC)", yaxis_title="latency (ms)")
    if log_y:
        fig.update_yaxes(type="log")
    st.plotly_chart(fig, key="latency")
    st.caption(f"Solid: average, dashed: p95, per {d.get('bucket', bucket)} bucket. "
               "Timeouts count at the time the gateway gave up. "
               f"<small>{source_text(d)}</small>", unsafe_allow_html=True)
