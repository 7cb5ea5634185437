"""FilmView: one image on a pyqtgraph canvas, in original-pixel coordinates.

Coordinates are in original-pixel units: pixel (row, col) of the original film covers the
square [col, col+1) x [row, row+1) of the view, row 0 at the top. An image shown at
``scale`` s (e.g. a x2 super-resolved result) is drawn on the rect (0, 0, W/s, H/s), so
one of its pixels covers 1/s original pixels and it lines up with its original.
Window/level, the film's VOI LUT and inversion change only the ImageItem's levels and
lookup table; pixels are never modified. Mouse: left-drag pans, the wheel zooms at the
cursor, right-drag changes the window (horizontal: width, vertical: level).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from xrayview.core.film import Film
from xrayview.gui.magnifier import Magnifier
from xrayview.gui.overlays import (ViewOverlay, orientation_markers, patient_lines,
                                   study_lines, window_text)
from xrayview.gui.pyramid_image import PyramidImageItem

log = logging.getLogger(__name__)

MIN_WINDOW_WIDTH = 1e-6  # normalised units; keeps the levels strictly increasing
WINDOW_DRAG_GAIN = 0.004  # change of (normalised) width/level per screen pixel of drag
_INVERT_RAMP = np.arange(255, -1, -1, dtype=np.uint8)  # (256,) uint8, 255 -> 0


class FilmViewBox(pg.ViewBox):
    """A ViewBox whose right-drag reports screen-pixel motion instead of zooming, and
    whose left-drag draws a measurement while a ``tool`` is armed."""

    rightDragged = Signal(float, float)  # dx, dy in screen pixels since the last event
    doubleClicked = Signal()
    shapeDragged = Signal(str, QPointF, QPointF, bool)  # tool, start, now, finished

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tool = ""  # "distance", "rectangle", "ellipse" or "" (pan)

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph override)
        """A left double-click emits ``doubleClicked`` (maximise the view)."""
        if ev.double() and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.doubleClicked.emit()
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (pyqtgraph override)
        """Right button: emit ``rightDragged``; others: pyqtgraph's pan."""
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            d = ev.screenPos() - ev.lastScreenPos()
            self.rightDragged.emit(d.x(), d.y())
            return
        if self.tool and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.shapeDragged.emit(self.tool, self.mapSceneToView(ev.buttonDownScenePos()),
                                   self.mapSceneToView(ev.scenePos()), ev.isFinish())
            return
        super().mouseDragEvent(ev, axis)


