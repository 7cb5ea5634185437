"""MainWindow: the three-view comparison, docks, menus, files, export, status bar.

Central widget: ``CompareView`` (Original | Enhanced | Difference). Docks: Enhancement
(``EnhancePanel``), Metrics (``MetricsPanel``), Histogram, DICOM tags and, after Open
folder, Films. The open film and the run live in one ``ViewerState`` (``gui.state``)
that the docks observe; jobs run through ``EnhanceController`` (one ``JobRunner``);
closing the window cancels and waits for it. Actions: ``self.act`` (``gui.menus``).
Reading-room defaults: dark theme (``gui.theme``), smooth display interpolation in every
view, layouts 1x1 / 1x2 / 1x3 with double-click to maximise, F11 full screen, and the
image area alone on request. Theme, interpolation, view layout, dock layout, recent files
and the last folder persist in QSettings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QListWidget,
                               QMainWindow, QMessageBox, QWidget)

from xrayview import __version__
from xrayview.core.film import Film
from xrayview.core.io import FilmError, load_film
from xrayview.core.io.errors import escape_control
from xrayview.core.io.export import save_film
from xrayview.gui.compare import CompareView
from xrayview.gui.docks import DicomTagBrowser, HistogramPanel
from xrayview.gui.enhance_controller import EnhanceController
from xrayview.gui.enhance_panel import EnhancePanel
from xrayview.gui.exporting import (metrics_lines, save_snapshot, write_measurements_csv,
                                    write_metrics_csv)
from xrayview.gui.menus import (WindowActions, build_menus, build_toolbar, offer_presets,
                                show_preset)
from xrayview.gui.metrics_panel import MetricsPanel
from xrayview.gui.overlays import window_text
from xrayview.gui.state import ViewerState
from xrayview.gui.theme import DEFAULT_THEME, THEMES, apply_theme

log = logging.getLogger(__name__)

ORGANIZATION = "xrayview"
APPLICATION = "xrayview"
APP_TITLE = "xrayview"
FILM_SUFFIXES = {".dcm", ".dicom", ".dic", ".ima", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
MAX_RECENT = 10

OPEN_FILTER = ";;".join([
    "Films (*.dcm *.dicom *.dic *.ima *.png *.jpg *.jpeg *.tif *.tiff)",
    "DICOM (*.dcm *.dicom *.dic *.ima)", "PNG (*.png)", "JPEG (*.jpg *.jpeg)",
    "TIFF (*.tif *.tiff)", "All files (*)",
])
EXPORT_FILTER = "16-bit PNG (*.png);;16-bit TIFF (*.tif *.tiff);;Derived DICOM (*.dcm)"

ABOUT_TEXT = (
    f"<h3>xrayview {__version__}</h3>"
    "<p>A viewer for comparing X-ray films with super-resolved and dehazed versions.</p>"
    "<p><b>For research and comparison only, not for diagnosis.</b> Enhanced images "
    "may contain structures that are not in the original film.</p>"
    "<p>Sample film: NIH ChestX-ray14 image 00000427_000, provided by the NIH Clinical "
    "Center (<a href='https://nihcc.app.box.com/v/ChestXray-NIHCC'>"
    "nihcc.app.box.com/v/ChestXray-NIHCC</a>). Wang X, Peng Y, Lu L, Lu Z, Bagheri M, "
    "Summers RM. ChestX-ray8, IEEE CVPR 2017, pp. 3462-3471.</p>"
)

MOUSE_HELP = [
    ("Left drag", "Pan (all views follow)"),
    ("Wheel", "Zoom at the cursor"),
    ("Right drag", "Window/level: horizontal = width, vertical = level"),
    ("Drag the yellow line", "Swipe position / stop threshold on the metric plot"),
    ("Click a metric plot", "Show that dehazing step in the Enhanced view"),
    ("Drop files or a folder", "Open them"),
]


def default_settings() -> QSettings:
    """The user's xrayview settings (native format, organisation/application 'xrayview')."""
    return QSettings(ORGANIZATION, APPLICATION)


