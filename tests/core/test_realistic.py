"""Realistic degradations: resampling kernels, noise estimation, the training pipeline,
evaluation protocols, blockiness and per-scale weights in the registry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from tests.support.model_factory import add_vdsr_variant, make_models_dir
from xrayview.core.enhance.pipeline import enhance, robust_reason
from xrayview.core.enhance.recipe import REFERENCE_PROTOCOLS, Recipe, RecipeError, Reference
from xrayview.core.generators import drain
from xrayview.core.models import registry
from xrayview.core.quality.degrade import downscale, low_resolution_pair
from xrayview.core.quality.metrics import blockiness
from xrayview.core.quality.noise import estimate_noise, is_noisy, noise_sigma
from xrayview.core.quality.realistic import (
    KERNEL_NAMES,
    PROFILES,
    PROTOCOLS,
    degrade_low_resolution,
    jpeg,
    protocol_low_resolution,
    quantise8,
    realistic_pair,
)
from xrayview.core.quality.resample import resample_matrix, resize


@pytest.mark.parametrize("kernel,pillow", [("keys-0.5", Image.BICUBIC),
                                           ("bilinear", Image.BILINEAR),
                                           ("area", Image.BOX), ("lanczos3", Image.LANCZOS)])
@pytest.mark.parametrize("size", [(48, 45), (24, 30), (192, 180)])
def test_kernels_reproduce_pillow_on_float_images(kernel, pillow, size):
    img = np.random.default_rng(1).random((96, 90)).astype(np.float32)
    ref = np.asarray(Image.fromarray(img, "F").resize((size[1], size[0]), pillow))
    ours = resize(torch.from_numpy(img), size, kernel).numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-6)


def test_keys_half_is_torch_antialiased_bicubic_and_keys_075_is_not():
    img = torch.rand(1, 1, 64, 60, generator=torch.Generator().manual_seed(0))
    ref = F.interpolate(img, size=(32, 30), mode="bicubic", antialias=True, align_corners=False)
    assert torch.allclose(resize(img, (32, 30), "keys-0.5"), ref, atol=1e-6)
    assert not torch.allclose(resize(img, (32, 30), "keys-0.75"), ref, atol=1e-3)
    m = resample_matrix(64, 32, "keys-0.75")
    np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="unknown resampling kernel"):
        resample_matrix(8, 4, "nearest")


@pytest.mark.parametrize("a,b", [(1e-4, 1e-5), (4e-4, 0.0), (0.0, 4e-5)])
def test_noise_estimate_recovers_a_known_poisson_gaussian_level(a, b):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512] / 512
    smooth = ndimage.gaussian_filter(0.15 + 0.7 * (0.5 + 0.5 * np.sin(6 * xx) * np.cos(4 * yy)), 4)
    noisy = smooth + np.sqrt(a * smooth + b) * rng.standard_normal(smooth.shape)
    ea, eb = estimate_noise(noisy)
    # the variance at mid-grey is what training draws from: within 15 %
    assert ea * 0.5 + eb == pytest.approx(a * 0.5 + b, rel=0.15)
    assert ea == pytest.approx(a, rel=0.3, abs=2e-5)
    with pytest.raises(ValueError, match="at least 48"):
        estimate_noise(np.zeros((20, 200)))


def test_realistic_pairs_are_valid_seeded_and_not_all_clean():
    hr = torch.rand(6, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    a = realistic_pair(hr, 2, np.random.default_rng(5), clean_fraction=0.0)
    b = realistic_pair(hr, 2, np.random.default_rng(5), clean_fraction=0.0)
    assert a.shape == hr.shape and a.dtype == torch.float32
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert torch.equal(a, b)  # the generator alone decides
    clean = low_resolution_pair(hr, 2)
    assert torch.equal(realistic_pair(hr, 2, np.random.default_rng(5), clean_fraction=1.0), clean)
    per_patch = (a - clean).abs().flatten(1).max(1).values
    assert bool((per_patch > 1e-3).all())  # every patch took some degradation
    lr = degrade_low_resolution(hr[:1], 4, np.random.default_rng(1))
    assert lr.shape == (1, 1, 12, 12)


def test_the_lossy_mixture_is_eight_bit_unblurred_and_named():
    hr = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    gen = np.random.default_rng(3)
    lossy = PROFILES["lossy"]
    outs = [degrade_low_resolution(hr[:1], 2, gen, lossy) for _ in range(12)]
    assert all(torch.equal(lr, quantise8(lr)) for lr in outs)  # always 8-bit
    assert len({lr.numpy().tobytes() for lr in outs}) > 6  # random per draw
    # with noise and JPEG off, what is left is a plain downscale by one of the kernels
    quiet = dataclasses.replace(lossy, noise=0.0, jpeg=0.0, quantise=0.0)
    for seed in range(4):
        lr = degrade_low_resolution(hr[:1], 2, np.random.default_rng(seed), quiet)
        assert any(torch.allclose(lr, resize(hr[:1], (24, 24), k).clamp(0, 1), atol=1e-6)
                   for k in KERNEL_NAMES)
    pair = realistic_pair(hr, 2, np.random.default_rng(5), 0.0, "lossy")
    assert pair.shape == hr.shape and not torch.equal(pair, low_resolution_pair(hr, 2))
    with pytest.raises(ValueError, match="unknown degradation profile"):
        realistic_pair(hr, 2, gen, profile="smooth")


def test_jpeg_rounds_to_eight_bits_and_codes_blocks():
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(2))
    y = jpeg(x, 60)
    assert y.shape == x.shape
    assert torch.allclose(y * 255, torch.round(y * 255), atol=1e-4)
    assert float((y - x).abs().mean()) > 0.01


def test_protocols_degrade_as_documented():
    assert PROTOCOLS == REFERENCE_PROTOCOLS
    hr = np.random.default_rng(3).random((96, 96)).astype(np.float32)
    clean = protocol_low_resolution(hr, 2, "clean")
    ref = downscale(torch.from_numpy(hr)[None, None], 2).clamp(0, 1)[0, 0].numpy()
    np.testing.assert_array_equal(clean, ref)
    for p in ("jpeg75", "jpeg90", "noisy"):
        low = protocol_low_resolution(hr, 2, p, seed=7)
        assert low.shape == (48, 48) and low.min() >= 0 and low.max() <= 1
        assert np.abs(low - clean).mean() > 1e-3
        np.testing.assert_array_equal(low, protocol_low_resolution(hr, 2, p, seed=7))
    assert np.abs(protocol_low_resolution(hr, 2, "jpeg75") - clean).mean() > \
        np.abs(protocol_low_resolution(hr, 2, "jpeg90") - clean).mean()
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_low_resolution(hr, 2, "jpeg50")


def test_blockiness_sees_a_block_grid_at_its_scale():
    rng = np.random.default_rng(4)
    smooth = ndimage.gaussian_filter(rng.random((128, 128)), 2)
    assert blockiness(smooth) == pytest.approx(1.0, abs=0.15)
    blocks = smooth + np.kron(rng.random((16, 16)), np.ones((8, 8))) * 0.05
    assert blockiness(blocks) > 3
    up = np.kron(blocks, np.ones((2, 2)))  # the same film at twice the resolution
    assert blockiness(up, scale=2) > 3
    # half a block off the grid, the same edges count as "elsewhere"
    assert blockiness(np.roll(up, 8, axis=(0, 1)), scale=2) < 1


def test_reference_protocol_in_the_recipe_and_the_pipeline():
    r = Recipe(scale=2, reference=Reference(protocol="jpeg75"))
    assert Recipe.from_json(r.to_json()) == r
    with pytest.raises(RecipeError, match="reference protocol must be one of"):
        Recipe(scale=2, reference=Reference(protocol="webp"))
    truth = np.random.default_rng(5).random((64, 64)).astype(np.float32)
    done = drain(enhance(truth, r, "cpu", measure=False))
    np.testing.assert_array_equal(done.film, protocol_low_resolution(truth, 2, "jpeg75"))
    plain = drain(enhance(truth, Recipe(scale=2, reference=Reference()), "cpu", measure=False))
    assert np.abs(done.bicubic - plain.bicubic).mean() > 1e-3


def _smooth_film(n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n] / n
    return ndimage.gaussian_filter(0.2 + 0.6 * xx * (1 - 0.5 * yy), 2).astype(np.float32)


def test_scale_specific_weights_serve_only_their_scale(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    add_vdsr_variant(root, registry.scale_variant("vdsr", 4), 4, seed=9)
    add_vdsr_variant(root, registry.scale_variant("vdsr", 3), 2, seed=10)  # mislabelled: ignored
    monkeypatch.setenv(registry.MODELS_ENV, str(root))
    assert registry.weights_for("vdsr", 4) == "vdsr-x4"
    assert registry.weights_for("vdsr", 2) == "vdsr"
    assert registry.weights_for("vdsr", 3) == "vdsr"
    assert registry.weights_for("vdsr") == "vdsr"
    at4 = registry.load_model("vdsr", scale=4)
    assert at4.weights_name == "vdsr-x4" and registry.load_model("vdsr", scale=2).weights_name == "vdsr"
    film = _smooth_film(40)  # noiseless: a noisy film would get the robust weights
    x4 = drain(enhance(film, Recipe(model="vdsr", scale=4), "cpu"))
    x2 = drain(enhance(film, Recipe(model="vdsr", scale=2), "cpu"))
    assert x4.weights["vdsr"] == at4.weights_sha256 != x2.weights["vdsr"]


def test_robust_weights_serve_lossy_films_when_asked_or_automatically(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    add_vdsr_variant(root, "vdsr-x2-robust", 2, seed=11)
    monkeypatch.setenv(registry.MODELS_ENV, str(root))
    assert registry.weights_for("vdsr", 2, robust=True) == "vdsr-x2-robust"
    assert registry.weights_for("vdsr", 2) == "vdsr"
    assert registry.weights_for("vdsr", 4, robust=True) == "vdsr"  # none for x4
    add_vdsr_variant(root, registry.scale_variant("vdsr", 4), 4, seed=12)
    assert registry.weights_for("vdsr", 4) == "vdsr-x4"
    # a lossy film at x4 gets the cross-scale weights, not the clean x4 ones
    assert registry.weights_for("vdsr", 4, robust=True) == "vdsr"
    film = _smooth_film(40)  # noiseless: "auto" on it is decided by ``lossy`` alone
    runs = {(w, lossy): drain(enhance(film, Recipe(model="vdsr", scale=2, weights=w), "cpu",
                                      lossy=lossy, measure=False))
            for w in ("auto", "clean", "robust") for lossy in (False, True)}
    ran = {k: v.recipe.weights for k, v in runs.items()}
    assert ran == {("auto", False): "clean", ("auto", True): "robust",
                   ("clean", False): "clean", ("clean", True): "clean",
                   ("robust", False): "robust", ("robust", True): "robust"}
    assert runs[("auto", True)].weights["vdsr"] != runs[("auto", False)].weights["vdsr"]
    # reference mode: the JPEG protocols count as a lossy film
    jpeg = drain(enhance(film, Recipe(model="vdsr", scale=2, reference=Reference(
        protocol="jpeg90")), "cpu", measure=False))
    assert jpeg.recipe.weights == "robust"
    with pytest.raises(RecipeError, match="weights must be one of"):
        Recipe(model="vdsr", scale=2, weights="sharp")


@pytest.mark.parametrize("sigma", [0.002, 0.0055, 0.02])
def test_noise_sigma_measures_white_noise_on_a_smooth_film(sigma):
    film = _smooth_film(256)
    assert noise_sigma(film) < 1e-4
    noisy = film + sigma * np.random.default_rng(4).standard_normal(film.shape)
    assert noise_sigma(noisy) == pytest.approx(sigma, rel=0.1)
    assert noise_sigma(noisy[:101, :77]) == pytest.approx(sigma, rel=0.25)  # odd sides


@pytest.mark.parametrize("shape", [(1, 40), (40,), (3, 4, 4), (0, 0)])
def test_noise_sigma_refuses_what_is_not_a_film(shape):
    with pytest.raises(ValueError, match="noise estimation needs an"):
        noise_sigma(np.zeros(shape))


def test_the_noisy_protocol_and_the_clean_one_fall_on_either_side_of_the_threshold():
    """The evaluation's noisy protocol (the corpus median noise) reads as noisy, its
    clean bicubic low-resolution film as clean."""
    hr = _smooth_film(256)
    assert not is_noisy(protocol_low_resolution(hr, 2, "clean"))
    assert is_noisy(protocol_low_resolution(hr, 2, "noisy", seed=3))


def test_auto_weights_route_a_noisy_film_to_the_robust_weights(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    add_vdsr_variant(root, "vdsr-x2-robust", 2, seed=11)
    monkeypatch.setenv(registry.MODELS_ENV, str(root))
    smooth = _smooth_film(64)
    noisy = np.clip(smooth + 0.02 * np.random.default_rng(5).standard_normal(smooth.shape),
                    0, 1).astype(np.float32)

    def ran(film, weights="auto", model="vdsr", **ref):
        reference = Reference(**ref) if ref else None
        out = drain(enhance(film, Recipe(model=model, scale=2, weights=weights,
                                         reference=reference), "cpu", measure=False))
        return out.recipe.weights, out.weights.get("vdsr")

    robust_sha = registry.load_model("vdsr-x2-robust").weights_sha256
    assert ran(noisy) == ("robust", robust_sha)
    assert ran(smooth)[0] == "clean" and ran(smooth)[1] != robust_sha
    assert ran(noisy, "clean")[0] == "clean"  # the user's choice is never overridden
    # reference mode decides on the degraded input the network sees
    assert ran(smooth, protocol="noisy", seed=2)[0] == "robust"
    assert ran(smooth, protocol="clean")[0] == "clean"
    # bicubic has no weights: nothing to route, and nothing measured
    assert ran(noisy, model=registry.BICUBIC)[1] is None
    # the one-line description (DICOM DerivationDescription, status line) says why
    text = drain(enhance(noisy, Recipe(model="vdsr", scale=2), "cpu")).description
    assert "(robust weights, noisy film: noise sigma 0.0" in text and robust_sha[:16] in text
    assert robust_reason(Recipe(model="vdsr", scale=2), lossy=True) == "lossy-compressed film"
    assert robust_reason(Recipe(model="vdsr", scale=2, weights="robust"), False) == "asked for"
    assert robust_reason(Recipe(model="vdsr", scale=2), False, smooth) == ""
    # a film one pixel thin cannot be measured: it is enhanced with the clean weights
    line = noisy[:1]
    assert robust_reason(Recipe(model="vdsr", scale=2), False, line) == ""
    assert ran(line) == ("clean", registry.load_model("vdsr", scale=2).weights_sha256)


def test_lossy_films_are_recognised(tmp_path):
    from tests.support.dicom_factory import make_dicom
    from xrayview.core.io import load_film

    img = (np.random.default_rng(8).random((64, 64)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "a.jpg", quality=90)
    Image.fromarray(img).save(tmp_path / "a.png")
    assert load_film(tmp_path / "a.jpg").lossy and not load_film(tmp_path / "a.png").lossy
    plain = make_dicom(tmp_path / "a.dcm", img.astype(np.uint16), bits_stored=8)
    marked = make_dicom(tmp_path / "b.dcm", img.astype(np.uint16), bits_stored=8,
                        LossyImageCompression="01")
    assert not load_film(plain).lossy and load_film(marked).lossy
    assert load_film(marked).summary()["lossy_compressed"] is True
