"""The chest-film corpus: a fixed train/validation/test split by file, and training patches.

Split (``make_split``): per dataset folder (stratified), files are grouped by patient where
the file name says so (Kermany ``personNNNN_...``; NIH names start with the patient
number; the Hannover files carry no patient key, so each file is its own group), groups
are shuffled with a fixed seed and assigned 70 / 15 / 15 % to train / val / test. The
result is committed as ``models/data_split.json``; the test split is never used for
training or model selection.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xrayview.core.io import load_film

SPLIT_SEED = 20261126
FRACTIONS = (0.70, 0.15, 0.15)
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm"}


def corpus_files(data_dir: Path) -> list[str]:
    """Relative paths of the films in ``data_dir`` (from MANIFEST.csv when present), sorted."""
    manifest = data_dir / "MANIFEST.csv"
    if manifest.is_file():
        with open(manifest, newline="") as fh:
            return sorted(row["file"] for row in csv.DictReader(fh))
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*")
                  if p.suffix.lower() in _IMAGE_SUFFIXES)


def patient_key(rel: str) -> str:
    """Group key so films of one patient stay in one split."""
    folder, name = rel.split("/", 1) if "/" in rel else ("", rel)
    m = re.match(r"(person\d+)_", name)
    if m:
        return f"{folder}/{m.group(1)}"
    m = re.match(r"(\d{8})_\d{3}\.png$", name)  # NIH: patient_followup.png
    if m:
        return f"{folder}/{m.group(1)}"
    return rel


def make_split(files: list[str], seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """Stratified (by folder), patient-grouped split -> {"train": [...], "val": [...], "test": [...]}."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    folders = sorted({f.split("/", 1)[0] for f in files})
    for folder in folders:
        groups: dict[str, list[str]] = {}
        for f in files:
            if f.split("/", 1)[0] == folder:
                groups.setdefault(patient_key(f), []).append(f)
        keys = sorted(groups)
        rng.shuffle(keys)
        n = len(keys)
        n_val = max(1, round(FRACTIONS[1] * n))
        n_test = max(1, round(FRACTIONS[2] * n))
        n_train = n - n_val - n_test
        for name, part in (("train", keys[:n_train]), ("val", keys[n_train:n_train + n_val]),
                           ("test", keys[n_train + n_val:])):
            for k in part:
                out[name].extend(sorted(groups[k]))
    return {k: sorted(v) for k, v in out.items()}


def load_split(path: Path) -> dict[str, list[str]]:
    """Read a committed split file (``models/data_split.json``)."""
    with open(path) as fh:
        data = json.load(fh)
    return {k: list(data[k]) for k in ("train", "val", "test")}


@dataclass
class PatchBank:
    """Training patches kept in memory as uint16 (N, P, P) in [0, 65535] (full precision)."""

    patches: np.ndarray
    sources: list[str]

    def batch(self, idx: np.ndarray) -> np.ndarray:
        """float32 (B, 1, P, P) in [0, 1] for the given patch indices."""
        return (self.patches[idx].astype(np.float32) / 65535.0)[:, None]


def _texture_weights(img: np.ndarray, patch: int) -> np.ndarray:
    """Sampling weight per valid top-left corner (strided grid): local gradient energy."""
    gy, gx = np.gradient(img)
    energy = np.hypot(gx, gy)
    stride = max(patch // 4, 1)
    h, w = img.shape
    ys = np.arange(0, h - patch + 1, stride)
    xs = np.arange(0, w - patch + 1, stride)
    csum = np.pad(energy.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    y0, x0 = ys[:, None], xs[None, :]
    box = (csum[y0 + patch, x0 + patch] - csum[y0, x0 + patch]
           - csum[y0 + patch, x0] + csum[y0, x0])
    return ys, xs, np.clip(box, 0.0, None)  # cancellation can leave tiny negatives


def extract_patches(data_dir: Path, files: list[str], patch: int, per_film: int,
                    seed: int, textured_fraction: float = 0.5) -> PatchBank:
    """Random patches from each film: half uniform, half weighted by gradient energy.

    Chest films are mostly smooth; weighting toward edges (ribs, vessels, lines) gives the
    networks more of what super-resolution changes, while the uniform half keeps smooth
    regions represented so the models leave them alone.
    """
    rng = np.random.default_rng(seed)
    out, sources = [], []
    for rel in files:
        img = load_film(data_dir / rel).pixels
        if min(img.shape) < patch:
            continue
        ys, xs, box = _texture_weights(img, patch)
        p = (box / box.sum()).ravel() if box.sum() > 0 else None
        n_tex = int(round(per_film * textured_fraction))
        picks = []
        for _ in range(n_tex):
            k = rng.choice(box.size, p=p)
            picks.append((ys[k // len(xs)], xs[k % len(xs)]))
        for _ in range(per_film - n_tex):
            picks.append((rng.integers(0, img.shape[0] - patch + 1),
                          rng.integers(0, img.shape[1] - patch + 1)))
        for y, x in picks:
            out.append(np.round(img[y:y + patch, x:x + patch] * 65535.0).astype(np.uint16))
            sources.append(rel)
    return PatchBank(np.stack(out), sources)


def extract_film_views(data_dir: Path, files: list[str], size: int, per_film: int,
                       seed: int, min_fraction: float = 0.6) -> PatchBank:
    """Whole-film views for the dehazer: random crops covering ``min_fraction``..1 of each
    side, resized (antialiased) to ``size`` x ``size``; uint16 (N, size, size).

    The dehazer works on a small copy of the whole film (a scatter veil is a property of
    the film, not of a 100-pixel patch), so it trains on views of anatomy, not texture.
    """
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    out, sources = [], []
    for rel in files:
        img = load_film(data_dir / rel).pixels
        h, w = img.shape
        for _ in range(per_film):
            f = rng.uniform(min_fraction, 1.0)
            ch, cw = int(h * f), int(w * f)
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            t = torch.from_numpy(np.ascontiguousarray(img[y:y + ch, x:x + cw]))[None, None]
            small = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True,
                                  align_corners=False)[0, 0].clamp(0, 1).numpy()
            out.append(np.round(small * 65535.0).astype(np.uint16))
            sources.append(rel)
    return PatchBank(np.stack(out), sources)
