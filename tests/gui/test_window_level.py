"""Window/level that tells the truth: the combo shows the preset in force or "Custom",
"DICOM default" only for DICOM, an automatic window within the collimated field, the
histogram in stored units."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.cr_film import FIELD, MAX_STORED, make_cr_film
from xrayview.core.film import Film
from xrayview.core.io import load_film
from xrayview.gui.presets import collimated_field, window_preset


@pytest.fixture
def cr_path(tmp_path):
    return make_cr_film(tmp_path / "cr.dcm")


def _combo(window):
    return window.act.preset_combo.currentData(), window.act.preset_combo.currentText()


def test_flat_cr_opens_on_its_window_and_auto_finds_the_field(window, cr_path):
    assert window.open_path(cr_path)
    film = window.film
    assert film.inverted and film.bits_stored == 15
    assert _combo(window) == ("default", "DICOM default")
    assert window.view.window[1] > 0.9  # its own DICOM window is the whole range: flat
    window.act.presets["auto"].trigger()
    center, width = window.view.window
    field = film.pixels[FIELD]
    lo, hi = np.percentile(field, (1, 99))
    assert width < 0.3 and center - width / 2 == pytest.approx(lo, abs=0.01)
    assert center + width / 2 == pytest.approx(hi, abs=0.01)
    assert _combo(window) == ("auto", "Auto (collimated field)")
    window.view._on_right_drag(12.0, 0.0)  # the user drags the window
    assert _combo(window) == ("custom", "Custom")
    window.act.presets["default"].trigger()
    assert _combo(window)[0] == "default" and window.view.window[1] > 0.9
    window.histogram.windowEdited.emit(0.4, 0.1)  # an edit on the histogram
    assert _combo(window)[0] == "custom"
    window.act.invert.trigger()  # inverting keeps the window and its name
    assert _combo(window)[0] == "custom"


def test_a_png_has_no_dicom_default(window, sample_path):
    window.open_path(sample_path)
    combo = window.act.preset_combo
    assert combo.currentData() == "full"
    assert combo.view().isRowHidden(combo.findData("default"))
    window.act.presets["default"].trigger()  # the D key on a PNG: its default, full range
    assert combo.currentData() == "full" and window.view.window == (0.5, 1.0)


def test_collimated_field_mask_and_plain_films():
    rng = np.random.default_rng(1)
    plain = rng.random((300, 300)).astype(np.float32)  # textured everywhere: no borders
    assert collimated_field(plain) is None
    flat = np.full((200, 200), 0.5, np.float32)
    assert collimated_field(flat) is None
    framed = np.full((400, 500), 0.95, np.float32) + rng.normal(0, 0.002, (400, 500)).astype(np.float32)
    framed[100:300, 150:400] = 0.3 + 0.2 * rng.random((200, 250))
    mask = collimated_field(framed)
    ys, xs = np.nonzero(mask)
    assert 100 <= ys.min() < 115 and 285 < ys.max() < 300
    assert 150 <= xs.min() < 165 and 385 < xs.max() < 400
    film = Film(pixels=framed, source_format="DICOM", bits_stored=12, value_min=0, value_max=4095)
    c, w = window_preset("auto", film)
    assert c + w / 2 < 0.52  # the 0.95 frame is out of the window


def test_histogram_axis_is_in_stored_units(window, cr_path):
    window.open_path(cr_path)
    axis = window.histogram.axis
    film = load_film(cr_path)
    ticks = [v for _spacing, values in axis.tickValues(0.0, 1.0, 400) for v in values]
    stored = [film.stored_values(np.asarray([t]))[0] for t in ticks]
    assert ticks and all(abs(s - round(s / 1000) * 1000) < 1e-6 * MAX_STORED for s in stored)
    labels = axis.tickStrings(ticks, 1.0, 1.0)
    assert labels[0] == f"{stored[0]:.6g}"
    assert window.histogram.plot.getPlotItem().getAxis("bottom").labelText == "stored value"


def test_showing_a_result_does_not_make_the_window_custom(window, sample_path):
    window.open_path(sample_path)
    film = window.film
    window.compare.begin_enhanced(np.zeros((2 * film.shape[0], 2 * film.shape[1]), np.float32), 2)
    window.compare.set_enhanced(np.zeros((2 * film.shape[0], 2 * film.shape[1]), np.float32), 2)
    window.compare.set_reference("bicubic", np.zeros((2 * film.shape[0], 2 * film.shape[1]),
                                                     np.float32))
    assert window.act.preset_combo.currentData() == "full"
