"""PyramidImageItem: pyqtgraph's ImageItem with cached screen-resolution copies.

With ``autoDownsample`` pyqtgraph shows a large image through a block-mean copy at
roughly screen resolution, but recomputes that copy from the full image whenever a zoom
changes the downsampling factor (0.4-0.7 s for an 8192 x 8192 float32 x2 result on a
2-core CPU: a visible stall at every zoom step that crosses a level). Here the factors are
powers of two and each factor's copy is computed once per image by halving the finest
cached level (so 4 comes from 2), and kept until the image changes: zooming back and forth
re-uses them, and window/level changes (only the levels and lookup table) keep them too.

``smooth`` (default True) draws magnified pixels with bilinear filtering (Qt's
SmoothPixmapTransform), False with nearest-neighbour blocks; every view of the viewer and
of a study uses the same setting, so no pane looks sharper for how it is drawn.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainter


def halve(image: np.ndarray, rows: bool = True, cols: bool = True) -> np.ndarray:
    """Mean of 2 x 2 (or 2 x 1, 1 x 2) blocks: float32 (H, W) -> (H // 2, W // 2).

    A trailing odd row/column is dropped, as pyqtgraph's downsample does. Strided adds,
    several times faster than a reshaped mean for large images.
    """
    a = image
    if rows:
        h = a.shape[0] // 2 * 2
        a = (a[0:h:2] + a[1:h:2]) * np.float32(0.5)
    if cols:
        w = a.shape[1] // 2 * 2
        a = (a[:, 0:w:2] + a[:, 1:w:2]) * np.float32(0.5)
    return a.astype(np.float32, copy=False)


def _power_of_two_floor(n: int) -> int:
    return 1 << (max(1, int(n)).bit_length() - 1)


class PyramidImageItem(pg.ImageItem):
    """An ImageItem for 2-D float images that caches its downsampled copies (see module)."""

    def __init__(self, *args, smooth: bool = True, **kwargs) -> None:
        self._pyramid: dict[tuple[int, int], np.ndarray] = {}
        self.smooth = smooth
        super().__init__(*args, **kwargs)

    def set_smooth(self, smooth: bool) -> None:
        """Bilinear (True) or nearest-neighbour (False) display interpolation."""
        self.smooth = bool(smooth)
        self.update()

    def paint(self, painter, *args) -> None:
        """ImageItem.paint with the display interpolation of ``smooth``."""
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        super().paint(painter, *args)

    def setImage(self, image=None, autoLevels=None, **kwargs):  # noqa: N802 (pyqtgraph API)
        """As ImageItem.setImage; a new or updated image drops the cached copies."""
        self._pyramid = {}
        return super().setImage(image, autoLevels=autoLevels, **kwargs)

    def _computeDownsampleFactors(self) -> tuple[int, int]:  # noqa: N802 (pyqtgraph API)
        xds, yds = super()._computeDownsampleFactors()
        return _power_of_two_floor(xds), _power_of_two_floor(yds)

    def _level(self, yds: int, xds: int) -> np.ndarray:
        """The (yds, xds) block-mean copy of the image (powers of two), halving the
        finest cached level above it; intermediate levels are cached too."""
        self._pyramid.setdefault((1, 1), self.image)
        sources = [k for k in self._pyramid if yds % k[0] == 0 and xds % k[1] == 0]
        fy, fx = max(sources, key=lambda k: k[0] * k[1])
        level = self._pyramid[(fy, fx)]
        while (fy, fx) != (yds, xds):
            rows, cols = fy < yds, fx < xds
            level = halve(level, rows, cols)
            fy, fx = fy * (2 if rows else 1), fx * (2 if cols else 1)
            self._pyramid[(fy, fx)] = level
        return level

    def render(self) -> None:
        """Render the cached copy for the current zoom (ImageItem.render on it)."""
        image = self.image
        if not self.autoDownsample or image is None or image.ndim != 2 \
                or self.axisOrder != "row-major":
            return super().render()
        xds, yds = self._computeDownsampleFactors()
        small = self._level(yds, xds)
        self.image, self.autoDownsample = small, False
        try:
            super().render()
        finally:
            self.image, self.autoDownsample = image, True
        self._lastDownsample = (xds, yds)
