"""MainWindow: menus, status bar, file opening and drag-and-drop around one FilmView."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QWidget

from xrayview import __version__
from xrayview.core.film import Film
from xrayview.core.io import FilmError, load_film
from xrayview.gui.viewer import FilmView

log = logging.getLogger(__name__)

ORGANIZATION = "xrayview"
APPLICATION = "xrayview"
APP_TITLE = "xrayview"

OPEN_FILTER = ";;".join([
    "Films (*.dcm *.dicom *.dic *.ima *.png *.jpg *.jpeg *.tif *.tiff)",
    "DICOM (*.dcm *.dicom *.dic *.ima)",
    "PNG (*.png)",
    "JPEG (*.jpg *.jpeg)",
    "TIFF (*.tif *.tiff)",
    "All files (*)",
])

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
    ("Left drag", "Pan"),
    ("Wheel / right drag", "Zoom"),
    ("Drop a file", "Open it"),
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


class MainWindow(QMainWindow):
    """The viewer window: one FilmView, File/View/Help menus and a status bar."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._settings = settings if settings is not None else default_settings()
        self.view = FilmView(self)
        self.setCentralWidget(self.view)
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)

        self._info_label = QLabel()
        self._window_label = QLabel()
        self._cursor_label = QLabel()
        for label in (self._info_label, self._window_label, self._cursor_label):
            label.setContentsMargins(6, 0, 6, 0)
        self.statusBar().addWidget(self._cursor_label, 1)
        self.statusBar().addPermanentWidget(self._window_label)
        self.statusBar().addPermanentWidget(self._info_label)

        self._build_menus()
        self.view.cursorMoved.connect(self._show_cursor)
        self.view.cursorLeft.connect(self._cursor_label.clear)
        self.view.windowChanged.connect(self._show_window)

        if not self.restoreGeometry(self._settings.value("main_window/geometry", b"")):
            self._default_size()

    def _default_size(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1100, 950
        if screen is not None and not screen.isEmpty():
            width = min(width, int(screen.width() * 0.9))
            height = min(height, int(screen.height() * 0.9))
        self.resize(width, height)

    # -- menus --------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # Quit has no default on Windows
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        self.fit_action = self._action("&Fit to window", self.view.fit, "F")
        self.default_window_action = self._action(
            "&Default window", self.view.reset_window, "D")
        self.full_range_action = self._action(
            "Full &range window", self.view.set_full_range, "W")
        self.invert_action = self._action(
            "&Invert greyscale", self.view.set_inverted, "I", checkable=True)
        for a in (self.fit_action, None, self.default_window_action,
                  self.full_range_action, self.invert_action):
            view_menu.addSeparator() if a is None else view_menu.addAction(a)

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts)
        self.about_action = self._action("&About xrayview", self.show_about)
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    # -- opening ------------------------------------------------------------------------
    @property
    def film(self) -> Film | None:
        """The film on show, or None."""
        return self.view.film

    def open_path(self, path: str | Path) -> bool:
        """Load and show ``path``; on a bad file warn, keep the current film, return False."""
        path = Path(path)
        try:
            film = load_film(path)
        except (FilmError, OSError) as err:
            log.warning("Could not open %s: %s", path.name, err)
            QMessageBox.warning(self, "Cannot open film", str(err))
            return False
        self.set_film(film, path.name)
        self._settings.setValue("main_window/last_dir", str(path.resolve().parent))
        return True

    def set_film(self, film: Film, name: str) -> None:
        """Show an already loaded ``film`` under the display ``name``."""
        self.view.set_film(film)  # keeps the user's invert setting
        self.setWindowTitle(f"{APP_TITLE} — {name}")
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

    # -- status bar ---------------------------------------------------------------------
    def _show_cursor(self, row: int, col: int, stored: float, norm: float) -> None:
        if self.film is not None:
            self._cursor_label.setText(cursor_text(self.film, row, col, stored, norm))

    def _show_window(self, center: float, width: float) -> None:
        film = self.film
        if film is None:
            self._window_label.clear()
        elif self.view.uses_film_lut:
            self._window_label.setText("VOI LUT")
        else:
            span = film.value_max - film.value_min
            c, w = film.value_min + center * span, width * span
            if film.inverted:  # MONOCHROME1 source: show the window in its own units
                c = film.value_max - center * span
            self._window_label.setText(f"WL {c:.5g}  WW {w:.5g}")

    # -- help ---------------------------------------------------------------------------
    def shortcuts_text(self) -> str:
        """HTML table of keyboard shortcuts (from the actions) and mouse controls."""
        rows = [(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
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
    def _dropped_file(event) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        files = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return files[0] if files else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept drags carrying a local file."""
        if self._dropped_file(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """Open the first dropped local file."""
        path = self._dropped_file(event)
        if path:
            event.acceptProposedAction()
            self.open_path(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Remember the window geometry."""
        self._settings.setValue("main_window/geometry", self.saveGeometry())
        self._settings.sync()
        super().closeEvent(event)
