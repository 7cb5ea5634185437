"""Metrics on known cases: identity, known noise, bit-depth independence of ICI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrayview.core.quality import metrics


def _film(shape=(96, 128), seed=0) -> np.ndarray:
    """A smooth structured test image, float32 in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    img = 0.5 + 0.2 * np.sin(9 * xx + 2) * np.cos(7 * yy) + 0.1 * np.sin(40 * xx * yy)
    img += 0.02 * rng.standard_normal(shape)
    return np.clip(img, 0.1, 0.9).astype(np.float32)


def test_identical_images_score_perfectly():
    a = _film()
    assert metrics.psnr(a, a) == math.inf
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    assert metrics.ms_ssim(a, a) == pytest.approx(1.0)
    assert metrics.ici(a, a) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(metrics.ici_map(a, a), 1.0, atol=1e-6)
    assert not np.any(metrics.signed_difference(a, a))


def test_psnr_of_known_noise_level():
    rng = np.random.default_rng(1)
    ref = np.full((256, 256), 0.5)
    img = ref + 0.01 * rng.standard_normal(ref.shape)  # sigma 0.01 -> 40 dB
    assert metrics.psnr(ref, img) == pytest.approx(40.0, abs=0.1)
    # data_range scales: the same error on a [0, 255] scale
    assert metrics.psnr(255 * ref, 255 * img, data_range=255) == pytest.approx(
        metrics.psnr(ref, img), abs=1e-9)


def test_crop_removes_border_pixels():
    ref = np.zeros((40, 40))
    img = ref.copy()
    img[:3, :] = 1.0  # damage only in a 3-pixel border
    assert metrics.psnr(ref, img) < 20
    assert metrics.psnr(ref, img, crop=3) == math.inf
    assert metrics.ssim(ref, img, crop=3) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        metrics.psnr(ref, img, crop=20)


def test_degradation_orders_full_reference_scores():
    a = _film()
    rng = np.random.default_rng(2)
    mild = a + 0.01 * rng.standard_normal(a.shape)
    strong = a + 0.05 * rng.standard_normal(a.shape)
    for f in (metrics.ssim, metrics.ms_ssim, metrics.ici):
        assert 1.0 > f(a, mild) > f(a, strong)
    inverted = 1.0 - a
    assert metrics.ici(a, inverted) < 0  # structure reversed


def test_ici_is_bit_depth_independent():
    a = _film(seed=3)
    b = np.clip(a + 0.04 * np.random.default_rng(4).standard_normal(a.shape), 0, 1)
    q8 = [np.round(x * 255).astype(np.uint8) for x in (a, b)]
    q16 = [np.round(x * 65535).astype(np.uint16) for x in (a, b)]
    ici8 = metrics.ici(*q8, data_range=255)
    ici16 = metrics.ici(*q16, data_range=65535)
    assert ici8 == pytest.approx(ici16, abs=2e-3)
    assert ici16 == pytest.approx(metrics.ici(a, b), abs=1e-4)
    m8 = metrics.ici_map(*q8, data_range=255)
    assert m8.shape == a.shape and m8.dtype == np.float32
    assert np.all(m8 <= 1.0) and np.all(m8 >= -1.0)


def test_signed_difference_sign_and_dtype():
    ref = np.zeros((4, 5), np.float32)
    img = ref + 0.25
    d = metrics.signed_difference(img, ref)
    assert d.dtype == np.float32 and d.shape == (4, 5) and np.all(d == 0.25)


def test_no_reference_measures():
    flat = np.full((32, 32), 0.3, np.float32)
    assert metrics.rms_contrast(flat) == pytest.approx(0.0, abs=1e-7)
    assert metrics.mean_gradient(flat) == pytest.approx(0.0, abs=1e-7)
    assert metrics.mean_brightness(flat) == pytest.approx(0.3)
    a = _film()
    low = 0.5 + 0.5 * (a - 0.5)  # half the contrast
    assert metrics.rms_contrast(low) == pytest.approx(0.5 * metrics.rms_contrast(a), rel=1e-5)
    assert metrics.mean_gradient(low) == pytest.approx(0.5 * metrics.mean_gradient(a),
                                                       rel=1e-5)
    ramp = np.tile(np.arange(16, dtype=np.float64) / 100, (8, 1))
    assert metrics.mean_gradient(ramp) == pytest.approx(0.01)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((8, 8)), np.zeros((8, 9)))
