"""MainWindow and FilmView: opening films, bad files, window/level, readout, help."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from xrayview.gui import app as gui_app
from xrayview.gui.main_window import MainWindow


@pytest.fixture
def warnings(monkeypatch):
    """Record QMessageBox.warning calls instead of showing (and blocking on) a dialog."""
    calls = []

    def fake_warning(parent, title, text, *args, **kwargs):
        calls.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(fake_warning))
    return calls


def _bad_files(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.dcm"
    text.write_text("This is a plain text file, not DICOM.\n" * 20)
    return [empty, text, tmp_path / "missing.dcm"]


def test_opens_sample_film(window, sample_path):
    assert window.open_path(sample_path)
    film = window.film
    assert film.shape == (1024, 1024)
    assert window.view.image_item.image.shape == film.shape
    assert sample_path.name in window.windowTitle()
    assert window.windowTitle().startswith("xrayview — ")
    assert "PNG" in window._info_label.text() and "8-bit" in window._info_label.text()


def test_bad_files_warn_and_keep_previous_film(window, sample_path, tmp_path, warnings):
    assert window.open_path(sample_path)
    film, title = window.film, window.windowTitle()
    for bad in _bad_files(tmp_path):
        assert not window.open_path(bad)
        assert window.film is film
        assert np.shares_memory(window.view.image_item.image, film.pixels)
        assert window.windowTitle() == title
    assert len(warnings) == 3
    for _, text in warnings:
        assert text and "\n" not in text and "Traceback" not in text


def test_window_level_is_display_only(window, sample_path):
    window.open_path(sample_path)
    view, film = window.view, window.film
    before = film.pixels.copy()
    assert view.window == (0.5, 1.0)  # a PNG has no DICOM window: full range
    view.set_window(0.3, 0.2)
    assert view.window == pytest.approx((0.3, 0.2))
    assert tuple(view.image_item.levels) == pytest.approx((0.2, 0.4))
    window.act.invert.trigger()
    assert view.inverted
    window.act.presets["full"].trigger()
    assert tuple(view.image_item.levels) == pytest.approx((0.0, 1.0))
    window.act.presets["default"].trigger()
    assert np.shares_memory(view.image_item.image, film.pixels)
    np.testing.assert_array_equal(film.pixels, before)


def test_window_label_uses_stored_units(window, sample_path):
    window.open_path(sample_path)
    window.view.set_window(0.5, 0.2)
    assert window._window_label.text() == "WL 127.5  WW 51"


def test_cursor_readout_gives_stored_value(window, sample_path, qtbot):
    expected = np.asarray(Image.open(sample_path))  # (1024, 1024) uint8, read independently
    row, col = 300, 700
    window.open_path(sample_path)
    window.show()
    qtbot.waitExposed(window)
    # the device list fills in from a background thread and may re-layout the docks
    qtbot.waitUntil(lambda: window.panel.devices_known, timeout=30000)
    qtbot.wait(50)
    view = window.view
    # zoom in so one image pixel spans many screen pixels: no rounding to a neighbour
    view.view_box.setRange(xRange=(col - 8, col + 8), yRange=(row - 8, row + 8), padding=0)
    qtbot.wait(100)  # the aspect-locked range settles on the next layout pass
    scene_pos = view.view_box.mapViewToScene(QPointF(col + 0.5, row + 0.5))
    widget_pos = view.graphics.mapFromScene(scene_pos)
    # start elsewhere: a move to where the (shared) cursor already is sends no event
    qtbot.mouseMove(view.graphics.viewport(), widget_pos + QPoint(40, 40))
    qtbot.wait(50)
    with qtbot.waitSignal(view.cursorMoved, timeout=5000) as blocker:
        qtbot.mouseMove(view.graphics.viewport(), widget_pos)
    r, c, stored, norm = blocker.args
    # the linked, aspect-locked views may still adjust the range by a pixel or two: check
    # the reported pixel against the one under the cursor now (floor of view coordinates)
    under = view.view_box.mapSceneToView(view.graphics.mapToScene(widget_pos))
    assert (r, c) == (int(under.y()), int(under.x()))
    assert abs(r - row) <= 20 and abs(c - col) <= 20  # still in the zoomed-in place
    assert stored == pytest.approx(float(expected[r, c]), abs=1e-3)
    assert norm == pytest.approx(expected[r, c] / 255.0, abs=1e-6)
    text = window._cursor_label.text()
    assert f"row {r}, col {c}" in text and f"value {expected[r, c]}" in text
    assert view.pixel_under(view.view_box.mapViewToScene(QPointF(-5, -5))) is None


def test_drop_opens_file(window, sample_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.film is not None and sample_path.name in window.windowTitle()


def test_several_paths_open_as_film_list(window, sample_path, tmp_path, warnings):
    """What a file manager's "open with" passes (%F): the films become the list."""
    import shutil

    second = tmp_path / "second.png"
    shutil.copy(sample_path, second)
    assert window.open_paths([sample_path, tmp_path / "gone.png", second])
    assert window.film_list.count() == 2 and window.film_list.currentRow() == 0
    assert sample_path.name in window.windowTitle()
    assert "1 of 3 paths are not files" in window.statusBar().currentMessage()
    assert window.step_film(1) and "second.png" in window.windowTitle()

    assert not window.open_paths([tmp_path / "a.dcm", tmp_path / "b.dcm"])
    assert warnings and "None of the 2 paths" in warnings[-1][1]
    assert "second.png" in window.windowTitle()  # the shown film is kept


