"""Shared by the sections: one fixed colour per model, number formatting, the render context."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import data

CHAMPION_COLOUR = "#1f77b4"
# Challengers take these in order of name; the champion keeps blue everywhere.
CHALLENGER_PALETTE = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                      "#17becf", "#bcbd22")
AGREE_COLOUR = "#9aa5b1"
DASH = "—"


@dataclass
class Context:
    """What every section gets: the filters, the filtered summary, and the colour map."""

    filters: data.Filters
    summary: dict[str, Any]
    colours: dict[str, str] = field(default_factory=dict)

    def colour(self, model: str) -> str:
        if model in self.colours:
            return self.colours[model]
        # A model that appeared after the map was built: stable, if not collision-free.
        return CHALLENGER_PALETTE[zlib.crc32(model.encode()) % len(CHALLENGER_PALETTE)]

    def models(self, role: str | None = None) -> list[str]:
        return [m["model"] for m in self.summary.get("models", [])
                if role is None or m.get("role") == role]

    def challengers(self) -> list[str]:
        if self.filters.challenger_model:
            return [self.filters.challenger_model]
        return sorted(self.models("challenger"))

    def champion(self) -> str | None:
        champs = self.models("champion")
        return champs[0] if champs else None


def source_text(d: dict[str, Any]) -> str:
    """Where the API answered from, for small print under a chart: "rollup" (pre-aggregated,
    per minute or hour; latency percentiles within the stated relative accuracy) or "rows"."""
    src = d.get("source")
    if src == "rollup":
        res = {60: "per-minute", 3600: "per-hour"}.get(d.get("rollup_seconds"), "")
        acc = d.get("percentile_relative_accuracy")
        pct = f" · percentiles ±{acc * 100:g}%" if acc else ""
        return f"source: {res} rollups{pct}".replace("source:  ", "source: ")
    if src == "rows":
        return "source: rows"
    return ""


def colour_map(models: list[dict[str, Any]]) -> dict[str, str]:
    """Champion(s) blue, challengers by sorted name — built from the unfiltered summary so a
    model keeps its colour whatever the filters show."""
    out: dict[str, str] = {}
    for m in models:
        if m.get("role") == "champion":
            out.setdefault(m["model"], CHAMPION_COLOUR)
    challengers = sorted({m["model"] for m in models if m.get("role") != "champion"})
    for i, name in enumerate(challengers):
        out.setdefault(name, CHALLENGER_PALETTE[i % len(CHALLENGER_PALETTE)])
    return out


def fmt_int(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


def fmt_pct(v: Any, digits: int = 1) -> str:
    return DASH if v is None else f"{100.0 * float(v):.{digits}f}%"


def fmt_ms(v: Any) -> str:
    if v is None:
        return DASH
    return f"{float(v):.1f} ms" if abs(float(v)) >= 100 else f"{float(v):.2f} ms"


def fmt_score(v: Any) -> str:
    return DASH if v is None else f"{float(v):.4f}"


def plot_layout(fig: Any, *, height: int = 340, **kwargs: Any) -> Any:
    # Title on top, the legend between it and the plot, so neither hides the other.
    title = kwargs.pop("title", None)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 90 if title else 40, "b": 10},
                      title={"text": title, "y": 0.98, "yanchor": "top", "x": 0,
                             "xanchor": "left"} if title else None,
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02,
                              "xanchor": "left", "x": 0}, **kwargs)
    return fig
