"""THE display path of a reader study: the panes every study image is shown through.

Blinding holds for what the reader sees only if nothing but the pixel values differs
between a case's images. Prepared images already share one grid, bit depth and format
(``core.study.prepare``); :class:`StudyPanes` shows each the same way: the same
``FilmView`` at one image pixel per grid pixel, smooth (bilinear) magnification, the
whole image fitted, the case's own window (the film's DICOM window or VOI LUT, from
``prepare.load_display``, attached to every image of the case alike), and presets
computed from the case's reference image, never per pane. Panes are linked (zoom, pan,
window/level) unless the study sets ``link_views = false``. :meth:`pane_display` lists
everything about a pane's drawing except the pixels (the blinding test compares it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from xrayview.core.film import Film, Window
from xrayview.core.io import load_film
from xrayview.core.study.prepare import image_path, load_display
from xrayview.core.study.schedule import ORIGINAL, Trial
from xrayview.gui.presets import window_preset
from xrayview.gui.viewer import FilmView

SIDES = ("left", "right")


class StudyPanes(QWidget):
    """The left and right image panes of the reading window (single design: left only)."""

    def __init__(self, root: str | Path, linked: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.linked = linked
        self.preset = "default"
        self.case = ""
        self._films: dict[str, Film] = {}
        self._display: dict = {}
        self.views = [FilmView(), FilmView()]
        self.captions = [QLabel("Left image"), QLabel("Right image")]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for caption, view in zip(self.captions, self.views):
            view.set_smooth(True)
            view.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            col = QVBoxLayout()
            col.addWidget(caption)
            col.addWidget(view, 1)
            layout.addLayout(col, 1)
        if linked:
            self.views[1].view_box.setXLink(self.views[0].view_box)
            self.views[1].view_box.setYLink(self.views[0].view_box)
            for view in self.views:
                view.windowChanged.connect(lambda _c, _w, v=view: self._sync_window(v))

    # -- images -------------------------------------------------------------------------
    def film(self, case: str, condition: str) -> Film:
        """A prepared image of ``case`` (loaded once per case) with the case's display
        defaults (window or VOI LUT) attached, the same for every condition."""
        if case != self.case:
            self.case, self._films = case, {}
            self._display = load_display(self.root, case)
        if condition not in self._films:
            film = load_film(image_path(self.root, case, condition))
            disp = self._display
            film.windows = ([Window(float(disp["window"][0]), float(disp["window"][1]),
                                    "study default")] if disp.get("window") else [])
            lut = disp.get("voi_lut")
            film.display_lut = None if lut is None else np.asarray(lut, dtype=np.float32)
            self._films[condition] = film
        return self._films[condition]

    def show_trial(self, trial: Trial) -> None:
        """Show the trial's image(s), every pane reset to the case's defaults."""
        paired = bool(trial.right)
        for view, caption, cond in zip(self.views, self.captions, (trial.left, trial.right)):
            view.setVisible(bool(cond))
            caption.setVisible(paired)
            if cond:
                view.set_film(self.film(trial.case, cond), reset=False)
        self.reset()

    def clear(self) -> None:
        """Show nothing (the end screen)."""
        for view in self.views:
            view.clear()

    def visible_views(self) -> list[FilmView]:
        """The panes showing an image."""
        return [v for v in self.views if v.film is not None and not v.isHidden()]

    # -- display ------------------------------------------------------------------------
    def _sync_window(self, source: FilmView) -> None:
        """Linked panes: the others take ``source``'s window (or its VOI LUT)."""
        for view in self.views:
            if view is source or view.film is None:
                continue
            if source.uses_film_lut:
                if not view.uses_film_lut:
                    view.use_film_lut()
            elif view.uses_film_lut or view.window != source.window:
                view.set_window(*source.window)

    def apply_preset(self, name: str) -> None:
        """Window preset ``name`` (``gui.presets``) on every pane alike; "default" is the
        case's own window. Computed from the case's reference image, never per pane."""
        self.preset = name
        views = self.visible_views()
        if not views:
            return
        if name == "default":
            for view in views:
                view.reset_window()
            return
        center, width = window_preset(name, self.film(self.case, ORIGINAL))
        for view in views:
            view.set_window(center, width)

    def set_inverted(self, inverted: bool) -> None:
        """Invert every pane's greyscale (display only)."""
        for view in self.views:
            view.set_inverted(inverted)

    @property
    def inverted(self) -> bool:
        """Whether the panes are inverted."""
        return self.views[0].inverted

    def fit(self) -> None:
        """The whole image in view, in every pane."""
        for view in self.visible_views():
            view.fit()

    def reset(self) -> None:
        """The case's default window, no inversion, the whole image in view."""
        self.set_inverted(False)
        self.apply_preset("default")
        self.fit()

    def display_state(self) -> dict:
        """What is stored with an answer: per pane the window (center, width, normalised),
        whether the film's VOI LUT is on, inversion and zoom (screen px per image px); the
        preset and whether the panes are linked."""
        out = {"preset": self.preset, "linked": self.linked}
        for name, view in zip(SIDES, self.views):
            if view.isHidden() or view.film is None:
                continue
            (x0, x1), _ = view.view_box.viewRange()
            c, w = view.window
            out[name] = {"center": round(c, 5), "width": round(w, 5),
                         "voi_lut": view.uses_film_lut, "inverted": view.inverted,
                         "zoom": round(view.view_box.width() / max(x1 - x0, 1e-9), 5)}
        return out

    def pane_display(self, view: FilmView) -> dict:
        """Everything about how ``view`` draws its image except the pixel values (for the
        blinding test): grid, dtype, scale, window, LUT, inversion, smoothing, range."""
        (x0, x1), (y0, y1) = view.view_box.viewRange()
        return {"shape": tuple(view.image.shape), "dtype": str(view.image.dtype),
                "image_scale": view.image_scale, "film_shape": view.film.shape,
                "window": view.window, "voi_lut": view.uses_film_lut,
                "inverted": view.inverted, "smooth": view.smooth,
                "auto_downsample": view.image_item.autoDownsample,
                "aspect": view.view_box.state["aspectLocked"],
                "view_range": (x0, x1, y0, y1), "size": (view.view_box.width(),
                                                         view.view_box.height())}