class FilmView(QWidget):
    """Shows one image of a ``Film`` with pan/zoom, a display window and a pixel readout.

    Signals
    -------
    cursorMoved(row, col, stored, normalised):
        the pointer is over original pixel (row, col); ``stored`` is the value in the file's
        own units (modality LUT output), ``normalised`` the [0, 1] MONOCHROME2 value of the
        image on show at that place.
    pointerMoved(x, y):
        pointer position in original-pixel coordinates (floats), inside the image.
    cursorLeft():
        the pointer left the image.
    windowChanged(center, width):
        the display window changed (normalised units).
    windowDragged():
        the user changed the window with a right-drag (not a preset or a program).
    doubleClicked():
        a left double-click on the image (the compare view maximises the view).
    """

    cursorMoved = Signal(int, int, float, float)
    pointerMoved = Signal(float, float)
    cursorLeft = Signal()
    windowChanged = Signal(float, float)
    windowDragged = Signal()
    doubleClicked = Signal()

    def __init__(self, parent: QWidget | None = None, title: str = "") -> None:
        super().__init__(parent)
        self._film: Film | None = None
        self._image: np.ndarray | None = None
        self._scale = 1
        self._center = 0.5
        self._width = 1.0
        self._use_film_lut = False
        self._inverted = False
        self._last_pixel: tuple[int, int] | None = None

        self.title_label = QLabel(title)
        self.title_label.setObjectName("viewTitle")
        self.readout_label = QLabel(" ")
        self.readout_label.setObjectName("viewReadout")
        self.graphics = pg.GraphicsView(background=QColor(0, 0, 0))
        self.graphics.setAcceptDrops(False)  # let file drops reach the main window
        self.graphics_layout = pg.GraphicsLayout()
        self.graphics_layout.setContentsMargins(0, 0, 0, 0)
        self.graphics.setCentralItem(self.graphics_layout)
        self.view_box = FilmViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.graphics_layout.addItem(self.view_box, 0, 0)
        self.image_item = PyramidImageItem(axisOrder="row-major", autoDownsample=True)
        self.view_box.addItem(self.image_item)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.view_box.rightDragged.connect(self._on_right_drag)
        self.view_box.doubleClicked.connect(self.doubleClicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.title_label)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout_label)
        self.title_label.setVisible(bool(title))
        self.readout_label.setVisible(bool(title))
        self.overlay = ViewOverlay(self.graphics.viewport())
        self.magnifier = Magnifier(self.graphics.viewport(), self.graphics.scene())
        self.show_identifiers = False
        self.graphics.viewport().installEventFilter(self)
        self.view_box.sigRangeChanged.connect(lambda *_: self._update_view_overlay())

    # -- overlays -----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        """Keep the overlays in the corners when the viewport is resized."""
        if event.type() == QEvent.Type.Resize and watched is self.graphics.viewport():
            self.overlay.layout()
            self._update_view_overlay()
        return super().eventFilter(watched, event)

    def set_overlays_visible(self, visible: bool) -> None:
        """Show or hide the on-image overlays."""
        self.overlay.set_visible(visible)

    def set_show_identifiers(self, show: bool) -> None:
        """Show patient lines in the overlay (follows the de-identification toggle)."""
        self.show_identifiers = bool(show)
        self.overlay.set_text("top_left", patient_lines(self._film, self.show_identifiers))

    def zoom(self) -> float | None:
        """Screen pixels per original film pixel, or None before the view has a size."""
        (x0, x1), _ = self.view_box.viewRange()
        width = self.view_box.width()
        return width / (x1 - x0) if width >= 2 and x1 > x0 else None

    def _window_line(self) -> str:
        film = self._film
        return "" if film is None else window_text(film, self._center, self._width,
                                                     self._use_film_lut)

    def _update_view_overlay(self) -> None:
        zoom = self.zoom()
        lines = [self._window_line()] if self._film is not None else []
        if zoom is not None and self._film is not None:
            lines.append(f"Zoom {zoom * 100:.0f} %")
        self.overlay.set_text("bottom_left", [line for line in lines if line])
        film = self._film
        if film is not None and film.pixel_spacing_mm and zoom:
            note = "detector plane" if film.spacing_source == "ImagerPixelSpacing" else ""
            self.overlay.scale_bar.set_scale(film.pixel_spacing_mm[1] / zoom, note)
        else:
            self.overlay.scale_bar.set_scale(None)
        self.overlay.layout()

    def _update_film_overlay(self) -> None:
        film = self._film
        self.overlay.set_text("top_left", patient_lines(film, self.show_identifiers))
        self.overlay.set_text("top_right", study_lines(film))
        self.overlay.set_markers(orientation_markers(film))
        self._update_view_overlay()

    # -- film and image -----------------------------------------------------------------
    @property
    def film(self) -> Film | None:
        """The film whose coordinates and value range this view uses, or None."""
        return self._film

    @property
    def image(self) -> np.ndarray | None:
        """The array on show: float32 (H*s, W*s), or None."""
        return self._image

    @property
    def image_scale(self) -> int:
        """Image pixels per original pixel along each axis (1 for the original)."""
        return self._scale

    def set_film(self, film: Film, pixels: np.ndarray | None = None, scale: int = 1,
                 reset: bool = True) -> None:
        """Use ``film``'s coordinates and show ``pixels`` (default ``film.pixels``).

        pixels: float32 (H*scale, W*scale) in [0, 1]. ``reset``: default window and fit.
        """
        self._film = film
        self._last_pixel = None
        ratio = 1.0
        if film.pixel_spacing_mm and all(s > 0 for s in film.pixel_spacing_mm):
            row_mm, col_mm = film.pixel_spacing_mm
            ratio = col_mm / row_mm  # screen px per column unit / per row unit
        self.view_box.setAspectLocked(True, ratio=ratio)
        self.set_image(film.pixels if pixels is None else pixels, scale)
        if reset:
            self.reset_window()
            self.fit()
        self._update_film_overlay()

    def set_image(self, pixels: np.ndarray | None, scale: int = 1) -> None:
        """Show ``pixels`` float32 (h, w) at ``scale`` image pixels per original pixel."""
        if pixels is None:
            self._image = None
            self.image_item.clear()
            return
        self._image, self._scale = pixels, int(scale)
        self.image_item.setImage(pixels, autoLevels=False, levels=self._levels())
        h, w = pixels.shape
        self.image_item.setRect(QRectF(0.0, 0.0, w / scale, h / scale))
        self._apply_display()

    def refresh(self) -> None:
        """Redraw after the array on show was changed in place (progressive fill)."""
        if self._image is not None:
            self.image_item.updateImage()

    def clear(self) -> None:
        """Show nothing."""
        self._film = self._image = None
        self.image_item.clear()
        self.cursorLeft.emit()

    @property
    def smooth(self) -> bool:
        """Bilinear (True) or nearest-neighbour (False) display of magnified pixels."""
        return self.image_item.smooth

    def set_smooth(self, smooth: bool) -> None:
        """Choose the display interpolation (display only)."""
        self.image_item.set_smooth(smooth)

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

    def use_film_lut(self) -> None:
        """Apply the film's own VOI LUT (if it has one) instead of a linear window."""
        if self._film is not None and self._film.display_lut is not None:
            self._center, self._width = 0.5, 1.0
            self._use_film_lut = True
            self._apply_display()

    def reset_window(self) -> None:
        """The film's default: its first DICOM window, else its VOI LUT, else [0, 1]."""
        film = self._film
        if film is not None and film.windows:
            w = film.windows[0]
            self.set_window(w.center, w.width)
        elif film is not None and film.display_lut is not None:
            self.use_film_lut()
        else:
            self.set_window(0.5, 1.0)

    @property
    def inverted(self) -> bool:
        """True when the display shows black for attenuation (a 'negative')."""
        return self._inverted

    def set_inverted(self, inverted: bool) -> None:
        """Invert the display greyscale (display only)."""
        self._inverted = bool(inverted)
        self._apply_display()

    def _levels(self) -> tuple[float, float]:
        half = self._width / 2.0
        return (self._center - half, self._center + half)

    def _lookup_table(self) -> np.ndarray | None:
        if self._use_film_lut and self._film is not None and self._film.display_lut is not None:
            ramp = np.clip(np.asarray(self._film.display_lut, dtype=np.float64), 0.0, 1.0)
            if self._inverted:
                ramp = 1.0 - ramp
            return np.round(ramp * 255.0).astype(np.uint8)
        return _INVERT_RAMP if self._inverted else None

    def _apply_display(self) -> None:
        self.image_item.setLevels(self._levels(), update=False)
        self.image_item.setLookupTable(self._lookup_table(), update=False)
        if self._image is not None:
            self.image_item.updateImage()
        self._update_view_overlay()
        self.windowChanged.emit(self._center, self._width)

    def _on_right_drag(self, dx: float, dy: float) -> None:
        """Right-drag: right widens the window, down raises the level (as in RadiAnt)."""
        width = self._width * math.exp(dx * WINDOW_DRAG_GAIN * 2.0)
        center = self._center + dy * WINDOW_DRAG_GAIN * max(self._width, 0.05)
        self.set_window(center, min(width, 4.0))
        self.windowDragged.emit()

    # -- view ---------------------------------------------------------------------------
    def fit(self) -> None:
        """Zoom so the whole film is visible, centred."""
        if self._film is None:
            return
        rows, cols = self._film.shape
        self.view_box.setRange(xRange=(0, cols), yRange=(0, rows), padding=0.01)

    def actual_size(self) -> None:
        """1:1: one screen pixel per original pixel, keeping the centre."""
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = max(self.view_box.width(), 1.0), max(self.view_box.height(), 1.0)
        self.view_box.setRange(xRange=(cx - w / 2, cx + w / 2),
                               yRange=(cy - h / 2, cy + h / 2), padding=0)

    # -- pixel readout ------------------------------------------------------------------
    def value_at(self, x: float, y: float) -> float | None:
        """Value of the image on show at original coordinates (x, y), or None outside."""
        if self._image is None:
            return None
        s = self._scale
        r, c = math.floor(y * s), math.floor(x * s)
        h, w = self._image.shape
        return float(self._image[r, c]) if 0 <= r < h and 0 <= c < w else None

    def pixel_at(self, row: int, col: int) -> tuple[float, float]:
        """(stored, normalised) value of the image on show at original pixel (row, col)."""
        if self._film is None:
            raise RuntimeError("no film on show")
        norm = self.value_at(col + 0.5, row + 0.5)
        norm = float(self._film.pixels[row, col]) if norm is None else norm
        stored = float(self._film.stored_values(np.asarray([norm], dtype=np.float32))[0])
        return stored, norm

    def position_under(self, scene_pos) -> QPointF | None:
        """Original-pixel coordinates under a scene position, or None outside the film."""
        if self._film is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view_box.mapSceneToView(scene_pos)
        rows, cols = self._film.shape
        return p if 0 <= p.x() < cols and 0 <= p.y() < rows else None

    def pixel_under(self, scene_pos) -> tuple[int, int] | None:
        """(row, col) of the original film under a scene position, or None outside."""
        p = self.position_under(scene_pos)
        return None if p is None else (math.floor(p.y()), math.floor(p.x()))

    def _on_mouse_moved(self, scene_pos) -> None:
        p = self.position_under(scene_pos)
        if self.magnifier.enabled:
            self.magnifier.show_at(scene_pos) if p is not None else self.magnifier.hide()
        if p is None:
            if self._last_pixel is not None:
                self._last_pixel = None
                self.cursorLeft.emit()
            return
        self.pointerMoved.emit(p.x(), p.y())
        pixel = (math.floor(p.y()), math.floor(p.x()))
        if pixel == self._last_pixel:
            return
        self._last_pixel = pixel
        stored, norm = self.pixel_at(*pixel)
        self.cursorMoved.emit(pixel[0], pixel[1], stored, norm)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Clear the readout (and hide the lens) when the pointer leaves the widget."""
        self.magnifier.hide()
        if self._last_pixel is not None:
            self._last_pixel = None
            self.cursorLeft.emit()
        super().leaveEvent(event)
