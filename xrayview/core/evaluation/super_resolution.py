"""The seed paper's comparison on full-resolution films: bicubic vs SRCNN vs VDSR (+ dehazing).

For each test film and scale s: the film (optionally its central ``crop`` x ``crop``
region, at full resolution) is the ground truth; each method (``evaluation.methods``) is
a reference-mode recipe of the one pipeline, which downscales the truth (antialiased
bicubic, clipped to [0, 1] as a real low-resolution film is), upsamples it by bicubic
(the "bicubic" row) and restores it; PSNR, SSIM and ICI are measured against the ground
truth after removing a border of 8 + s pixels. Protocols (``core.quality.realistic``):
"clean" as above; "jpeg75"/"jpeg90": the low-resolution film saved as JPEG at that
quality; "noisy": Poisson-Gaussian noise at the corpus median. Each method's
``blockiness`` (``metrics.blockiness`` of its output over bicubic's: the 8-pixel JPEG grid
amplified when above 1) is scored with it. ``evaluate_films`` is a generator yielding one ``FilmResult`` per film and
returning nothing; ``summarise`` turns the rows into per-dataset statistics with paired
Wilcoxon signed-rank p-values against bicubic.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Generator, Iterable, Mapping

import numpy as np
import torch
from scipy.stats import wilcoxon

from xrayview.core.enhance.pipeline import enhance
from xrayview.core.evaluation.methods import method_recipe, parse_method
from xrayview.core.generators import drain
from xrayview.core.io import load_film
from xrayview.core.quality.degrade import central_crop
from xrayview.core.quality.metrics import blockiness, ici, psnr, ssim

log = logging.getLogger(__name__)


@dataclass
class FilmResult:
    """Scores of every method on one film at one scale."""

    film: str
    dataset: str
    scale: int
    shape: tuple[int, int]
    protocol: str = "clean"
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> metric -> v
    images: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def border_for(scale: int) -> int:
    """Pixels removed from each side before scoring: 8 + s (documented in the table)."""
    return 8 + scale


def score(ref: np.ndarray, img: np.ndarray, scale: int,
          bicubic: np.ndarray | None = None) -> dict[str, float]:
    """PSNR (dB), SSIM and ICI of ``img`` against ``ref`` with the 8 + s border removed,
    and its blockiness over that of ``bicubic`` (1.0 for bicubic itself)."""
    b = border_for(scale)
    block = 1.0 if bicubic is None else blockiness(img, scale) / blockiness(bicubic, scale)
    return {"psnr": psnr(ref, img, crop=b), "ssim": ssim(ref, img, crop=b),
            "ici": ici(ref, img, crop=b), "blockiness": block}


def evaluate_films(data_dir: Path, files: Iterable[str], scales: list[int],
                   methods: list[str], crop: int | None = None,
                   keep_images: Callable[[str], bool] | None = None,
                   device: str | torch.device = "auto",
                   models: Mapping[str, torch.nn.Module] | None = None,
                   protocols: Iterable[str] = ("clean",), weights: str = "auto",
                   ) -> Generator[FilmResult, None, None]:
    """Yield a FilmResult per (film, scale, protocol) for ``methods`` (names,
    ``evaluation.methods``); the noisy protocol's noise is seeded per film.

    "bicubic" is always scored; ``keep_images(film)`` True keeps the arrays for figures.
    A method with dehazing and its network part share one pipeline run (the network
    part is that run's ``super_resolved``). models: as ``pipeline.enhance``.
    """
    parsed = [parse_method(m) for m in methods]
    runs = {}  # network part -> the method to run for it (with dehazing if any asks)
    for m in parsed:
        if m.network_part not in runs or m.dehaze:
            runs[m.network_part] = m
    for rel in files:
        hr_full = central_crop(load_film(data_dir / rel).pixels, crop)
        seed = zlib.crc32(rel.encode())
        for s, protocol in ((s, p) for s in scales for p in protocols):
            res, outputs = None, {}
            for part, m in runs.items():
                done = drain(enhance(hr_full, method_recipe(m, s, seed=seed, protocol=protocol,
                                                   weights=weights),
                                     device, models=models, measure=False))
                outputs[part] = done.super_resolved
                if m.dehaze:
                    outputs[m.name] = done.image
                if res is None:
                    hr, bic = done.truth, done.bicubic
                    res = FilmResult(rel, rel.split("/", 1)[0], s, hr.shape, protocol)
                    res.scores["bicubic"] = score(hr, bic, s, bic)
            keep = keep_images(rel) if keep_images else False
            if keep:
                res.images = {"original": hr, "bicubic": bic}
            for m in parsed:
                res.scores[m.name] = score(hr, outputs[m.name], s, bic)
                if keep:
                    res.images[m.name] = outputs[m.name]
            yield res


def _mean_sd(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def summarise(rows: list[FilmResult]) -> list[dict]:
    """Per (protocol, dataset or "all", scale, method): mean/sd of each metric, gain,
    share of films not worse than bicubic, worst blockiness ratio and Wilcoxon p."""
    out = []
    groups = sorted({r.dataset for r in rows}) + ["all"]
    protocols = list(dict.fromkeys(r.protocol for r in rows))
    for protocol, group in ((p, g) for p in protocols for g in groups):
        sel = [r for r in rows if (group == "all" or r.dataset == group)
               and r.protocol == protocol]
        for s in sorted({r.scale for r in sel}):
            at = [r for r in sel if r.scale == s]
            methods = list(at[0].scores)
            base = [r.scores["bicubic"]["psnr"] for r in at]
            base_ssim = [r.scores["bicubic"]["ssim"] for r in at]
            for m in methods:
                entry = {"protocol": protocol, "dataset": group, "scale": s, "method": m,
                         "n": len(at)}
                for metric in ("psnr", "ssim", "ici"):
                    entry[metric], entry[metric + "_sd"] = _mean_sd([r.scores[m][metric] for r in at])
                vals = [r.scores[m]["psnr"] for r in at]
                diffs = np.asarray(vals) - np.asarray(base)
                entry["gain_db"] = float(diffs.mean())
                entry["not_worse"] = float(np.mean(diffs >= 0))
                entry["blockiness_max"] = float(max(r.scores[m].get("blockiness", 1.0)
                                                    for r in at))
                entry["ssim_ge_bicubic"] = float(np.mean(
                    [r.scores[m]["ssim"] >= b for r, b in zip(at, base_ssim)]))
                entry["wilcoxon_p"] = None
                if m != "bicubic" and len(at) >= 6 and np.any(diffs != 0):
                    entry["wilcoxon_p"] = float(wilcoxon(vals, base).pvalue)
                out.append(entry)
    return out


def markdown_table(summary: list[dict], crop: int | None) -> str:
    """The comparison table (PSNR/SSIM/ICI mean ± sd, gain over bicubic, share of films
    not worse, worst blockiness ratio, Wilcoxon p), one block per protocol."""
    region = f"central {crop} x {crop} px region" if crop else "whole film"
    lines = [
        f"Ground truth: each test film ({region}, full resolution). Input: antialiased "
        "bicubic downscale by s, then the protocol (clean; jpeg75/jpeg90: the low-resolution "
        "film saved as JPEG; noisy: Poisson-Gaussian noise at the corpus median), bicubic "
        "upscale. Border of 8 + s px removed before scoring. not worse: share of films whose "
        "PSNR >= bicubic's. blockiness: worst film's output/bicubic ratio of gradient energy "
        "across the 8-pixel JPEG grid (<= 1: no block amplification). p: paired Wilcoxon "
        "signed-rank test of PSNR against bicubic (n >= 6).",
        "",
        "| protocol | dataset | scale | method | n | PSNR (dB) | gain (dB) | not worse | "
        "SSIM | ICI | SSIM >= bicubic | blockiness | p |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for e in summary:
        p = "" if e["wilcoxon_p"] is None else f"{e['wilcoxon_p']:.1e}"
        lines.append(
            f"| {e.get('protocol', 'clean')} | {e['dataset']} | x{e['scale']} | {e['method']} "
            f"| {e['n']} | {e['psnr']:.2f} ± {e['psnr_sd']:.2f} | {e['gain_db']:+.2f} | "
            f"{100 * e.get('not_worse', 1.0):.0f}% | "
            f"{e['ssim']:.4f} ± {e['ssim_sd']:.4f} | {e['ici']:.4f} ± {e['ici_sd']:.4f} | "
            f"{100 * e['ssim_ge_bicubic']:.0f}% | {e.get('blockiness_max', 1.0):.3f} | {p} |")
    return "\n".join(lines) + "\n"
