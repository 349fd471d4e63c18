"""Model performance on the paired population once outcomes exist (GET /metrics/performance,
docs/analytics.md).

For each (champion, challenger) pair: the promotion verdict (ΔAUC with its DeLong 95% CI),
the metric table with a challenger − champion row, both ROC curves, the swap sets and the
PSI of the challenger's scores against the champion's deciles. Until any labelled paired
applicant exists the section says "no outcomes yet".
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import data
from common import Context, plot_layout

TITLE = "Model performance"
NO_OUTCOMES = ("No outcomes yet: performance (AUC, KS, Gini, Brier, bad rates, swap sets, PSI) "
               "is computed on applicants scored by both models whose loan outcome is known. "
               "Post outcomes to the API's /outcomes (`make demo` does) to fill this section.")
SELECTION_BIAS = ("In production only applicants the champion approved get a loan, so only "
                  "their outcomes are observed: both models are measured on the champion's "
                  "approvals, and the challenger-only approvals have no outcomes "
                  "(docs/analytics.md).")
ARMS = ("all", "live", "shadow")
ARM_HELP = ("live: requests a live challenger decided (outcomes of its own approvals); "
            "shadow: comparisons where the champion decided (docs/experiments.md)")
METRIC_ORDER = ("count", "auc", "gini", "ks", "brier", "bad_rate", "approval_rate",
                "bad_rate_approved")
SWAP_LABELS = {"champion_only": "champion approves, challenger declines",
               "challenger_only": "challenger approves, champion declines",
               "both_approve": "both approve", "both_decline": "both decline"}


def has_data(perf: dict[str, Any] | None) -> bool:
    if not perf:
        return False
    models = perf.get("models") or []
    return any((m.get("count") or 0) > 0 for m in models if isinstance(m, dict))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _pairs(perf: dict[str, Any]) -> list[tuple[str, str]]:
    """(champion, challenger) pairs, in the API's order."""
    out: list[tuple[str, str]] = []
    for p in perf.get("promotion") or []:
        pair = (p.get("champion_model"), p.get("challenger_model"))
        if all(pair) and pair not in out:
            out.append(pair)  # type: ignore[arg-type]
    if not out:  # an answer without promotion entries: pair models by role
        models = [m for m in perf.get("models", []) if isinstance(m, dict)]
        champs = [m.get("model") for m in models if m.get("role") == "champion"]
        for m in models:
            if m.get("role") == "challenger" and champs:
                out.append((m.get("paired_with") or champs[0], m.get("model")))
    return out


def _entry(perf: dict[str, Any], key: str, pair: tuple[str, str],
           names: tuple[str, str] = ("champion_model", "challenger_model")) -> dict[str, Any]:
    for x in perf.get(key) or []:
        if isinstance(x, dict) and (x.get(names[0]), x.get(names[1])) == pair:
            return x
    return {}


def _model(perf: dict[str, Any], name: str, role: str, other: str) -> dict[str, Any]:
    models = [m for m in perf.get("models", []) if isinstance(m, dict)]
    for m in models:
        same = (m.get("model"), m.get("role")) == (name, role)
        if same and m.get("paired_with") in (None, other):
            return m
    return {}


def metrics_table(champion: dict[str, Any], challenger: dict[str, Any]) -> pd.DataFrame:
    """Champion, challenger and the challenger − champion difference, one row each."""
    rows = []
    for m in (champion, challenger):
        if m:
            rows.append({"model": m.get("model"), "role": m.get("role"),
                         **{k: m.get(k) for k in METRIC_ORDER}})
    if champion and challenger:
        diff: dict[str, Any] = {"model": "challenger − champion", "role": "difference"}
        for k in METRIC_ORDER:
            a, b = _num(challenger.get(k)), _num(champion.get(k))
            diff[k] = None if k == "count" or a is None or b is None else a - b
        rows.append(diff)
    return pd.DataFrame(rows, columns=["model", "role", *METRIC_ORDER])


