"""Reference scorer for the model files that csg-model serves (format csg-model/2).

Reads champion.json / challenger.json (formats in models/README.md) and scores
an application with exactly the arithmetic csg-model uses in C, operation for
operation, so both give the same double and the same reason list:

* An application maps to a vector x in the file's feature order: numbers as
  given (a feature with "clip_max" is clipped to it), a category as the index
  of its level in the feature's "values", a missing optional feature as NaN.
* scorecard: each characteristic picks one bin (numeric: the number of cuts
  c with x >= c; category: level_bin[level]; missing: the last bin);
  logit = intercept + sum coef_j * woe_j (in feature order),
  score = 1 / (1 + exp(-logit)), points = sum of the bins' points.
  Reasons: characteristics whose points are below their maximum, by that loss.
* gbm: raw = baseline, then raw += leaf value tree by tree; a node sends NaN
  its missing way, a number left when x <= threshold, a category left when in
  cat_left, right when another known level, else the missing way.
  Reasons: exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2,
  with the node covers), the most negative contributions.

The decision is "approve" when score >= cutoff, else "decline"; reasons are
given on decline only, at most REASONS_MAX, ties broken by feature order.
train.py checks this scorer against scikit-learn's predict_proba and TreeSHAP
against a brute-force Shapley computation; the parity test checks csg-model
against this scorer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEATURES = (
    "income",
    "loan_amount",
    "credit_history",
    "seniority_years",
    "home",
    "term_months",
    "age",
    "marital",
    "job",
    "expenses",
    "assets",
    "debt",
    "purchase_price",
)
FORMAT = "csg-model/2"
REASONS_MAX = 4
NAN = float("nan")


@dataclass(frozen=True)
class Model:
    """A loaded model file."""

    name: str
    kind: str  # "scorecard" or "gbm"
    features: tuple[dict[str, Any], ...]
    cutoff: float
    body: dict[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.features)


def load(path: str | Path) -> Model:
    """Load a model file written by train.py."""
    return from_dict(json.loads(Path(path).read_text()))


def from_dict(doc: dict[str, Any]) -> Model:
    if doc.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT!r}")
    kind = doc["type"]
    if kind not in ("scorecard", "gbm"):
        raise ValueError(f"unknown model type {kind!r}")
    return Model(
        name=doc["model"],
        kind=kind,
        features=tuple(doc["features"]),
        cutoff=float(doc["cutoff"]),
        body=doc[kind],
    )


def vector(model: Model, app: dict[str, Any]) -> list[float]:
    """The model's feature vector for an application (already valid)."""
    out = []
    for f in model.features:
        v = app.get(f["name"])
        if v is None:
            out.append(NAN)
        elif f["type"] == "category":
            out.append(float(f["values"].index(v)))
        else:
            x = float(v)
            if "clip_max" in f and x > f["clip_max"]:
                x = float(f["clip_max"])
            out.append(x)
    return out


def _expit(x: float) -> float:
    # Same expression as the C code; exp(-x) overflows to inf in C, where
    # Python raises, so handle it alike.
    try:
        e = math.exp(-x)
    except OverflowError:
        return 0.0
    return 1.0 / (1.0 + e)


# ---- scorecard -------------------------------------------------------------


def scorecard_bins(model: Model, x: list[float]) -> list[int]:
    """The bin of each characteristic."""
    out = []
    for f, ch, v in zip(model.features, model.body["characteristics"], x, strict=True):
        nbins = len(ch["woe"])
        if math.isnan(v):
            out.append(nbins - 1)
        elif f["type"] == "category":
            out.append(int(ch["level_bin"][int(v)]))
        else:
            out.append(sum(1 for c in ch["cuts"] if v >= c))
    return out


def _scorecard(model: Model, x: list[float]) -> tuple[float, float, list[float]]:
    """(logit, points, per-characteristic loss below its maximum)."""
    b = model.body
    bins = scorecard_bins(model, x)
    logit = float(b["intercept"])
    points = 0.0
    loss = []
    for ch, k in zip(b["characteristics"], bins, strict=True):
        logit += float(ch["coef"]) * float(ch["woe"][k])
        points += float(ch["points"][k])
        loss.append(max(float(p) for p in ch["points"]) - float(ch["points"][k]))
    return logit, points, loss


# ---- gbm and TreeSHAP ------------------------------------------------------


def _go_left(tree: dict[str, Any], known: list[Any], node: int, x: list[float]) -> bool:
    f = tree["feature"][node]
    v = x[f]
    if math.isnan(v):
        return bool(tree["missing_left"][node])
    cat = tree["cat_left"][node]
    if cat is None:
        return v <= tree["threshold"][node]
    if int(v) in cat:
        return True
    if int(v) in known[f]:
        return False
    return bool(tree["missing_left"][node])


def _gbm_raw(model: Model, x: list[float]) -> float:
    b = model.body
    raw = float(b["baseline"])
    for tree in b["trees"]:
        node = 0
        while tree["left"][node] >= 0:
            left = _go_left(tree, b["known"], node, x)
            node = tree["left"][node] if left else tree["right"][node]
        raw += float(tree["value"][node])
    return raw


