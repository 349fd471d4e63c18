"""Population-stability baselines (DESIGN §7 "stability"), written beside each model by
train.py: the training sample's score distribution and every characteristic's bins.

csg-persist loads a baseline (`--baseline FILE`, `POST /baselines`) and compares each
time bucket of live traffic with it: the score's PSI per model, each characteristic's CSI
against the champion's baseline. The file (format "csg-baseline/1"):

    {"format": "csg-baseline/1", "model": "champion-scorecard-v2", "source": "training",
     "rows": 3054,
     "score": {"edges": [0, e1, ..., e9, 1], "shares": [10 shares]},
     "features": [
       {"name": "income", "type": "number", "cuts": [c1, ..., ck], "shares": [k+2]},
       {"name": "home", "type": "category", "levels": ["rent", ...], "shares": [n+1]}]}

Score bins are [e_i, e_i+1) at the training scores' deciles (the last bin includes 1).
A number's bins are the champion scorecard's: bin k holds values with exactly k cuts
<= value; a category has one bin per level. The last share of every feature is its
missing bin (the field absent from the application); a category may add an "other"
share after it (a level outside its list; csg-persist takes 0 when it is not given, and
builds it for a reference window). Shares are of the training rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import scorer

FORMAT = "csg-baseline/1"
SCORE_BINS = 10


def _share(counts: list[int], total: int) -> list[float]:
    return [round(c / total, 10) for c in counts]


def score_bins(scores: np.ndarray) -> dict[str, Any]:
    """Edges at the deciles of scores (rounded, duplicates dropped) and each bin's share."""
    qs = np.quantile(scores, [k / SCORE_BINS for k in range(1, SCORE_BINS)])
    inner: list[float] = []
    for q in qs:
        v = round(float(q), 6)
        if 0 < v < 1 and (not inner or v > inner[-1]):
            inner.append(v)
    edges = [0.0, *inner, 1.0]
    counts = [0] * (len(edges) - 1)
    for s in scores:
        counts[sum(1 for e in inner if s >= e)] += 1
    return {"edges": edges, "shares": _share(counts, len(scores))}


def feature_bins(champion: scorer.Model, x: np.ndarray) -> list[dict[str, Any]]:
    """Each characteristic's bins (the champion scorecard's cuts; category levels) with
    the share of x's rows in each, the missing bin last."""
    out = []
    chars = champion.body["characteristics"]
    for j, (f, ch) in enumerate(zip(champion.features, chars, strict=True)):
        col = x[:, j]
        if f["type"] == "category":
            levels = list(f["values"])
            counts = [0] * (len(levels) + 1)
            for v in col:
                counts[len(levels) if math.isnan(v) else int(v)] += 1
            out.append(
                {
                    "name": f["name"],
                    "type": "category",
                    "levels": levels,
                    "shares": _share(counts, len(col)),
                }
            )
            continue
        cuts = list(ch["cuts"])
        counts = [0] * (len(cuts) + 2)
        for v in col:
            counts[len(cuts) + 1 if math.isnan(v) else sum(1 for c in cuts if v >= c)] += 1
        out.append(
            {
                "name": f["name"],
                "type": "number",
                "cuts": cuts,
                "shares": _share(counts, len(col)),
            }
        )
    return out


def build(model: scorer.Model, champion: scorer.Model, x: np.ndarray) -> dict[str, Any]:
    """The baseline of model on the training matrix x (rows as scorer.vector builds them)."""
    # The score the model API answers: scorer.py's expit, as the C code computes it.
    scores = np.array([scorer._expit(scorer.raw_score(model, list(r))) for r in x])
    return {
        "format": FORMAT,
        "model": model.name,
        "source": "training",
        "rows": len(x),
        "score": score_bins(scores),
        "features": feature_bins(champion, x),
    }
