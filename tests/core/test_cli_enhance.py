"""``xrayview enhance``: outputs, JSON, dehazing only, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pydicom
import pytest

from tests.support.dicom_factory import make_dicom
from tests.support.model_factory import make_models_dir
from xrayview.cli import main
from xrayview.core.io import load_film
from xrayview.core.io.export import save_film
from xrayview.core.models.registry import MODELS_ENV


@pytest.fixture
def models(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


@pytest.fixture
def film_png(tmp_path):
    px = np.random.default_rng(0).random((40, 36), dtype=np.float32)
    return save_film(px, tmp_path / "in.png", None)


def test_enhance_png_json(models, film_png, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["enhance", str(film_png), str(out), "--model", "vdsr", "--scale", "2",
                 "--device", "cpu", "--tile", "32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scale"] == 2 and report["output_size"] == [80, 72]
    assert len(report["weights_sha256"]) == 64 and report["dehazing"] is None
    assert set(report["metrics"]) == {"input", "output", "vs_bicubic"}
    assert load_film(out).shape == (80, 72)


def test_dehaze_only_with_step_history(models, film_png, tmp_path, capsys):
    out = tmp_path / "out.tif"
    assert main(["enhance", str(film_png), str(out), "--model", "none", "--dehaze-steps", "2",
                 "--stop-threshold", "0.1", "--device", "cpu", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    steps = report["dehazing"]["steps"]
    assert report["scale"] == 1 and 1 <= len(steps) <= 2 and steps[-1]["stopped"]
    assert "ssim_input" in steps[0]["metrics"]
    assert report["dehazing"]["stop_rule"]["threshold"] == 0.1
    assert load_film(out).shape == (40, 36)


def test_stop_metric_and_direction(models, film_png, tmp_path, capsys):
    from xrayview.core.quality import metrics as measures

    args = ["enhance", str(film_png), str(tmp_path / "o.png"), "--model", "none",
            "--dehaze-steps", "3", "--device", "cpu", "--json", "--stop-metric", "rms_contrast"]
    assert main(args) == 0  # the metric's own default: 10 % above the input's contrast
    rule = json.loads(capsys.readouterr().out)["dehazing"]["stop_rule"]
    expected = 1.10 * measures.rms_contrast(load_film(film_png).pixels)
    assert rule["metric"] == "rms_contrast" and rule["stop_below"] is False
    assert rule["threshold"] == pytest.approx(expected, rel=1e-6)
    assert main([*args, "--stop-threshold", "0", "--stop-when", "above"]) == 0
    report = json.loads(capsys.readouterr().out)["dehazing"]
    assert len(report["steps"]) == 1 and "above" in report["stop_reason"]
    assert main([*args, "--stop-threshold", "0", "--stop-when", "below"]) == 0
    report = json.loads(capsys.readouterr().out)["dehazing"]  # contrast is never below 0
    assert not report["stop_reason"].startswith("threshold")
    out = tmp_path / "kept.png"  # --stop-rollback: the step before the crossing one (the input)
    assert main([*args[:2], str(out), *args[3:], "--stop-threshold", "0", "--stop-when",
                 "above", "--stop-rollback"]) == 0
    report = json.loads(capsys.readouterr().out)["dehazing"]
    assert report["stop_reason"].endswith("; kept step 0") and report["stop_rule"]["rollback"]
    np.testing.assert_allclose(load_film(out).pixels, load_film(film_png).pixels, atol=1 / 65535)
    # the divergence rule is on unless switched off, and the report says which ran
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["dehazing"]["stop_rule"]["diverging"] is True
    assert main([*args, "--no-diverging-stop"]) == 0
    assert json.loads(capsys.readouterr().out)["dehazing"]["stop_rule"]["diverging"] is False


def test_dicom_in_dicom_out(models, tmp_path, capsys):
    stored = np.random.default_rng(1).integers(0, 4096, (24, 20), dtype=np.uint16)
    src = make_dicom(tmp_path / "in.dcm", stored, photometric="MONOCHROME1",
                     PixelSpacing=[0.2, 0.2])
    out = tmp_path / "out.dcm"
    assert main(["enhance", str(src), str(out), "--model", "srcnn", "--scale", "2",
                 "--dehaze-steps", "1", "--device", "cpu"]) == 0
    assert "wrote" in capsys.readouterr().out
    ds = pydicom.dcmread(out)
    assert ds.PhotometricInterpretation == "MONOCHROME1" and (ds.Rows, ds.Columns) == (48, 40)
    assert "srcnn x2" in ds.DerivationDescription
    assert "dehazing 1 step(s)" in ds.DerivationDescription
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.1, 0.1])


@pytest.mark.parametrize("extra,message", [
    (["--device", "gpu"], "unknown device"),
    (["--tile", "4"], "--tile"),
    (["--stop-threshold", "0.9"], "--dehaze-steps"),
    (["--stop-metric", "rms_contrast"], "--dehaze-steps"),
    (["--stop-when", "above"], "--dehaze-steps"),
    (["--stop-rollback"], "--dehaze-steps"),
    (["--no-diverging-stop"], "--dehaze-steps"),
    (["--dehaze-steps", "-1"], "--dehaze-steps"),
])
def test_bad_options_exit_2(models, film_png, tmp_path, capsys, extra, message):
    assert main(["enhance", str(film_png), str(tmp_path / "o.png"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_bad_input_and_output_exit_2(models, film_png, tmp_path, capsys):
    bad = tmp_path / "bad.dcm"
    bad.write_text("not a film")
    assert main(["enhance", str(bad), str(tmp_path / "o.png")]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["enhance", str(film_png), str(film_png), "--model", "none"]) == 2
    assert "refusing to write over the input" in capsys.readouterr().err
    assert main(["enhance", str(film_png), str(tmp_path / "o.jpg")]) == 2
    assert "unknown extension" in capsys.readouterr().err


def test_missing_weights_exit_2_one_line(film_png, tmp_path):
    env_dir = tmp_path / "empty"
    env_dir.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "xrayview", "enhance", str(film_png), str(tmp_path / "o.png"),
         "--model", "vdsr"], capture_output=True, text=True, timeout=120,
        env={**os.environ, MODELS_ENV: str(env_dir)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("xrayview: no trained weights for 'vdsr' "
                                   "(models/manifest.json missing)")
    assert not (tmp_path / "o.png").exists()


def test_precision_is_chosen_on_the_command_line_and_recorded(models, film_png, tmp_path):
    from xrayview.core.device import autocast_dtype
    from xrayview.core.io.provenance import read_provenance

    # bf16 runs where this CPU has it natively; elsewhere fp32 runs and is what is recorded
    ran = {"fp32": "fp32", "bf16": "bf16" if autocast_dtype("cpu", "bf16") else "fp32"}
    outs = {}
    for precision in ("fp32", "bf16"):
        out = outs[precision] = tmp_path / f"{precision}.png"
        assert main(["enhance", str(film_png), str(out), "--model", "vdsr", "--scale", "2",
                     "--device", "cpu", "--precision", precision]) == 0
        assert read_provenance(out)["recipe"]["precision"] == ran[precision]
    with pytest.raises(SystemExit) as stop:
        main(["enhance", str(film_png), str(tmp_path / "x.png"), "--precision", "fp16"])
    assert stop.value.code == 2
