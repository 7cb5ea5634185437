"""Reading-room look: dark theme by default, layouts, double-click maximise, one display
interpolation for every view, the image area alone, settings that persist."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication

from xrayview.gui.compare import LAYOUTS


def test_dark_theme_by_default_and_light_on_request(window, settings):
    pal = QApplication.instance().palette()
    assert pal.color(QPalette.ColorRole.Window).lightness() < 60
    assert window.act.themes["dark"].isChecked()
    window.act.themes["light"].trigger()
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 150
    assert settings.value("view/theme") == "light"
    window.act.themes["dark"].trigger()


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layouts_show_their_views(window, qtbot, sample_path, name):
    window.resize(1400, 800)
    window.show()
    qtbot.waitExposed(window)
    window.open_path(sample_path)
    window.act.layouts[name].trigger()
    shown = [v.isVisible() for v in window.compare.views]
    expected = [n in LAYOUTS[name][1] for n in ("original", "enhanced", "difference")]
    assert shown == expected
    assert window.act.layout_combo.currentData() == name


def test_double_click_maximises_and_restores_and_views_stay_linked(window, qtbot, sample_path):
    window.resize(1400, 800)
    window.show()
    qtbot.waitExposed(window)
    window.open_path(sample_path)
    compare = window.compare
    compare.enhanced.doubleClicked.emit()  # as a double-click on its image does
    assert compare.layout_name == "1x1-e" and not compare.original.isVisible()
    assert window.act.layout_combo.currentData() == "1x1-e"
    qtbot.waitUntil(lambda: compare.enhanced.view_box.width() > 900)
    vb = compare.enhanced.view_box
    vb.setRange(xRange=(400, 500), yRange=(400, 500), padding=0)
    compare.enhanced.doubleClicked.emit()
    assert compare.layout_name == "1x3" and compare.original.isVisible()

    def centred():
        (x0, x1), (y0, y1) = compare.original.view_box.viewRange()
        return abs((x0 + x1) / 2 - 450) < 2 and abs((y0 + y1) / 2 - 450) < 2
    qtbot.waitUntil(centred)  # the view that came back shows the same place


def test_double_click_on_the_image_reaches_the_compare_view(window, qtbot, sample_path):
    window.resize(1400, 800)
    window.show()
    qtbot.waitExposed(window)
    window.open_path(sample_path)
    view = window.compare.original
    with qtbot.waitSignal(view.doubleClicked):
        widget = view.graphics.viewport()
        centre = QPointF(widget.rect().center())
        left = Qt.MouseButton.LeftButton
        # what a widget receives from a real double-click: press, release, double, release
        for kind, buttons in ((QEvent.Type.MouseButtonPress, left),
                              (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
                              (QEvent.Type.MouseButtonDblClick, left),
                              (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
            QApplication.sendEvent(widget, QMouseEvent(kind, centre, widget.mapToGlobal(centre),
                                                       left, buttons,
                                                       Qt.KeyboardModifier.NoModifier))
    assert window.compare.layout_name == "1x1-o"


def test_one_interpolation_for_every_view(window, settings):
    compare = window.compare
    assert all(v.smooth for v in compare.views) and compare.swipe_item.smooth
    window.act.smooth.trigger()
    assert not any(v.smooth for v in compare.views) and not compare.swipe_item.smooth
    assert settings.value("view/smooth", type=bool) is False


def test_image_area_only_hides_and_restores_the_open_docks(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    open_before = [d for d in window.docks if d.isVisible()]
    assert open_before
    window.act.image_only.trigger()
    assert not any(d.isVisible() for d in window.docks)
    window.act.image_only.trigger()
    assert [d for d in window.docks if d.isVisible()] == open_before


def test_layout_persists(qtbot, settings, sample_path):
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.act.layouts["1x2"].trigger()
    win.close()
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.compare.layout_name == "1x2"
    assert again.act.layouts["1x2"].isChecked()


def test_smooth_display_really_filters(window, qtbot):
    """A 2 x 2 checkerboard zoomed up: bilinear gives in-between greys, nearest none."""
    import numpy as np

    from xrayview.core.film import Film

    pixels = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    window.set_film(Film(pixels=pixels, source_format="PNG", bits_stored=8, value_min=0,
                         value_max=255), "checker.png")
    window.act.layouts["1x1-o"].trigger()
    view = window.compare.original

    def greys():
        image = view.graphics.grab().toImage()
        values = {image.pixelColor(x, image.height() // 3).red()
                  for x in range(0, image.width(), 3)}
        return {v for v in values if 20 < v < 235}
    qtbot.waitUntil(lambda: len(greys()) > 5)
    window.act.smooth.trigger()
    qtbot.waitUntil(lambda: len(greys()) <= 2)