def test_geometry_persists(qtbot, settings):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.setGeometry(50, 60, 700, 500)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.size().width() == 700 and second.size().height() == 500


def test_about_and_shortcuts(window):
    about = window.about_text()
    assert "not for diagnosis" in about
    assert "NIH Clinical Center" in about
    shortcuts = window.shortcuts_text()
    for key in ("Ctrl+O", "Ctrl+Q", "F", "I"):
        assert f"<b>{key}</b>" in shortcuts


def test_uncaught_exception_is_logged_and_reported(monkeypatch, caplog, qapp):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical",
                        staticmethod(lambda parent, title, text, *a: shown.append(text)))
    try:
        raise ValueError("bad thing\nsecond line")
    except ValueError as exc:
        gui_app.report_uncaught(type(exc), exc, exc.__traceback__)
    assert "Traceback" in caplog.text and "second line" in caplog.text
    assert len(shown) == 1 and shown[0].startswith("ValueError: bad thing\n")
    assert "second line" not in shown[0]


def test_run_opens_sample_and_returns_exit_code(qapp, sample_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a: pytest.fail(a)))
    seen = []

    def inspect_and_quit():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        seen.extend(w.windowTitle() for w in windows if w.isVisible())
        for w in windows:
            w.close()
        qapp.exit(0)

    QTimer.singleShot(0, inspect_and_quit)
    assert gui_app.run([]) == 0
    assert any(sample_path.name in t for t in seen)


def test_dicom_like_film_default_window_and_mm_readout(window):
    from xrayview.core.film import Film, Window
    from xrayview.gui.main_window import cursor_text

    pixels = np.linspace(0, 1, 40 * 60, dtype=np.float32).reshape(40, 60)
    film = Film(pixels=pixels, source_format="DICOM", bits_stored=12, value_min=0.0,
                value_max=4095.0, windows=[Window(0.3, 0.2, stored_center=1228.5,
                                                  stored_width=819.0)],
                pixel_spacing_mm=(0.2, 0.1))
    window.set_film(film, "synthetic.dcm")
    assert window.view.window == pytest.approx((0.3, 0.2))
    assert tuple(window.view.image_item.levels) == pytest.approx((0.2, 0.4))
    assert window.view.view_box.state["aspectLocked"] == pytest.approx(0.5)
    assert "12-bit" in window._info_label.text() and "0.2 × 0.1 mm" in window._info_label.text()
    stored, norm = window.view.pixel_at(10, 20)
    assert norm == pixels[10, 20] and stored == pytest.approx(pixels[10, 20] * 4095.0, rel=1e-6)
    assert cursor_text(film, 10, 20, stored, norm).endswith("x 2.05 mm, y 2.10 mm")


def test_voi_lut_film_uses_its_lut_until_a_window_is_set(window):
    from xrayview.core.film import Film

    lut = np.sqrt(np.linspace(0, 1, 1024, dtype=np.float32))
    film = Film(pixels=np.zeros((8, 8), np.float32), source_format="DICOM", bits_stored=16,
                value_min=0.0, value_max=65535.0, display_lut=lut)
    window.set_film(film, "voi.dcm")
    assert window.view.uses_film_lut and window._window_label.text() == "VOI LUT"
    assert window.view.image_item.lut.shape == (1024,)
    window.view.set_window(0.5, 0.5)
    assert not window.view.uses_film_lut and window.view.image_item.lut is None


def test_self_test_window_runs_without_dialogs(qapp, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a: pytest.fail(a)))
    gui_app.self_test_window()


def test_tag_browser_escapes_control_characters(qtbot, tmp_path):
    """Text from the file (CR/LF, ESC) is shown escaped: it cannot forge a row."""
    from tests.support.dicom_factory import make_dicom
    from xrayview.core.io import load_film
    from xrayview.gui.docks import DicomTagBrowser

    film = load_film(make_dicom(tmp_path / "f.dcm", np.zeros((8, 8), np.uint16),
                                WindowCenter=1, WindowWidth=2,
                                WindowCenterWidthExplanation="A\r\nPatient's Name\x1b[2J"))
    browser = DicomTagBrowser()
    qtbot.addWidget(browser)
    browser.set_film(film)
    values = browser.visible_values()
    assert "A\\r\\nPatient's Name\\x1b[2J" in values
    assert not any("\r" in v or "\n" in v or "\x1b" in v for v in values)
