"""Scatter veil: identity at strength 0, lowers contrast, smooth, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xrayview.core.quality import metrics
from xrayview.core.quality.degrade import broad_blur, veil, veil_batch


def _film(shape=(128, 160), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    img = 0.45 + 0.25 * np.sin(8 * xx) * np.cos(6 * yy + 1) + 0.03 * rng.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


def test_strength_zero_is_identity():
    a = _film()
    out = veil(a, 0.0, seed=1)
    assert out.dtype == np.float32 and np.array_equal(out, a)
    assert out is not a


@pytest.mark.parametrize("strength", [0.2, 0.6, 1.0])
def test_veil_lowers_contrast_and_stays_in_range(strength):
    a = _film()
    out = veil(a, strength, seed=2)
    assert out.shape == a.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert metrics.rms_contrast(out) < metrics.rms_contrast(a)
    assert metrics.mean_gradient(out) < metrics.mean_gradient(a)


def test_contrast_falls_with_strength():
    a = _film()
    c = [metrics.rms_contrast(veil(a, s, seed=3)) for s in (0.0, 0.3, 0.6, 1.0)]
    assert c == sorted(c, reverse=True)


def test_veil_is_low_frequency():
    """On a flat film the veil alone shows: smooth, and not constant."""
    flat = np.full((160, 200), 0.4, np.float32)
    out = veil(flat, 1.0, seed=4, params={"beta": 0.3, "a": 0.8, "v": 0.4})
    assert out.max() - out.min() > 1e-3  # a spatially varying veil (fog + SPR field)
    out = out.astype(np.float64)
    first = max(np.abs(np.diff(out, 1, axis=a)).max() for a in (0, 1))
    second = max(np.abs(np.diff(out, 2, axis=a)).max() for a in (0, 1))
    assert first < 0.05 * (out.max() - out.min())  # at most ~1.5 cycles per side
    assert second < 0.1 * first  # no kinks or pixel-scale texture
    # on a structured film, veiled minus t-scaled detail is smooth: the veil's high-pass
    # energy is a fraction of the film's own (detail is scaled by t <= 1, nothing added)
    a = _film()
    v = veil(a, 1.0, seed=4)
    hp = lambda x: x - broad_blur(torch.from_numpy(x)[None, None], 2.0)[0, 0].numpy()  # noqa: E731
    assert np.std(hp(v)) < np.std(hp(a))


def test_seed_makes_veil_reproducible():
    a = _film()
    assert np.array_equal(veil(a, 0.5, seed=7), veil(a, 0.5, seed=7))
    assert not np.array_equal(veil(a, 0.5, seed=7), veil(a, 0.5, seed=8))


def test_veil_batch_mixes_clean_and_veiled():
    hr = torch.from_numpy(np.stack([_film(seed=i) for i in range(12)]))[:, None]
    gen = torch.Generator().manual_seed(0)
    out, strengths = veil_batch(hr, gen, clean_fraction=0.3, return_strength=True)
    assert out.shape == hr.shape and out.dtype == hr.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    clean = strengths == 0
    assert 0 < int(clean.sum()) < 12
    assert torch.equal(out[clean], hr[clean])
    assert torch.all(out[~clean].flatten(1).std(1) < hr[~clean].flatten(1).std(1))
    again = veil_batch(hr, torch.Generator().manual_seed(0), clean_fraction=0.3)
    assert torch.equal(out, again)


def test_veil_rejects_non_2d():
    with pytest.raises(ValueError):
        veil(np.zeros((2, 8, 8), np.float32), 0.5, seed=0)
