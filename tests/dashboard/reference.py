"""Independent reference numbers computed from the fixture events themselves (plain Python),
to compare with what the dashboard shows. Semantics follow DESIGN §6–§7."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "testdata" / "events.ndjson"
# the fixture champion's stability baseline (csg-persist --baseline)
BASELINE = FIXTURE.with_name("champion-lr-v1.baseline.json")


def load(path: Path = FIXTURE) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass(frozen=True)
class F:
    """Filters as the API applies them: from ≤ t < to, income within [min, max]."""

    from_ts: str | None = None
    to_ts: str | None = None
    experiment_id: str | None = None
    challenger_model: str | None = None
    applicant_id: str | None = None
    min_income: float | None = None
    max_income: float | None = None
    # f.<name>.min / .max and f.<name>=v (OR within a feature), over each event's features
    feature_ranges: tuple[tuple[str, float | None, float | None], ...] = ()
    feature_values: tuple[tuple[str, tuple[str, ...]], ...] = ()


def select(events: list[dict[str, Any]], f: F) -> list[dict[str, Any]]:
    out = []
    for e in events:
        t = ts(e["timestamp"])
        if f.from_ts and t < ts(f.from_ts):
            continue
        if f.to_ts and t >= ts(f.to_ts):
            continue
        if f.experiment_id and e["experiment_id"] != f.experiment_id:
            continue
        if f.challenger_model and e["challenger_model"] != f.challenger_model:
            continue
        if f.applicant_id and e["applicant_id"] != f.applicant_id:
            continue
        if f.min_income is not None and e["income"] < f.min_income:
            continue
        if f.max_income is not None and e["income"] > f.max_income:
            continue
        feats = e.get("features") or {}
        if any(not isinstance(feats.get(n), (int, float)) or (lo is not None and feats[n] < lo)
               or (hi is not None and feats[n] > hi) for n, lo, hi in f.feature_ranges):
            continue
        if any(feats.get(n) not in vals for n, vals in f.feature_values):
            continue
        out.append(e)
    return out


def percentile_cont(values: list[float], q: float) -> float | None:
    """PostgreSQL percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(events)
    with_ch = [e for e in events if e["challenger_model"] is not None]
    paired = [e for e in with_ch
              if e["challenger_decision"] is not None and e["champion_decision"] is not None]
    diffs = [e["decision_diff"] for e in events if e["decision_diff"] is not None]
    status: dict[str, int] = {}
    for e in events:
        status[e["status"]] = status.get(e["status"], 0) + 1
    models: dict[str, dict[str, Any]] = {}
    for e in events:
        for role in ("champion", "challenger"):
            name = e[f"{role}_model"]
            if name is None:
                continue
            m = models.setdefault(name, {"model": name, "role": role, "lat": [], "dec": []})
            if e[f"latency_{role}_ms"] is not None:
                m["lat"].append(e[f"latency_{role}_ms"])
            if e[f"{role}_decision"] is not None:
                m["dec"].append(e[f"{role}_decision"])
    out_models = []
    for m in models.values():
        out_models.append({
            "model": m["model"], "role": m["role"], "count": len(m["lat"]),
            "latency_ms": {"avg": mean(m["lat"]), "p50": percentile_cont(m["lat"], 0.5),
                           "p95": percentile_cont(m["lat"], 0.95),
                           "p99": percentile_cont(m["lat"], 0.99)},
            "approval_rate": (sum(d == "approve" for d in m["dec"]) / len(m["dec"])
                              if m["dec"] else None),
        })
    dec = {"both_approve": 0, "both_decline": 0, "champion_only_approve": 0,
           "challenger_only_approve": 0}
    for e in paired:
        a, b = e["champion_decision"] == "approve", e["challenger_decision"] == "approve"
        key = ("both_approve" if a and b else "both_decline" if not a and not b
               else "champion_only_approve" if a else "challenger_only_approve")
        dec[key] += 1
    return {
        "total": total,
        "with_challenger": len(with_ch),
        "challenger_share": len(with_ch) / total if total else None,
        "models": out_models,
        "avg_decision_diff": mean(diffs),
        "divergence_rate": (sum(e["champion_decision"] != e["challenger_decision"]
                                for e in paired) / len(paired) if paired else None),
        "decisions": dec,
        "status": status,
    }


def reasons(events: list[dict[str, Any]]) -> dict[str, Any]:
    """GET /metrics/reasons from the events (docs/analytics.md): per model its declines (the
    model answered "decline"), per code the declines with it first / anywhere, sorted by
    first desc, any desc, code; per champion/challenger pair the joint declines with reasons
    and how many share the first code."""
    def declined(e: dict[str, Any], role: str) -> bool:
        return e[f"{role}_decision"] == "decline" and e[f"{role}_score"] is not None

    models = []
    for role in ("champion", "challenger"):
        for name in sorted({e[f"{role}_model"] for e in events if e[f"{role}_model"]}):
            decl = [e for e in events if e[f"{role}_model"] == name and declined(e, role)]
            counts: dict[str, list[int]] = {}
            for e in decl:
                codes = e.get(f"{role}_reasons") or []
                for k, code in enumerate(codes):
                    counts.setdefault(code, [0, 0])[0] += k == 0
                for code in set(codes):
                    counts[code][1] += 1
            n = len(decl)
            models.append({"model": name, "role": role, "declines": n, "reasons": [
                {"code": c, "first": f, "first_share": f / n if n else None, "any": a,
                 "any_share": a / n if n else None}
                for c, (f, a) in sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1],
                                                                        kv[0]))]})
    agreement = []
    for champ, chall in sorted({(e["champion_model"], e["challenger_model"]) for e in events
                                if e["challenger_model"]}):
        both = [e for e in events if e["champion_model"] == champ
                and e["challenger_model"] == chall and declined(e, "champion")
                and declined(e, "challenger") and e.get("champion_reasons")
                and e.get("challenger_reasons")]
        agree = sum(e["champion_reasons"][0] == e["challenger_reasons"][0] for e in both)
        agreement.append({"champion": champ, "challenger": chall, "both_declined": len(both),
                          "first_agree": agree, "rate": agree / len(both) if both else None})
    return {"models": models, "agreement": agreement}
