"""Simulated degradations for training and benchmarks.

Super-resolution (pre-upsampling, as SRCNN/VDSR): a high-resolution film ``hr`` is cropped
to a multiple of the scale s, downscaled by s with antialiased bicubic interpolation
(torch ``interpolate(mode="bicubic", antialias=True)``, as Pillow's BICUBIC resize), then
upscaled back by s with plain bicubic; optional Gaussian noise of standard deviation
``noise_sigma`` (in [0, 1] units) is added to the low-resolution film before upscaling.
The seed paper's setting (64 x 64 films) is ``paper_64`` below.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def crop_to_multiple(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop (H, W) to the largest multiple of ``scale`` in each axis (top-left kept)."""
    h, w = img.shape[-2:]
    return img[..., : h - h % scale, : w - w % scale]


def central_crop(img: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size`` x ``size`` region of (H, W), contiguous (all of it when
    ``size`` is 0/None or larger than the image)."""
    if not size:
        return img
    h, w = img.shape
    sh, sw = min(size, h), min(size, w)
    y, x = (h - sh) // 2, (w - sw) // 2
    return np.ascontiguousarray(img[y:y + sh, x:x + sw])


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """(N, C, H, W) float -> (N, C, H/s, W/s) by antialiased bicubic. H, W multiples of s."""
    h, w = hr.shape[-2:]
    return F.interpolate(hr, size=(h // scale, w // scale), mode="bicubic",
                         antialias=True, align_corners=False)


def upscale(lr: torch.Tensor, scale: int, size: tuple[int, int] | None = None) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, h*s, w*s) (or ``size``) by bicubic, not clamped."""
    h, w = lr.shape[-2:]
    return F.interpolate(lr, size=size or (h * scale, w * scale), mode="bicubic",
                         align_corners=False)


def low_resolution_pair(hr: torch.Tensor, scale: int, noise_sigma: float = 0.0,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Bicubic pre-upsampled input for ``hr`` (N, C, H, W) in [0, 1], H and W multiples of s.

    Returns a tensor of the same shape, clamped to [0, 1]: what the network sees.
    """
    lr = downscale(hr, scale)
    if noise_sigma > 0:
        lr = lr + noise_sigma * torch.randn(lr.shape, generator=generator, device=lr.device,
                                            dtype=lr.dtype)
    return upscale(lr, scale, size=tuple(hr.shape[-2:])).clamp_(0.0, 1.0)


def simulate_low_resolution(hr: np.ndarray, scale: int, noise_sigma: float = 0.0,
                            seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numpy convenience: ``hr`` float32 (H, W) in [0, 1] -> (hr cropped, bicubic input).

    Both outputs are float32 (H', W') with H', W' the multiples of ``scale``.
    """
    hr = crop_to_multiple(np.asarray(hr, dtype=np.float32), scale)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    t = torch.from_numpy(np.ascontiguousarray(hr))[None, None]
    bic = low_resolution_pair(t, scale, noise_sigma, gen)[0, 0].numpy()
    return hr, bic


def paper_64(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed paper's setting: the film resized to 64 x 64, then degraded by ``scale``.

    ``hr`` float32 (H, W) in [0, 1]; returns (64x64 target, 64x64 bicubic input) float32.
    Only scales that divide 64 (2, 4) are exact; 3 crops to 63 x 63.
    """
    t = torch.from_numpy(np.ascontiguousarray(hr, dtype=np.float32))[None, None]
    small = F.interpolate(t, size=(64, 64), mode="bicubic", antialias=True,
                          align_corners=False).clamp(0, 1)[0, 0].numpy()
    return simulate_low_resolution(small, scale)


# --------------------------------------------------------------------------------------
# Scatter veil ("haze") for training and benchmarking the dehazer.
#
# A film J (MONOCHROME2, [0, 1]) is veiled as
#
#     I(x) = t(x)·J(x) + (1 - t(x))·A(x),        t(x) = 1 / (1 + k(x))
#     A(x) = (1 - β)·(G_σ * J)(x) + β·a
#     k(x) = k̄ · m(x),   k̄ = VEIL_MAX_SPR · strength,   mean(m) = 1
#     m(x) ∝ max(1 + v·r(x) + c·(B(x) - mean B), 0.25),   B = G_σ * J
#
# i.e. the detected signal is the primary plus scatter, with a spatially varying
# scatter-to-primary ratio k (SPR). Scatter is a broad blur of the primary (G_σ, a
# Gaussian of sigma σ = ρ·min(H, W)), so it adds a low-frequency veil and scales every
# local detail by t. SPR is higher behind denser anatomy (brighter B, coupling c) and varies
# smoothly (r: a sum of 4 random cosines with at most 1.5 cycles per image side, |r| ≤ 1).
# β·a is a uniform fog. I stays in [0, 1] (a convex mix of values in [0, 1]); strength 0
# gives I = J exactly. t and A are smooth, so the exact inverse J = A + (I - A)/t is a
# per-pixel affine map with smooth coefficients.
#
# Parameter ranges (sampled per film from the seed / generator):
#   strength ∈ [0, 1] → mean SPR k̄ ∈ [0, 1.5] (chest PA without grid: ~0.5 in the lungs to
#   several behind the mediastinum); ρ ∈ [0.05, 0.2]; v ∈ [0, 0.4]; c ∈ [0, 1];
#   β ∈ [0, 0.3]; a ∈ [0.2, 0.8].
# --------------------------------------------------------------------------------------

VEIL_MAX_SPR = 1.5
VEIL_RANGES = {"rho": (0.05, 0.2), "v": (0.0, 0.4), "c": (0.0, 1.0),
               "beta": (0.0, 0.3), "a": (0.2, 0.8)}


def _uniform(lo: float, hi: float, generator: torch.Generator | None) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def broad_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (N, C, H, W) with a large ``sigma`` (pixels), replicate borders.

    Computed on an area-downsampled grid (about sigma/2 pixels per cell) and bilinearly
    upsampled: exact enough for a veil, and cheap for any sigma.
    """
    h, w = img.shape[-2:]
    f = max(1, int(sigma // 2))
    small = img if f == 1 else F.interpolate(img, size=(-(-h // f), -(-w // f)), mode="area")
    s = sigma / f
    r = max(1, int(np.ceil(3 * s)))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=img.dtype, device=img.device) ** 2
                  / (2 * s * s))
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(img.shape[1], 1, 1, 1)
    c = img.shape[1]
    small = F.conv2d(F.pad(small, (r, r, 0, 0), mode="replicate"), k, groups=c)
    small = F.conv2d(F.pad(small, (0, 0, r, r), mode="replicate"), k.transpose(2, 3),
                     groups=c)
    if f == 1:
        return small
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def _smooth_field(h: int, w: int, generator: torch.Generator | None,
                  device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1, 1, H, W) sum of 4 random low-frequency cosines, scaled to max |r| = 1."""
    yy = torch.linspace(0, 1, h, device=device, dtype=dtype).view(-1, 1)
    xx = torch.linspace(0, 1, w, device=device, dtype=dtype).view(1, -1)
    field = torch.zeros(h, w, device=device, dtype=dtype)
    for _ in range(4):
        fy, fx = (_uniform(-1.5, 1.5, generator) for _ in range(2))
        phase = _uniform(0, 2 * np.pi, generator)
        field += _uniform(0.3, 1.0, generator) * torch.cos(2 * np.pi * (fy * yy + fx * xx)
                                                           + phase)
    return (field / field.abs().max().clamp_min(1e-6)).view(1, 1, h, w)


def _veil_one(j: torch.Tensor, strength: float, generator: torch.Generator | None,
              params: dict[str, float] | None = None) -> torch.Tensor:
    """Veil one film (1, 1, H, W) in [0, 1] with random (or given) shape parameters."""
    if strength <= 0:
        return j.clone()
    p = {k: _uniform(*rng, generator) for k, rng in VEIL_RANGES.items()}
    p.update(params or {})
    h, w = j.shape[-2:]
    blurred = broad_blur(j, p["rho"] * min(h, w))
    r = _smooth_field(h, w, generator, j.device, j.dtype)
    m = (1 + p["v"] * r + p["c"] * (blurred - blurred.mean())).clamp_min(0.25)
    k = VEIL_MAX_SPR * strength * m / m.mean()
    t = 1.0 / (1.0 + k)
    level = (1 - p["beta"]) * blurred + p["beta"] * p["a"]
    return (t * j + (1 - t) * level).clamp_(0.0, 1.0)


def veil(img: np.ndarray, strength: float, seed: int | None = None,
         params: dict[str, float] | None = None) -> np.ndarray:
    """Scatter-veil one film (equation above).

    ``img`` float (H, W) in [0, 1]; ``strength`` in [0, 1] (0 = identity, 1 = mean SPR
    1.5); the shape parameters (keys of ``VEIL_RANGES``: rho, v, c, beta, a) and the SPR
    field are drawn from ``seed``, except those fixed in ``params``.
    Returns float32 (H, W) in [0, 1].
    """
    x = np.ascontiguousarray(img, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"veil expects an (H, W) film, got shape {x.shape}")
    if strength <= 0:
        return x.copy()
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    unknown = set(params or {}) - set(VEIL_RANGES)
    if unknown:
        raise ValueError(f"unknown veil parameters {sorted(unknown)}")
    out = _veil_one(torch.from_numpy(x)[None, None], float(strength), gen, params)
    return out[0, 0].numpy()


def veil_batch(hr: torch.Tensor, generator: torch.Generator | None = None,
               clean_fraction: float = 0.2, max_strength: float = 1.0,
               return_strength: bool = False):
    """Training pairs: veil each film of ``hr`` (N, 1, H, W) in [0, 1] independently.

    Each film is left clean with probability ``clean_fraction`` (so the model learns to
    leave clean films alone), otherwise veiled with strength ~ U(0.05, max_strength) and
    random shape parameters (ranges above). ``generator`` is a CPU torch.Generator.
    Returns the veiled batch, same shape/dtype/device, in [0, 1] (and the (N,) strengths
    if ``return_strength``).
    """
    out = torch.empty_like(hr)
    strengths = torch.zeros(hr.shape[0])
    for i in range(hr.shape[0]):
        if float(torch.rand((), generator=generator)) >= clean_fraction:
            strengths[i] = _uniform(0.05, max_strength, generator)
        out[i:i + 1] = _veil_one(hr[i:i + 1], float(strengths[i]), generator)
    return (out, strengths) if return_strength else out
