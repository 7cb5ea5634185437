"""Visual grading characteristics (VGC) of ordinal ratings: condition against reference.

Båth M, Månsson LG. "Visual grading characteristics (VGC) analysis: a non-parametric
rank-invariant statistical method for image quality evaluation." Br J Radiol 80 (2007)
169-176. For an ordinal scale (here the likert questions of the single design, 1..5), the
VGC curve plots, for every threshold t from the best category down, the fraction of the
reference images rated >= t (x) against the fraction of the condition's images rated
>= t (y), from (0, 0) to (1, 1). The area under it, AUC_VGC, equals the Mann-Whitney
statistic P(condition > reference) + 1/2 P(tie) over all (condition, reference) rating
pairs: 0.5 no difference, above 0.5 the condition is rated better. (Relative ratings of
the paired design, ``vga`` -2..+2, have no separate reference ratings and so no VGC.)

Per reader: that reader's ratings of the cases rated under both the condition and the
reference. Pooled: every reader's ratings together, as one observer. The 95% CI is a
percentile bootstrap that resamples *cases* with replacement (all ratings of a drawn case,
both conditions and every reader, go together; the case is the unit), ``n_boot``
resamples, seeded by the study seed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

REFERENCE = "original"


def auc_from_counts(cond: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """AUC_VGC from rating counts per category (last axis, worst to best category).

    cond, ref: float (..., K) counts. Returns (...) float64; NaN where either is empty.
    """
    cond, ref = np.asarray(cond, np.float64), np.asarray(ref, np.float64)
    below = np.cumsum(ref, axis=-1) - ref          # reference ratings below each category
    wins = (cond * (below + 0.5 * ref)).sum(axis=-1)
    total = cond.sum(axis=-1) * ref.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wins / np.where(total > 0, total, 1), np.nan)


def auc_vgc(cond: list[float], ref: list[float]) -> float:
    """AUC_VGC of two lists of ratings (Mann-Whitney, ties 1/2), by direct pair count."""
    c, r = np.asarray(cond, float)[:, None], np.asarray(ref, float)[None, :]
    return float(((c > r) + 0.5 * (c == r)).mean())


def vgc_curve(cond: np.ndarray, ref: np.ndarray) -> list[list[float]]:
    """The VGC operating points [x, y] from (0, 0) to (1, 1): for each threshold from the
    best category down, (fraction of reference >= t, fraction of condition >= t).
    cond, ref: float (K,) counts per category, worst to best."""
    c = np.cumsum(np.asarray(cond, float)[::-1]) / max(float(np.sum(cond)), 1e-300)
    r = np.cumsum(np.asarray(ref, float)[::-1]) / max(float(np.sum(ref)), 1e-300)
    return [[0.0, 0.0]] + [[round(float(x), 6), round(float(y), 6)] for x, y in zip(r, c)]


def _counts(ratings: dict[str, list[float]], cases: list[str], cats: list[float]
            ) -> np.ndarray:
    pos = {c: i for i, c in enumerate(cats)}
    out = np.zeros((len(cases), len(cats)))
    for i, case in enumerate(cases):
        for v in ratings.get(case, []):
            out[i, pos[v]] += 1
    return out


def _with_ci(cond: dict[str, list[float]], ref: dict[str, list[float]], cats: list[float],
             rng: np.random.Generator, n_boot: int) -> dict[str, Any] | None:
    cases = sorted(set(cond) & set(ref))
    if not cases:
        return None
    c, r = _counts(cond, cases, cats), _counts(ref, cases, cats)
    auc = float(auc_from_counts(c.sum(0), r.sum(0)))
    draw = rng.integers(0, len(cases), size=(n_boot, len(cases)))
    weights = np.zeros((n_boot, len(cases)))
    np.add.at(weights, (np.arange(n_boot)[:, None], draw), 1.0)
    boot = auc_from_counts(weights @ c, weights @ r)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"auc": auc, "ci95": [float(lo), float(hi)], "n_cases": len(cases),
            "n_condition": int(c.sum()), "n_reference": int(r.sum()),
            "curve": vgc_curve(c.sum(0), r.sum(0))}


def vgc_analysis(rows: list[dict[str, Any]], qid: str, categories: list[float],
                 conditions: list[str], rng: np.random.Generator, n_boot: int = 2000
                 ) -> dict[str, Any]:
    """VGC of question ``qid`` for each condition against ``original``.

    rows: scored answers (``store.load_answers``, training excluded) whose
    ``scores[qid]`` is one of ``categories`` (ordered worst to best). Returns
    {condition: {"pooled": {...}, "readers": {name: {...}}}} where each entry holds auc,
    ci95, n_cases, n_condition, n_reference and the curve points.
    """
    by = defaultdict(lambda: defaultdict(list))  # (reader, condition) -> case -> ratings
    for r in rows:
        by[(r["reader"], r["condition"])][r["case"]].append(float(r["scores"][qid]))
        by[("*", r["condition"])][r["case"]].append(float(r["scores"][qid]))
    readers = sorted({r["reader"] for r in rows})
    out = {}
    for cond in conditions:
        if cond == REFERENCE:
            continue
        pooled = _with_ci(by[("*", cond)], by[("*", REFERENCE)], categories, rng, n_boot)
        if pooled is None:
            continue
        per = {name: res for name in readers
               if (res := _with_ci(by[(name, cond)], by[(name, REFERENCE)], categories,
                                   rng, n_boot)) is not None}
        out[cond] = {"pooled": pooled, "readers": per}
    return out


def vgc_text(vgc: dict[str, dict[str, Any]]) -> list[str]:
    """Table lines: AUC_VGC [95% CI] per condition, pooled and per reader."""
    lines = [f"  VGC vs {REFERENCE} (AUC_VGC, 95% case-bootstrap CI; 0.5 = no difference)"]
    for cond, res in vgc.items():
        for who, r in [("pooled", res["pooled"]), *res["readers"].items()]:
            lines.append(f"    {cond:<18}{who:<12}{r['auc']:>7.3f}  "
                         f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]  ({r['n_cases']} cases)")
    return lines
