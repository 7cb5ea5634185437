"""``prepare_study`` with tiny models (deterministic, skips done work) and the study CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.model_factory import make_models_dir
from tests.support.study_factory import conditions_toml, make_study
from xrayview.cli import main
from xrayview.core.generators import collect, drain
from xrayview.core.io import load_film
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import image_path, prepare_study
from xrayview.core.models.registry import MODELS_ENV
from xrayview.core.io.provenance import read_provenance

DEHAZE = conditions_toml("original", "vdsr_x2", "vdsr_x2_dehaze")


@pytest.fixture
def tiny_models(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


def _run(study, out):
    return collect(prepare_study(study, out, device="cpu"))


def test_prepare_is_deterministic_and_skips_done_work(tmp_path, tiny_models):
    study = load_study(make_study(tmp_path / "src", n_cases=2, n_training=0, conditions=DEHAZE))
    progress, prov = _run(study, tmp_path / "a")
    assert [p.status for p in progress] == ["made"] * 6 and progress[-1].done == 6
    png = image_path(tmp_path / "a", "c01", "vdsr_x2_dehaze")
    meta = json.loads(png.with_suffix(".json").read_text())
    recipe = meta["recipe"]
    assert recipe["model"] == "vdsr" and recipe["scale"] == 2 and 1 <= meta["dehaze_steps_run"] <= 2
    assert recipe["dehazing"]["max_steps"] == 2 and meta["recipe_as_run"]["dehazing"]["threshold"]
    assert recipe["precision"] == meta["recipe_as_run"]["precision"] == "fp32"  # reproducible
    assert sorted(meta["weights_sha256"]) == ["dehaze", "vdsr"]
    assert all(len(sha) == 64 for sha in meta["weights_sha256"].values())
    # the PNG carries the recipe it was made with
    assert read_provenance(png)["recipe"] == meta["recipe_as_run"]
    assert load_film(png).pixels.shape == (96, 96)
    # the original is on the same x2 grid: the film resampled by the reference bicubic
    original = load_film(image_path(tmp_path / "a", "c01", "original")).pixels
    assert original.shape == (96, 96) and meta["grid"] == [96, 96]
    from xrayview.core.enhance.super_resolution import upsample
    want = upsample(load_film(study.cases[0].path).pixels, 2)
    assert np.abs(original - want).max() <= 0.5 / 65535 + 1e-6
    # again: everything skipped, same records
    progress2, prov2 = _run(study, tmp_path / "a")
    assert [p.status for p in progress2] == ["skipped"] * 6 and prov2 == prov
    # a second folder gives byte-identical images
    _, prov3 = _run(study, tmp_path / "b")
    assert [p["image_sha256"] for p in prov3] == [p["image_sha256"] for p in prov]
    # a damaged image is made again, the others skipped
    png.write_bytes(b"damaged")
    progress4, _ = _run(study, tmp_path / "a")
    assert [p.status for p in progress4].count("made") == 1
    assert json.loads(png.with_suffix(".json").read_text())["image_sha256"] == meta["image_sha256"]


def test_prepared_image_is_the_enhanced_film(tmp_path, tiny_models):
    study = load_study(make_study(tmp_path / "src", n_cases=1, n_training=0))
    _run(study, tmp_path / "a")
    from xrayview.core.enhance.super_resolution import super_resolve
    src = load_film(study.cases[0].path)
    want = drain(super_resolve(src, "vdsr", 2, device="cpu", precision="fp32"))  # as studies
    got = load_film(image_path(tmp_path / "a", "c01", "vdsr_x2")).pixels
    assert np.abs(got - want).max() <= 1 / 65535 + 1e-6  # 16-bit quantisation only


def test_study_cli_prepare_export_summary(tmp_path, tiny_models, capsys):
    from tests.support.study_driver import answer_all

    toml = make_study(tmp_path / "src", n_cases=3, n_training=1)
    out = tmp_path / "study"
    assert main(["study", "prepare", str(toml), "--out", str(out), "--device", "cpu"]) == 0
    assert "12 made, 0 already done" in capsys.readouterr().out
    assert main(["study", "prepare", str(toml), "--out", str(out)]) == 0
    assert "0 made, 12 already done" in capsys.readouterr().out
    assert main(["study", "summary", str(out)]) == 2
    assert "no answers yet" in capsys.readouterr().err
    for reader in ("ann", "ben", "cat"):
        answer_all(out, reader)
    assert main(["study", "export", str(out), "--out", str(tmp_path / "r.csv")]) == 0
    assert "wrote 24 answers" in capsys.readouterr().out
    assert main(["study", "summary", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["questions"]["overall"]["agreement"]["statistic"] == "icc_2_1"
    assert main(["study", "summary", str(out)]) == 0
    assert "vdsr_x2" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["study", "prepare", "{tmp}/none.toml", "--out", "{tmp}/o"], "study file not found"),
    (["study", "export", "{tmp}", "--out", "{tmp}/r.csv"], "is not a prepared study"),
    (["study", "summary", "{tmp}/nothing"], "is not a prepared study"),
])
def test_study_cli_bad_input_is_exit_2_one_line(tmp_path, capsys, args, message):
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_study_cli_missing_weights_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(MODELS_ENV, str(tmp_path / "no_models"))
    toml = make_study(tmp_path / "src", n_cases=1, n_training=0)
    assert main(["study", "prepare", str(toml), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
