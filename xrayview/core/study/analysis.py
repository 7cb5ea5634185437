"""Export rows and per-condition statistics of a reader study (training trials excluded).

Scores are put on one scale per question before statistics ("normalised"):
  * likert: the 1..5 value as given;
  * vga: the reader rates the right image relative to the left (-2..+2); normalised to
    "condition relative to original" by flipping the sign when the condition was left;
  * 2afc: 1 when the reader chose the condition's image, 0 when the original's.

Per question and condition: n, mean, median, 95% percentile-bootstrap CI of the mean
(``n_boot`` resamples of the answers, seeded by the study seed), and a test against the
original. The unit of the test is the case (scores averaged over readers first):
likert: Wilcoxon signed-rank of condition - original per case; vga: Wilcoxon
signed-rank of the per-case score against 0; 2afc: two-sided binomial test of the
choices against 0.5. Inter-reader agreement, over the (case, condition) items every
reader answered: quadratic-weighted Cohen's kappa with exactly 2 readers, ICC(2,1)
(two-way random effects, absolute agreement, single rater; Shrout & Fleiss) with 3+.
For likert questions also visual grading characteristics (``vgc``: AUC_VGC of each
condition against the original, per reader and pooled, with a case-bootstrap CI).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from xrayview.core.io.files import atomic_write
from xrayview.core.study.definition import Question, Study
from xrayview.core.study.vgc import vgc_analysis, vgc_text

SIDES = ("left", "right")
DISPLAY_KEYS = ("center", "width", "voi_lut", "inverted", "zoom")


def normalised(q: Question, row: dict[str, Any]) -> float:
    """The answer to ``q`` in ``row`` (from ``store.load_answers``) on the common scale."""
    v = row["scores"][q.id]
    if q.kind == "vga":
        return float(v if row["side"] == "right" else -v)
    if q.kind == "2afc":
        return 1.0 if v == row["side"] else 0.0
    return float(v)


def export_rows(study: Study, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat dict per answer (CSV columns), training trials included and marked;
    every revision of an answer is a row (``revision`` 0, 1, ...; ``latest`` marks the
    one analysis uses)."""
    out = []
    for r in rows:
        flat = {k: r[k] for k in ("reader", "index", "case", "condition", "side", "training")}
        flat["revision"], flat["latest"] = r.get("revision", 0), r.get("latest", True)
        for q in study.questions:
            flat[q.id] = r["scores"][q.id]
        flat["time_s"] = round(r["time_s"], 3)
        flat["preset"] = r["display"].get("preset", "")
        for view in SIDES:
            d = r["display"].get(view, {})
            for key in DISPLAY_KEYS:
                flat[f"{view}_{key}"] = d.get(key, "")
        out.append(flat)
    return out


