"""State follows the film: opening a film resets results, progress, plots, the difference
reference and the film's own defaults; the user's deliberate choices persist. Plain labels."""

from __future__ import annotations

import dataclasses

import pytest

from tests.gui.test_enhancement import _run, _setup
from xrayview.core.enhance.recipe import Dehazing, Recipe
from xrayview.core.enhance.stop_rule import default_stop
from xrayview.gui import labels


def test_opening_a_film_resets_everything_that_belonged_to_the_last(models_window, qtbot,
                                                                     small_film):
    win = models_window
    _setup(win, small_film, model="vdsr", scale=2, dehaze=True, steps=2, threshold=0.0)
    win.panel.reference_check.setChecked(True)
    assert _run(win, qtbot) is not None
    win.act.reference_combo.setCurrentIndex(win.act.reference_combo.findData("truth"))
    win.metrics.threshold_line.setValue(0.999)  # dragged on this film
    assert win.panel.progress.value() == 1000 and win.metrics.curves["ssim_input"].getData()[0] is not None

    other = dataclasses.replace(small_film, pixels=1.0 - small_film.pixels)
    win.set_film(other, "other.png")
    assert win.state.result is None and win.compare.enhanced.image is None
    assert win.panel.progress.value() == 0 and win.panel.status.text() == "Ready"
    xs, _ = win.metrics.curves["ssim_input"].getData()
    assert xs is None or len(xs) == 0
    assert win.metrics.table_values() == {}
    assert win.compare.reference_kind == "bicubic"
    assert win.act.reference_combo.currentData() == "bicubic"  # the combo tells the truth
    default, _below = default_stop(win.panel.stop_metric())
    assert win.panel.threshold() == pytest.approx(default)
    assert win.metrics.threshold == pytest.approx(default)
    # what the user chose on purpose stays
    assert win.panel.settings().model == "vdsr" and win.panel.settings().scale == 2
    assert win.panel.dehaze_check.isChecked()
    assert win.compare.enhanced.title_label.text() == "Enhanced"


def test_a_run_without_reference_mode_drops_the_ground_truth_choice(models_window, qtbot,
                                                                  small_film):
    win = models_window
    _setup(win, small_film, model="srcnn", scale=2)
    win.panel.reference_check.setChecked(True)
    _run(win, qtbot)
    win.act.reference_combo.setCurrentIndex(win.act.reference_combo.findData("truth"))
    assert win.compare.difference.image is not None
    win.panel.reference_check.setChecked(False)
    result = _run(win, qtbot)
    assert win.compare.film.shape == small_film.shape  # the film itself again, not degraded
    assert win.compare.reference_kind == "bicubic"
    assert win.act.reference_combo.currentData() == "bicubic"
    assert win.compare.difference.image is not None
    assert result.image.shape == (2 * small_film.shape[0], 2 * small_film.shape[1])


def test_view_titles_are_plain(models_window, qtbot, small_film):
    win = models_window
    _setup(win, small_film, model="vdsr", scale=2, dehaze=True, steps=2, threshold=0.0)
    result = _run(win, qtbot)
    n = len(result.steps)
    assert win.compare.enhanced.title_label.text() == f"VDSR ×2 + dehazing ({n} steps)"
    assert win.compare.difference.title_label.text() == (
        "Difference: VDSR ×2 + dehazing − bicubic ×2")
    win.metrics.select_x(0)
    assert win.compare.enhanced.title_label.text() == "VDSR ×2 — before dehazing"
    assert "stopped by the step limit" in win.panel.status.text()


@pytest.mark.parametrize("recipe, enhanced, difference", [
    (Recipe(model="none", scale=2), "Bicubic ×2", "Difference: Bicubic ×2 − bicubic ×2"),
    (Recipe(model="vdsr", scale=3), "VDSR ×3", "Difference: VDSR ×3 − bicubic ×3"),
    (Recipe(model="none", scale=1, dehazing=Dehazing(max_steps=5)), "Dehazing",
     "Difference: dehazed − original"),
    (Recipe(model="srcnn", scale=1), "SRCNN ×1", "Difference: SRCNN ×1 − original"),
])
def test_labels(recipe, enhanced, difference):
    assert labels.enhanced_label(recipe) == enhanced
    assert labels.difference_title(recipe, "bicubic", True) == difference
    assert labels.difference_title(recipe, "truth", False) == (
        "Difference from ground truth: not available")