def film_info_text(film: Film) -> str:
    """One status-bar line: format, size, bits stored and pixel spacing (no identifiers)."""
    rows, cols = film.shape
    parts = [film.source_format, f"{cols} × {rows} px", f"{film.bits_stored}-bit"]
    if film.pixel_spacing_mm:
        row_mm, col_mm = film.pixel_spacing_mm
        parts.append(f"spacing {row_mm:.4g} × {col_mm:.4g} mm")
    else:
        parts.append("spacing unknown")
    if film.frame_count > 1:
        parts.append(f"frame {film.frame_index + 1}/{film.frame_count}")
    return "  ·  ".join(parts)


def cursor_text(film: Film, row: int, col: int, stored: float, norm: float) -> str:
    """Status-bar readout for pixel (row, col); adds millimetres when spacing is known."""
    text = f"row {row}, col {col}   value {stored:.6g}   ({norm:.4f})"
    if film.pixel_spacing_mm:
        row_mm, col_mm = film.pixel_spacing_mm
        text += f"   x {(col + 0.5) * col_mm:.2f} mm, y {(row + 0.5) * row_mm:.2f} mm"
    return text


def films_in_folder(folder: Path) -> list[Path]:
    """Files of ``folder`` with a film extension, sorted by name (not recursive)."""
    return sorted((p for p in folder.iterdir() if p.is_file()
                   and p.suffix.lower() in FILM_SUFFIXES), key=lambda p: p.name.lower())


