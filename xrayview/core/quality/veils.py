"""Veil families for training and evaluating the dehazer: every kind of "too gray" film.

A film J (MONOCHROME2, float32 (H, W) in [0, 1]) is veiled with ``strength`` in [0, 1]
(0 = J exactly) by one of the families:

``scatter``      ``degrade.veil``: scatter-to-primary ratio field over a broad blur of J
                 (the family the shipped dehazer was trained on).
``atmospheric``  the classical haze model I = t·J + (1 - t)·A with a global airlight
                 A ~ U(0, 1) (anywhere: dark fog as well as bright) and a smooth
                 transmission t(x) = clip(t̄·(1 + v·r(x)), 0.15, 1), t̄ = 1 - 0.7·strength,
                 v ~ U(0, 0.3), r a sum of low-frequency cosines (|r| <= 1).
``exposure``     a too-soft film: I = o + g·J^γ, gain g = 1 - 0.65·strength, gamma
                 γ = exp(U(-0.5, 0.5)·strength), offset o ~ U(0.15, 0.85)·(1 - g) (contrast
                 compressed around a random level; no spatial structure).

All three keep I in [0, 1]. ``veil_mixture_batch`` draws a family per film (uniformly
from the ones given, so a family can be left out for leave-one-family-out evaluation),
leaving a share of films clean.
"""

from __future__ import annotations

import numpy as np
import torch

from xrayview.core.quality.degrade import _smooth_field, _uniform, _veil_one

VEIL_FAMILIES = ("scatter", "atmospheric", "exposure")


def _atmospheric(j: torch.Tensor, strength: float, gen: torch.Generator | None) -> torch.Tensor:
    h, w = j.shape[-2:]
    airlight = _uniform(0.0, 1.0, gen)
    t_mean = 1.0 - 0.7 * strength
    v = _uniform(0.0, 0.3, gen)
    t = (t_mean * (1 + v * _smooth_field(h, w, gen, j.device, j.dtype))).clamp(0.15, 1.0)
    return t * j + (1 - t) * airlight


def _exposure(j: torch.Tensor, strength: float, gen: torch.Generator | None) -> torch.Tensor:
    gain = 1.0 - 0.65 * strength
    gamma = float(np.exp(_uniform(-0.5, 0.5, gen) * strength))
    offset = _uniform(0.15, 0.85, gen) * (1 - gain)
    return offset + gain * j.clamp(0, 1) ** gamma


def veil_one(j: torch.Tensor, family: str, strength: float,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Veil one film (1, 1, H, W) in [0, 1] with ``family`` at ``strength``; same shape."""
    if family not in VEIL_FAMILIES:
        raise ValueError(f"unknown veil family {family!r}; one of {', '.join(VEIL_FAMILIES)}")
    if strength <= 0:
        return j.clone()
    if family == "scatter":
        return _veil_one(j, strength, generator)
    fn = _atmospheric if family == "atmospheric" else _exposure
    return fn(j, float(strength), generator).clamp_(0.0, 1.0)


def veil_family(img: np.ndarray, strength: float, family: str = "scatter",
                seed: int | None = None) -> np.ndarray:
    """Numpy form of ``veil_one``: float (H, W) in [0, 1] -> float32 (H, W) in [0, 1]."""
    x = np.ascontiguousarray(img, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"veil expects an (H, W) film, got shape {x.shape}")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    return veil_one(torch.from_numpy(x)[None, None], family, float(strength), gen)[0, 0].numpy()


def veil_mixture_batch(hr: torch.Tensor, generator: torch.Generator | None = None,
                       clean_fraction: float = 0.2, families: tuple[str, ...] = VEIL_FAMILIES,
                       max_strength: float = 1.0) -> torch.Tensor:
    """Training pairs: each film of ``hr`` (N, 1, H, W) in [0, 1] left clean with
    probability ``clean_fraction``, else veiled by a family drawn uniformly from
    ``families`` (a family listed twice is drawn twice as often) at strength
    ~ U(0.05, max_strength). Returns the veiled batch."""
    if not families or set(families) - set(VEIL_FAMILIES):
        raise ValueError(f"veil families must be some of {', '.join(VEIL_FAMILIES)}")
    out = torch.empty_like(hr)
    for i in range(hr.shape[0]):
        strength = 0.0
        family = families[int(torch.randint(len(families), (), generator=generator))]
        if float(torch.rand((), generator=generator)) >= clean_fraction:
            strength = _uniform(0.05, max_strength, generator)
        out[i:i + 1] = veil_one(hr[i:i + 1], family, strength, generator)
    return out