def test_labels_count_steps_and_every_metric_has_a_tooltip():
    from xrayview.core.enhance.stop_rule import METRIC_NAMES

    r = Recipe(model="vdsr", scale=2, dehazing=Dehazing())
    assert labels.enhanced_label(r, 1) == "VDSR ×2 + dehazing (1 step)"
    assert labels.enhanced_label(r, 5) == "VDSR ×2 + dehazing (5 steps)"
    assert set(METRIC_NAMES) <= set(labels.METRIC_TOOLTIPS)


def test_convergence_rule_is_a_visible_setting(window):
    p = window.panel
    p.dehaze_check.setChecked(True)
    assert p.converge_check.isChecked() and p.epsilon_spin.isEnabled()
    p.epsilon_spin.setValue(5e-4)
    assert p.recipe().dehazing.epsilon == pytest.approx(5e-4)
    p.converge_check.setChecked(False)
    assert not p.epsilon_spin.isEnabled()
    assert p.recipe().dehazing.epsilon == 0.0  # off: only the threshold and max steps stop
    tips = [p.metric_combo.itemData(i, 3) for i in range(p.metric_combo.count())]  # ToolTipRole
    assert all(tips), tips


def test_precision_is_a_choice_and_is_recorded(models_window, qtbot, small_film):
    win = models_window
    _setup(win, small_film, model="vdsr", scale=2)
    p = win.panel
    assert p.recipe().precision == "auto"
    p.precision_combo.setCurrentIndex(p.precision_combo.findData("bf16"))
    assert p.recipe().precision == "bf16"
    from xrayview.core.device import autocast_dtype
    native = autocast_dtype("cpu", "bf16") is not None  # else fp32 runs, and is recorded
    ran = "bf16" if native else "fp32"
    result = _run(win, qtbot)
    assert result.recipe.precision == ran
    assert f'"precision": "{ran}"' in result.recipe.to_json()
    p.precision_combo.setCurrentIndex(p.precision_combo.findData("fp32"))
    fp32 = _run(win, qtbot)
    if native:  # bf16 really ran: close to fp32, not equal
        diff = abs(result.image - fp32.image)
        assert 0 < diff.max() < 0.05


def test_one_chart_per_metric_family_with_the_threshold_on_its_own(models_window, qtbot,
                                                                   small_film):
    from xrayview.gui.metrics_panel import FAMILIES, FAMILY_OF

    win = models_window
    _setup(win, small_film, model="none", scale=1, dehaze=True, steps=1, threshold=0.0)
    m = win.metrics
    assert set(m.plots) == set(FAMILIES) and all(FAMILY_OF[n] for n in m.curves)
    for metric in ("ssim_input", "psnr_prev", "ici_input", "step_change"):
        win.panel.metric_combo.setCurrentIndex(win.panel.metric_combo.findData(metric))
        assert m._line_plot is m.plots[FAMILY_OF[metric]]
        assert m.threshold_line in m.plots[FAMILY_OF[metric]].getPlotItem().items
    win.panel.metric_combo.setCurrentIndex(win.panel.metric_combo.findData("ssim_input"))
    win.panel.threshold_spin.setValue(0.0)
    _run(win, qtbot)  # one step: the axis runs from 1, not from -1 to 3
    (x0, x1), _ = m.plots["psnr"].getPlotItem().vb.viewRange()
    assert x0 >= 0.4 and x1 <= 1.6
    text = m.hover_text(m.plots["similarity"], 1.2)
    assert text.startswith("step 1") and "SSIM vs input:" in text


def test_model_scale_and_precision_outlive_the_session(qtbot, settings, models):
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    p = win.panel
    p.model_combo.setCurrentIndex(p.model_combo.findData("srcnn"))
    p.scale_spin.setValue(3)
    p.precision_combo.setCurrentIndex(p.precision_combo.findData("fp32"))
    win.close()
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    s = again.panel.settings()
    assert (s.model, s.scale, s.precision) == ("srcnn", 3, "fp32")