def write_csv(study: Study, rows: list[dict[str, Any]], path: str | Path) -> int:
    """Write :func:`export_rows` to ``path`` atomically (``atomic_write``: the whole CSV or
    nothing; ExportError on failure, the previous file untouched); returns the row count.
    The caller checks ``path`` first (``outputs.check_output``)."""
    flat = export_rows(study, rows)
    cols = (["reader", "index", "case", "condition", "side", "training", "revision",
             "latest"] + [q.id for q in study.questions] + ["time_s", "preset"]
            + [f"{v}_{k}" for v in SIDES for k in DISPLAY_KEYS])
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=cols)
    w.writeheader()
    w.writerows(flat)
    data = text.getvalue().encode("utf-8")
    atomic_write(Path(path), lambda fh: fh.write(data))
    return len(flat)


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n_boot: int = 2000,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of float64 (n,) ``values``."""
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def weighted_kappa(a: np.ndarray, b: np.ndarray, categories: list[float]) -> float:
    """Quadratic-weighted Cohen's kappa of two raters' ratings (same length, in categories)."""
    k = len(categories)
    pos = {c: i for i, c in enumerate(categories)}
    obs = np.zeros((k, k))
    for x, y in zip(a, b):
        obs[pos[x], pos[y]] += 1
    obs /= obs.sum()
    exp = np.outer(obs.sum(axis=1), obs.sum(axis=0))
    i, j = np.indices((k, k))
    w = (i - j) ** 2 / (k - 1) ** 2
    den = (w * exp).sum()
    return float("nan") if den == 0 else float(1 - (w * obs).sum() / den)


def icc_2_1(x: np.ndarray) -> float:
    """ICC(2,1) of float (n items, k raters) ratings (Shrout & Fleiss 1979)."""
    n, k = x.shape
    grand = x.mean()
    msr = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    sse = ((x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand) ** 2
           ).sum()
    mse = sse / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    return float("nan") if den == 0 else float((msr - mse) / den)


def _case_means(rows, q, cond) -> dict[str, float]:
    acc = defaultdict(list)
    for r in rows:
        if r["condition"] == cond:
            acc[r["case"]].append(normalised(q, r))
    return {c: float(np.mean(v)) for c, v in acc.items()}


def _wilcoxon(d: np.ndarray) -> float | None:
    if len(d) == 0 or not np.any(d != 0):
        return None
    return float(stats.wilcoxon(d).pvalue)


def _test(study: Study, q: Question, rows, cond: str) -> dict[str, Any]:
    if q.kind == "likert":
        if cond == "original":
            return {}
        a, o = _case_means(rows, q, cond), _case_means(rows, q, "original")
        common = sorted(set(a) & set(o))
        d = np.array([a[c] - o[c] for c in common])
        return {"test": "wilcoxon_vs_original", "n_cases": len(d), "p": _wilcoxon(d)}
    if q.kind == "vga":
        d = np.array(list(_case_means(rows, q, cond).values()))
        return {"test": "wilcoxon_vs_zero", "n_cases": len(d), "p": _wilcoxon(d)}
    k = sum(normalised(q, r) for r in rows if r["condition"] == cond)
    n = sum(1 for r in rows if r["condition"] == cond)
    return {"test": "binomial_vs_half", "n": n, "p": float(stats.binomtest(int(k), n).pvalue)}


def agreement(study: Study, q: Question, rows) -> dict[str, Any]:
    """Inter-reader agreement on ``q`` (kappa for 2 readers, ICC(2,1) for 3+)."""
    table = defaultdict(dict)
    for r in rows:
        table[(r["case"], r["condition"])][r["reader"]] = normalised(q, r)
    readers = sorted({r["reader"] for r in rows})
    items = [v for v in table.values() if len(v) == len(readers)]
    if len(readers) < 2 or len(items) < 2:
        return {"statistic": None, "value": None, "readers": len(readers), "items": len(items)}
    x = np.array([[it[name] for name in readers] for it in items], dtype=np.float64)
    if len(readers) == 2:
        cats = ([0.0, 1.0] if q.kind == "2afc" else
                [float(v) for v in q.values])
        value, name = weighted_kappa(x[:, 0], x[:, 1], cats), "quadratic_weighted_kappa"
    else:
        value, name = icc_2_1(x), "icc_2_1"
    return {"statistic": name, "value": None if math.isnan(value) else value,
            "readers": len(readers), "items": len(items)}


def summarise(study: Study, rows: list[dict[str, Any]], n_boot: int = 2000) -> dict[str, Any]:
    """Summary statistics per question and condition (see the module docstring)."""
    rows = [r for r in rows if not r["training"] and r.get("latest", True)]
    rng = np.random.default_rng(study.seed)
    vgc_rng = np.random.default_rng([study.seed, 1])  # VGC's own stream (same seed)
    out: dict[str, Any] = {"design": study.design, "answers": len(rows),
                           "readers": sorted({r["reader"] for r in rows}), "questions": {}}
    conds = [c.name for c in study.conditions
             if not (study.design == "paired" and c.name == "original")]
    for q in study.questions:
        per = {}
        for cond in conds:
            v = np.array([normalised(q, r) for r in rows if r["condition"] == cond])
            if len(v) == 0:
                continue
            lo, hi = bootstrap_ci(v, rng, n_boot)
            per[cond] = {"n": len(v), "mean": float(v.mean()), "median": float(np.median(v)),
                         "ci95": [lo, hi], **_test(study, q, rows, cond)}
        out["questions"][q.id] = {"kind": q.kind, "conditions": per,
                                  "agreement": agreement(study, q, rows)}
        if q.kind == "likert":  # ordinal absolute ratings: VGC against the original
            out["questions"][q.id]["vgc"] = vgc_analysis(
                rows, q.id, [float(v) for v in q.values], conds, vgc_rng, n_boot)
    return out


def summary_text(summary: dict[str, Any]) -> str:
    """A plain-text table of :func:`summarise`'s result."""
    lines = [f"design {summary['design']}, {summary['answers']} answers, readers: "
             + ", ".join(summary["readers"])]
    for qid, qs in summary["questions"].items():
        lines.append(f"\n{qid} ({qs['kind']})")
        lines.append(f"  {'condition':<18}{'n':>4}{'mean':>8}{'median':>8}"
                     f"{'95% CI':>18}  test p")
        for cond, s in qs["conditions"].items():
            p = s.get("p")
            ptxt = "-" if p is None else f"{p:.4g} ({s['test']})"
            ci = f"[{s['ci95'][0]:.2f}, {s['ci95'][1]:.2f}]"
            lines.append(f"  {cond:<18}{s['n']:>4}{s['mean']:>8.2f}{s['median']:>8.2f}"
                         f"{ci:>18}  {ptxt if s.get('test') else '(reference)'}")
        a = qs["agreement"]
        val = "n/a" if a["value"] is None else f"{a['value']:.3f}"
        lines.append(f"  agreement: {a['statistic'] or 'n/a'} = {val} "
                     f"({a['readers']} readers, {a['items']} items)")
        if qs.get("vgc"):
            lines += vgc_text(qs["vgc"])
    return "\n".join(lines)
