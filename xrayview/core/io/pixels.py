"""Small pixel helpers shared by the DICOM and raster loaders.

``normalise`` works through the image a block of rows at a time, so loading a film costs
its decoded samples plus the float32 result, not several float64 copies of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from xrayview.core.io.errors import CorruptFilmError

# ITU-R BT.601 luma weights, as DICOM and Pillow use for RGB -> gray.
_BT601 = np.array([0.299, 0.587, 0.114])
BLOCK_PIXELS = 1 << 20
"""Pixels per block in ``normalise`` (8 MiB of float64 temporaries)."""


def luminance(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) of any numeric dtype -> float64 (H, W) luminance in the same units."""
    return np.asarray(rgb[..., :3], dtype=np.float64) @ _BT601


def normalise(values: np.ndarray, vmin: float, vmax: float, invert: bool = False,
              transform: Callable[[np.ndarray], np.ndarray] | None = None
              ) -> tuple[np.ndarray, int]:
    """Map ``values`` from [vmin, vmax] to float32 [0, 1]; optionally invert.

    values: (H, W) of any numeric dtype, or (H, W, C) when ``transform`` reduces a block
    of rows to (h, W) (e.g. ``luminance``, or a DICOM modality LUT). ``transform`` gets
    row blocks of ``values`` and returns float64 values in the units of vmin/vmax.
    Returns the float32 (H, W) pixels and how many values lay outside [vmin, vmax]
    (they are clipped). Raises ValueError when a value is not finite.
    """
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        raise ValueError(f"value range [{vmin}, {vmax}] is not finite")
    h, w = values.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    span = float(vmax) - float(vmin)
    rows = max(1, BLOCK_PIXELS // max(w, 1))
    outside = 0
    for r in range(0, h, rows):
        block = values[r:r + rows]
        v = (np.array(transform(block), dtype=np.float64) if transform is not None
             else np.array(block, dtype=np.float64))
        if v.shape != (block.shape[0], w):
            raise ValueError(f"pixel block has shape {v.shape}, expected {(block.shape[0], w)}")
        if not np.isfinite(v).all():
            raise ValueError("pixel values are not finite")
        if span > 0:
            v -= vmin
            v /= span
        else:
            v[:] = 0.0
        outside += int(np.count_nonzero((v < -1e-9) | (v > 1 + 1e-9)))
        np.clip(v, 0.0, 1.0, out=v)
        if invert:
            np.subtract(1.0, v, out=v)
        out[r:r + rows] = v
    return out, outside


def film_pixels(values: np.ndarray, vmin: float, vmax: float, path: Path, notes: list[str],
                allowed: str, invert: bool = False,
                transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """``normalise`` for a loader: the float32 (H, W) pixels in [0, 1]; values outside
    [vmin, vmax] are counted in ``notes`` ("... outside ``allowed`` and were clipped") and
    a non-finite value is a CorruptFilmError naming ``path``."""
    try:
        pixels, clipped = normalise(values, vmin, vmax, invert=invert, transform=transform)
    except ValueError as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptFilmError(f"{path.name}: its pixel values cannot be mapped to grey "
                               f"levels ({line[:160]}).") from None
    if clipped:
        notes.append(f"{clipped} pixels lay outside {allowed} and were clipped.")
    return pixels
