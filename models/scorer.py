"""Reference scorer for the model files that csg-model serves.

This module reads champion.json / challenger.json (formats in models/README.md)
and scores an application with exactly the arithmetic csg-model uses in C:
features clipped to the training range, then

* logistic: z_i = (x_i - mean_i) / scale_i, logit = intercept + sum coef_i * z_i
  (summed in feature order), score = 1 / (1 + exp(-logit));
* gbm: each feature cast to float32 (as scikit-learn does before walking its
  trees), raw = init_raw, then raw += learning_rate * leaf_value tree by tree,
  score = 1 / (1 + exp(-raw)).

The decision is "approve" when score >= cutoff, else "decline".
train.py checks this scorer against scikit-learn's predict_proba; the parity
test checks csg-model against this scorer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = ("income", "loan_amount", "credit_history")


@dataclass(frozen=True)
class Model:
    """A loaded model file."""

    name: str
    kind: str  # "logistic" or "gbm"
    features: tuple[str, ...]
    feature_min: tuple[float, ...]
    feature_max: tuple[float, ...]
    cutoff: float
    body: dict[str, Any]


def load(path: str | Path) -> Model:
    """Load a model file written by train.py."""
    doc = json.loads(Path(path).read_text())
    return from_dict(doc)


def from_dict(doc: dict[str, Any]) -> Model:
    kind = doc["type"]
    if kind not in ("logistic", "gbm"):
        raise ValueError(f"unknown model type {kind!r}")
    return Model(
        name=doc["model"],
        kind=kind,
        # Entries are feature objects {"name", "type", bounds…} or, in files
        # written before those, bare names.
        features=tuple(f if isinstance(f, str) else f["name"] for f in doc["features"]),
        feature_min=tuple(float(v) for v in doc["feature_min"]),
        feature_max=tuple(float(v) for v in doc["feature_max"]),
        cutoff=float(doc["cutoff"]),
        body=doc[kind],
    )


def clipped(model: Model, app: dict[str, float]) -> list[float]:
    """The model's feature vector for an application, clipped to the training range."""
    out = []
    for name, lo, hi in zip(
        model.features, model.feature_min, model.feature_max, strict=True
    ):
        x = float(app[name])
        out.append(lo if x < lo else min(x, hi))
    return out


def _expit(x: float) -> float:
    # Same expression as the C code (1 / (1 + exp(-x))); exp(-x) overflows to
    # inf for very negative x in C, where Python raises, so handle it alike.
    try:
        e = math.exp(-x)
    except OverflowError:
        return 0.0
    return 1.0 / (1.0 + e)


def raw_score(model: Model, x: list[float]) -> float:
    """The log-odds of repayment for a clipped feature vector."""
    b = model.body
    if model.kind == "logistic":
        acc = float(b["intercept"])
        for xi, m, s, c in zip(x, b["mean"], b["scale"], b["coef"], strict=True):
            acc += float(c) * ((xi - float(m)) / float(s))
        return acc
    xf = [float(np.float32(v)) for v in x]
    raw = float(b["init_raw"])
    lr = float(b["learning_rate"])
    for tree in b["trees"]:
        feat, thr, left, right, value = (
            tree["feature"],
            tree["threshold"],
            tree["left"],
            tree["right"],
            tree["value"],
        )
        node = 0
        while left[node] >= 0:
            node = left[node] if xf[feat[node]] <= thr[node] else right[node]
        raw += lr * float(value[node])
    return raw


def score(model: Model, app: dict[str, float]) -> tuple[float, str]:
    """(score, decision) for an application dict with the §5 field names."""
    p = _expit(raw_score(model, clipped(model, app)))
    return p, ("approve" if p >= model.cutoff else "decline")
