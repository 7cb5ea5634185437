"""Dehazing evaluation: veiled test films (does it restore?) and clean films (does it wash out?).

Veiled: each test film J (optionally its central crop) gets ``degrade.veil`` at each
strength with a fixed seed per film; the dehazer runs under the stop rule; we report the
PSNR of the veiled input and of the result against J, steps run and the stop reason.
Clean: the dehazer runs on J itself; we report SSIM of the result against J and the
ratios of mean brightness and RMS contrast (result / input), which must stay near 1.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Generator, Iterable

import numpy as np
import torch

from xrayview.core.enhance.pipeline import Enhanced, enhance
from xrayview.core.evaluation.methods import dehazing_recipe
from xrayview.core.generators import drain
from xrayview.core.io import load_film
from xrayview.core.models import registry
from xrayview.core.quality.degrade import central_crop
from xrayview.core.quality.metrics import mean_brightness, psnr, rms_contrast, ssim


@dataclass
class DehazeResult:
    film: str
    dataset: str
    strength: float  # 0 = the clean film
    psnr_input: float  # veiled input vs clean truth (inf for strength 0)
    psnr_output: float
    ssim_output: float  # result vs clean truth
    brightness_ratio: float  # mean brightness, result / truth
    contrast_ratio: float  # RMS contrast, result / truth
    steps: int
    reason: str
    family: str = "scatter"  # the veil family (core.quality.veils); moot at strength 0


def dehaze_film(truth: np.ndarray, strength: float, seed: int, model: torch.nn.Module,
                rule_kwargs: dict | None = None, device: str | torch.device = "auto",
                family: str = "scatter") -> Enhanced:
    """The pipeline's dehazing of ``truth`` (float32 (H, W) in [0, 1]) veiled with
    ``strength`` (0: the clean film) by veil ``family`` seeded with ``seed``."""
    recipe = dehazing_recipe(strength, seed, rule_kwargs, family)
    return drain(enhance(truth, recipe, device, models={registry.dehazer(): model},
                         measure=False))


def evaluate_dehazing(data_dir: Path, files: Iterable[str], model: torch.nn.Module,
                      strengths: list[float], crop: int | None = None,
                      rule_kwargs: dict | None = None, device: str | torch.device = "auto",
                      families: Iterable[str] = ("scatter",),
                      ) -> Generator[DehazeResult, None, None]:
    """Yield one DehazeResult per (film, family, strength > 0) and one per film for
    strength 0 (the clean-film check, family "clean")."""
    for rel in files:
        truth = central_crop(load_film(data_dir / rel).pixels, crop)
        seed = zlib.crc32(rel.encode())
        runs = [(f, s) for f in families for s in strengths if s > 0]
        runs = ([("clean", 0.0)] if any(s <= 0 for s in strengths) else []) + runs
        for family, strength in runs:
            done = dehaze_film(truth, strength, seed, model, rule_kwargs, device,
                               "scatter" if family == "clean" else family)
            src, out = done.film, done.image
            yield DehazeResult(
                film=rel, dataset=rel.split("/", 1)[0], strength=strength,
                psnr_input=psnr(truth, src), psnr_output=psnr(truth, out),
                ssim_output=ssim(truth, out),
                brightness_ratio=mean_brightness(out) / max(mean_brightness(truth), 1e-9),
                contrast_ratio=rms_contrast(out) / max(rms_contrast(truth), 1e-9),
                steps=len(done.steps), reason=done.stop_reason.split(":", 1)[0],
                family=family)


def dehaze_table(rows: list[DehazeResult]) -> str:
    """Markdown: per strength, mean PSNR in/out and gain; clean: SSIM and ratios (min..max)."""
    lines = ["| veil family | veil strength | n | PSNR input (dB) | PSNR output (dB) | gain (dB) | "
             "worst gain (dB) | SSIM vs truth | brightness ratio | contrast ratio | mean steps | "
             "stop reasons |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- |"]
    for family, strength in sorted({(r.family, r.strength) for r in rows},
                                   key=lambda k: (k[1] > 0, k[0], k[1])):
        at = [r for r in rows if r.strength == strength and r.family == family]
        pin = np.array([r.psnr_input for r in at])
        pout = np.array([r.psnr_output for r in at])
        gain = "" if strength == 0 else f"{np.mean(pout - pin):+.2f}"
        worst = "" if strength == 0 else f"{np.min(pout - pin):+.2f}"
        reasons = {}
        for r in at:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        rng = lambda v: f"{np.mean(v):.4f} ({np.min(v):.4f}..{np.max(v):.4f})"  # noqa: E731
        lines.append(
            f"| {family} | {strength:g} | {len(at)} | "
            f"{'clean' if strength == 0 else f'{pin.mean():.2f}'} | "
            f"{'' if strength == 0 else f'{pout.mean():.2f}'} | {gain} | {worst} | "
            f"{rng([r.ssim_output for r in at])} | {rng([r.brightness_ratio for r in at])} | "
            f"{rng([r.contrast_ratio for r in at])} | {np.mean([r.steps for r in at]):.1f} | "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + " |")
    return "\n".join(lines) + "\n"
