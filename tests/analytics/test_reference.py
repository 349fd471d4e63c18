"""The references themselves: the midrank DeLong of ref.py against the textbook
definition (pairwise kernel, O(m·n)), and the AUC/KS/PSI references on hand-made cases."""

from __future__ import annotations

import math
import random

import numpy as np
import ref


def brute_delong(a: list[float], b: list[float], bad: list[bool]) -> tuple[float, float]:
    goods = [i for i, x in enumerate(bad) if not x]
    bads = [i for i, x in enumerate(bad) if x]

    def psi(x: float, y: float) -> float:
        return 1.0 if x > y else 0.5 if x == y else 0.0

    comps = []
    for s in (a, b):
        v10 = [sum(psi(s[i], s[j]) for j in bads) / len(bads) for i in goods]
        v01 = [sum(psi(s[i], s[j]) for i in goods) / len(goods) for j in bads]
        comps.append((v10, v01))
    d10 = [x - y for x, y in zip(comps[1][0], comps[0][0])]
    d01 = [x - y for x, y in zip(comps[1][1], comps[0][1])]
    var = np.var(d10, ddof=1) / len(goods) + np.var(d01, ddof=1) / len(bads)
    delta = float(np.mean(comps[1][0]) - np.mean(comps[0][0]))
    return delta, math.sqrt(float(var))


def test_delong_matches_definition() -> None:
    r = random.Random(4)
    for n in (5, 17, 120):
        bad = [r.random() < 0.3 for _ in range(n)]
        bad[0], bad[1], bad[2], bad[3] = True, True, False, False
        a = [round(r.random() * (0.6 if x else 1.0), 1) for x in bad]  # many ties
        b = [r.random() * (0.5 if x else 1.0) for x in bad]
        want_delta, want_se = brute_delong(a, b, bad)
        got = ref.delong(a, b, bad)
        assert abs(got["delta_auc"] - want_delta) < 1e-12
        assert abs(got["se"] - want_se) < 1e-12
        assert abs(got["ci95"][1] - got["ci95"][0] - 2 * ref.Z975 * want_se) < 1e-12


def test_small_cases() -> None:
    s, bad = [0.1, 0.4, 0.35, 0.8], [True, True, False, False]
    assert ref.auc(s, bad) == 0.75
    assert ref.ks(s, bad) == 0.5
    assert ref.auc([0.5, 0.5, 0.5], [False, False, True]) == 0.5
    assert ref.auc([0.5, 0.5], [False, False]) is None
    assert ref.psi([0.1 * i for i in range(20)], [0.1 * i for i in range(20)]) == 0.0
    assert ref.psi([], []) is None
    assert ref.delong([0.1, 0.2], [0.2, 0.1], [False, False])["delta_auc"] is None
