"""Summary: the KPIs as st.metric."""

from __future__ import annotations

from typing import Any

import streamlit as st

from common import Context, fmt_int, fmt_ms, fmt_pct, fmt_score, source_text

TITLE = "Summary"


def error_count(status: dict[str, int]) -> int:
    return sum(int(n) for s, n in status.items() if s != "OK")


def ordered(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Champion first, then challengers by name: the same order in every section and test."""
    return sorted(models, key=lambda m: (m.get("role") != "champion", str(m.get("model"))))


def render(ctx: Context) -> None:
    st.header(TITLE)
    s = ctx.summary
    status = s.get("status") or {}
    cols = st.columns(5)
    cols[0].metric("Total requests", fmt_int(s.get("total")))
    cols[1].metric("Challenger share", fmt_pct(s.get("challenger_share")),
                   help=f"{fmt_int(s.get('with_challenger'))} requests also went to a challenger")
    cols[2].metric("Avg score difference", fmt_score(s.get("avg_decision_diff")),
                   help="mean |champion score − challenger score| where the challenger answered")
    cols[3].metric("Divergence rate", fmt_pct(s.get("divergence_rate")),
                   help="share of challenger-answered requests where the decisions differ")
    breakdown = ", ".join(f"{k}: {v}" for k, v in sorted(status.items()) if k != "OK") or "none"
    cols[4].metric("Errors / timeouts", fmt_int(error_count(status)), help=breakdown)

    models = ordered(s.get("models") or [])
    if not models:
        st.info("No events match the filters yet.")
        return
    st.caption("Per model · latency is what the gateway measured for the model call, in ms")
    for m in models:
        name = m.get("model", "?")
        lat = m.get("latency_ms") or {}
        with st.container(border=True):
            c = st.columns([1.6, 1, 1, 1, 1], vertical_alignment="center")
            c[0].markdown(f"<span style='color:{ctx.colour(name)};font-size:1.6em'>●</span> "
                          f"**{name}**<br><small>{m.get('role', '')}</small>",
                          unsafe_allow_html=True)
            c[1].metric("Requests", fmt_int(m.get("count")), help=name)
            c[2].metric("Approval rate", fmt_pct(m.get("approval_rate")), help=name)
            c[3].metric("Avg latency", fmt_ms(lat.get("avg")), help=name)
            c[4].metric("p99 latency", fmt_ms(lat.get("p99")), help=name)
    if status:
        st.caption("Status: " + " · ".join(f"{k} {v:,}" for k, v in sorted(status.items())))
    if source_text(s):
        st.caption(f"<small>{source_text(s)}</small>", unsafe_allow_html=True)
