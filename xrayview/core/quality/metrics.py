"""Image quality measures: pure functions on films.

Every image argument is a float array of shape (H, W) with values in [0, ``data_range``]
(the program's films are float32 in [0, 1], DESIGN §2); any float or integer dtype is
accepted and computed in float64. Full-reference measures take the reference first.
``crop`` removes that many pixels from each side of both images before scoring (the
documented border crop of the evaluation; 0 = none).

Full reference: :func:`psnr`, :func:`ssim` (scikit-image, Gaussian window as Wang et al.
2004), :func:`ms_ssim`, :func:`ici` / :func:`ici_map` (Image Comparative Index, our reading)
and :func:`signed_difference`. No reference: :func:`rms_contrast`,
:func:`mean_brightness`, :func:`mean_gradient`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SSIM_SIGMA = 1.5  # Gaussian window of SSIM / ICI, as Wang et al. 2004 and tf.image.ssim
K1, K2 = 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang, Simoncelli, Bovik 2003


def _pair(ref: np.ndarray, img: np.ndarray, crop: int) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref, dtype=np.float64)
    img = np.asarray(img, dtype=np.float64)
    if ref.ndim != 2 or ref.shape != img.shape:
        raise ValueError(f"expected two (H, W) arrays of equal shape, got {ref.shape} "
                         f"and {img.shape}")
    if crop:
        if 2 * crop >= min(ref.shape):
            raise ValueError(f"crop {crop} leaves nothing of a {ref.shape} image")
        ref, img = ref[crop:-crop, crop:-crop], img[crop:-crop, crop:-crop]
    return ref, img


def _crop1(img: np.ndarray, crop: int) -> np.ndarray:
    return _pair(img, img, crop)[0]


def psnr(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0, crop: int = 0) -> float:
    """Peak signal-to-noise ratio in dB, 10·log10(data_range² / MSE); ``inf`` if identical."""
    ref, img = _pair(ref, img, crop)
    if not np.any(ref != img):
        return float("inf")
    return float(peak_signal_noise_ratio(ref, img, data_range=data_range))


def ssim(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0, crop: int = 0) -> float:
    """Mean SSIM in [-1, 1] (1 = identical) by scikit-image.

    Gaussian 11×11 window of sigma 1.5, population covariance, K1 = 0.01, K2 = 0.03
    (the settings of Wang et al. 2004 and ``tf.image.ssim``). Needs H, W ≥ 11 after crop.
    """
    ref, img = _pair(ref, img, crop)
    return float(structural_similarity(ref, img, data_range=data_range, gaussian_weights=True,
                                       sigma=SSIM_SIGMA, use_sample_covariance=False))


def _local_stats(x: np.ndarray, y: np.ndarray, sigma: float):
    """Gaussian-weighted local means, variances and covariance of two (H, W) arrays."""
    def g(a: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(a, sigma, mode="reflect", truncate=3.5)
    mx, my = g(x), g(y)
    vx = np.maximum(g(x * x) - mx * mx, 0.0)
    vy = np.maximum(g(y * y) - my * my, 0.0)
    cxy = g(x * y) - mx * my
    return mx, my, vx, vy, cxy


def ms_ssim(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0, crop: int = 0,
            scales: int = 5) -> float:
    """Multi-scale SSIM in [0, 1] (1 = identical), Wang, Simoncelli & Bovik 2003.

    Our implementation: at dyadic scales j = 1..M (2×2 mean pooling between scales) the
    mean contrast-structure term cs_j = mean((2σxy + C2) / (σx² + σy² + C2)) is taken with
    the SSIM Gaussian window (sigma 1.5); at the coarsest scale also the luminance term l_M.
    MS-SSIM = l_M^w_M · Π cs_j^w_j with the paper's weights, renormalised when fewer than 5
    scales fit (M is reduced until the coarsest scale is at least 11 pixels on its short
    side). Negative terms are clipped to 0.
    """
    x, y = _pair(ref, img, crop)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    m = max(1, min(scales, int(np.floor(np.log2(min(x.shape) / 11.0))) + 1))
    w = np.asarray(MS_SSIM_WEIGHTS[:m]) / np.sum(MS_SSIM_WEIGHTS[:m])
    result = 1.0
    for j in range(m):
        mx, my, vx, vy, cxy = _local_stats(x, y, SSIM_SIGMA)
        cs = float(np.mean((2 * cxy + c2) / (vx + vy + c2)))
        if j == m - 1:
            lum = float(np.mean((2 * mx * my + c1) / (mx * mx + my * my + c1)))
            result *= max(lum, 0.0) ** w[j]
        result *= max(cs, 0.0) ** w[j]
        h, wd = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
        x = x[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean(axis=(1, 3))
        y = y[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean(axis=(1, 3))
    return float(result)


def ici_map(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0, crop: int = 0,
            sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Image Comparative Index map: float32 (H', W') in [-1, 1], 1 = locally identical.

    Kaderuppan et al. (2024) describe the ICI as a pixel-wise similarity map that is
    independent of the image bit depth; their formula is not available to us, so this is
    OUR READING of that description. Both images are first scaled to [0, 1] by
    ``data_range`` (so 8-, 12- and 16-bit versions of a film give the same map up to their
    quantisation), then with Gaussian-weighted local statistics (sigma pixels) per pixel:

        luminance  l = 1 - |μx - μy|                      in [0, 1]  (level-independent,
                                                                      unlike SSIM's l)
        contrast   c = (2·σx·σy + C2) / (σx² + σy² + C2)  in (0, 1]
        structure  s = (σxy + C3) / (σx·σy + C3)          in [-1, 1]
        ICI(p)     = l · c · s

    with C2 = (0.03)², C3 = C2 / 2 in normalised units. ICI is 1 exactly where the two
    images agree, falls with a local brightness offset, a contrast change or a structural
    change, and is negative where local structure is inverted.
    """
    x, y = _pair(ref, img, crop)
    x, y = x / data_range, y / data_range
    c2 = K2 ** 2
    c3 = c2 / 2
    mx, my, vx, vy, cxy = _local_stats(x, y, sigma)
    sx, sy = np.sqrt(vx), np.sqrt(vy)
    lum = 1.0 - np.abs(mx - my)
    con = (2 * sx * sy + c2) / (vx + vy + c2)
    struct = np.clip((cxy + c3) / (sx * sy + c3), -1.0, 1.0)
    return (lum * con * struct).astype(np.float32)


