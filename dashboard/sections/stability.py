"""Stability: is the population still the one the models were built on? Each model's
score PSI per time bucket against its baseline, a heat map of each characteristic's CSI
against the champion's baseline, and the current worst three characteristics with their
bin shares against the baseline (GET /metrics/stability). Bands: < 0.10 stable,
0.10–0.25 watch, > 0.25 shifted."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, plot_layout

TITLE = "Stability"
BUCKETS = ("1m", "1h", "1d")
WATCH, SHIFTED = 0.10, 0.25
WORST = 3
NO_BASELINE = ("No baseline loaded, so there is nothing to compare the applicants with. "
               "`make up` loads the bundled models' baselines (models/*.baseline.json); "
               "for other models `POST /baselines` with their baseline file.")


def psi_chart(ctx: Context, models: list[dict[str, Any]], bucket: str) -> go.Figure:
    fig = go.Figure()
    for m in models:
        pts = [p for p in m.get("points") or [] if p.get("psi") is not None]
        fig.add_scatter(x=[p["t"] for p in pts], y=[p["psi"] for p in pts], name=m["model"],
                        mode="lines+markers", line={"color": ctx.colour(m["model"])},
                        customdata=[p.get("count") for p in pts],
                        hovertemplate="%{x}<br>PSI %{y:.3f} (%{customdata} scores)<extra>"
                        + m["model"] + "</extra>")
    for y, text in ((WATCH, "watch"), (SHIFTED, "shifted")):
        fig.add_hline(y=y, line={"dash": "dot", "color": "#9aa5b1"}, annotation_text=text)
    plot_layout(fig, height=320, title=f"Score PSI against each model's baseline "
                f"(bucket {bucket})", xaxis_title="time (UTC)", yaxis_title="PSI")
    return fig


def csi_heatmap(features: list[dict[str, Any]], bucket: str) -> go.Figure:
    times = sorted({p["t"] for f in features for p in f.get("points") or []})
    z = []
    for f in features:
        by_t = {p["t"]: p.get("csi") for p in f.get("points") or []}
        z.append([by_t.get(t) for t in times])
    fig = go.Figure(go.Heatmap(
        x=times, y=[f["name"] for f in features], z=z, zmin=0, zmax=2 * SHIFTED,
        colorscale=[[0, "#e8f5e9"], [WATCH / (2 * SHIFTED), "#fff59d"],
                    [SHIFTED / (2 * SHIFTED), "#ffb74d"], [1, "#c62828"]],
        colorbar={"title": "CSI"},
        hovertemplate="%{y} · %{x}<br>CSI %{z:.3f}<extra></extra>"))
    plot_layout(fig, height=max(260, 60 + 24 * len(features)),
                title=f"Characteristic stability (CSI) against the champion's baseline "
                f"(bucket {bucket})")
    fig.update_yaxes(autorange="reversed")
    return fig


def latest_csi(f: dict[str, Any]) -> float:
    pts = [p for p in f.get("points") or [] if p.get("csi") is not None]
    return float(pts[-1]["csi"]) if pts else -1.0


def bins_chart(f: dict[str, Any]) -> go.Figure:
    bins = (f.get("latest") or {}).get("bins") or []
    labels = [b["bin"] for b in bins]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[100 * b["expected"] for b in bins], name="baseline",
                marker={"color": "#9aa5b1"})
    fig.add_bar(x=labels, y=[100 * b["actual"] for b in bins], name="latest bucket",
                marker={"color": "#1f77b4"})
    plot_layout(fig, height=260, barmode="group", yaxis_title="% of applications",
                title=f"{f['name']}: CSI {latest_csi(f):.3f}")
    return fig


def band(v: float) -> str:
    return "stable" if v < WATCH else "watch" if v <= SHIFTED else "shifted"


def job_notes(jobs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """("info"|"warning", text) for the baseline jobs a reader of this section must know
    of: one still storing (the figures use the earlier baseline until it ends), and a
    model whose newest job failed. jobs: GET /baselines' list, newest first."""
    notes, seen = [], set()
    for j in jobs:
        model, status = j.get("model"), j.get("status")
        if status in ("queued", "running"):
            since = j.get("started_at") or j.get("submitted_at")
            notes.append(("info", f"A new baseline of {model} is being stored (job "
                          f"{j.get('job')}, {status} since {since}): the figures below "
                          "use its earlier baseline until it ends."))
        elif status == "failed" and model not in seen:
            notes.append(("warning", f"The newest baseline posted for {model} was not "
                          f"stored (job {j.get('job')}, {j.get('finished_at')}): "
                          f"{j.get('error')}"))
        seen.add(model)
    return notes


def render(ctx: Context) -> None:
    st.header(TITLE)
    bucket = st.selectbox("Bucket", BUCKETS, index=1, key="stability_bucket",
                          help="The time bucket each PSI/CSI value covers.")
    for kind, text in job_notes(data.baseline_jobs()):
        (st.info if kind == "info" else st.warning)(text)
    d = data.stability(ctx.filters, bucket)
    if d is None:
        st.info("This metrics API has no /metrics/stability yet (csg-persist before "
                "stability monitoring).")
        return
    if d.get("baseline") is None:
        st.info(NO_BASELINE)
        return
    models = [m for m in d.get("models") or []
              if any(p.get("psi") is not None for p in m.get("points") or [])]
    features = [f for f in d.get("features") or [] if f.get("points")]
    if not models and not features:
        st.info("No scored events in the filtered range, or no baseline for their models.")
        return
    base = d["baseline"]
    st.caption(f"Baseline: {base.get('source')} · champion {base.get('model') or '—'}"
               + (f" · window {base['from']} – {base['to']}" if base.get("from") else ""))
    if models:
        st.plotly_chart(psi_chart(ctx, models, d.get("bucket", bucket)), key="stability-psi")
    if features:
        st.plotly_chart(csi_heatmap(features, d.get("bucket", bucket)), key="stability-csi")
        worst = sorted(features, key=latest_csi, reverse=True)[:WORST]
        st.caption("Worst characteristics in the latest bucket: bin shares against the "
                   "baseline")
        cols = st.columns(len(worst))
        for col, f in zip(cols, worst, strict=True):
            with col:
                v = latest_csi(f)
                st.markdown(f"**{f['name']}** · CSI {v:.3f} · {band(v)}")
                st.plotly_chart(bins_chart(f), key=f"stability-bins-{f['name']}")
