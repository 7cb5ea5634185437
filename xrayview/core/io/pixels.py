"""Small pixel helpers shared by the DICOM and raster loaders."""

from __future__ import annotations

import numpy as np

# ITU-R BT.601 luma weights, as DICOM and Pillow use for RGB -> gray.
_BT601 = np.array([0.299, 0.587, 0.114])


def luminance(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) of any numeric dtype -> float64 (H, W) luminance in the same units."""
    return np.asarray(rgb[..., :3], dtype=np.float64) @ _BT601


def normalise(values: np.ndarray, vmin: float, vmax: float,
              invert: bool = False) -> tuple[np.ndarray, int]:
    """Map ``values`` (H, W) from [vmin, vmax] to float32 [0, 1]; optionally invert.

    Returns the pixels and how many values lay outside [vmin, vmax] (they are clipped).
    """
    v = np.asarray(values, dtype=np.float64)
    span = vmax - vmin
    out = (v - vmin) / span if span > 0 else np.zeros_like(v)
    outside = int(np.count_nonzero((out < -1e-9) | (out > 1 + 1e-9)))
    np.clip(out, 0.0, 1.0, out=out)
    if invert:
        out = 1.0 - out
    return out.astype(np.float32), outside
