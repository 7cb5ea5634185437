"""Start the viewer: QApplication, MainWindow, and a visible report of uncaught errors."""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QSettings, QThread
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from xrayview.core.io import load_film
from xrayview.core.resources import resource_path, sample_film_path
from xrayview.gui.jobs import one_line
from xrayview.gui.main_window import APPLICATION, ORGANIZATION, MainWindow

log = logging.getLogger(__name__)

ICON_NAME = "icons/xrayview.svg"
_reporting = False  # guards against an error raised while the error dialog is up


def report_uncaught(exc_type: type[BaseException], exc: BaseException,
                    tb: TracebackType | None) -> None:
    """sys.excepthook for the GUI: log the full traceback, then show one line in a dialog.

    The dialog is shown only on the GUI thread with a QApplication running; the app goes on.
    """
    global _reporting
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("Uncaught exception", exc_info=(exc_type, exc, tb))
    app = QApplication.instance()
    if _reporting or app is None or QThread.currentThread() is not app.thread():
        return
    _reporting = True
    try:
        QMessageBox.critical(QApplication.activeWindow(), "xrayview: internal error",
                             f"{one_line(exc)}\n\nThe details are in the log.")
    finally:
        _reporting = False


def run(paths: Sequence[str]) -> int:
    """Show the viewer with ``paths`` (several files: as the film list), else the
    bundled sample film.

    Returns the Qt event loop's exit code.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    icon = resource_path(ICON_NAME)
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))

    previous_hook = sys.excepthook
    sys.excepthook = report_uncaught
    try:
        window = MainWindow()
        window.show()
        window.open_paths(list(paths) if paths else [sample_film_path()])
        return app.exec()
    finally:
        sys.excepthook = previous_hook


def self_test_window() -> None:
    """Build the main window with the sample film, render it once and close it.

    Used by ``xrayview --self-test`` (set QT_QPA_PLATFORM=offscreen first on a headless
    machine). Shows no dialog and uses throw-away settings; raises FilmError or
    RuntimeError when something is wrong.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    path = sample_film_path()
    film = load_film(path)  # raises FilmError rather than opening a (blocking) dialog
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "self_test.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        try:
            window.set_film(film, path.name)
            window.show()
            app.processEvents()
            image = window.view.grab().toImage()
            if window.view.image_item.image is None or image.isNull():
                raise RuntimeError("the film view did not render")
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
