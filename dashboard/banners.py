"""Banners above Summary (DESIGN §8): a red one per challenger arm flagged with a
sample-ratio mismatch (`srm` of /metrics/summary, docs/experiments.md), and a warning when
requests in range were held off a challenger by its guardrail (status
CHALLENGER_SUSPENDED)."""

from __future__ import annotations

from typing import Any


def srm(summary: dict[str, Any]) -> list[str]:
    out = []
    for version in summary.get("srm") or []:
        for arm in version.get("challengers") or []:
            if not arm.get("srm"):
                continue
            out.append(
                f"**Sample-ratio mismatch: challenger `{arm['challenger']}`** "
                f"(config_version `{version['config_version']}`) has "
                f"{100 * (arm['observed_share'] or 0):.1f}% of "
                f"{version['applicants']:,} distinct applicants where its weight asks for "
                f"{100 * arm['expected_share']:.1f}% (p = {arm['srm_p_value']:.2g}). "
                "Comparisons between the arms are suspect until the cause is found "
                "(a filtering client, events lost for one arm)."
            )
    return out


def suspended(summary: dict[str, Any]) -> str | None:
    n = (summary.get("status") or {}).get("CHALLENGER_SUSPENDED", 0)
    if not n:
        return None
    return (f"**{n:,} request(s) in range were not sent to their challenger**: a guardrail "
            "suspended it (error or latency budget broken). The gateway's "
            "`csg_challenger_suspended{model}` and `/readyz` say which one and whether it "
            "has resumed.")
