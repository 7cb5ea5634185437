"""PyramidImageItem: cached power-of-two block means instead of pyqtgraph's recomputation."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from xrayview.gui.pyramid_image import PyramidImageItem, halve


@pytest.mark.parametrize("shape", [(8, 8), (9, 7), (1, 6)])
def test_halve_is_the_block_mean(shape):
    a = np.random.default_rng(0).random(shape, dtype=np.float32)
    h, w = shape[0] // 2, shape[1] // 2
    expected = a[:2 * h, :2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))
    got = halve(a)
    assert got.dtype == np.float32 and got.shape == (h, w)
    np.testing.assert_allclose(got, expected, atol=1e-7)
    rows_only = halve(a, cols=False)
    np.testing.assert_allclose(rows_only, a[:2 * h].reshape(h, 2, shape[1]).mean(axis=1),
                               atol=1e-7)


def test_zoom_levels_are_cached_and_match_pyqtgraph(qtbot):
    image = np.random.default_rng(1).random((1024, 1024), dtype=np.float32)
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    view.resize(300, 300)
    box = view.addViewBox(lockAspect=True)
    item = PyramidImageItem(axisOrder="row-major", autoDownsample=True)
    box.addItem(item)
    item.setImage(image, autoLevels=False, levels=(0.0, 1.0))
    view.show()
    qtbot.waitExposed(view)

    box.setRange(xRange=(0, 1024), yRange=(0, 1024), padding=0)
    view.grab()
    fy, fx = item._lastDownsample[1], item._lastDownsample[0]
    assert fy >= 2 and fy & (fy - 1) == 0  # zoomed out: a power-of-two factor
    assert item.qimage.height() == 1024 // fy
    level = item._pyramid[(fy, fx)]
    expected = pg.functions.downsample(pg.functions.downsample(image, fx, axis=1), fy, axis=0)
    np.testing.assert_allclose(level, expected, atol=1e-6)

    box.setRange(xRange=(0, 64), yRange=(0, 64), padding=0)  # zoom in: full resolution
    view.grab()
    assert item._lastDownsample == (1, 1)
    box.setRange(xRange=(0, 1024), yRange=(0, 1024), padding=0)  # back out: re-used
    view.grab()
    assert item._pyramid[(fy, fx)] is level

    item.setImage(image * 0.5, autoLevels=False)  # a new image drops the copies
    assert (fy, fx) not in item._pyramid
    view.grab()
    np.testing.assert_allclose(item._pyramid[(fy, fx)], expected * 0.5, atol=1e-6)
