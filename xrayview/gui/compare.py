"""CompareView: Original | Enhanced | Difference, linked and sharing one display window.

All three views use original-pixel coordinates (see ``gui.viewer``); pan and zoom are
linked by centre and zoom factor (original pixels per screen pixel), so views of
different widths still show the same place at the same magnification. Window/level and
inversion are shared by Original and Enhanced. Difference shows enhanced - reference,
signed, in a diverging colour map symmetric about zero (``CET-D1``: blue < 0 < red) with
a colour bar. Swipe overlays the enhanced image on the right of a draggable line in the
Original view; flicker shows the enhanced image in the Original view.

``observe(state)`` makes the view follow a ``gui.state.ViewerState``: a new film, a run's
input, its tiles as they land, the step on show and the end of the run; nothing else
drives it during a run.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from xrayview.core.enhance.recipe import Recipe
from xrayview.core.film import Film
from xrayview.gui.labels import (difference_title, enhanced_label, reference_title,
                                 super_resolution_label)
from xrayview.gui.measure_tool import MeasurementLayer
from xrayview.gui.plot_cache import cache_axes
from xrayview.gui.presets import CUSTOM, default_preset, window_preset
from xrayview.gui.pyramid_image import PyramidImageItem
from xrayview.gui.state import ViewerState, degraded_film
from xrayview.gui.viewer import FilmView

log = logging.getLogger(__name__)

DIFF_COLORMAP = "CET-D1"
REFERENCES = {"bicubic": "Bicubic (or the original at ×1)", "previous": "Previous step",
              "truth": "Ground truth (reference mode)"}
REFRESH_MS = 100  # progressive fill redraws at most this often
VIEW_NAMES = ("original", "enhanced", "difference")
LAYOUTS = {  # name -> (label, the views shown left to right)
    "1x3": ("Original | Enhanced | Difference", ("original", "enhanced", "difference")),
    "1x2": ("Original | Enhanced", ("original", "enhanced")),
    "1x2-od": ("Original | Difference", ("original", "difference")),
    "1x2-ed": ("Enhanced | Difference", ("enhanced", "difference")),
    "1x1-o": ("Original only", ("original",)),
    "1x1-e": ("Enhanced only", ("enhanced",)),
    "1x1-d": ("Difference only", ("difference",)),
}
MAXIMISED = {"original": "1x1-o", "enhanced": "1x1-e", "difference": "1x1-d"}


def symmetric_limit(diff: np.ndarray) -> float:
    """Colour-bar half range for a signed difference: 99.5th percentile of |d|, >= 1e-3."""
    if diff.size == 0:
        return 1e-3
    sample = np.abs(diff[:: max(1, diff.shape[0] // 512), :: max(1, diff.shape[1] // 512)])
    return float(max(np.percentile(sample, 99.5), 1e-3))


class DifferenceView(FilmView):
    """Signed difference (float32, [-1, 1]) with a symmetric diverging map and colour bar."""

    def __init__(self, parent: QWidget | None = None, title: str = "Difference") -> None:
        super().__init__(parent, title)
        self.colormap = pg.colormap.get(DIFF_COLORMAP)
        self.color_bar = pg.ColorBarItem(values=(-0.1, 0.1), colorMap=self.colormap,
                                         interactive=False, width=14,
                                         label="enhanced − reference")
        self.color_bar.setImageItem(self.image_item)
        self.graphics_layout.addItem(self.color_bar, 0, 1)
        cache_axes(self.color_bar)
        self.limit = 0.1

    def show_difference(self, diff: np.ndarray | None, scale: int) -> None:
        """Show ``diff`` float32 (H*s, W*s) (enhanced - reference), colours symmetric about 0."""
        if diff is None:
            self.set_image(None)
            return
        self.limit = symmetric_limit(diff)
        self.set_image(diff, scale)
        self.color_bar.setLevels((-self.limit, self.limit))
        self._update_view_overlay()

    def _levels(self) -> tuple[float, float]:
        return (-self.limit, self.limit) if hasattr(self, "limit") else (-0.1, 0.1)

    def _lookup_table(self) -> np.ndarray | None:
        return self.colormap.getLookupTable(nPts=256)

    def _on_right_drag(self, dx: float, dy: float) -> None:
        """The difference keeps its symmetric colour scale; right-drag does nothing here."""

    def _window_line(self) -> str:
        film = self.film
        if film is None or self.image is None:
            return ""
        return f"Δ ±{self.limit * (film.value_max - film.value_min):.4g} (stored units)"


class CompareView(QWidget):
    """Three linked views; see the module docstring.

    Signals: ``windowChanged(center, width)`` (shared display window, normalised units),
    ``referenceKindChanged(kind)`` (the difference reference, e.g. back to "bicubic" when a
    run without reference mode leaves no ground truth), ``layoutChanged(name)`` (a key of
    ``LAYOUTS``; a double-click maximises a view and restores the layout),
    ``presetChanged(name)`` (the window preset in force, a key of ``gui.presets.PRESETS``,
    or ``CUSTOM`` after a right-drag or a histogram edit).
    """

    windowChanged = Signal(float, float)
    referenceKindChanged = Signal(str)
    layoutChanged = Signal(str)
    presetChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = FilmView(self, "Original")
        self.enhanced = FilmView(self, "Enhanced")
        self.difference = DifferenceView(self)
        self.views = (self.original, self.enhanced, self.difference)
        self.splitter = QSplitter(self)
        for v in self.views:
            self.splitter.addWidget(v)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._film: Film | None = None
        self._enhanced: np.ndarray | None = None
        self._scale = 1
        self._references: dict[str, np.ndarray | None] = dict.fromkeys(REFERENCES)
        self.reference_kind = "bicubic"
        self._syncing = False
        self._swipe: float | None = None
        self._flicker = False
        self._complete = False  # the enhanced buffer holds a finished image
        self.original_title = "Original"
        self._state: ViewerState | None = None
        self.layout_name = "1x3"
        self.preset = "full"  # the window preset in force (CUSTOM after a free edit)
        self._restore_layout = "1x3"  # what a double-click on a maximised view restores
        self._recipe: Recipe | None = None  # of the run on show
        self.measurements = MeasurementLayer(self)
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh.timeout.connect(self.enhanced.refresh)

        self.swipe_item = PyramidImageItem(axisOrder="row-major", autoDownsample=True)
        self.swipe_item.setZValue(5)
        self.swipe_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("y", width=2))
        self.swipe_line.setZValue(10)
        self.swipe_line.sigPositionChanged.connect(self._on_swipe_line)
        for item in (self.swipe_item, self.swipe_line):
            self.original.view_box.addItem(item, ignoreBounds=True)
            item.hide()

        for name, v in zip(VIEW_NAMES, self.views):
            v.view_box.sigRangeChanged.connect(self._on_range_changed)
            v.view_box.sigResized.connect(self._on_resized)
            v.doubleClicked.connect(lambda n=name: self.toggle_maximised(n))
            v.pointerMoved.connect(self._show_readouts)
            v.cursorLeft.connect(self._clear_readouts)
        for v in (self.original, self.enhanced):
            v.windowChanged.connect(self._on_window_changed)
            v.windowDragged.connect(lambda: self._set_preset(CUSTOM))

    # -- content ------------------------------------------------------------------------
    @property
    def film(self) -> Film | None:
        """The film in the Original view (in reference mode: the degraded film)."""
        return self._film

    @property
    def scale(self) -> int:
        """Enhanced pixels per original pixel."""
        return self._scale

    def set_film(self, film: Film, reset: bool = True, title: str = "Original") -> None:
        """Show ``film`` as the original; clears the enhanced and difference views."""
        self.measurements.clear()  # another film, or the degraded one: other coordinates
        self._film = film
        self.original_title = title
        self.original.title_label.setText(title)
        self.original.set_film(film, reset=reset)
        for v in (self.enhanced, self.difference):
            v.set_film(film, pixels=np.zeros((1, 1), np.float32), reset=False)
            v.set_image(None)
        self._enhanced, self._complete = None, False
        self._references = dict.fromkeys(REFERENCES)
        self.enhanced.set_window(*self.original.window)
        self.set_swipe(None)
        self.set_flicker(False)
        self.enhanced.title_label.setText("Enhanced")
        if reset:
            self._set_preset(default_preset(film))
        self._sync_from(self.original.view_box)

    def begin_enhanced(self, buffer: np.ndarray, scale: int, title: str = "") -> None:
        """Start a progressive result: ``buffer`` float32 (H*s, W*s), filled by its owner
        (call ``refresh_soon`` after each tile), shown at ``scale``."""
        self._scale, self._complete = int(scale), False
        self._enhanced = buffer
        self.enhanced.set_image(self._enhanced, scale)
        self.enhanced.title_label.setText(title or f"Enhanced ×{scale}")
        self.difference.set_image(None)

    def refresh_soon(self) -> None:
        """Redraw the progressive result within REFRESH_MS (tiles land faster)."""
        if self._enhanced is not None and not self._refresh.isActive():
            self._refresh.start()

    def set_enhanced_title(self, text: str) -> None:
        """The Enhanced view's title (e.g. "Enhanced (failed)")."""
        self.enhanced.title_label.setText(text)

    def set_enhanced(self, image: np.ndarray, scale: int, title: str | None = None) -> None:
        """Show a complete enhanced image float32 (H*s, W*s) and update the difference."""
        self._refresh.stop()
        self._scale, self._enhanced, self._complete = int(scale), image, True
        self.enhanced.set_image(image, scale)
        if title is not None:
            self.enhanced.title_label.setText(title)
        self._update_swipe_image()
        if self._flicker:
            self.original.set_image(image, scale)
        self.update_difference()

    @property
    def enhanced_image(self) -> np.ndarray | None:
        """The enhanced array on show (float32 (H*s, W*s)), or None."""
        return self._enhanced

    def set_reference(self, kind: str, image: np.ndarray | None) -> None:
        """Provide the difference reference ``kind`` (a key of REFERENCES), same shape."""
        self._references[kind] = image
        if kind == self.reference_kind:
            self.update_difference()

    def set_reference_kind(self, kind: str) -> None:
        """Choose which reference the difference subtracts."""
        if kind not in REFERENCES:
            raise ValueError(f"unknown difference reference {kind!r}")
        changed = kind != self.reference_kind
        self.reference_kind = kind
        self.update_difference()
        if changed:
            self.referenceKindChanged.emit(kind)

    def current_difference(self) -> np.ndarray | None:
        """enhanced - reference, float32 (H*s, W*s), or None when either is missing."""
        ref = self._references.get(self.reference_kind)
        if self._enhanced is None or not self._complete or ref is None or ref.shape != self._enhanced.shape:
            return None
        return (self._enhanced - ref).astype(np.float32)

    def update_difference(self) -> None:
        """Recompute and show the difference view."""
        diff = self.current_difference()
        self.difference.show_difference(diff, self._scale)
        self.difference.title_label.setText(
            difference_title(self._recipe, self.reference_kind, diff is not None))
        self.measurements.refresh()

    # -- following the viewer state ------------------------------------------------------
    def observe(self, state: ViewerState) -> None:
        """Follow ``state``: films, runs, tiles, the step on show, the end of a run."""
        self._state = state
        state.film_opened.connect(self._on_film_opened)
        state.run_started.connect(self._on_run_started)
        state.input_ready.connect(self._on_input_ready)
        state.tile_done.connect(lambda _record: self.refresh_soon())
        state.step_shown.connect(self._on_step_shown)
        state.result_ready.connect(lambda result: self.set_reference("bicubic", result.bicubic))
        state.run_ended.connect(self._on_run_ended)

    def _on_film_opened(self, film: Film) -> None:
        self._recipe = None
        self.set_film(film)
        if self.reference_kind != "bicubic":
            self.set_reference_kind("bicubic")

    def _on_run_started(self, recipe: Recipe) -> None:
        state = self._state
        self._recipe = recipe
        if recipe.reference is None and self._film is not state.film:
            self.set_film(state.film)  # back from a reference-mode run
        self.set_reference("truth", None)
        self.set_reference("previous", None)
        if recipe.reference is None and self.reference_kind == "truth":
            self.set_reference_kind("bicubic")  # no ground truth without reference mode
        if not recipe.dehaze and self.reference_kind == "previous":
            self.set_reference_kind("bicubic")

    def _on_input_ready(self, record) -> None:
        state, recipe = self._state, self._recipe
        if recipe.reference is not None:
            self.set_film(degraded_film(state.film, record.film, recipe.scale),
                          title=reference_title(recipe.scale, recipe.reference.veil))
        self.begin_enhanced(state.progressive, recipe.scale,
                            f"{enhanced_label(recipe)} — running")
        self.set_reference("bicubic", record.bicubic)
        self.set_reference("truth", record.truth)

    def _on_step_shown(self, k: int | None) -> None:
        state, recipe = self._state, self._recipe
        last = len(state.steps)
        final = state.is_final(k)
        if k is None:
            image, k = state.result.image, last
        else:
            image = state.step_image(k)
        if image is None:
            return
        if final:
            title = enhanced_label(recipe, last if recipe.dehaze else None)
        elif state.running:
            title = f"{enhanced_label(recipe, k if recipe.dehaze else None)} — running"
        elif k == 0:
            title = f"{super_resolution_label(recipe) or 'Original'} — before dehazing"
        else:
            title = f"{enhanced_label(recipe, k)} — step {k} of {last}"
        self.set_reference("previous", state.step_image(k - 1) if k else None)
        self.set_enhanced(image, recipe.scale, title)

    def _on_run_ended(self, outcome: str, _text: str) -> None:
        if outcome != "done" and self._recipe is not None:
            what = "failed" if outcome == "failed" else "cancelled (partial)"
            self.enhanced.title_label.setText(f"{enhanced_label(self._recipe)} — {what}")

    # -- layout and display -------------------------------------------------------------
    def view(self, name: str) -> FilmView:
        """The view called ``name`` (one of VIEW_NAMES)."""
        return self.views[VIEW_NAMES.index(name)]

    def set_layout(self, name: str) -> None:
        """Show the views of layout ``name`` (a key of LAYOUTS); pan and zoom stay linked."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; one of {', '.join(LAYOUTS)}")
        shown = LAYOUTS[name][1]
        for view_name, v in zip(VIEW_NAMES, self.views):
            v.setVisible(view_name in shown)
        if name not in MAXIMISED.values():
            self._restore_layout = name
        changed = name != self.layout_name
        self.layout_name = name
        if changed:
            self.layoutChanged.emit(name)

    def toggle_maximised(self, view_name: str) -> None:
        """Maximise ``view_name`` (1x1), or restore the previous layout if it is."""
        target = MAXIMISED[view_name]
        self.set_layout(self._restore_layout if self.layout_name == target else target)

    def visible_views(self) -> list[FilmView]:
        """The views of the current layout, left to right."""
        return [self.view(n) for n in LAYOUTS[self.layout_name][1]]

    def set_overlays_visible(self, visible: bool) -> None:
        """Show or hide the on-image overlays of every view."""
        for v in self.views:
            v.set_overlays_visible(visible)

    def set_show_identifiers(self, show: bool) -> None:
        """Patient lines in the overlays of every view (the de-identification toggle)."""
        for v in self.views:
            v.set_show_identifiers(show)

    def set_magnifier(self, on: bool) -> None:
        """The magnifier lens under the cursor, in whichever view it is over."""
        for v in self.views:
            v.magnifier.set_enabled(on)

    def set_smooth(self, smooth: bool) -> None:
        """Bilinear (True) or nearest-neighbour display in every view alike."""
        for v in self.views:
            v.set_smooth(smooth)
        self.swipe_item.set_smooth(smooth)

    def _on_resized(self, _view_box) -> None:
        """A view changed size (layout, splitter, window): all follow the first visible."""
        if self._syncing:
            return
        lead = next((v for v in self.visible_views() if v.view_box.width() >= 2), None)
        if lead is not None:
            self._sync_from(lead.view_box)

    # -- window / level -----------------------------------------------------------------
    def set_window(self, center: float, width: float) -> None:
        """Shared display window (normalised units) for Original and Enhanced; a window
        set from outside a preset (the histogram) makes the preset CUSTOM."""
        self.original.set_window(center, width)
        if self._film is not None:
            self._set_preset(CUSTOM)

    def apply_preset(self, name: str) -> None:
        """Apply a window preset by name (see ``gui.presets``); "default" on a film that
        is not DICOM is the full range."""
        if self._film is None:
            return
        if name == "default" and default_preset(self._film) != "default":
            name = "full"
        if name == "default":
            self.original.reset_window()
            if self.original.uses_film_lut:
                self.enhanced.use_film_lut()
        else:
            self.original.set_window(*window_preset(name, self._film))
        self._set_preset(name)

    def _set_preset(self, name: str) -> None:
        if name != self.preset:
            self.preset = name
            self.presetChanged.emit(name)

    def set_inverted(self, inverted: bool) -> None:
        """Invert the greyscale of Original and Enhanced (display only; the window and its
        preset stay)."""
        for v in (self.original, self.enhanced):
            v.set_inverted(inverted)
        self._update_swipe_image()

    def _on_window_changed(self, center: float, width: float) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            source = self.sender()
            for v in (self.original, self.enhanced):
                if v is not source and v.window != (center, width):
                    v.set_window(center, width)
            self._update_swipe_image()
        finally:
            self._syncing = False
        self.windowChanged.emit(center, width)

    # -- linked pan / zoom --------------------------------------------------------------
    def fit(self) -> None:
        """Fit the whole film in the Original view; the others follow."""
        self.original.fit()

    def actual_size(self) -> None:
        """One screen pixel per original pixel in all views."""
        self.original.actual_size()

    def _on_range_changed(self, view_box, *_):
        if not self._syncing:
            self._sync_from(view_box)

    def _sync_from(self, source) -> None:
        (x0, x1), (y0, y1) = source.viewRange()
        sw, sh = source.width(), source.height()
        if sw < 2 or sh < 2:
            return
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        px, py = (x1 - x0) / sw, (y1 - y0) / sh  # original pixels per screen pixel
        self._syncing = True
        try:
            for v in self.views:
                vb = v.view_box
                if vb is source or vb.width() < 2:
                    continue
                w, h = vb.width(), vb.height()
                vb.setRange(xRange=(cx - px * w / 2, cx + px * w / 2),
                            yRange=(cy - py * h / 2, cy + py * h / 2), padding=0)
        finally:
            self._syncing = False

    # -- swipe and flicker --------------------------------------------------------------
    def set_swipe(self, fraction: float | None) -> None:
        """Swipe comparison: enhanced right of ``fraction`` of the width (None: off)."""
        self._swipe = None if fraction is None else min(max(float(fraction), 0.0), 1.0)
        on = self._swipe is not None and self._film is not None
        self.swipe_line.setVisible(on)
        self.swipe_item.setVisible(on)
        if on:
            self.swipe_line.blockSignals(True)
            self.swipe_line.setValue(self._swipe * self._film.shape[1])
            self.swipe_line.blockSignals(False)
        self._update_swipe_image()

    def _on_swipe_line(self) -> None:
        if self._film is not None and self._swipe is not None:
            self._swipe = min(max(self.swipe_line.value() / self._film.shape[1], 0.0), 1.0)
            self._update_swipe_image()

    def _update_swipe_image(self) -> None:
        if self._swipe is None or self._enhanced is None or self._film is None:
            self.swipe_item.clear()
            return
        s, (rows, cols) = self._scale, self._film.shape
        cut = int(round(self._swipe * cols))
        part = self._enhanced[:, cut * s:]
        if part.shape[1] == 0:
            self.swipe_item.clear()
            return
        self.swipe_item.setImage(part, autoLevels=False, levels=self.original._levels())
        self.swipe_item.setLookupTable(self.original._lookup_table())
        self.swipe_item.setRect(QRectF(cut, 0, cols - cut, rows))

    def set_flicker(self, on: bool) -> None:
        """Show the enhanced image in the Original view (True) or the original (False)."""
        self._flicker = bool(on) and self._enhanced is not None
        if self._film is None:
            return
        if self._flicker:
            self.original.set_image(self._enhanced, self._scale)
            self.original.title_label.setText("Enhanced (flicker: press X for the original)")
        else:
            self.original.set_image(self._film.pixels, 1)
            self.original.title_label.setText(self.original_title)

    @property
    def flicker(self) -> bool:
        """True while the Original view shows the enhanced image."""
        return self._flicker

    # -- readout ------------------------------------------------------------------------
    def readout_text(self, view: FilmView, x: float, y: float) -> str:
        """Value of ``view`` at original coordinates (x, y): stored and normalised, mm."""
        film = self._film
        value = view.value_at(x, y)
        if film is None or value is None:
            return " "
        span = film.value_max - film.value_min
        if view is self.difference:
            stored = -value * span if film.inverted else value * span
            text = f"Δ {stored:+.5g}  ({value:+.4f})"
        else:
            stored = float(film.stored_values(np.asarray([value], np.float32))[0])
            text = f"{stored:.6g}  ({value:.4f})"
        s = view.image_scale
        text = f"r {int(y * s)}, c {int(x * s)}:  " + text
        if film.pixel_spacing_mm:
            row_mm, col_mm = film.pixel_spacing_mm
            text += f"   {x * col_mm:.1f}, {y * row_mm:.1f} mm"
        return text

    def _show_readouts(self, x: float, y: float) -> None:
        for v in self.views:
            v.readout_label.setText(self.readout_text(v, x, y))

    def _clear_readouts(self) -> None:
        for v in self.views:
            v.readout_label.setText(" ")
