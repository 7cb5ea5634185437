"""The one pipeline gives the pixels the code before it gave (issue 13).

``tests/data/pipeline_before.npz`` was written by ``scripts/make_pipeline_fixtures.py`` (in git history)
at commit "Regression fixtures: outputs of the pre-refactor enhancement code", i.e. by the
old entry points (``super_resolve``, ``dehaze_steps``, the viewer's own job
``gui.pipeline.run_enhancement``, ``xrayview enhance``, ``prepare_study``) on a 72 x 88
crop of the bundled sample film with the shipped weights. Here the same inputs go through
``core.enhance.pipeline.enhance`` and its callers (the CLI, study preparation; the viewer's
job: ``tests/gui/test_pipeline_regression_gui.py``). fp32 pixels must agree to 1e-6;
16-bit files to one grey level (a 1e-6 difference can round the other way). The
fixtures are fp32, so every run here asks for fp32: "auto" may choose bf16 on a CPU where
a speed probe finds it faster. The old code had no divergence rule (``StopRule.diverging``),
so the runs here switch it off, and ran the dehazer shipped then (``tests/data/dehaze_before.pt``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.model_factory import models_dir_with_dehazer_before
from xrayview.core.enhance.pipeline import enhance
from xrayview.core.enhance.recipe import Dehazing, Recipe
from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.generators import drain
from xrayview.core.quality import metrics

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "pipeline_before.npz"
TOL = 1e-6
FP32 = "fp32"  # the precision the fixtures were made in


@pytest.fixture(scope="module")
def models_before(tmp_path_factory) -> Path:
    """The models folder with the dehazer the fixtures were made with (copied once)."""
    return models_dir_with_dehazer_before(tmp_path_factory.mktemp("models"))


@pytest.fixture(autouse=True)
def dehazer_before(models_before, monkeypatch):
    monkeypatch.setenv("XRAYVIEW_MODELS_DIR", str(models_before))


@pytest.fixture(scope="module")
def before() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


@pytest.mark.parametrize("model,scale", [("srcnn", 2), ("vdsr", 2), ("vdsr", 3), ("vdsr", 4)])
def test_super_resolution_matches(before, model, scale):
    done = drain(enhance(before["input"], Recipe(model=model, scale=scale, precision=FP32), "cpu"))
    assert _max_diff(done.image, before[f"sr_{model}_x{scale}"]) <= TOL


def _rules(before) -> dict[str, Dehazing]:
    base_contrast = metrics.rms_contrast(before["sr_vdsr_x2"])
    return {
        "default": Dehazing(diverging=False),
        "contrast_rollback": Dehazing(metric="rms_contrast", threshold=1.02 * base_contrast,
                                      stop_below=False, rollback=True, diverging=False),
        "ssim_prev": Dehazing(metric="ssim_prev", threshold=0.999, stop_below=False,
                              diverging=False),
        "max_steps": Dehazing(threshold=0.0, epsilon=0.0, max_steps=3, diverging=False),
    }


@pytest.mark.parametrize("rule", ["default", "contrast_rollback", "ssim_prev", "max_steps"])
@pytest.mark.parametrize("source", ["vdsr_x2", "film"])
def test_dehazing_with_each_stop_rule_matches(before, rule, source):
    dehazing = _rules(before)[rule]
    recipe = Recipe(model="vdsr", scale=2, dehazing=dehazing, precision=FP32) \
        if source == "vdsr_x2" else Recipe(dehazing=dehazing, precision=FP32)
    done = drain(enhance(before["input"], recipe, "cpu"))
    key = f"dehaze_{rule}_{source}"
    assert len(done.steps) == int(before[key + "_steps"][0])
    assert _max_diff(done.image, before[key]) <= TOL
    old = before[key + "_metrics"]
    new = np.array([[s.metrics[m] for m in sorted(s.metrics)] for s in done.steps])
    finite = np.isfinite(old)
    assert np.array_equal(finite, np.isfinite(new))
    np.testing.assert_allclose(new[finite], old[finite], rtol=1e-4, atol=1e-6)


def test_viewer_recipe_matches_the_old_viewer_job_in_core(before):
    """The viewer's settings (VDSR x2 + dehazing under the default rule) as a recipe."""
    done = drain(enhance(before["input"], Recipe(model="vdsr", scale=2,
                                                 dehazing=Dehazing(diverging=False),
                                                 precision=FP32), "cpu"))
    assert _max_diff(done.image, before["gui_vdsr_x2_dehaze"]) <= TOL
    assert _max_diff(done.super_resolved, before["gui_vdsr_x2_dehaze_sr"]) <= TOL
    assert _max_diff(done.bicubic, before["gui_vdsr_x2_dehaze_bicubic"]) <= TOL
    assert len(done.steps) == int(before["gui_vdsr_x2_dehaze_steps"][0])
    np.testing.assert_allclose([done.metrics[k] for k in sorted(done.metrics)],
                               before["gui_vdsr_x2_dehaze_table"], rtol=1e-5)


def _write_input(before, folder: Path) -> Path:
    src = folder / "crop.png"
    Image.fromarray(np.round(before["input"] * 65535).astype(np.uint16)).save(src)
    return src


def test_cli_matches(before, tmp_path):
    src = _write_input(before, tmp_path)
    out = tmp_path / "out.tif"
    subprocess.run([sys.executable, "-m", "xrayview", "enhance", str(src), str(out),
                    "--model", "vdsr", "--scale", "2", "--dehaze-steps", "3",
                    "--device", "cpu", "--precision", FP32, "--no-diverging-stop"], check=True,
                   capture_output=True)
    new = np.asarray(Image.open(out)).astype(np.uint16)
    assert _max_diff(new, before["cli_vdsr_x2_dehaze3"]) <= 1


def test_study_preparation_matches(before, tmp_path):
    from xrayview.core.study.definition import Case, Condition, Question, Study
    from xrayview.core.study.prepare import image_path, prepare_study

    src = _write_input(before, tmp_path)
    study = Study(title="regression", design="single", seed=1,
                  conditions=[Condition("original"), Condition("vdsr_x2", "vdsr", 2),
                              Condition("vdsr_x2_dehaze", "vdsr", 2, 2, 0.95,
                                        stop_diverging=False)],
                  questions=[Question("q", "likert", "Quality?", ["1", "2", "3", "4", "5"],
                                      [1, 2, 3, 4, 5])],
                  cases=[Case("c1", str(src))])
    drain(prepare_study(study, tmp_path / "study", device="cpu"))
    for cond in ("original", "vdsr_x2", "vdsr_x2_dehaze"):
        png = image_path(tmp_path / "study", "c1", cond)
        new = np.asarray(Image.open(png)).astype(np.uint16)
        old = before[f"study_{cond}"]
        if cond == "original":  # blinding (issue 15): now on the x2 grid, by bicubic
            old = np.round(upsample(old / 65535.0, 2) * 65535.0).astype(np.uint16)
        assert _max_diff(new, old) <= 1, cond
