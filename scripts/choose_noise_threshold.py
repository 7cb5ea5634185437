"""Choose ``core.quality.noise.NOISY_SIGMA``: the noise level above which "auto" weights
run a model's robust weights instead of its clean ones.

Usage: python scripts/choose_noise_threshold.py [--data ../shared/data/cxr] [--scales 2 4]
       [--crop 512] [--levels 0 0.5 1 2] [--subset val] [--out DIR]

For each film of the split subset (its central ``crop`` px) and scale, the low-resolution
input is made with antialiased bicubic and then Poisson-Gaussian noise at ``level`` times
the evaluation's noisy protocol (level 1 = the median train film, ``NOISY_PROTOCOL``;
level 0 = the clean protocol, no noise and no 8-bit rounding; noisy inputs are rounded to 8
bits as films are). VDSR runs on it with its clean and its robust weights
(``registry.weights_for``). Every threshold between two measured ``noise_sigma`` values is
scored by the mean PSNR gain over bicubic of all inputs when those above it get the robust
weights; the best one is printed with per-level means, and ``DIR/noise_routing.csv`` keeps
the per-input numbers. The weights on disk are used (``XRAYVIEW_MODELS_DIR`` to stage).
"""

import argparse
import csv
import zlib
from pathlib import Path

import numpy as np
import torch

from xrayview.core.enhance.pipeline import enhance
from xrayview.core.enhance.recipe import Recipe
from xrayview.core.evaluation.super_resolution import score
from xrayview.core.generators import drain
from xrayview.core.io import load_film
from xrayview.core.models import registry
from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.quality.degrade import central_crop, crop_to_multiple, downscale
from xrayview.core.quality.noise import NOISY_SIGMA, add_poisson_gaussian, noise_sigma
from xrayview.core.quality.realistic import NOISY_PROTOCOL, quantise8
from xrayview.core.training.dataset import load_split

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data/cxr", type=Path)
ap.add_argument("--split", default="models/data_split.json", type=Path)
ap.add_argument("--subset", default="val", choices=["val", "test", "train"])
ap.add_argument("--scales", type=int, nargs="+", default=[2, 4])
ap.add_argument("--crop", type=int, default=512)
ap.add_argument("--levels", type=float, nargs="+", default=[0, 0.5, 1, 2],
                help="noise as multiples of the noisy protocol's standard deviation")
ap.add_argument("--limit", type=int, default=None)
ap.add_argument("--out", type=Path, default=Path("docs/evaluation/noise_routing"))
args = ap.parse_args()

films = load_split(args.split)[args.subset][:args.limit]
nets = {}
for s in args.scales:
    for robust in (False, True):
        key = registry.weights_for("vdsr", s, robust=robust)
        nets.setdefault(key, registry.load_model(key))
print("weights:", {s: (registry.weights_for("vdsr", s), registry.weights_for("vdsr", s, robust=True))
                   for s in args.scales})


def low_resolution(hr: np.ndarray, s: int, level: float, seed: int) -> np.ndarray:
    t = torch.from_numpy(hr)[None, None]
    lr = downscale(t, s).clamp(0, 1)
    if level > 0:
        gen = np.random.default_rng(seed)
        n = torch.from_numpy(gen.standard_normal(lr.shape).astype(np.float32))
        a, b = (v * level ** 2 for v in NOISY_PROTOCOL)
        lr = quantise8(add_poisson_gaussian(lr, a, b, n))
    return np.ascontiguousarray(lr[0, 0].numpy(), dtype=np.float32)


def gain(lr: np.ndarray, hr: np.ndarray, s: int, weights: str) -> float:
    recipe = Recipe(model="vdsr", scale=s, precision="fp32", weights=weights)
    out = drain(enhance(lr, recipe, "cpu", models=nets, measure=False)).image
    bic = upsample(lr, s)
    return score(hr, out, s, bic)["psnr"] - score(hr, bic, s, bic)["psnr"]


rows = []
for i, rel in enumerate(films):
    full = central_crop(load_film(args.data / rel).pixels, args.crop)
    seed = zlib.crc32(rel.encode())
    for s in args.scales:
        hr = np.ascontiguousarray(crop_to_multiple(full, s), dtype=np.float32)
        for level in args.levels:
            lr = low_resolution(hr, s, level, seed)
            rows.append({"film": rel, "scale": s, "level": level, "sigma": noise_sigma(lr),
                         "clean": gain(lr, hr, s, "clean"), "robust": gain(lr, hr, s, "robust")})
    print(f"[{i + 1}/{len(films)}] {rel}", flush=True)

args.out.mkdir(parents=True, exist_ok=True)
with open(args.out / "noise_routing.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)


def routed(sel: list[dict], t: float) -> np.ndarray:
    return np.array([r["robust"] if r["sigma"] > t else r["clean"] for r in sel])


def report(sel: list[dict], t: float, label: str) -> None:
    print(f"  {label} (threshold {t:.5f}): mean gain {routed(sel, t).mean():+.3f} dB")
    for level in args.levels:
        at = [r for r in sel if r["level"] == level]
        g = routed(at, t)
        clean = np.array([r["clean"] for r in at])
        robust = np.array([r["robust"] for r in at])
        sent = sum(r["sigma"] > t for r in at)
        print(f"    level {level:g}: routed {g.mean():+.3f} dB ({(g >= 0).mean():.0%} not worse "
              f"than bicubic), clean {clean.mean():+.3f}, robust {robust.mean():+.3f}; "
              f"{sent}/{len(at)} sent to robust")


for s in args.scales + [None]:
    sel = [r for r in rows if s is None or r["scale"] == s]
    cuts = np.unique([r["sigma"] for r in sel])
    candidates = np.concatenate([[0.0], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1]])
    best = max(candidates, key=lambda t: routed(sel, t).mean())
    print(f"{'all scales' if s is None else f'x{s}'}:")
    report(sel, best, "best")
    report(sel, NOISY_SIGMA, "shipped NOISY_SIGMA")