class MainWindow(QMainWindow):
    """The viewer window; see the module docstring."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._settings = settings if settings is not None else default_settings()
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)
        self.setDockNestingEnabled(True)
        self.compare = CompareView(self)
        self.view = self.compare.original  # the Original view (kept name)
        self.setCentralWidget(self.compare)

        self.panel = EnhancePanel()
        self.metrics = MetricsPanel()
        self.histogram = HistogramPanel()
        self.tags = DicomTagBrowser()
        self.film_list = QListWidget()
        self.enhance_dock = self._dock("Enhancement", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.histogram_dock = self._dock("Histogram", self.histogram, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tags_dock = self._dock("DICOM tags", self.tags, Qt.DockWidgetArea.RightDockWidgetArea)
        self.metrics_dock = self._dock("Metrics", self.metrics, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.films_dock = self._dock("Films", self.film_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.histogram_dock, self.tags_dock)
        self.histogram_dock.raise_()
        self.films_dock.hide()
        self.resizeDocks([self.enhance_dock], [320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.metrics_dock], [190], Qt.Orientation.Vertical)
        self.state = ViewerState()
        for observer in (self.compare, self.metrics, self.histogram, self.tags):
            observer.observe(self.state)
        self.controller = EnhanceController(self.state, self.panel, self.metrics, self)

        self._info_label, self._window_label, self._cursor_label = QLabel(), QLabel(), QLabel()
        for label in (self._info_label, self._window_label, self._cursor_label):
            label.setContentsMargins(6, 0, 6, 0)
        self.statusBar().addWidget(self._cursor_label, 1)
        self.statusBar().addPermanentWidget(self._window_label)
        self.statusBar().addPermanentWidget(self._info_label)

        self._folder: list[Path] = []
        self._folder_index = -1
        self._current_path: Path | None = None
        self.act: WindowActions = build_menus(self)
        build_toolbar(self, self.act)
        self.view.cursorMoved.connect(self._show_cursor)
        self.view.cursorLeft.connect(self._cursor_label.clear)
        self.compare.windowChanged.connect(self._show_window)
        self.histogram.windowEdited.connect(self.compare.set_window)
        self.controller.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.controller.runner.started.connect(lambda: self._set_exports_enabled(False))
        self.controller.jobFinished.connect(lambda: self._set_exports_enabled(True))
        self.film_list.currentRowChanged.connect(self._on_film_row)
        self.compare.measurements.toolChanged.connect(self._show_tool)
        self.compare.measurements.changed.connect(
            lambda: self.act.export_measurements.setEnabled(bool(self.compare.measurements.shapes)))
        self.act.export_measurements.setEnabled(False)
        # patient lines in the overlays follow the tag browser's "Show identifiers"
        self.tags.identifiers_check.toggled.connect(self.compare.set_show_identifiers)

        if not self.restoreGeometry(self._settings.value("main_window/geometry", b"")):
            self._default_size()
        self.restoreState(self._settings.value("main_window/state", b""))
        self._set_exports_enabled(True)
        self._hidden_docks: list[QDockWidget] = []
        theme = str(self._settings.value("view/theme", DEFAULT_THEME))
        self.set_theme(theme if theme in THEMES else DEFAULT_THEME)
        self.set_smooth(self._settings.value("view/smooth", True, type=bool))
        self.set_overlays(self._settings.value("view/overlays", True, type=bool))
        layout = str(self._settings.value("view/layout", "1x3"))
        self.compare.set_layout(layout if layout in self.act.layouts else "1x3")
        self.act.layouts[self.compare.layout_name].setChecked(True)
        self._restore_choices()

    # -- the user's choices that outlive a film and a session ------------------------------
    def _restore_choices(self) -> None:
        """Model, scale, weights, precision and dehazing as the user last chose them."""
        p, st = self.panel, self._settings
        model = str(st.value("enhance/model", ""))
        if model and p.model_enabled(model):
            p.model_combo.setCurrentIndex(p.model_combo.findData(model))
        scale = st.value("enhance/scale", None)
        if scale is not None and str(scale).isdigit():
            p.scale_spin.setValue(int(scale))
        for combo, key in ((p.precision_combo, "precision"), (p.weights_combo, "weights")):
            combo.setCurrentIndex(max(combo.findData(str(st.value(f"enhance/{key}", "auto"))),
                                      0))
        if not p.dehaze_reason:
            p.dehaze_check.setChecked(st.value("enhance/dehazing", False, type=bool))

    def _remember_choices(self) -> None:
        s = self.panel.settings()
        for key, value in (("model", s.model), ("scale", s.scale), ("precision", s.precision),
                           ("weights", s.weights), ("dehazing", s.dehaze)):
            self._settings.setValue(f"enhance/{key}", value)

    # -- reading-room display -----------------------------------------------------------
    @property
    def docks(self) -> tuple[QDockWidget, ...]:
        """Every dock of the window."""
        return (self.enhance_dock, self.histogram_dock, self.tags_dock, self.metrics_dock,
                self.films_dock)

    def set_theme(self, theme: str) -> None:
        """Apply the "dark" or "light" theme to the application and remember it."""
        apply_theme(QApplication.instance(), theme)
        self.act.themes[theme].setChecked(True)
        self._settings.setValue("view/theme", theme)

    def set_smooth(self, smooth: bool) -> None:
        """Smooth (bilinear) or nearest-neighbour display in every view; remembered."""
        self.compare.set_smooth(bool(smooth))
        self.act.smooth.setChecked(bool(smooth))
        self._settings.setValue("view/smooth", bool(smooth))

    def set_overlays(self, on: bool) -> None:
        """On-image overlays (W/L, zoom, scale bar, orientation, patient lines); remembered."""
        self.compare.set_overlays_visible(bool(on))
        self.act.overlays.setChecked(bool(on))
        self._settings.setValue("view/overlays", bool(on))

    def arm_tool(self, kind: str, on: bool = True) -> None:
        """Arm measurement tool ``kind`` for the next left-drag (unchecking disarms)."""
        self.compare.measurements.set_tool(kind if on else "")

    def _show_tool(self, tool: str) -> None:
        for kind, action in self.act.tools.items():
            action.setChecked(kind == tool)

    def set_full_screen(self, on: bool) -> None:
        """Full screen (F11) or back to the normal window."""
        self.showFullScreen() if on else self.showNormal()
        self.act.full_screen.setChecked(bool(on))

    def set_image_only(self, on: bool) -> None:
        """Hide every open dock (the image area alone), or bring them back."""
        if on:
            self._hidden_docks = [d for d in self.docks if d.isVisible()]
            for dock in self._hidden_docks:
                dock.hide()
        else:
            for dock in self._hidden_docks:
                dock.show()
            self._hidden_docks = []
        self.act.image_only.setChecked(bool(on))

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_") + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _default_size(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1560, 960
        if screen is not None and not screen.isEmpty():
            width = min(width, int(screen.width() * 0.95))
            height = min(height, int(screen.height() * 0.95))
        self.resize(width, height)

    # -- opening ------------------------------------------------------------------------
    @property
    def film(self) -> Film | None:
        """The film as loaded (the ground truth in reference mode), or None."""
        return self.state.film

    def open_path(self, path: str | Path) -> bool:
        """Load and show ``path`` (a folder: open its films); on a bad file warn and return
        False, keeping the current film."""
        path = Path(path)
        if path.is_dir():
            return self.open_folder(path)
        try:
            film = load_film(path)
        except (FilmError, OSError) as err:
            log.warning("Could not open %s: %s", path.name, err)
            QMessageBox.warning(self, "Cannot open film", str(err))
            return False
        self.set_film(film, path.name)
        self._current_path = path
        self._settings.setValue("main_window/last_dir", str(path.resolve().parent))
        self._remember_recent(path)
        return True

    def set_film(self, film: Film, name: str) -> None:
        """Show an already loaded ``film`` under the display ``name``."""
        inverted = self.act.invert.isChecked()
        offer_presets(self.act.preset_combo, film.source_format == "DICOM")
        self.controller.set_source(film)
        show_preset(self.act.preset_combo, self.compare.preset)
        self.compare.set_show_identifiers(self.tags.identifiers_check.isChecked())
        self.compare.set_inverted(inverted)
        self.setWindowTitle(f"{APP_TITLE} — {escape_control(name)}")
        self._info_label.setText(film_info_text(film))
        self._cursor_label.clear()
        for note in film.notes:
            log.info("%s: %s", name, note)

    def open_dialog(self) -> None:
        """Ask for a file and open it."""
        start = str(self._settings.value("main_window/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open film", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        """Ask for a folder and open its films."""
        start = str(self._settings.value("main_window/last_dir", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self, "Open folder of films", start)
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> bool:
        """List the films of ``folder`` in the Films dock and open the first readable one."""
        files = films_in_folder(folder)
        if not files:
            QMessageBox.warning(self, "No films", f"{folder.name} holds no PNG, JPEG, TIFF "
                                "or DICOM files.")
            return False
        self._folder = files
        self.film_list.blockSignals(True)
        self.film_list.clear()
        self.film_list.addItems([p.name for p in files])
        self.film_list.blockSignals(False)
        self.films_dock.show()
        self._settings.setValue("main_window/last_dir", str(folder))
        return self.step_film(0, absolute=True)

    def step_film(self, delta: int, absolute: bool = False) -> bool:
        """Open the film ``delta`` places on in the folder list (PgDn +1, PgUp -1)."""
        if not self._folder:
            return False
        index = delta if absolute else self._folder_index + delta
        if not 0 <= index < len(self._folder):
            self.statusBar().showMessage("No more films in this folder", 3000)
            return False
        self._folder_index = index
        self.film_list.blockSignals(True)
        self.film_list.setCurrentRow(index)
        self.film_list.blockSignals(False)
        return self.open_path(self._folder[index])

    def _on_film_row(self, row: int) -> None:
        if row >= 0 and row != self._folder_index:
            self.step_film(row, absolute=True)

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self._settings.value("main_window/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, path: Path) -> None:
        text = str(path.resolve())
        recent = [text] + [p for p in self.recent_files() if p != text]
        self._settings.setValue("main_window/recent", recent[:MAX_RECENT])

    # -- export -------------------------------------------------------------------------
    def _set_exports_enabled(self, enabled: bool) -> None:
        has = enabled and self.state.result is not None
        for action in (self.act.export, self.act.export_csv):
            action.setEnabled(has)

    def _ask_save(self, title: str, suffix: str, filters: str) -> str:
        base = self._current_path.stem if self._current_path else "film"
        start = str(Path(str(self._settings.value("main_window/last_dir", Path.home())))
                    / f"{base}_{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        return path

    def _export(self, path: str | None, title: str, suffix: str, filters: str,
                write) -> Path | None:
        """Ask for a path unless given, call ``write(path)``; a failure is a warning."""
        path = path or self._ask_save(title, suffix, filters)
        if not path:
            return None
        try:
            out = write(path)
        except (FilmError, OSError) as err:
            QMessageBox.warning(self, "Cannot export", str(err))
            return None
        self.statusBar().showMessage(f"Wrote {out}", 8000)
        return out

    def export_enhanced(self, path: str | None = None) -> Path | None:
        """Write the enhanced film (16-bit PNG/TIFF or derived DICOM, with its recipe in
        the provenance); None if not done."""
        result = self.state.result
        if result is None:
            return None
        return self._export(path, "Export enhanced film", "enhanced.png", EXPORT_FILTER,
                            lambda p: save_film(result.image, p, self.compare.film,
                                                scale=result.recipe.scale,
                                                description=result.description,
                                                provenance=result.provenance()))

    def export_metrics(self, path: str | None = None) -> Path | None:
        """Write the recipe, metrics and step history as CSV; None if not done."""
        result = self.state.result
        if result is None:
            return None
        return self._export(path, "Export metrics", "metrics.csv", "CSV (*.csv)",
                            lambda p: write_metrics_csv(p, result))

    def export_measurements(self, path: str | None = None) -> Path | None:
        """Write every measurement (per view: length or ROI statistics) as CSV; None if
        there is none or nothing was written."""
        if not self.compare.measurements.shapes:
            return None
        return self._export(path, "Export measurements", "measurements.csv", "CSV (*.csv)",
                            lambda p: write_measurements_csv(p, self.compare.measurements.rows()))

    def export_snapshot(self, path: str | None = None) -> Path | None:
        """Save a PNG of the three views with the metrics underneath; None if not done."""
        return self._export(path, "Export snapshot", "views.png", "PNG (*.png)",
                            lambda p: save_snapshot(self.compare,
                                                    metrics_lines(self.state.result), p))

    # -- status bar ---------------------------------------------------------------------
    def _show_cursor(self, row: int, col: int, stored: float, norm: float) -> None:
        film = self.compare.film
        if film is not None:
            self._cursor_label.setText(cursor_text(film, row, col, stored, norm))

    def _show_window(self, center: float, width: float) -> None:
        self.histogram.set_window(center, width)
        film = self.compare.film
        if film is None:
            self._window_label.clear()
        else:
            self._window_label.setText(window_text(film, center, width,
                                                   self.view.uses_film_lut))

    # -- help ---------------------------------------------------------------------------
    def shortcuts_text(self) -> str:
        """HTML table of keyboard shortcuts (from the actions) and mouse controls."""
        rows = [(a.shortcut().toString(a.shortcut().SequenceFormat.NativeText),
                 a.text().replace("&", "").rstrip("…"))
                for a in self.actions() if not a.shortcut().isEmpty()]
        rows += MOUSE_HELP
        cells = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"

    def show_shortcuts(self) -> None:
        """Show the keyboard and mouse controls."""
        QMessageBox.information(self, "Keyboard shortcuts", self.shortcuts_text())

    def about_text(self) -> str:
        """The About box text (HTML): purpose, not for diagnosis, sample attribution."""
        return ABOUT_TEXT

    def show_about(self) -> None:
        """Show the About box."""
        QMessageBox.about(self, "About xrayview", self.about_text())

    # -- drag and drop, closing ---------------------------------------------------------
    @staticmethod
    def _dropped_paths(event) -> list[str]:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        return [u.toLocalFile() for u in urls if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept drags carrying local files or folders."""
        if self._dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """Open a dropped folder, or the dropped files as a list (the first one shown)."""
        paths = [Path(p) for p in self._dropped_paths(event)]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: list[str | Path]) -> bool:
        """Open one film or folder, or several files as the film list (the first shown);
        what a drop, the command line and a file manager's "open with" all do."""
        paths = [Path(p) for p in paths]
        if len(paths) == 1:
            return self.open_path(paths[0])
        files = [p for p in paths if p.is_file()]
        if not files:
            QMessageBox.warning(self, "Cannot open films",
                                f"None of the {len(paths)} paths is a readable file.")
            return False
        if len(files) < len(paths):
            self.statusBar().showMessage(
                f"{len(paths) - len(files)} of {len(paths)} paths are not files; skipped", 5000)
        self._folder = files
        self.film_list.blockSignals(True)
        self.film_list.clear()
        self.film_list.addItems([p.name for p in self._folder])
        self.film_list.blockSignals(False)
        self.films_dock.show()
        return self.step_film(0, absolute=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Cancel and wait for a running job, then remember geometry and dock layout."""
        self.controller.shutdown()
        self.panel.shutdown()
        self._settings.setValue("main_window/geometry", self.saveGeometry())
        self._settings.setValue("main_window/state", self.saveState())
        self._settings.setValue("view/layout", self.compare.layout_name)
        self._remember_choices()
        self._settings.sync()
        super().closeEvent(event)
