"""Blinding by construction: for every case, every condition kind (original, bicubic,
SRCNN, VDSR, VDSR + dehazing, dehazing alone at x1) is prepared on one pixel grid, bit
depth and format, and shown through one display path; any difference other than the
pixel values fails. Also: the film's own DICOM window reaches the reader (a 15-bit
MONOCHROME1 CR does not start almost white)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from tests.support.dicom_factory import make_dicom
from tests.support.study_factory import SINGLE_QUESTIONS, conditions_toml, make_study
from xrayview.core.generators import drain
from xrayview.core.io import load_film
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import image_path, load_display, prepare_study
from xrayview.gui.study_window import StudyWindow

EVERY_KIND = conditions_toml("original", "bicubic_x2", "srcnn_x2", "vdsr_x2",
                             "vdsr_x2_dehaze", "dehaze_x1")


def file_signature(path) -> dict:
    """All of a prepared image but its pixel values."""
    with Image.open(path) as im:
        info = {"format": im.format, "mode": im.mode, "size": im.size,
                "bits": im.info.get("bits"), "dpi": im.info.get("dpi")}
    film = load_film(path)
    return {**info, "dtype": str(film.pixels.dtype), "shape": film.pixels.shape,
            "bits_stored": film.bits_stored, "range": (film.value_min, film.value_max),
            "photometric": film.photometric, "spacing": film.pixel_spacing_mm}


@pytest.mark.parametrize("design", ["single", "paired"])
def test_every_condition_kind_is_prepared_and_shown_alike(tmp_path, models, qtbot, design):
    study = load_study(make_study(tmp_path / "src", n_cases=2, n_training=1, design=design,
                                  conditions=EVERY_KIND))
    root = tmp_path / "study"
    drain(prepare_study(study, root, device="cpu"))
    names = [c.name for c in study.conditions]
    for case in study.cases:
        sigs = {n: file_signature(image_path(root, case.id, n)) for n in names}
        assert all(s == sigs["original"] for s in sigs.values()), (case.id, sigs)
        assert sigs["original"]["shape"] == (96, 96) and sigs["original"]["mode"] == "I;16"
        pixels = {n: load_film(image_path(root, case.id, n)).pixels for n in names}
        assert np.array_equal(pixels["original"], pixels["bicubic_x2"])  # the reference
        assert not np.array_equal(pixels["original"], pixels["vdsr_x2"])   # content differs
        assert not np.array_equal(pixels["original"], pixels["dehaze_x1"])

    win = StudyWindow(root, "blind")
    qtbot.addWidget(win)
    win.resize(1201, 801)  # odd sizes on purpose
    win.show()
    qtbot.waitExposed(win)
    seen = defaultdict(list)  # case -> [(condition, display of its pane)]
    while win.trial is not None:
        t = win.trial
        panes = [(t.left, win.views[0])] + ([(t.right, win.views[1])] if t.right else [])
        for cond, view in panes:
            seen[t.case].append((cond, win.pane_display(view)))
        qtbot.keyClick(win, Qt.Key.Key_3)
        if design == "paired":
            qtbot.keyClick(win, Qt.Key.Key_Left)
        else:
            qtbot.keyClick(win, Qt.Key.Key_3)
        qtbot.keyClick(win, Qt.Key.Key_Return)
    assert set(seen) == {c.id for c in study.cases}
    for case, shown in seen.items():
        assert {c for c, _ in shown} == set(names)  # every kind was on screen
        ref = shown[0][1]
        assert ref["smooth"] and ref["image_scale"] == 1 and ref["shape"] == (96, 96)
        for cond, disp in shown:
            for key, value in disp.items():
                if key in ("view_range", "size"):  # panes may differ by a layout pixel
                    assert np.allclose(value, ref[key], rtol=0.02, atol=1.0), (case, cond,
                                                                                 key)
                else:
                    assert value == ref[key], (case, cond, key, value, ref[key])


def test_the_films_own_window_reaches_the_reader(tmp_path, models, qtbot):
    """A 15-bit MONOCHROME1 CR whose values fill a narrow band of the 0..32767 range:
    without its DICOM window it shows almost white (inverted, MONOCHROME2 ~ 0.9)."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:40, 0:40]
    stored = (2600 + 800 * x / 40 + 300 * np.sin(y / 4) + rng.normal(0, 30, (40, 40)))
    stored = np.clip(stored, 0, 32767).astype(np.uint16)
    src = tmp_path / "src"
    src.mkdir()
    make_dicom(src / "cr.dcm", stored, bits_stored=15, photometric="MONOCHROME1",
               modality="CR", WindowCenter=3000, WindowWidth=1600)
    (src / "study.toml").write_text(
        '[study]\ndesign = "single"\nseed = 1\n[cases]\nfilms = ["cr.dcm"]\n'
        '[conditions.original]\n[conditions.bicubic_x2]\nmodel = "none"\nscale = 2\n'
        + SINGLE_QUESTIONS)
    study = load_study(src / "study.toml")
    root = tmp_path / "study"
    drain(prepare_study(study, root, device="cpu"))
    disp = load_display(root, "c01")
    film = load_film(src / "cr.dcm")
    assert disp["photometric"] == "MONOCHROME1" and disp["inverted_on_load"]
    assert disp["bits_stored"] == 15
    assert disp["window"] == pytest.approx([film.windows[0].center, film.windows[0].width])
    win = StudyWindow(root, "wl")
    qtbot.addWidget(win)
    win.show()
    view = win.views[0]
    assert view.window == pytest.approx(tuple(disp["window"]))
    lo, hi = view.window[0] - view.window[1] / 2, view.window[0] + view.window[1] / 2
    shown = np.clip((view.image - lo) / (hi - lo), 0, 1)  # what the screen gets
    assert 0.25 < shown.mean() < 0.75                      # mid-grey, not white
    assert view.image.mean() > 0.85                        # the [0, 1] window: white
    qtbot.keyClick(win, Qt.Key.Key_3)
    qtbot.keyClick(win, Qt.Key.Key_3)
    qtbot.keyClick(win, Qt.Key.Key_Return)
    row_display = win.store.latest(0)["display"]
    assert row_display["left"]["center"] == pytest.approx(disp["window"][0], abs=1e-5)
    assert row_display["preset"] == "default"


