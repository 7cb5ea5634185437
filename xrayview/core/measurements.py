"""Measurements on a film, free of Qt: distances in mm and ROI statistics.

Geometry is in original-pixel coordinates as the viewer uses them (``gui.viewer``): pixel
(row, col) covers [col, col+1) x [row, row+1), so a shape measured on the Original view
means the same place on a x2 Enhanced image, whose pixel (r, c) covers 1/2 of that.

* :class:`Shape`: a "distance" (two end points) or a "rectangle" / "ellipse" (its
  bounding box), with an id;
* :func:`distance`: the length in mm where the film's pixel spacing is known (row and
  column spacing apart), else in pixels;
* :func:`roi_stats`: mean, SD, min and max of the pixels whose centres lie inside a
  rectangle or ellipse, of an image shown at ``scale``, in the film's stored values
  (modality values after any rescale, e.g. HU for CT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xrayview.core.film import Film

SHAPES = ("distance", "rectangle", "ellipse")
CSV_HEADER = ["id", "kind", "view", "x0", "y0", "x1", "y1", "length", "length_unit",
              "pixels", "mean", "sd", "min", "max", "value_unit"]


@dataclass(frozen=True)
class Shape:
    """A measurement: ``kind`` in SHAPES; (x0, y0) - (x1, y1) its end points (distance)
    or opposite corners of its bounding box (rectangle, ellipse), original pixels."""

    kind: str
    x0: float
    y0: float
    x1: float
    y1: float
    id: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SHAPES:
            raise ValueError(f"unknown measurement {self.kind!r}; one of {', '.join(SHAPES)}")

    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the shape."""
        return (min(self.x0, self.x1), min(self.y0, self.y1),
                max(self.x0, self.x1), max(self.y0, self.y1))


@dataclass(frozen=True)
class Stats:
    """ROI statistics in ``unit``: over ``pixels`` pixels (0: the ROI holds none)."""

    pixels: int
    mean: float
    sd: float
    min: float
    max: float
    unit: str


def value_unit(film: Film) -> str:
    """What the stored values measure: "HU" for CT, else "stored value"."""
    return "HU" if film.modality == "CT" else "stored value"


def distance(shape: Shape, film: Film) -> tuple[float, str]:
    """(length, "mm") with the film's spacing, else (length, "px")."""
    dx, dy = shape.x1 - shape.x0, shape.y1 - shape.y0
    if film.pixel_spacing_mm and all(s > 0 for s in film.pixel_spacing_mm):
        row_mm, col_mm = film.pixel_spacing_mm
        return math.hypot(dx * col_mm, dy * row_mm), "mm"
    return math.hypot(dx, dy), "px"


def roi_mask(shape: Shape, image_shape: tuple[int, int], scale: int = 1) -> tuple[
        tuple[slice, slice], np.ndarray]:
    """(rows, cols) slices of an image shown at ``scale`` around the shape's box, and the
    mask bool of the pixels in them whose centres lie inside the rectangle or ellipse."""
    left, top, right, bottom = (v * scale for v in shape.box())
    h, w = image_shape
    r0, r1 = max(int(math.floor(top)), 0), min(int(math.ceil(bottom)), h)
    c0, c1 = max(int(math.floor(left)), 0), min(int(math.ceil(right)), w)
    if r1 <= r0 or c1 <= c0:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
    yy = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5
    xx = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5
    inside = (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)
    if shape.kind == "ellipse":
        cy, cx = (top + bottom) / 2, (left + right) / 2
        ry, rx = max((bottom - top) / 2, 1e-9), max((right - left) / 2, 1e-9)
        inside &= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    return (slice(r0, r1), slice(c0, c1)), inside


def roi_stats(shape: Shape, image: np.ndarray, film: Film, scale: int = 1,
              difference: bool = False) -> Stats:
    """Statistics of ``image`` float32 (H*s, W*s), normalised [0, 1] (a signed
    difference when ``difference``), inside ``shape``, in the film's stored units."""
    if shape.kind == "distance":
        raise ValueError("a distance has no region statistics")
    (rows, cols), inside = roi_mask(shape, image.shape, scale)
    values = image[rows, cols][inside].astype(np.float64)
    unit = value_unit(film)
    if values.size == 0:
        return Stats(0, math.nan, math.nan, math.nan, math.nan, unit)
    if difference:
        span = film.value_max - film.value_min
        stored = (-values if film.inverted else values) * span
        unit = f"Δ {unit}"
    else:
        stored = film.stored_values(values)
    return Stats(int(values.size), float(stored.mean()), float(stored.std()),
                 float(stored.min()), float(stored.max()), unit)


def csv_row(shape: Shape, view: str, film: Film, stats: Stats | None) -> list[str]:
    """One CSV row (CSV_HEADER) for ``shape`` measured on ``view``."""
    length, unit = distance(shape, film) if shape.kind == "distance" else (math.nan, "")
    numbers = ([stats.pixels, stats.mean, stats.sd, stats.min, stats.max]
               if stats is not None else ["", "", "", "", ""])
    return [str(shape.id), shape.kind, view, *(f"{v:.3f}" for v in
                                              (shape.x0, shape.y0, shape.x1, shape.y1)),
            "" if math.isnan(length) else f"{length:.3f}", unit,
            *(f"{v:.6g}" if isinstance(v, float) else str(v) for v in numbers),
            stats.unit if stats is not None else ""]
