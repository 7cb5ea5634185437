"""Realistic low-resolution inputs for training super-resolution, and the evaluation
protocols built from the same parts.

``realistic_pair(hr, scale, gen)`` turns a batch of high-resolution patches into what the
network sees at inference: a degraded low-resolution film, bicubic pre-upsampled (the
pipeline's ``degrade.upscale``). Per patch, independently, each step with a probability
(Real-ESRGAN's second-order pipeline, Wang et al. 2021, is the model; the ranges are ours):

====================  ===========  ==========================================================
step                  probability  parameters
====================  ===========  ==========================================================
blur (high-res)       0.25         isotropic Gaussian σ ~ U(0.2, 0.8)·s/2, or (half the time)
                                   anisotropic σx, σy ~ U(0.2, 1.0)·s/2, angle ~ U(0, π)
downscale by s        1            kernel ~ keys-0.5 (Pillow, torch antialiased bicubic),
                                   keys-0.75, bilinear, area, lanczos3 (``resample``)
noise (low-res)       0.4          Poisson-Gaussian (``noise``): a ~ U(0, 1)·A_MAX,
                                   b ~ U(0, 1)·B_MAX (see NOISE_* below)
JPEG (low-res)        0.6          quality ~ U{50..95} (Pillow, 8-bit, 4:4:4 gray)
second pass           0.2          blur σ ~ U(0.2, 0.8), noise at half the levels, JPEG
8-bit quantisation    0.5          round to 1/255 (always before and after a JPEG)
====================  ===========  ==========================================================

``profile="lossy"`` is the mixture of what the robust weights serve (lossy-compressed
and noisy films, ``registry.weights_for``): no blur and no second pass; the random kernel;
noise with probability 0.5 at levels drawn log-uniformly from a tenth of the median film's
to the maxima below (so the common, low levels are not rare); JPEG with probability 0.7 at
quality U{50..95}; always 8-bit. The "realistic" mixture spends most of its patches on
combinations no film routed to those weights has (blur, second passes).

A share ``clean_fraction`` of the patches keeps the clean protocol (antialiased bicubic
downscale, nothing else) so the model does not lose what it gains there. The blur is mild
on purpose: a first campaign chunk with blur half the time and σ up to 1.2·s/2 taught x2
VDSR to over-sharpen, its clean validation gain falling from +1.1 to -0.3 dB in 300
iterations while JPEG and noisy inputs gained only +0.2 dB.

Noise levels are those measured on the corpus (``noise.estimate_noise`` on the 182 train
films, ``scripts/measure_noise.py`` -> ``docs/evaluation/noise_levels.json``): median
a = 3.5e-5, b = 5.6e-6 (σ = 0.0054 at mid-grey), 90th percentile a = 7.5e-5,
b = 1.9e-5; the noisiest dataset's 90th percentiles are a = 1.6e-4 (Hannover) and
b = 1.1e-4 (Kermany). Training draws a up to 2.5e-4 and b up to 1.1e-4, covering all of
them; NOISY_PROTOCOL is the median film.

Evaluation protocols (``protocol_input``): "clean" (antialiased bicubic, as training's
clean share), "jpeg75" / "jpeg90" (the clean low-resolution film saved as 8-bit JPEG at
that quality), "noisy" (Poisson-Gaussian at NOISY_PROTOCOL on the low-resolution film,
then 8-bit).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from xrayview.core.quality.degrade import downscale, upscale
from xrayview.core.quality.noise import add_poisson_gaussian
from xrayview.core.quality.resample import KERNELS, resize

NOISE_A_MAX = 2.5e-4
NOISE_B_MAX = 1.1e-4
NOISY_PROTOCOL = (3.5e-5, 5.6e-6)  # (a, b) of the median train film (model card)
PROTOCOLS = ("clean", "jpeg75", "jpeg90", "noisy")
KERNEL_NAMES = tuple(KERNELS)


@dataclass(frozen=True)
class Mixture:
    """Probabilities of the steps of ``degrade_low_resolution`` (module docstring)."""

    blur: float = 0.25
    noise: float = 0.4
    jpeg: float = 0.6
    second_pass: float = 0.2
    quantise: float = 0.5
    noise_log_uniform: bool = False  # levels log-uniform from a tenth of NOISY_PROTOCOL


PROFILES = {
    "realistic": Mixture(),
    "lossy": Mixture(blur=0.0, noise=0.5, jpeg=0.7, second_pass=0.0, quantise=1.0,
                     noise_log_uniform=True),
}


def _u(gen: np.random.Generator, lo: float, hi: float) -> float:
    return float(gen.uniform(lo, hi))


def gaussian_kernel(sx: float, sy: float, theta: float) -> torch.Tensor:
    """(1, 1, k, k) normalised anisotropic Gaussian (sigmas in pixels, angle in radians)."""
    r = int(np.ceil(3 * max(sx, sy)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return torch.from_numpy((k / k.sum()).astype(np.float32))[None, None]


def blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """(1, 1, H, W) blurred by ``kernel`` (1, 1, k, k), reflected borders."""
    r = kernel.shape[-1] // 2
    if r == 0:
        return x
    pad = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    k = kernel if pad == r else kernel[..., r - pad:r + pad + 1, r - pad:r + pad + 1]
    return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), k / k.sum())


def quantise8(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels in [0, 1]."""
    return torch.round(x.clamp(0, 1) * 255.0) / 255.0


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """(1, 1, h, w) in [0, 1] saved as an 8-bit grayscale JPEG at ``quality`` and read back."""
    a = np.round(x[0, 0].clamp(0, 1).numpy() * 255.0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, "L").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    back = np.asarray(Image.open(buf), dtype=np.float32) / 255.0
    return torch.from_numpy(back.copy())[None, None]


