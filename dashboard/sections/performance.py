"""Model performance on the paired population once outcomes exist (GET /metrics/performance).

Until the API has that endpoint (404) or any labelled paired applicant, the section says
"no outcomes yet". The rendering is deliberately tolerant of the response's exact layout:
per-model metrics come from `models`, ROC curves from a model's `roc` (lists `fpr`/`tpr`,
or points with those keys), a verdict from any `verdict` string, and every other list or
record of values (swap sets, PSI, ΔAUC) is shown as a table under its key.
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
METRIC_ORDER = ("count", "auc", "gini", "ks", "brier", "bad_rate", "approval_rate",
                "bad_rate_approved")


def has_data(perf: dict[str, Any] | None) -> bool:
    if not perf:
        return False
    models = perf.get("models") or []
    return any((m.get("count") or 0) > 0 for m in models if isinstance(m, dict))


def _scalars(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool)) or v is None}


def _find_verdicts(obj: Any, out: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "verdict" and isinstance(v, str):
                out.append(v)
            else:
                _find_verdicts(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _find_verdicts(v, out)


def _roc_xy(roc: Any) -> tuple[list[float], list[float]] | None:
    if isinstance(roc, dict) and "fpr" in roc and "tpr" in roc:
        return list(roc["fpr"]), list(roc["tpr"])
    if isinstance(roc, list) and roc and isinstance(roc[0], dict):
        return [p.get("fpr") for p in roc], [p.get("tpr") for p in roc]
    if isinstance(roc, list) and roc and isinstance(roc[0], (list, tuple)):
        return [p[0] for p in roc], [p[1] for p in roc]
    return None


def metrics_table(models: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [_scalars(m) for m in models]
    df = pd.DataFrame(rows)
    cols = [c for c in ("model", "role", *METRIC_ORDER) if c in df.columns]
    cols += [c for c in df.columns if c not in cols]
    df = df[cols]
    champ = df[df.get("role", pd.Series(dtype=str)) == "champion"] if "role" in df else df.iloc[:0]
    if len(champ) == 1:
        base = champ.iloc[0]
        for _, r in df[df["role"] != "champion"].iterrows():
            diff: dict[str, Any] = {"model": f"{r['model']} − {base['model']}",
                                    "role": "difference"}
            for c in METRIC_ORDER:
                if c in df.columns and c != "count":
                    a, b = r.get(c), base.get(c)
                    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                        diff[c] = a - b
            df = pd.concat([df, pd.DataFrame([diff])], ignore_index=True)
    return df


def render(ctx: Context) -> None:
    st.header(TITLE)
    perf = data.performance(ctx.filters)
    if not has_data(perf):
        st.info(NO_OUTCOMES)
        if perf and perf.get("note"):
            st.caption(str(perf["note"]))
        return
    assert perf is not None
    verdicts: list[str] = []
    _find_verdicts(perf, verdicts)
    for v in verdicts:
        st.success(v)
    models = [m for m in perf.get("models", []) if isinstance(m, dict)]
    st.dataframe(metrics_table(models), hide_index=True, key="perf-table")
    rocs = [(m.get("model", "?"), _roc_xy(m.get("roc"))) for m in models]
    if any(xy for _, xy in rocs):
        fig = go.Figure()
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                        line={"color": "#bbbbbb", "dash": "dot"})
        for name, xy in rocs:
            if xy:
                fig.add_scatter(x=xy[0], y=xy[1], mode="lines", name=name,
                                line={"color": ctx.colour(name), "width": 2})
        plot_layout(fig, height=380, title="ROC on the paired population",
                    xaxis_title="false positive rate", yaxis_title="true positive rate")
        st.plotly_chart(fig, key="perf-roc")
    for key, value in perf.items():
        if key in ("models", "note") or not isinstance(value, (list, dict)) or not value:
            continue
        st.subheader(key.replace("_", " "))
        if isinstance(value, dict):
            value = [value] if all(not isinstance(v, (list, dict)) for v in value.values()) \
                else [{"name": k, **(v if isinstance(v, dict) else {"value": v})}
                      for k, v in value.items()]
        st.dataframe(pd.json_normalize(value), hide_index=True, key=f"perf-{key}")
