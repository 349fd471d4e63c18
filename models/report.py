"""Print the tables of models/README.md from the committed model files.

    .venv/bin/python models/report.py

Reads champion.json, challenger.json and holdout.csv (nothing is trained) and
prints, as Markdown: the hold-out results of both models, their most frequent
first decline reasons and first-reason agreement, the reason codes and texts,
and the scorecard's bins with WoE and points. Everything is computed with
scorer.py, the arithmetic csg-model serves.
"""

from __future__ import annotations

import csv
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scorer


def holdout(model: scorer.Model) -> list[tuple[dict[str, Any], bool]]:
    kinds = {f["name"]: f["type"] for f in model.features}
    out = []
    with (HERE / "holdout.csv").open() as f:
        for r in csv.DictReader(f):
            app: dict[str, Any] = {"applicant_id": r["applicant_id"]}
            for name, kind in kinds.items():
                if r[name] != "":
                    v = r[name]
                    app[name] = (
                        v
                        if kind == "category"
                        else int(v)
                        if kind == "integer"
                        else float(v)
                    )
            out.append((app, r["defaulted"] == "true"))
    return out


def results_table(
    models: list[scorer.Model],
    rows: list[tuple[dict[str, Any], bool]],
    res: dict[str, list[scorer.Result]],
) -> None:
    bad = np.array([d for _, d in rows])
    print(
        "| model | AUC | KS | cut-off | approval rate | bad rate approved / declined |"
    )
    print("|---|---|---|---|---|---|")
    for m in models:
        p = np.array([r.score for r in res[m.name]])
        appr = np.array([r.decision == "approve" for r in res[m.name]])
        auc = roc_auc_score(~bad, p)
        fpr, tpr, _ = roc_curve(~bad, p)
        print(
            f"| {m.name} | {auc:.4f} | {float(np.max(tpr - fpr)):.4f} | {m.cutoff:.4f} | "
            f"{appr.mean():.1%} | {bad[appr].mean():.1%} / {bad[~appr].mean():.1%} |"
        )
    print(f"\nHold-out: {len(rows)} applicants, bad rate {bad.mean():.1%}.\n")


def reasons_tables(
    models: list[scorer.Model], res: dict[str, list[scorer.Result]]
) -> None:
    for m in models:
        dec = [r for r in res[m.name] if r.decision == "decline"]
        first = Counter(r.reasons[0]["code"] for r in dec)
        anyr = Counter(c["code"] for r in dec for c in r.reasons)
        print(f"{m.name}: {len(dec)} declines; top first reasons")
        print("\n| code | first | share | any | share |\n|---|---|---|---|---|")
        for code, n in sorted(
            first.items(), key=lambda kv: (-kv[1], -anyr[kv[0]], kv[0])
        )[:5]:
            print(
                f"| {code} | {n} | {n / len(dec):.1%} | {anyr[code]} | "
                f"{anyr[code] / len(dec):.1%} |"
            )
        print()
    a, b = (res[m.name] for m in models)
    both = [
        (x, y)
        for x, y in zip(a, b, strict=True)
        if x.decision == y.decision == "decline" and x.reasons and y.reasons
    ]
    agree = sum(1 for x, y in both if x.reasons[0]["code"] == y.reasons[0]["code"])
    rate = f"{agree / len(both):.1%}" if both else "n/a"
    print(
        f"Both declined (with reasons): {len(both)}; first reasons agree: {agree} ({rate}).\n"
    )


def codes_table(model: scorer.Model) -> None:
    print("| feature | code | text |\n|---|---|---|")
    for f in model.features:
        print(f"| `{f['name']}` | `{f['reason']['code']}` | {f['reason']['text']} |")
    print()


def bins_table(model: scorer.Model) -> None:
    print(
        "| characteristic | bin | training rows | WoE | points |\n|---|---|---|---|---|"
    )
    for f, ch in zip(model.features, model.body["characteristics"], strict=True):
        labels: list[str] = []
        if f["type"] == "category":
            for k in range(len(ch["woe"]) - 1):
                labels.append(
                    ", ".join(
                        v
                        for v, b in zip(f["values"], ch["level_bin"], strict=True)
                        if b == k
                    )
                )
            unseen = [
                v
                for v, b in zip(f["values"], ch["level_bin"], strict=True)
                if b == len(ch["woe"]) - 1
            ]
            labels.append(
                "missing" + (f" (and unseen: {', '.join(unseen)})" if unseen else "")
            )
        else:
            cuts = ch["cuts"]
            edges = [-math.inf, *cuts, math.inf]
            for k in range(len(cuts) + 1):
                lo, hi = edges[k], edges[k + 1]
                labels.append(
                    f"< {hi:g}"
                    if lo == -math.inf
                    else f">= {lo:g}"
                    if hi == math.inf
                    else f"[{lo:g}, {hi:g})"
                )
            labels.append("missing")
        for k, lab in enumerate(labels):
            name = f"`{f['name']}` (coef {ch['coef']:.3f})" if k == 0 else ""
            print(
                f"| {name} | {lab} | {ch['bin_rows'][k]} | {ch['woe'][k]:.4f} | "
                f"{ch['points'][k]:.2f} |"
            )
    print()


def main() -> int:
    champ = scorer.load(HERE / "champion.json")
    chall = scorer.load(HERE / "challenger.json")
    rows = holdout(champ)
    res = {m.name: [scorer.evaluate(m, app) for app, _ in rows] for m in (champ, chall)}
    print("## Hold-out results\n")
    results_table([champ, chall], rows, res)
    print("## Decline reasons on the hold-out\n")
    reasons_tables([champ, chall], res)
    print("## Reason codes\n")
    codes_table(champ)
    print("## Scorecard bins\n")
    bins_table(champ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
