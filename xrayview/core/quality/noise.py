"""Noise of a film, measured from its flat regions: a Poisson-Gaussian model.

Model: a pixel of true value x in [0, 1] is observed as ``x + sqrt(a·x + b)·n``, n ~ N(0, 1)
(quantum noise grows with the signal, ``a``; electronic and quantisation noise do not,
``b``). ``estimate_noise`` measures (a, b) from one film:

1. residual r = x - (mean of its 4 neighbours); for white noise var(r) = 1.25·σ²;
2. the film is cut into 16 x 16 blocks; per block the mean μ and the residual variance v;
3. blocks are binned by μ (12 bins over the occupied range); in each bin with at least
   20 blocks the 10th percentile of v is taken (flat blocks have the lowest variance,
   anatomy only adds to it) and divided by the 10th percentile of χ²(k)/k for the block's
   k degrees of freedom, so a bin of pure noise gives an unbiased σ²;
4. (a, b) = non-negative least squares fit of σ² = a·μ + b over the bins.

Edges and texture still inflate the estimate a little, so it is an upper bound of the
film's noise; that is the safe side for a training degradation.

``noise_sigma`` is the quick single-number measure the pipeline routes on (``is_noisy``):
Donoho and Johnstone's robust estimator, the median absolute finest-scale diagonal Haar
coefficient / 0.6745 (what scikit-image's ``restoration.estimate_sigma`` computes with
PyWavelets, which the core does not need for four lines).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

BLOCK = 16
_BINS = 12
_MIN_BLOCKS = 20
_PERCENTILE = 10.0

# Above this ``noise_sigma`` (about 1.4 grey levels of 255) a film counts as noisy and
# "auto" weights run the robust ones (``core.enhance.pipeline.wants_robust``). Chosen on
# the validation split (central 512 px of its 38 films, x2 and x4, clean and noisy
# protocols; scripts/choose_noise_threshold.py): it maximises the mean VDSR gain over both
# protocols (x2: clean +0.85, noisy -0.04 dB, against +1.02 / -1.37 with the clean weights
# everywhere; 8 of 38 clean inputs routed, no noisy one missed; the best at x4 was 0.0056).
NOISY_SIGMA = 0.0055


def _block_stats(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(img, dtype=np.float64)
    r = x[1:-1, 1:-1] - 0.25 * (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
    m = x[1:-1, 1:-1]
    h, w = (r.shape[0] // BLOCK) * BLOCK, (r.shape[1] // BLOCK) * BLOCK
    rb = r[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    mb = m[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    rb = rb.reshape(-1, BLOCK * BLOCK)
    return mb.reshape(-1, BLOCK * BLOCK).mean(1), rb.var(1, ddof=1) / 1.25


def estimate_noise(img: np.ndarray) -> tuple[float, float]:
    """(a, b) of the Poisson-Gaussian model (module docstring) for ``img`` float (H, W) in
    [0, 1], at least 48 x 48. Both are >= 0; variances in [0, 1]² units."""
    img = np.asarray(img)
    if img.ndim != 2 or min(img.shape) < 3 * BLOCK:
        raise ValueError(f"noise estimation needs an (H, W) film of at least {3 * BLOCK} "
                         f"pixels a side, got shape {img.shape}")
    mu, var = _block_stats(img)
    keep = (mu > 0.01) & (mu < 0.99)  # clipped blocks have no noise to see
    mu, var = mu[keep], var[keep]
    if mu.size < _MIN_BLOCKS:
        return 0.0, float(np.percentile(var, _PERCENTILE)) if var.size else 0.0
    dof = BLOCK * BLOCK - 1
    bias = stats.chi2.ppf(_PERCENTILE / 100, dof) / dof
    edges = np.linspace(mu.min(), mu.max() + 1e-9, _BINS + 1)
    xs, ys = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (mu >= lo) & (mu < hi)
        if sel.sum() >= _MIN_BLOCKS:
            xs.append(mu[sel].mean())
            ys.append(np.percentile(var[sel], _PERCENTILE) / bias)
    if not xs:
        return 0.0, float(np.percentile(var, _PERCENTILE) / bias)
    design = np.stack([np.asarray(xs), np.ones(len(xs))], 1)
    (a, b), _ = optimize.nnls(design, np.asarray(ys))
    return float(a), float(b)


def noise_sigma(img: np.ndarray) -> float:
    """Standard deviation of white noise in ``img`` (float (H, W) in [0, 1], at least 2 x 2):
    median |finest diagonal Haar detail| / 0.6745 (module docstring). Anatomy adds a little;
    a flat noiseless film gives 0."""
    x = np.asarray(img, dtype=np.float32)  # no copy of a float32 film; float32 suffices
    if x.ndim != 2 or min(x.shape) < 2:
        raise ValueError(f"noise estimation needs an (H, W) film of at least 2 pixels a "
                         f"side, got shape {x.shape}")
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    detail = x[0:h:2, 0:w:2] - x[0:h:2, 1:w:2]
    detail -= x[1:h:2, 0:w:2]
    detail += x[1:h:2, 1:w:2]
    return float(np.median(np.abs(detail, out=detail))) / 2 / 0.6745


def is_noisy(img: np.ndarray) -> bool:
    """Whether ``img`` (float (H, W) in [0, 1]) carries more noise than ``NOISY_SIGMA``:
    the clean super-resolution weights would sharpen it (module docstring)."""
    return noise_sigma(img) > NOISY_SIGMA


def add_poisson_gaussian(x, a, b, noise):
    """``x + sqrt(a·x + b)·noise`` for tensors or arrays x (values in [0, 1]), per-sample
    a, b broadcastable to x, and standard normal ``noise`` of x's shape (not clamped)."""
    return x + (a * x.clamp(0, 1) + b).sqrt() * noise if hasattr(x, "clamp") else \
        x + np.sqrt(a * np.clip(x, 0, 1) + b) * noise
