"""Display-window presets (Qt-free helpers of the viewer), all in normalised units.

* ``default``: the film's own DICOM window / VOI LUT (handled by the view), else [0, 1];
* ``full``: the whole normalised range [0, 1];
* ``auto``: the 0.5th..99.5th percentile of the film's pixels (what Weasis and RadiAnt
  call an automatic window), ignoring an empty (constant) border;
* ``lung`` / ``bone``: for CT (Hounsfield units via the film's value range) the usual
  windows, lung W1500/L-600 and bone W2000/L400; for projection radiographs, which have
  no absolute units, the dark part of the histogram (lung fields, 1st..60th percentile)
  and the bright part (bone, 60th..99.8th percentile).
"""

from __future__ import annotations

import numpy as np

from xrayview.core.film import Film

PRESETS = {"default": "DICOM default", "full": "Full range", "auto": "Auto (histogram)",
           "lung": "Lung", "bone": "Bone"}
_CT_WINDOWS = {"lung": (-600.0, 1500.0), "bone": (400.0, 2000.0)}  # (level, width) in HU
_PERCENTILES = {"auto": (0.5, 99.5), "lung": (1.0, 60.0), "bone": (60.0, 99.8)}


def _sample(pixels: np.ndarray, limit: int = 1 << 18) -> np.ndarray:
    """A strided sample of at most about ``limit`` pixels, without a constant border value."""
    step = max(1, int(np.sqrt(pixels.size / limit)))
    values = pixels[::step, ::step].ravel()
    lo, hi = values.min(), values.max()
    inner = values[(values > lo) & (values < hi)]
    return inner if inner.size > values.size // 10 else values


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
        lo, hi = np.percentile(_sample(film.pixels), _PERCENTILES[name])
        return window_from_range(float(lo), float(hi))
    raise ValueError(f"unknown window preset {name!r}; one of {', '.join(PRESETS)}")
