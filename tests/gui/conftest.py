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
