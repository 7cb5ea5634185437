"""GUI test setup: offscreen Qt and throw-away QSettings (never the user's own)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from xrayview.core.resources import sample_film_path  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Point every QSettings (native and INI, user and system scope) at a temp folder."""
    folder = str(tmp_path / "settings")
    monkeypatch.setenv("XDG_CONFIG_HOME", folder)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, folder)
    return tmp_path / "settings"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """An INI QSettings file private to the test."""
    return QSettings(str(tmp_path / "xrayview.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def sample_path():
    """The bundled sample film (1024 x 1024, 8-bit PNG)."""
    return sample_film_path()


@pytest.fixture
def window(qtbot, settings):
    """A MainWindow with private settings, closed and deleted after the test."""
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    return win


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder with tiny random SRCNN, VDSR and dehazing weights (XRAYVIEW_MODELS_DIR)."""
    from tests.support.model_factory import make_models_dir
    from xrayview.core.models.registry import MODELS_ENV

    root = make_models_dir(tmp_path / "models")
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


@pytest.fixture
def critical(monkeypatch):
    """Record QMessageBox.critical calls instead of showing (and blocking on) a dialog."""
    from PySide6.QtWidgets import QMessageBox

    calls = []

    def fake(parent, title, text, *args, **kwargs):
        calls.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(fake))
    return calls


@pytest.fixture
def small_film():
    """A 96 x 80 synthetic film (smooth ramp plus texture), float32 in [0, 1]."""
    import numpy as np

    from xrayview.core.film import Film

    y, x = np.mgrid[0:96, 0:80].astype(np.float32)
    rng = np.random.default_rng(3)
    px = np.clip(0.2 + 0.5 * x / 80 + 0.1 * np.sin(y / 5) + 0.05 * rng.random((96, 80)), 0, 1)
    return Film(pixels=px.astype(np.float32), source_format="PNG", bits_stored=16,
                value_min=0.0, value_max=65535.0)


@pytest.fixture
def models_window(qtbot, settings, models):
    """A shown MainWindow whose models folder holds the tiny test models."""
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    return win
