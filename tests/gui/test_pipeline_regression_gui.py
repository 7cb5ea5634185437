"""The viewer's job gives the pixels the old viewer job gave (issue 13; see
``tests/core/test_pipeline_regression.py`` for the fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.model_factory import models_dir_with_dehazer_before
from xrayview.core.film import Film

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "pipeline_before.npz"


def test_viewer_run_matches_the_old_viewer_job(window, qtbot, tmp_path, monkeypatch):
    # the dehazer the fixture was made with
    monkeypatch.setenv("XRAYVIEW_MODELS_DIR", str(models_dir_with_dehazer_before(tmp_path)))
    with np.load(FIXTURE) as data:
        before = {k: data[k] for k in data.files}
    film = Film(pixels=before["input"], source_format="PNG", bits_stored=16,
                value_min=0.0, value_max=65535.0)
    window.set_film(film, "crop.png")
    p = window.panel
    p.model_combo.setCurrentIndex(p.model_combo.findData("vdsr"))
    p.scale_spin.setValue(2)
    p.dehaze_check.setChecked(True)
    p.steps_spin.setValue(10)  # the old viewer job's StopRule(): SSIM vs input < 0.9
    p.metric_combo.setCurrentIndex(p.metric_combo.findData("ssim_input"))
    p.threshold_spin.setValue(0.9)
    p.set_stop_below(True)
    p.diverging_check.setChecked(False)  # the old job had no divergence rule
    qtbot.waitUntil(lambda: p.devices_known, timeout=30000)
    p.device_combo.setCurrentIndex(p.device_combo.findData("cpu"))
    p.precision_combo.setCurrentIndex(p.precision_combo.findData("fp32"))  # as the fixture
    with qtbot.waitSignal(window.controller.jobFinished, timeout=120000):
        p.run_button.click()
    result = window.state.result
    assert result is not None
    assert len(result.steps) == int(before["gui_vdsr_x2_dehaze_steps"][0])
    for new, key in ((result.image, "gui_vdsr_x2_dehaze"),
                     (result.super_resolved, "gui_vdsr_x2_dehaze_sr"),
                     (result.bicubic, "gui_vdsr_x2_dehaze_bicubic")):
        assert new.shape == before[key].shape
        assert float(np.abs(new - before[key]).max()) <= 1e-6, key
    # what the Enhanced view shows is the result
    assert np.array_equal(window.compare.enhanced_image, result.image)