def ici(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0, crop: int = 0,
        sigma: float = SSIM_SIGMA) -> float:
    """Scalar Image Comparative Index: the mean of :func:`ici_map`, in [-1, 1], 1 = same."""
    return float(np.mean(ici_map(ref, img, data_range, crop, sigma), dtype=np.float64))


def signed_difference(img: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``img - ref`` as float32 (H, W), in [-1, 1] for [0, 1] inputs (positive = brighter)."""
    a, b = _pair(img, ref, 0)
    return (a - b).astype(np.float32)


def rms_contrast(img: np.ndarray, crop: int = 0) -> float:
    """RMS contrast: the standard deviation of the pixel values (same units as ``img``)."""
    return float(np.std(_crop1(img, crop)))


def mean_brightness(img: np.ndarray, crop: int = 0) -> float:
    """Mean pixel value (same units as ``img``; MONOCHROME2, brighter = more attenuation)."""
    return float(np.mean(_crop1(img, crop)))


def mean_gradient(img: np.ndarray, crop: int = 0) -> float:
    """Mean gradient magnitude (sharpness / local contrast), image units per pixel.

    Central differences (``numpy.gradient``) in each axis, magnitude sqrt(gx² + gy²),
    averaged over the image. Rises with sharpening and with contrast restoration, falls
    with blur or a veil.
    """
    x = _crop1(img, crop)
    gy, gx = np.gradient(x)
    return float(np.mean(np.hypot(gx, gy)))


def blockiness(img: np.ndarray, scale: int = 1, block: int = 8) -> float:
    """JPEG block-grid strength: mean squared gradient across the low-resolution film's
    ``block``-pixel grid divided by the mean squared gradient elsewhere.

    ``img`` (H, W) is the film at ``scale`` times the resolution of the low-resolution film
    that was (or might have been) JPEG-coded, so its grid lines fall between pixels
    k·block·s - 1 and k·block·s. "Elsewhere" is the other boundaries between
    low-resolution pixels (pixels m·s - 1 and m·s), so upsampling's own period-s pattern
    cancels. About 1 for a film without a grid; a JPEG-coded film scores above 1; what
    matters is an output's score over bicubic's on the same input.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected an (H, W) image, got shape {x.shape}")
    period = block * scale
    num, den, n_on, n_off = 0.0, 0.0, 0, 0
    for d in (np.diff(x, axis=1), np.diff(x, axis=0).T):  # across columns, then across rows
        on = np.zeros(d.shape[1], dtype=bool)
        on[period - 1::period] = True
        off = np.zeros(d.shape[1], dtype=bool)
        off[scale - 1::scale] = True
        off &= ~on
        e = d * d
        num += e[:, on].sum()
        den += e[:, off].sum()
        n_on += e[:, on].size
        n_off += e[:, off].size
    if n_on == 0 or n_off == 0 or den == 0:
        return 1.0
    return float((num / n_on) / (den / n_off))
