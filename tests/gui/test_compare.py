"""CompareView: linked pan/zoom, x2 alignment, shared window/level, signed difference."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from xrayview.gui.compare import CompareView


@pytest.fixture
def compare(qtbot, small_film):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1200, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_film(small_film)
    return view


def _camera(view):
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    return (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / view.view_box.width()


def test_zoom_one_view_others_follow(compare):
    compare.enhanced.view_box.scaleBy((0.25, 0.25), center=QPointF(30, 40))
    cx, cy, zoom = _camera(compare.enhanced)
    for v in (compare.original, compare.difference):
        ocx, ocy, ozoom = _camera(v)
        assert (ocx, ocy) == pytest.approx((cx, cy), abs=1e-6)
        assert ozoom == pytest.approx(zoom, rel=1e-6)
    compare.original.view_box.translateBy(QPointF(5, -3))  # pan
    assert _camera(compare.difference)[:2] == pytest.approx(_camera(compare.original)[:2])


def test_x2_result_lines_up_with_original(compare, small_film):
    rows, cols = small_film.shape
    enhanced = np.repeat(np.repeat(small_film.pixels, 2, 0), 2, 1)
    compare.set_enhanced(enhanced, 2)
    item = compare.enhanced.image_item
    assert item.mapRectToParent(item.boundingRect()) == QRectF(0, 0, cols, rows)
    # the enhanced pixel under original position (x, y) is (2y, 2x)
    assert compare.enhanced.value_at(10.75, 20.25) == enhanced[40, 21]
    assert compare.enhanced.value_at(10.75, 20.25) == small_film.pixels[20, 10]
    assert compare.readout_text(compare.enhanced, 10.75, 20.25).startswith("r 40, c 21")


def test_fit_and_one_to_one(compare):
    compare.actual_size()
    v = compare.original
    assert _camera(v)[2] == pytest.approx(1.0, rel=1e-3)
    compare.fit()
    (x0, x1), (y0, y1) = v.view_box.viewRange()
    assert x0 <= 0 and x1 >= 80 and y0 <= 0 and y1 >= 96


def test_shared_window_level_presets_and_invert(compare, qtbot):
    compare.set_enhanced(compare.film.pixels.copy(), 1)
    compare.set_window(0.4, 0.2)
    assert compare.enhanced.window == pytest.approx((0.4, 0.2))
    compare.apply_preset("auto")
    lo, hi = np.percentile(compare.film.pixels, [0.5, 99.5])
    c, w = compare.original.window
    assert c == pytest.approx((lo + hi) / 2, abs=0.02) and w == pytest.approx(hi - lo, abs=0.04)
    assert compare.enhanced.window == compare.original.window
    for name in ("lung", "bone", "full", "default"):
        compare.apply_preset(name)
        assert compare.enhanced.window == compare.original.window
    compare.set_inverted(True)
    assert compare.original.inverted and compare.enhanced.inverted
    # right-drag on the enhanced view changes the shared window
    before = compare.original.window
    compare.enhanced.view_box.rightDragged.emit(40.0, -25.0)
    assert compare.original.window != before
    assert compare.enhanced.window == compare.original.window


def test_difference_is_signed_and_symmetric(compare, small_film):
    bicubic = small_film.pixels.copy()
    enhanced = bicubic.copy()
    enhanced[:10, :10] += 0.2
    enhanced[-10:, -10:] -= 0.1
    compare.set_reference("bicubic", bicubic)
    compare.set_enhanced(enhanced, 1)
    diff = compare.difference.image
    assert diff[5, 5] == pytest.approx(0.2) and diff[-5, -5] == pytest.approx(-0.1)
    lo, hi = compare.difference.image_item.levels
    assert lo == pytest.approx(-hi) and hi > 0
    lut = compare.difference.image_item.lut
    assert lut[-1][0] > lut[-1][2] and lut[0][2] > lut[0][0]  # red for +, blue for -
    # other references
    compare.set_reference_kind("previous")
    assert compare.difference.image is None
    compare.set_reference("previous", enhanced - 0.05)
    assert compare.difference.image[50, 50] == pytest.approx(0.05)


def test_progressive_buffer_has_no_difference_until_complete(compare, small_film):
    compare.set_reference("bicubic", small_film.pixels)
    buf = np.zeros(small_film.shape, np.float32)
    compare.begin_enhanced(buf, 1)
    buf[:10, :10] = 1.0
    compare.refresh_soon()
    assert compare.enhanced.image is buf and compare.difference.image is None


def test_swipe_and_flicker(compare, small_film):
    enhanced = 1.0 - small_film.pixels
    compare.set_enhanced(enhanced, 1)
    compare.set_swipe(0.5)
    assert compare.swipe_item.isVisible()
    assert compare.swipe_item.image.shape == (96, 40)
    compare.swipe_line.setValue(60)
    assert compare.swipe_item.image.shape == (96, 20)
    compare.set_swipe(None)
    assert not compare.swipe_item.isVisible()
    compare.set_flicker(True)
    assert compare.original.value_at(3.5, 4.5) == enhanced[4, 3]
    compare.set_flicker(False)
    assert compare.original.value_at(3.5, 4.5) == small_film.pixels[4, 3]