def _random_blur(x: torch.Tensor, gen: np.random.Generator, scale: int) -> torch.Tensor:
    f = max(scale, 1) / 2
    if gen.random() < 0.5:
        s = _u(gen, 0.2, 0.8) * f
        k = gaussian_kernel(s, s, 0.0)
    else:
        k = gaussian_kernel(_u(gen, 0.2, 1.0) * f, _u(gen, 0.2, 1.0) * f, _u(gen, 0, np.pi))
    return blur(x, k)


def _log_u(gen: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(gen.uniform(np.log(lo), np.log(hi))))


def _random_noise(x: torch.Tensor, gen: np.random.Generator, level: float = 1.0,
                  log_uniform: bool = False) -> torch.Tensor:
    if log_uniform:
        a = _log_u(gen, NOISY_PROTOCOL[0] / 10, NOISE_A_MAX) * level
        b = _log_u(gen, NOISY_PROTOCOL[1] / 10, NOISE_B_MAX) * level
    else:
        a, b = _u(gen, 0, NOISE_A_MAX) * level, _u(gen, 0, NOISE_B_MAX) * level
    n = torch.from_numpy(gen.standard_normal(x.shape).astype(np.float32))
    return add_poisson_gaussian(x, a, b, n)


def degrade_low_resolution(hr: torch.Tensor, scale: int, gen: np.random.Generator,
                           mixture: Mixture = PROFILES["realistic"]) -> torch.Tensor:
    """One patch (1, 1, H, W) in [0, 1], H and W multiples of ``scale`` -> its randomly
    degraded low-resolution copy (1, 1, H/s, W/s) in [0, 1] (table in the module docstring;
    the step probabilities from ``mixture``)."""
    h, w = hr.shape[-2:]
    x = hr
    if gen.random() < mixture.blur:
        x = _random_blur(x, gen, scale)
    if scale > 1:
        x = resize(x, (h // scale, w // scale), KERNEL_NAMES[int(gen.integers(len(KERNEL_NAMES)))])
    passes = 2 if gen.random() < mixture.second_pass else 1
    for p in range(passes):
        if p == 1:
            x = blur(x, gaussian_kernel(*(2 * [_u(gen, 0.2, 0.8)]), 0.0))
        if gen.random() < mixture.noise:
            x = _random_noise(x, gen, 1.0 if p == 0 else 0.5, mixture.noise_log_uniform)
        if gen.random() < mixture.jpeg:
            x = jpeg(x, int(gen.integers(50, 96)))
    if gen.random() < mixture.quantise:
        x = quantise8(x)
    return x.clamp(0, 1)


def realistic_pair(hr: torch.Tensor, scale: int, gen: np.random.Generator,
                   clean_fraction: float = 0.3, profile: str = "realistic") -> torch.Tensor:
    """Training inputs for ``hr`` float32 (N, 1, H, W) in [0, 1] (CPU), H and W multiples
    of ``scale``: each patch degraded independently (``degrade_low_resolution`` with the
    mixture ``PROFILES[profile]``, or the clean protocol with probability
    ``clean_fraction``), then bicubic pre-upsampled. Returns float32 (N, 1, H, W) in [0, 1].
    ValueError for an unknown profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown degradation profile {profile!r}; one of {', '.join(PROFILES)}")
    mixture = PROFILES[profile]
    h, w = hr.shape[-2:]
    out = torch.empty_like(hr)
    for i in range(hr.shape[0]):
        patch = hr[i:i + 1]
        if gen.random() < clean_fraction:
            lr = downscale(patch, scale) if scale > 1 else patch
        else:
            lr = degrade_low_resolution(patch, scale, gen, mixture)
        out[i:i + 1] = upscale(lr, scale, size=(h, w)) if scale > 1 else lr
    return out.clamp_(0, 1)


def protocol_low_resolution(hr: np.ndarray, scale: int, protocol: str,
                            seed: int = 0) -> np.ndarray:
    """The low-resolution film of an evaluation protocol (module docstring).

    ``hr`` float32 (H, W) in [0, 1], H and W multiples of ``scale``; returns float32
    (H/s, W/s) in [0, 1]. ValueError for an unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; one of {', '.join(PROTOCOLS)}")
    t = torch.from_numpy(np.ascontiguousarray(hr, dtype=np.float32))[None, None]
    lr = (downscale(t, scale) if scale > 1 else t).clamp(0, 1)
    if protocol.startswith("jpeg"):
        lr = jpeg(lr, int(protocol[4:]))
    elif protocol == "noisy":
        gen = np.random.default_rng(seed)
        n = torch.from_numpy(gen.standard_normal(lr.shape).astype(np.float32))
        lr = quantise8(add_poisson_gaussian(lr, *NOISY_PROTOCOL, n))
    return lr[0, 0].numpy()