def test_a_voi_lut_is_the_start_of_every_pane(tmp_path, models, qtbot):
    """A film whose display is a non-linear VOI LUT (no window): every pane starts on it,
    linked, and the answer records it."""
    import json

    from xrayview.core.study.prepare import display_path

    study = load_study(make_study(tmp_path / "src", n_cases=1, n_training=0))
    root = tmp_path / "study"
    drain(prepare_study(study, root, device="cpu"))
    path = display_path(root, "c01")
    disp = json.loads(path.read_text())
    disp.update(window=None, voi_lut=[round(float(v) ** 0.5, 6)
                                      for v in np.linspace(0, 1, 256)])
    path.write_text(json.dumps(disp))
    win = StudyWindow(root, "lut")
    qtbot.addWidget(win)
    win.show()
    assert all(v.uses_film_lut for v in win.views)
    win.views[0].set_window(0.4, 0.5)            # a window replaces it, in both panes
    assert not win.views[1].uses_film_lut and win.views[1].window == (0.4, 0.5)
    qtbot.keyClick(win, Qt.Key.Key_R)            # reset: back to the LUT everywhere
    assert all(v.uses_film_lut for v in win.views)
    for key in (Qt.Key.Key_3, Qt.Key.Key_Left, Qt.Key.Key_Return):
        qtbot.keyClick(win, key)
    shown = win.store.latest(0)["display"]
    assert shown["left"]["voi_lut"] and shown["right"]["voi_lut"]


def test_the_real_15_bit_monochrome1_cr_keeps_its_window(tmp_path, models, qtbot,
                                                          pydicom_data_dir):
    """pydicom-data's RG1_UNCR.dcm (CR, 15 bits stored, MONOCHROME1): its window reaches
    the study and the reading window starts on it."""
    src = tmp_path / "src"
    src.mkdir()
    film_path = pydicom_data_dir / "RG1_UNCR.dcm"
    (src / "study.toml").write_text(
        f'[study]\ndesign = "single"\nseed = 1\ncrop = 64\n[cases]\nfilms = ["{film_path}"]\n'
        '[conditions.original]\n[conditions.bicubic_x2]\nmodel = "none"\nscale = 2\n'
        + SINGLE_QUESTIONS)
    root = tmp_path / "study"
    drain(prepare_study(load_study(src / "study.toml"), root, device="cpu"))
    film = load_film(film_path)
    disp = load_display(root, "c01")
    assert (disp["photometric"], disp["bits_stored"]) == ("MONOCHROME1", 15)
    assert disp["window"] == pytest.approx([film.windows[0].center, film.windows[0].width])
    win = StudyWindow(root, "cr")
    qtbot.addWidget(win)
    win.show()
    assert win.views[0].window == pytest.approx(tuple(disp["window"]))
    assert win.views[0].image.shape == (128, 128)
