"""FilmView: one film on a pyqtgraph canvas, with display-only window/level.

Coordinates are in original-pixel units: pixel (row, col) covers the square
[col, col+1) x [row, row+1) of the view, row 0 at the top. Window/level, the film's VOI
LUT and inversion change only the ImageItem's levels and lookup table; ``Film.pixels``
is never modified. Mouse: left-drag pans, wheel or right-drag zooms.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from xrayview.core.film import Film

log = logging.getLogger(__name__)

MIN_WINDOW_WIDTH = 1e-6  # normalised units; keeps the levels strictly increasing
_INVERT_RAMP = np.arange(255, -1, -1, dtype=np.uint8)  # (256,) uint8, 255 -> 0


class FilmView(QWidget):
    """Shows one ``Film`` with pan/zoom, a display window and a pixel readout.

    Signals
    -------
    cursorMoved(row, col, stored, normalised):
        the pointer is over pixel (row, col); ``stored`` is the value in the file's
        own units (modality LUT output), ``normalised`` the [0, 1] MONOCHROME2 value.
    cursorLeft():
        the pointer left the image.
    windowChanged(center, width):
        the display window changed (normalised units).
    """

    cursorMoved = Signal(int, int, float, float)
    cursorLeft = Signal()
    windowChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._film: Film | None = None
        self._center = 0.5
        self._width = 1.0
        self._use_film_lut = False
        self._inverted = False
        self._last_pixel: tuple[int, int] | None = None

        self.graphics = pg.GraphicsView(background=QColor(0, 0, 0))
        self.graphics.setAcceptDrops(False)  # let file drops reach the main window
        self.view_box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.graphics.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.view_box.addItem(self.image_item)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    # -- film ---------------------------------------------------------------------------
    @property
    def film(self) -> Film | None:
        """The film on show, or None."""
        return self._film

    def set_film(self, film: Film) -> None:
        """Show ``film`` (pixels float32 (H, W) in [0, 1]) with its default window, fitted."""
        self._film = film
        self._last_pixel = None
        self.image_item.setImage(film.pixels, autoLevels=False, levels=(0.0, 1.0))
        ratio = 1.0
        if film.pixel_spacing_mm and all(s > 0 for s in film.pixel_spacing_mm):
            row_mm, col_mm = film.pixel_spacing_mm
            ratio = col_mm / row_mm  # screen px per column unit / per row unit
        self.view_box.setAspectLocked(True, ratio=ratio)
        self.reset_window()
        self.fit()

    def clear(self) -> None:
        """Show nothing."""
        self._film = None
        self.image_item.clear()
        self.cursorLeft.emit()

    # -- window / level -----------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        """(center, width) of the display window, normalised units."""
        return (self._center, self._width)

    @property
    def uses_film_lut(self) -> bool:
        """True while the film's own VOI LUT (``Film.display_lut``) is applied."""
        return self._use_film_lut

    def set_window(self, center: float, width: float) -> None:
        """Display values in [center - width/2, center + width/2] as black..white.

        Normalised units; replaces the film's VOI LUT if one was in use. Display only.
        """
        self._center = float(center)
        self._width = max(float(width), MIN_WINDOW_WIDTH)
        self._use_film_lut = False
        self._apply_display()

    def reset_window(self) -> None:
        """The film's default: its first DICOM window, else its VOI LUT, else [0, 1]."""
        film = self._film
        if film is not None and film.windows:
            w = film.windows[0]
            self.set_window(w.center, w.width)
        elif film is not None and film.display_lut is not None:
            self._center, self._width = 0.5, 1.0
            self._use_film_lut = True
            self._apply_display()
        else:
            self.set_window(0.5, 1.0)

    def set_full_range(self) -> None:
        """Window covering the whole normalised range [0, 1]."""
        self.set_window(0.5, 1.0)

    @property
    def inverted(self) -> bool:
        """True when the display shows black for attenuation (a 'negative')."""
        return self._inverted

    def set_inverted(self, inverted: bool) -> None:
        """Invert the display greyscale (display only)."""
        self._inverted = bool(inverted)
        self._apply_display()

    def _apply_display(self) -> None:
        half = self._width / 2.0
        self.image_item.setLevels((self._center - half, self._center + half), update=False)
        lut = None
        if self._use_film_lut and self._film is not None and self._film.display_lut is not None:
            ramp = np.clip(np.asarray(self._film.display_lut, dtype=np.float64), 0.0, 1.0)
            if self._inverted:
                ramp = 1.0 - ramp
            lut = np.round(ramp * 255.0).astype(np.uint8)
        elif self._inverted:
            lut = _INVERT_RAMP
        self.image_item.setLookupTable(lut, update=False)
        self.image_item.updateImage()
        self.windowChanged.emit(self._center, self._width)

    # -- view ---------------------------------------------------------------------------
    def fit(self) -> None:
        """Zoom so the whole film is visible, centred."""
        if self._film is None:
            return
        rows, cols = self._film.shape
        self.view_box.setRange(xRange=(0, cols), yRange=(0, rows), padding=0.01)

    # -- pixel readout ------------------------------------------------------------------
    def pixel_at(self, row: int, col: int) -> tuple[float, float]:
        """(stored, normalised) value of pixel (row, col) of the film on show."""
        if self._film is None:
            raise RuntimeError("no film on show")
        norm = float(self._film.pixels[row, col])
        stored = float(self._film.stored_values(np.asarray([norm], dtype=np.float32))[0])
        return stored, norm

    def pixel_under(self, scene_pos) -> tuple[int, int] | None:
        """(row, col) under a scene position (QPointF), or None outside the film."""
        if self._film is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view_box.mapSceneToView(scene_pos)
        row, col = math.floor(p.y()), math.floor(p.x())
        rows, cols = self._film.shape
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return None

    def _on_mouse_moved(self, scene_pos) -> None:
        pixel = self.pixel_under(scene_pos)
        if pixel is None:
            if self._last_pixel is not None:
                self._last_pixel = None
                self.cursorLeft.emit()
            return
        if pixel == self._last_pixel:
            return
        self._last_pixel = pixel
        stored, norm = self.pixel_at(*pixel)
        self.cursorMoved.emit(pixel[0], pixel[1], stored, norm)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Clear the readout when the pointer leaves the widget."""
        if self._last_pixel is not None:
            self._last_pixel = None
            self.cursorLeft.emit()
        super().leaveEvent(event)