def swap_table(swaps: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for key, label in SWAP_LABELS.items():
        s = swaps.get(key)
        if isinstance(s, dict):
            rate = _num(s.get("bad_rate"))
            rows.append({"set": label, "applicants": s.get("count"),
                         "defaulted": s.get("bad_count"),
                         "bad rate %": None if rate is None else round(100 * rate, 2)})
    return pd.DataFrame(rows, columns=["set", "applicants", "defaulted", "bad rate %"])


def _roc_xy(roc: Any) -> tuple[list[float], list[float]] | None:
    if isinstance(roc, dict) and roc.get("fpr") and roc.get("tpr"):
        return list(roc["fpr"]), list(roc["tpr"])
    return None


def roc_figure(ctx: Context, models: list[dict[str, Any]]) -> go.Figure | None:
    curves = [(m.get("model", "?"), _roc_xy(m.get("roc"))) for m in models]
    if not any(xy for _, xy in curves):
        return None
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                    line={"color": "#bbbbbb", "dash": "dot"})
    for name, xy in curves:
        if xy:
            fig.add_scatter(x=xy[0], y=xy[1], mode="lines", name=name,
                            line={"color": ctx.colour(name), "width": 2})
    plot_layout(fig, height=380, title="ROC on the paired population (defaults as the event)",
                xaxis_title="share of repayers declined",
                yaxis_title="share of defaulters declined")
    return fig


def psi_figure(ctx: Context, psi: dict[str, Any]) -> go.Figure | None:
    es, as_ = psi.get("expected_share"), psi.get("actual_share")
    if not es or not as_:
        return None
    bins = [f"D{k + 1}" for k in range(len(es))]
    fig = go.Figure()
    fig.add_bar(x=bins, y=[100 * v for v in es], name=str(psi.get("reference_model")),
                marker_color=ctx.colour(str(psi.get("reference_model"))))
    fig.add_bar(x=bins, y=[100 * v for v in as_], name=str(psi.get("model")),
                marker_color=ctx.colour(str(psi.get("model"))))
    plot_layout(fig, height=300, barmode="group",
                title="Score share per champion-score decile (PSI bins)",
                xaxis_title="champion score decile", yaxis_title="share (%)")
    return fig


def verdict(promo: dict[str, Any]) -> None:
    text = promo.get("verdict")
    if not isinstance(text, str):
        return
    outcome = promo.get("outcome")
    if outcome == "challenger_better":
        st.success(text)
    elif outcome == "challenger_worse":
        st.warning(text)
    else:
        st.info(text)
    ci = promo.get("ci95") or [None, None]
    parts = []
    d = _num(promo.get("delta_auc"))
    if d is not None:
        parts.append(f"ΔAUC {d:+.4f}")
    if _num(ci[0]) is not None and _num(ci[1]) is not None:
        parts.append(f"95% CI [{ci[0]:+.4f}, {ci[1]:+.4f}] (DeLong)")
    if _num(promo.get("p_value")) is not None:
        parts.append(f"p = {promo['p_value']:.3g}")
    more = _num(promo.get("more_outcomes_needed"))
    if more:
        parts.append(f"≈{more:,.0f} more labelled applicants to separate them at this effect")
    if parts:
        st.caption(" · ".join(parts))


def render(ctx: Context) -> None:
    st.header(TITLE)
    arm = st.radio("Arm", list(ARMS), horizontal=True, key="perf_arm", help=ARM_HELP)
    # All arms: the call of older dashboards (no arm parameter).
    perf = data.performance(ctx.filters) if arm == "all" else data.performance(ctx.filters, arm)
    if not has_data(perf):
        st.info(NO_OUTCOMES)
        if perf and perf.get("note"):
            st.caption(str(perf["note"]))
        return
    assert perf is not None
    for i, (champ, chall) in enumerate(_pairs(perf)):
        st.subheader(f"{chall} vs {champ}")
        promo = _entry(perf, "promotion", (champ, chall))
        verdict(promo)
        m_champ = _model(perf, champ, "champion", chall)
        m_chall = _model(perf, chall, "challenger", champ)
        st.dataframe(metrics_table(m_champ, m_chall), hide_index=True, key=f"perf-table-{i}")
        fig = roc_figure(ctx, [m for m in (m_champ, m_chall) if m])
        if fig is not None:
            st.plotly_chart(fig, key=f"perf-roc-{i}")
        st.markdown("**Swap sets** (where the decisions differ)")
        st.dataframe(swap_table(_entry(perf, "swap_sets", (champ, chall))), hide_index=True,
                     key=f"perf-swaps-{i}")
        psi = _entry(perf, "psi", (champ, chall), ("reference_model", "model"))
        value = _num(psi.get("psi"))
        st.metric(f"PSI {chall} vs {champ}", "—" if value is None else f"{value:.4f}",
                  help="< 0.1 similar score distributions, 0.1–0.25 a shift, "
                       "> 0.25 a different scale")
        pfig = psi_figure(ctx, psi)
        if pfig is not None:
            st.plotly_chart(pfig, key=f"perf-psi-{i}")
    st.caption(SELECTION_BIAS)