class _Path:
    """One element of TreeSHAP's unique path."""

    __slots__ = ("d", "o", "w", "z")

    def __init__(self, d: int, z: float, o: float, w: float) -> None:
        self.d, self.z, self.o, self.w = d, z, o, w


def _extend(m: list[_Path], ud: int, pz: float, po: float, pi: int) -> None:
    m[ud] = _Path(pi, pz, po, 1.0 if ud == 0 else 0.0)
    for i in range(ud - 1, -1, -1):
        m[i + 1].w += po * m[i].w * (i + 1) / (ud + 1)
        m[i].w = pz * m[i].w * (ud - i) / (ud + 1)


def _unwind(m: list[_Path], ud: int, pi: int) -> None:
    o, z = m[pi].o, m[pi].z
    n = m[ud].w
    for i in range(ud - 1, -1, -1):
        if o != 0.0:
            t = m[i].w
            m[i].w = n * (ud + 1) / ((i + 1) * o)
            n = t - m[i].w * z * (ud - i) / (ud + 1)
        else:
            m[i].w = m[i].w * (ud + 1) / (z * (ud - i))
    for i in range(pi, ud):
        m[i].d, m[i].z, m[i].o = m[i + 1].d, m[i + 1].z, m[i + 1].o


def _unwound_sum(m: list[_Path], ud: int, pi: int) -> float:
    o, z = m[pi].o, m[pi].z
    n = m[ud].w
    total = 0.0
    for i in range(ud - 1, -1, -1):
        if o != 0.0:
            t = n * (ud + 1) / ((i + 1) * o)
            total += t
            n = m[i].w - t * z * (ud - i) / (ud + 1)
        else:
            total += m[i].w * (ud + 1) / (z * (ud - i))
    return total


def tree_shap(
    model: Model, tree: dict[str, Any], x: list[float], phi: list[float]
) -> None:
    """Add one tree's exact path-dependent SHAP values for x to phi."""
    known = model.body["known"]
    left, right, cover = tree["left"], tree["right"], tree["cover"]

    def recurse(
        node: int, parent: list[_Path], ud: int, pz: float, po: float, pi: int
    ) -> None:
        m = [_Path(p.d, p.z, p.o, p.w) for p in parent[:ud]] + [_Path(0, 0, 0, 0)]
        _extend(m, ud, pz, po, pi)
        if left[node] < 0:
            v = float(tree["value"][node])
            for i in range(1, ud + 1):
                w = _unwound_sum(m, ud, i)
                phi[m[i].d] += w * (m[i].o - m[i].z) * v
            return
        hot, cold = (left[node], right[node])
        if not _go_left(tree, known, node, x):
            hot, cold = cold, hot
        f = tree["feature"][node]
        iz, io = 1.0, 1.0
        k = next((i for i in range(ud + 1) if m[i].d == f and i > 0), -1)
        if k >= 0:
            iz, io = m[k].z, m[k].o
            _unwind(m, ud, k)
            ud -= 1
        recurse(hot, m, ud + 1, cover[hot] / cover[node] * iz, io, f)
        recurse(cold, m, ud + 1, cover[cold] / cover[node] * iz, 0.0, f)

    recurse(0, [], 0, 1.0, 1.0, -1)


def shap_values(model: Model, x: list[float]) -> list[float]:
    """Per-feature contributions to the raw score (log-odds), summed over trees."""
    phi = [0.0] * len(model.features)
    for tree in model.body["trees"]:
        tree_shap(model, tree, x, phi)
    return phi


# ---- both ------------------------------------------------------------------


def _top(values: list[float], n: int = REASONS_MAX) -> list[int]:
    """Indices of the n largest positive values, ties by index."""
    order = sorted(
        (i for i, v in enumerate(values) if v > 0), key=lambda i: (-values[i], i)
    )
    return order[:n]


@dataclass(frozen=True)
class Result:
    score: float
    decision: str
    points: float | None
    reasons: list[dict[str, Any]]


def evaluate(model: Model, app: dict[str, Any]) -> Result:
    """Score, decision, points (scorecard) and reasons for a valid application."""
    x = vector(model, app)
    points = None
    if model.kind == "scorecard":
        logit, points, loss = _scorecard(model, x)
    else:
        logit = _gbm_raw(model, x)
    p = _expit(logit)
    decision = "approve" if p >= model.cutoff else "decline"
    reasons: list[dict[str, Any]] = []
    if decision == "decline":
        if model.kind == "scorecard":
            top = _top(loss)
        else:
            top = _top([-v for v in shap_values(model, x)])
        for i in top:
            f = model.features[i]
            reasons.append(
                {
                    "code": f["reason"]["code"],
                    "feature": f["name"],
                    "text": f["reason"]["text"],
                }
            )
    return Result(p, decision, points, reasons)


def score(model: Model, app: dict[str, Any]) -> tuple[float, str]:
    """(score, decision) for an application dict with the §5 field names."""
    r = evaluate(model, app)
    return r.score, r.decision


def raw_score(model: Model, x: list[float]) -> float:
    """The log-odds of repayment for a feature vector (see vector())."""
    if model.kind == "scorecard":
        return _scorecard(model, x)[0]
    return _gbm_raw(model, x)
