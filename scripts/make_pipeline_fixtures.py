"""One-off: record what the pre-refactor enhancement code produces (issue 13 regression).

Run once, before the pipeline refactor, from the repository root:
    .venv/bin/python scripts/make_pipeline_fixtures.py tests/data/pipeline_before.npz
It calls the old entry points (core.enhance.super_resolve, core.dehazing.dehaze_steps,
gui.pipeline.run_enhancement, core.study.prepare.prepare_study, ``xrayview enhance``)
on a 72 x 88 crop of the bundled sample film and stores their outputs. The regression
test (tests/core/test_pipeline_regression.py) runs the new pipeline on the same inputs.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from xrayview.core import metrics
from xrayview.core.enhance import collect, drain, super_resolve
from xrayview.core.dehazing import StopRule, dehaze_steps
from xrayview.core.io import load_film
from xrayview.core.resources import sample_film_path
from xrayview.core.weights import load_model
from xrayview.gui.pipeline import EnhanceRequest, run_enhancement

out_path = Path(sys.argv[1])
film = load_film(sample_film_path())
h, w = film.shape
crop = np.ascontiguousarray(film.pixels[h // 2 - 36:h // 2 + 36, w // 2 - 44:w // 2 + 44])
arrays: dict[str, np.ndarray] = {"input": crop}
for name, scale in (("srcnn", 2), ("vdsr", 2), ("vdsr", 3), ("vdsr", 4)):
    arrays[f"sr_{name}_x{scale}"] = drain(super_resolve(crop, name, scale, device="cpu"))
dnet = load_model("dehaze")
base = arrays["sr_vdsr_x2"]
rules = {
    "default": dict(),
    "contrast_rollback": dict(metric="rms_contrast",
                              threshold=1.02 * metrics.rms_contrast(base), stop_below=False,
                              rollback=True),
    "ssim_prev": dict(metric="ssim_prev", threshold=0.999, stop_below=False),
    "max_steps": dict(threshold=0.0, epsilon=0.0, max_steps=3),
}
for key, kw in rules.items():
    for src_name, src in (("vdsr_x2", base), ("film", crop)):
        steps, final = collect(dehaze_steps(src, dnet, StopRule(**kw), device="cpu"))
        arrays[f"dehaze_{key}_{src_name}"] = final
        arrays[f"dehaze_{key}_{src_name}_steps"] = np.array([len(steps)])
        arrays[f"dehaze_{key}_{src_name}_metrics"] = np.array(
            [[s.metrics[m] for m in sorted(s.metrics)] for s in steps])
gen = run_enhancement(EnhanceRequest(crop, "vdsr", 2, True, StopRule(), "cpu"))
records, res = collect(gen)
arrays["gui_vdsr_x2_dehaze"] = res.image
arrays["gui_vdsr_x2_dehaze_sr"] = res.super_resolved
arrays["gui_vdsr_x2_dehaze_bicubic"] = res.bicubic
arrays["gui_vdsr_x2_dehaze_steps"] = np.array([len(res.steps)])
arrays["gui_vdsr_x2_dehaze_table"] = np.array([res.metrics[k] for k in sorted(res.metrics)])
with tempfile.TemporaryDirectory() as tmp:
    src = Path(tmp) / "crop.png"
    Image.fromarray(np.round(crop * 65535).astype(np.uint16)).save(src)
    tif = Path(tmp) / "out.tif"
    subprocess.run([sys.executable, "-m", "xrayview", "enhance", str(src), str(tif),
                    "--model", "vdsr", "--scale", "2", "--dehaze-steps", "3",
                    "--device", "cpu"], check=True)
    arrays["cli_vdsr_x2_dehaze3"] = np.asarray(Image.open(tif)).astype(np.uint16)
    # study preparation: vdsr x2 with 2 dehazing steps (stop threshold 0.95)
    from xrayview.core.study.definition import Condition, Question, Study, Case
    from xrayview.core.study.prepare import prepare_study

    study = Study(title="regression", design="single", seed=1,
                  conditions=[Condition("original"), Condition("vdsr_x2", "vdsr", 2),
                              Condition("vdsr_x2_dehaze", "vdsr", 2, 2, 0.95)],
                  questions=[Question("q", "likert", "Quality?", ["1", "2", "3", "4", "5"],
                                      [1, 2, 3, 4, 5])],
                  cases=[Case("c1", str(src))])
    drain(prepare_study(study, Path(tmp) / "study", device="cpu"))
    for cond in ("original", "vdsr_x2", "vdsr_x2_dehaze"):
        png = Path(tmp) / "study" / "images" / f"c1_{cond}.png"
        arrays[f"study_{cond}"] = np.asarray(Image.open(png)).astype(np.uint16)
np.savez_compressed(out_path, **arrays)
print({k: v.shape for k, v in arrays.items()})
