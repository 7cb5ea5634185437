"""Separable resampling with a chosen kernel: bicubic (Keys a = -0.5 or -0.75), bilinear,
area (box) and Lanczos-3, antialiased when downscaling.

Each output sample is a weighted sum of input samples under the kernel centred on the
output sample's position in input coordinates (pixel centres, ``(i + 0.5) / f - 0.5``);
when shrinking by f the kernel is stretched by 1/f (antialiasing); taps that fall outside
the image are dropped and the weights renormalised (as Pillow does, so ``keys-0.5``,
``bilinear``, ``area`` and ``lanczos3`` reproduce Pillow's BICUBIC, BILINEAR, BOX and
LANCZOS on float images; ``keys-0.75`` is the Keys kernel that OpenCV and torch's
non-antialiased bicubic use). A (H, W) image is resampled as ``Ry @ img @ Rx.T`` with
two small dense matrices, so a batch of patches costs two matrix products.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import torch


def _keys(a: float) -> Callable[[np.ndarray], np.ndarray]:
    def k(x: np.ndarray) -> np.ndarray:
        x = np.abs(x)
        return np.where(x < 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                        np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))
    return k


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _box(x: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _lanczos3(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


# name -> (kernel, support radius in input pixels at scale 1)
KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "keys-0.5": (_keys(-0.5), 2.0),
    "keys-0.75": (_keys(-0.75), 2.0),
    "bilinear": (_triangle, 1.0),
    "area": (_box, 0.5),
    "lanczos3": (_lanczos3, 3.0),
}


@lru_cache(maxsize=256)
def resample_matrix(n_in: int, n_out: int, kernel: str) -> np.ndarray:
    """float32 (n_out, n_in) matrix taking a length-``n_in`` signal to ``n_out`` samples.

    Rows sum to 1. ``kernel`` is a key of ``KERNELS``; ValueError otherwise.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown resampling kernel {kernel!r}; one of {', '.join(KERNELS)}")
    if n_in < 1 or n_out < 1:
        raise ValueError("resample sizes must be at least 1")
    fn, support = KERNELS[kernel]
    scale = n_in / n_out
    stretch = max(scale, 1.0)  # antialias: widen the kernel when shrinking
    centres = (np.arange(n_out) + 0.5) * scale
    lo = np.floor(centres - support * stretch).astype(int)
    width = int(np.ceil(2 * support * stretch)) + 2
    taps = lo[:, None] + np.arange(width)[None, :]
    weights = fn((taps + 0.5 - centres[:, None]) / stretch)
    weights = np.where((taps >= 0) & (taps < n_in), weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    out = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.repeat(np.arange(n_out), width)
    valid = ((taps >= 0) & (taps < n_in)).ravel()
    np.add.at(out, (rows[valid], taps.ravel()[valid]), weights.ravel()[valid])
    return out.astype(np.float32)


def resize(img: torch.Tensor, size: tuple[int, int], kernel: str) -> torch.Tensor:
    """Resample (..., H, W) float to (..., h, w) = ``size`` with ``kernel`` (not clamped:
    cubic and Lanczos kernels overshoot slightly at edges)."""
    h, w = img.shape[-2:]
    ry = torch.from_numpy(resample_matrix(h, size[0], kernel)).to(img.device, img.dtype)
    rx = torch.from_numpy(resample_matrix(w, size[1], kernel)).to(img.device, img.dtype)
    return ry @ img @ rx.T
