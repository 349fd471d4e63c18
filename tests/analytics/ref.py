"""Independent Python references for the outcome-based metrics of csg-persist
(docs/analytics.md): AUC/Brier from scikit-learn, KS from scipy, PSI with numpy, and
DeLong's ΔAUC variance by the midrank formulation (Sun & Xu 2014) written here — a
different algorithm from the C code's tie-group walk, so agreement means something.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

Z975 = 1.959963984540054


def auc(score: list[float], bad: list[bool]) -> float | None:
    good = [0 if b else 1 for b in bad]
    if len(set(good)) < 2:
        return None
    return float(roc_auc_score(good, score))


def ks(score: list[float], bad: list[bool]) -> float | None:
    g = [s for s, b in zip(score, bad) if not b]
    d = [s for s, b in zip(score, bad) if b]
    if not g or not d:
        return None
    return float(stats.ks_2samp(g, d).statistic)


def brier(score: list[float], bad: list[bool]) -> float | None:
    if not score:
        return None
    return float(brier_score_loss([0 if b else 1 for b in bad], score))


def psi(expected: list[float], actual: list[float]) -> float | None:
    if not expected:
        return None
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    edges = np.percentile(e, [10 * k for k in range(1, 10)], method="linear")
    # side="left": the number of edges strictly below x, so bin k = (e_{k-1}, e_k].
    be = np.bincount(np.searchsorted(edges, e, side="left"), minlength=10) / len(e)
    ba = np.bincount(np.searchsorted(edges, a, side="left"), minlength=10) / len(a)
    be = np.maximum(be, 1e-4)
    ba = np.maximum(ba, 1e-4)
    return float(np.sum((ba - be) * np.log(ba / be)))


def delong(champion: list[float], challenger: list[float], bad: list[bool]) -> dict[str, Any]:
    """ΔAUC = AUC(challenger) − AUC(champion), its DeLong standard error and 95% CI."""
    good_idx = [i for i, b in enumerate(bad) if not b]
    bad_idx = [i for i, b in enumerate(bad) if b]
    m, n = len(good_idx), len(bad_idx)
    if m == 0 or n == 0:
        return {"delta_auc": None, "se": None, "ci95": [None, None]}
    v10s, v01s, aucs = [], [], []
    for s in (champion, challenger):
        x = np.asarray([s[i] for i in good_idx])
        y = np.asarray([s[i] for i in bad_idx])
        tx = stats.rankdata(x)
        ty = stats.rankdata(y)
        tz = stats.rankdata(np.concatenate([x, y]))
        aucs.append((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
        v10s.append((tz[:m] - tx) / n)  # per good: share of bads below (+½ ties)
        v01s.append(1.0 - (tz[m:] - ty) / m)  # per bad: share of goods above (+½ ties)
    delta = float(aucs[1] - aucs[0])
    if m < 2 or n < 2:
        return {"delta_auc": delta, "se": None, "ci95": [None, None]}
    s10 = np.cov(np.vstack(v10s))
    s01 = np.cov(np.vstack(v01s))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    se = math.sqrt(max(float(var), 0.0))
    return {"delta_auc": delta, "se": se, "ci95": [delta - Z975 * se, delta + Z975 * se]}


def model_metrics(score: list[float], bad: list[bool], decision: list[str | None]) -> dict:
    n = len(score)
    nb = sum(bad)
    decided = [d for d in decision if d is not None]
    appr = [b for b, d in zip(bad, decision) if d == "approve"]
    a = auc(score, bad)
    return {
        "count": n,
        "bad_count": nb,
        "bad_rate": nb / n if n else None,
        "auc": a,
        "gini": 2 * a - 1 if a is not None else None,
        "ks": ks(score, bad),
        "brier": brier(score, bad),
        "approval_rate": len(appr) / len(decided) if decided else None,
        "bad_rate_approved": sum(appr) / len(appr) if appr else None,
    }


def paired_population(
    events: Iterable[dict], ids: dict[str, int], outcomes: dict[str, bool], ts_ms
) -> dict[tuple[str, str], list[dict]]:
    """(champion, challenger) → the latest OK, doubly scored, labelled event per applicant
    (latest by timestamp, then by row id)."""
    best: dict[tuple[str, str, str], dict] = {}
    for e in events:
        if (
            e["status"] != "OK"
            or e["challenger_model"] is None
            or e["champion_score"] is None
            or e["challenger_score"] is None
            or e["applicant_id"] not in outcomes
        ):
            continue
        key = (e["champion_model"], e["challenger_model"], e["applicant_id"])
        rank = (ts_ms(e["timestamp"]), ids[e["event_id"]])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, e)  # type: ignore[assignment]
    out: dict[tuple[str, str], list[dict]] = {}
    for (ch, cl, _), (_, e) in sorted(best.items()):  # type: ignore[misc]
        out.setdefault((ch, cl), []).append(e)
    return out


def performance(pairs: dict[tuple[str, str], list[dict]], outcomes: dict[str, bool]) -> dict:
    """The reference of GET /metrics/performance, keyed by (champion, challenger)."""
    res: dict[tuple[str, str], dict] = {}
    for (ch, cl), evs in pairs.items():
        bad = [outcomes[e["applicant_id"]] for e in evs]
        sa = [e["champion_score"] for e in evs]
        sb = [e["challenger_score"] for e in evs]
        da = [e["champion_decision"] for e in evs]
        db = [e["challenger_decision"] for e in evs]

        def swap(want_a: str, want_b: str, bad=bad, da=da, db=db) -> dict:
            sel = [b for b, x, y in zip(bad, da, db) if x == want_a and y == want_b]
            return {"count": len(sel), "bad_count": sum(sel),
                    "bad_rate": sum(sel) / len(sel) if sel else None}

        res[(ch, cl)] = {
            "champion": model_metrics(sa, bad, da),
            "challenger": model_metrics(sb, bad, db),
            "psi": psi(sa, sb),
            "delong": delong(sa, sb, bad),
            "swap_sets": {
                "champion_only": swap("approve", "decline"),
                "challenger_only": swap("decline", "approve"),
                "both_approve": swap("approve", "approve"),
                "both_decline": swap("decline", "decline"),
            },
        }
    return res


def segments_outcomes(
    events: Iterable[dict], ids: dict[str, int], outcomes: dict[str, bool], ts_ms,
    by: str, edges: list[float],
) -> dict[tuple[int, str], dict]:
    """(band, model) → {count, auc, bad_rate} over each model's latest labelled event per
    applicant (champion: events with a champion score; challenger: with its score)."""
    latest: dict[tuple[str, str], tuple[tuple[int, int], dict, float]] = {}
    for e in events:
        if e["applicant_id"] not in outcomes:
            continue
        for mk, sk in (("champion_model", "champion_score"), ("challenger_model", "challenger_score")):
            if e[mk] is None or e[sk] is None:
                continue
            key = (e[mk], e["applicant_id"])
            rank = (ts_ms(e["timestamp"]), ids[e["event_id"]])
            if key not in latest or rank > latest[key][0]:
                latest[key] = (rank, e, e[sk])
    cells: dict[tuple[int, str], tuple[list[float], list[bool]]] = {}
    for (model, app), (_, e, s) in latest.items():
        v = e[by]
        band = None
        for k in range(len(edges) - 1, -1, -1):
            if v >= edges[k]:
                band = k
                break
        if band is None:
            continue
        sc, bd = cells.setdefault((band, model), ([], []))
        sc.append(s)
        bd.append(outcomes[app])
    return {
        key: {"labelled": len(sc), "auc": auc(sc, bd), "bad_rate": sum(bd) / len(bd)}
        for key, (sc, bd) in cells.items()
    }
