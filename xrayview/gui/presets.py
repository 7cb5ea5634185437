"""Display-window presets (Qt-free helpers of the viewer), all in normalised units.

* ``default``: the film's own DICOM window / VOI LUT (handled by the view); offered for
  DICOM films only (for others the default is ``full``, see :func:`default_preset`);
* ``full``: the whole normalised range [0, 1];
* ``auto``: the 1st..99th percentile of the pixels inside the collimated field (what
  Weasis and RadiAnt call an automatic window): the flat collimator shadows, burnt-out
  background and constant borders of a CR/DX film otherwise take most of the histogram
  and leave the anatomy flat (:func:`collimated_field`);
* ``lung`` / ``bone``: for CT (Hounsfield units via the film's value range) the usual
  windows, lung W1500/L-600 and bone W2000/L400; for projection radiographs, which have
  no absolute units, the dark part of the histogram (lung fields, 1st..60th percentile)
  and the bright part (bone, 60th..99.8th percentile).
"""

from __future__ import annotations

import numpy as np

from xrayview.core.film import Film

PRESETS = {"default": "DICOM default", "full": "Full range", "auto": "Auto (collimated field)",
           "lung": "Lung", "bone": "Bone"}
CUSTOM = "custom"  # what the window combo shows after a drag, a histogram edit, ...
CUSTOM_LABEL = "Custom"
_FIELD_SIZE = 256  # the collimated field is found on a copy about this many pixels wide
_MIN_FIELD_SHARE = 0.05  # a smaller "field" is not believed: the whole film is used
_FLAT_RATIO_LOG = float(np.log(4.0))  # flat regions: local SD 4x below the textured ones
_WHOLE_FILM_SHARE = 0.97  # a field this large means there is no collimation to exclude
_CT_WINDOWS = {"lung": (-600.0, 1500.0), "bone": (400.0, 2000.0)}  # (level, width) in HU
_PERCENTILES = {"auto": (1.0, 99.0), "lung": (1.0, 60.0), "bone": (60.0, 99.8)}


def _sample(pixels: np.ndarray, limit: int = 1 << 18) -> np.ndarray:
    """A strided sample of at most about ``limit`` of ``pixels`` (2-D, or 1-D values),
    without a constant border value."""
    if pixels.ndim == 1:
        values = pixels[::max(1, pixels.size // limit)]
    else:
        step = max(1, int(np.sqrt(pixels.size / limit)))
        values = pixels[::step, ::step].ravel()
    lo, hi = values.min(), values.max()
    inner = values[(values > lo) & (values < hi)]
    return inner if inner.size > values.size // 10 else values


def default_preset(film: Film) -> str:
    """The preset a freshly opened ``film`` is shown with: "default" (its own DICOM window
    or VOI LUT) for DICOM films, "full" for PNG/JPEG/TIFF."""
    return "default" if film.source_format == "DICOM" else "full"


def collimated_field(pixels: np.ndarray) -> np.ndarray | None:
    """Mask bool (H, W) of the exposed field of ``pixels`` float32 (H, W), or None when
    the whole film is the field.

    Collimator shadows and unexposed borders are flat (only detector noise); anatomy is
    textured. On a block-mean copy about ``_FIELD_SIZE`` px wide, the local standard
    deviation (5 x 5) is split into flat and textured by Otsu's threshold on its log; the
    field is the largest connected textured region, closed and hole-filled (flat lung
    or soft tissue inside it stays in), then eroded so the edges against the collimator
    drop out. A film without flat borders gives (almost) the whole image: None.
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    rows, cols = pixels.shape
    step = max(1, max(rows, cols) // _FIELD_SIZE)
    h, w = rows // step * step, cols // step * step
    if h < 16 * step or w < 16 * step:
        return None
    small = pixels[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3),
                                                                          dtype=np.float64)
    mean = ndimage.uniform_filter(small, 5)
    std = np.sqrt(np.maximum(ndimage.uniform_filter(small * small, 5) - mean * mean, 0.0))
    log_std = np.log(std + 1e-6)
    if np.ptp(log_std) < 1e-3:
        return None
    textured = log_std > threshold_otsu(log_std)
    if log_std[textured].mean() - log_std[~textured].mean() < _FLAT_RATIO_LOG:
        return None  # no flat class: texture varies, but nothing is a collimator shadow
    textured = ndimage.binary_fill_holes(
        ndimage.binary_closing(textured, iterations=3, border_value=1))
    labels, count = ndimage.label(textured)
    if count == 0:
        return None
    sizes = ndimage.sum_labels(textured, labels, index=np.arange(1, count + 1))
    field = ndimage.binary_erosion(labels == 1 + int(np.argmax(sizes)), iterations=3,
                                   border_value=1)  # the film's own edge is no border
    share = field.mean()
    if share < _MIN_FIELD_SHARE or share > _WHOLE_FILM_SHARE:
        return None  # implausibly small, or no borders worth excluding
    full = np.zeros((rows, cols), dtype=bool)
    full[:h, :w] = np.repeat(np.repeat(field, step, axis=0), step, axis=1)
    return full


def window_from_range(lo: float, hi: float) -> tuple[float, float]:
    """(center, width) of [lo, hi] (normalised), width at least 1e-3."""
    return (lo + hi) / 2.0, max(hi - lo, 1e-3)


def window_preset(name: str, film: Film) -> tuple[float, float]:
    """(center, width) in normalised units for preset ``name`` (not ``default``)."""
    if name == "full":
        return 0.5, 1.0
    if name in _CT_WINDOWS and film.modality == "CT":
        level, width = _CT_WINDOWS[name]
        lo, hi = film.normalise_value(level - width / 2), film.normalise_value(level + width / 2)
        return window_from_range(min(lo, hi), max(lo, hi))
    if name in _PERCENTILES:
        field = collimated_field(film.pixels)
        values = film.pixels if field is None else film.pixels[field]
        lo, hi = np.percentile(_sample(values), _PERCENTILES[name])
        return window_from_range(float(lo), float(hi))
    raise ValueError(f"unknown window preset {name!r}; one of {', '.join(PRESETS)}")
