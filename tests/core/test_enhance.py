"""super_resolve: pre-upsampling, tiled network, progress, cancel; re-exports; Qt-free."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from tests.support.model_factory import make_models_dir, tiny_model
from xrayview.core.cancel import Cancelled
from xrayview.core.enhance.stop_rule import StopRule
from xrayview.core.enhance.dehazing import dehaze_steps
from xrayview.core.enhance.super_resolution import super_resolve, upsample
from xrayview.core.enhance.pipeline import describe, enhance
from xrayview.core.enhance.recipe import Dehazing, Recipe
from xrayview.core.generators import collect, drain
from xrayview.core.film import Film
from xrayview.core.models.registry import MODELS_ENV, WeightsError


def _film(h=37, w=29, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w), dtype=np.float32)


def test_bicubic_only():
    x = _film()
    records, out = collect(super_resolve(x, "none", scale=2, device="cpu"))
    assert out.shape == (74, 58) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.array_equal(out, upsample(x, 2))
    assert len(records) == 1 and records[0].fraction == 1.0
    _, same = collect(super_resolve(x, "none", scale=1, device="cpu"))
    assert np.array_equal(same, x) and same is not x


@pytest.mark.parametrize("scale", [1, 3])
def test_network_result_equals_whole_image(scale):
    model = tiny_model("vdsr")
    x = _film()
    records, out = collect(super_resolve(x, model, scale=scale, device="cpu", tile=16,
                                             precision="fp32"))
    with torch.inference_mode():
        ref = model(torch.from_numpy(upsample(x, scale))[None, None])[0, 0].numpy()
    assert out.shape == (37 * scale, 29 * scale)
    assert np.abs(out - np.clip(ref, 0, 1)).max() < 1e-5
    assert [r.done for r in records] == list(range(1, records[-1].total + 1))
    assert records[-1].fraction == pytest.approx(1.0) and records[-1].eta_s == pytest.approx(0.0)
    elapsed = [r.elapsed_s for r in records]
    assert elapsed == sorted(elapsed)


def test_film_input_and_model_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path, archs=("srcnn",))))
    film = Film(pixels=_film(20, 24), source_format="PNG", bits_stored=16,
                value_min=0, value_max=65535)
    out = drain(super_resolve(film, "srcnn", scale=2, device="cpu", tile=512))
    assert out.shape == (40, 48)
    with pytest.raises(WeightsError, match="no trained weights for 'vdsr'"):
        drain(super_resolve(film, "vdsr", scale=2, device="cpu"))


def test_cancel_between_tiles():
    stop = threading.Event()
    gen = super_resolve(_film(64, 64), tiny_model("srcnn"), scale=2, device="cpu", tile=32,
                        batch=1, cancel=stop)
    next(gen)
    stop.set()
    with pytest.raises(Cancelled):
        drain(gen)


@pytest.mark.parametrize("kwargs,message", [
    ({"scale": 5}, "scale must be"), ({"scale": 0}, "scale must be"),
    ({"device": "gpu"}, "unknown device"), ({"tile": 4}, "tile must be"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        drain(super_resolve(_film(), "none", **{"scale": 2, "device": "cpu", **kwargs}))


def test_untileable_model_is_refused():
    with pytest.raises(ValueError, match="cannot be tiled"):
        drain(super_resolve(_film(), tiny_model("dehaze"), scale=1, device="cpu"))


def test_dehazing_is_reexported():
    from xrayview.core.enhance import dehazing

    assert dehazing.Cancelled is Cancelled  # one Cancelled for tiles and dehazing steps
    steps, final = collect(dehaze_steps(_film(32, 32), tiny_model("dehaze"),
                                        StopRule(max_steps=2, threshold=0.0)))
    assert 1 <= len(steps) <= 2 and final.shape == (32, 32)


def test_description_names_model_hash_scale_and_dehazing():
    recipe = Recipe(model="vdsr", scale=2, dehazing=Dehazing())
    text = describe(recipe, {"vdsr": "ab" * 32}, steps_run=3, threshold=0.95,
                    reason="threshold: ssim_input 0.94 below 0.95")
    assert "vdsr x2" in text and "abababab" in text and "dehazing 3 step(s)" in text
    assert "0.95" in text
    assert "bicubic x3" in describe(Recipe(scale=3), {})


@pytest.mark.parametrize("native,speedup,vdsr_ran", [(True, 2.0, "bf16"), (True, 1.0, "fp32"),
                                                   (False, 0.0, "fp32")])
def test_the_recipe_as_run_names_the_precision_that_ran(tmp_path, monkeypatch, native,
                                                        speedup, vdsr_ran):
    """"auto" depends on the CPU's bf16 probe; provenance must say what it chose."""
    from xrayview.core import device

    monkeypatch.setattr(device, "cpu_bf16_native", lambda: native)
    monkeypatch.setattr(device, "cpu_bf16_speedup", lambda: speedup)
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path)))
    x = _film(40, 40)
    ran = {m: drain(enhance(x, Recipe(model=m, scale=2), "cpu")).recipe.precision
           for m in ("vdsr", "srcnn")}
    assert ran == {"vdsr": vdsr_ran, "srcnn": "fp32"}  # SRCNN is never autocast
    asked = drain(enhance(x, Recipe(model="vdsr", scale=2, precision="fp32"), "cpu"))
    assert asked.recipe.precision == "fp32"
    assert drain(enhance(x, Recipe(scale=2), "cpu")).recipe.precision == "auto"  # no network


def test_inference_modules_import_without_qt():
    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import xrayview.core.enhance.super_resolution, xrayview.core.enhance.tiling, xrayview.core.device\n"
        "import xrayview.core.models.weights, xrayview.core.io.export\n"
        "print('OK')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr
