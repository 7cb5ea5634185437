"""Measurements in the viewer: a ruler drawn by dragging, ROI statistics in every linked
view against numpy, linked editing, CSV export, the magnifier, reset with a new film."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from tests.gui.test_enhancement import _run, _setup
from xrayview.core.film import Film
from xrayview.core.measurements import Shape


@pytest.fixture
def spaced_film():
    rng = np.random.default_rng(3)
    pixels = rng.random((120, 160)).astype(np.float32)
    return Film(pixels=pixels, source_format="DICOM", bits_stored=12, value_min=0.0,
                value_max=4095.0, pixel_spacing_mm=(0.2, 0.2), spacing_source="PixelSpacing")


def _drag(view, tool, p0, p1):
    """What FilmViewBox emits during a left-drag with ``tool`` armed (start, move, end)."""
    vb = view.view_box
    assert vb.tool == tool
    vb.shapeDragged.emit(tool, QPointF(*p0), QPointF(*p0), False)
    vb.shapeDragged.emit(tool, QPointF(*p0), QPointF((p0[0] + p1[0]) / 2, p1[1]), False)
    vb.shapeDragged.emit(tool, QPointF(*p0), QPointF(*p1), True)


def test_ruler_reads_mm_on_every_view(window, spaced_film):
    window.set_film(spaced_film, "spaced.dcm")
    window.act.tools["distance"].trigger()
    assert window.act.tools["distance"].isChecked()
    _drag(window.compare.original, "distance", (10, 10), (40, 50))
    layer = window.compare.measurements
    (shape_id, shape), = layer.shapes.items()
    assert (shape.x0, shape.y0, shape.x1, shape.y1) == (10, 10, 40, 50)
    for view in window.compare.views:  # drawn and labelled in every linked view
        assert layer.label_text(shape_id, view) == "10.0 mm"  # 50 px x 0.2 mm
    assert not window.act.tools["distance"].isChecked()  # the tool is put down
    assert layer.tool == ""


def test_roi_statistics_in_every_view_match_numpy(models_window, qtbot, spaced_film):
    win = models_window
    _setup(win, spaced_film, model="srcnn", scale=2)
    result = _run(win, qtbot)
    layer = win.compare.measurements
    shape_id = layer.add(Shape("rectangle", 20, 30, 60, 70))
    film = win.compare.film
    views = dict(zip(("original", "enhanced", "difference"), win.compare.views))
    s = layer.stats(shape_id, views["original"])
    block = film.stored_values(spaced_film.pixels[30:70, 20:60])
    assert s.pixels == 1600 and s.mean == pytest.approx(block.mean())
    assert s.sd == pytest.approx(block.std()) and s.max == pytest.approx(block.max())
    e = layer.stats(shape_id, views["enhanced"])
    up = film.stored_values(result.image[60:140, 40:120])
    assert e.pixels == 6400 and e.mean == pytest.approx(up.mean(), rel=1e-6)
    d = layer.stats(shape_id, views["difference"])
    delta = (result.image - result.bicubic)[60:140, 40:120] * 4095.0
    assert d.mean == pytest.approx(delta.mean(), abs=1e-3) and d.unit == "Δ stored value"
    assert "mean" in layer.label_text(shape_id, views["enhanced"])
    # moving it in one view moves it in all
    roi = layer._items[shape_id][1][1]  # the Enhanced view's ROI
    roi.setPos(QPointF(30, 30))
    assert layer.shapes[shape_id].box() == (30, 30, 70, 70)
    other = layer._items[shape_id][0][1]
    assert (other.pos().x(), other.pos().y()) == (30, 30)


def test_measurements_export_as_csv_and_clear_with_a_new_film(window, spaced_film, tmp_path):
    window.set_film(spaced_film, "spaced.dcm")
    layer = window.compare.measurements
    assert not window.act.export_measurements.isEnabled()
    layer.add(Shape("distance", 0, 0, 30, 40))
    layer.add(Shape("ellipse", 10, 10, 50, 30))
    assert window.act.export_measurements.isEnabled()
    path = window.export_measurements(str(tmp_path / "m.csv"))
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[0][:3] == ["id", "kind", "view"]
    assert rows[1][1:3] == ["distance", "all"] and rows[1][7:9] == ["10.000", "mm"]
    assert [r[2] for r in rows[2:]] == ["original"]  # no enhanced image yet
    window.set_film(dataclasses.replace(spaced_film, pixels=spaced_film.pixels[::-1].copy()),
                    "other.dcm")
    assert layer.shapes == {} and not window.act.export_measurements.isEnabled()
    assert window.export_measurements(str(tmp_path / "none.csv")) is None
    assert not (tmp_path / "none.csv").exists()


def test_magnifier_shows_the_scene_under_the_cursor(window, qtbot, spaced_film):
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.set_film(spaced_film, "spaced.dcm")
    window.act.magnifier.trigger()
    view = window.compare.original
    centre = view.view_box.mapViewToScene(QPointF(80, 60))
    view._on_mouse_moved(centre)
    lens = view.magnifier
    assert lens.isVisible() and not lens.pixmap().isNull()
    image = lens.pixmap().toImage()
    greys = {image.pixelColor(x, y).red() for x in range(20, 180, 7) for y in range(20, 180, 7)}
    assert len(greys) > 10  # film texture, not an empty lens
    window.act.magnifier.trigger()
    assert not lens.isVisible()


def test_a_real_mouse_drag_draws_the_ruler(window, qtbot, spaced_film):
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.set_film(spaced_film, "spaced.dcm")
    view = window.compare.original
    window.act.tools["distance"].trigger()
    viewport = view.graphics.viewport()

    def at(x, y):
        return QPointF(view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y))))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    events = [(QEvent.Type.MouseButtonPress, at(20, 20), left, left)]
    events += [(QEvent.Type.MouseMove, at(20 + 4 * i, 20 + 3 * i), none, left)
               for i in range(1, 11)]
    events += [(QEvent.Type.MouseButtonRelease, at(60, 50), left, none)]
    for kind, pos, button, buttons in events:
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, viewport.mapToGlobal(pos),
                                                     button, buttons,
                                                     Qt.KeyboardModifier.NoModifier))
    layer = window.compare.measurements
    (shape,) = layer.shapes.values()
    assert shape.kind == "distance"
    assert (shape.x0, shape.y0) == pytest.approx((20, 20), abs=1.0)
    assert (shape.x1, shape.y1) == pytest.approx((60, 50), abs=1.0)
    assert layer.tool == ""  # panning again


def test_overlay_text_from_the_file_cannot_forge_lines(window, spaced_film):
    import pydicom

    from xrayview.core.film import Identifiers

    header = pydicom.Dataset()
    header.BodyPartExamined = "CHEST\r\nPatient name: FORGED"
    header.PatientOrientation = ["L", "F"]
    film = dataclasses.replace(spaced_film, dicom_header=header, modality="CR",
                               identifiers=Identifiers(patient_name="Doe^Jane\x1b[2J"))
    window.set_film(film, "forged.dcm")
    overlay = window.compare.original.overlay
    assert "\n" not in overlay.text("top_right") and "\\r\\n" in overlay.text("top_right")
    assert overlay.text("top_left") == ""  # identifiers hidden until asked
    window.tags.identifiers_check.setChecked(True)
    assert "\x1b" not in overlay.text("top_left") and "Doe Jane" in overlay.text("top_left")
    assert [overlay.markers[s].text() for s in ("left", "right", "top", "bottom")] == [
        "R", "L", "H", "F"]
    assert "mm" in overlay.scale_bar.text
