"""Trusted weights: manifest validation, sha256 check, weights_only loading, models folder."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
import torch

from tests.core.model_factory import make_models_dir, tiny_model
from xrayview.core.models.registry import (MODELS_ENV, WeightsError, available_models, load_model,
                                   model_entry, models_dir)


@pytest.fixture
def models(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models", archs=("srcnn", "vdsr"))
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


def _edit_manifest(root, change):
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_missing_manifest_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    with pytest.raises(WeightsError) as err:
        load_model("vdsr")
    assert str(err.value) == "no trained weights for 'vdsr' (models/manifest.json missing)"
    assert available_models() == []


def test_load_model_matches_saved_weights(models):
    model = load_model("vdsr")
    ref = tiny_model("vdsr", seed=1)  # make_models_dir seeds arch i with seed + i
    assert not model.training and model.weights_name == "vdsr"
    assert model.weights_sha256 == hashlib.sha256((models / "vdsr.pt").read_bytes()).hexdigest()
    assert model.weights_scales == [2, 3, 4] and model.halo == ref.halo
    x = torch.rand(1, 1, 20, 20)
    with torch.inference_mode():
        assert torch.equal(model(x), ref(x))
    assert next(load_model("srcnn", device="auto").parameters()).device.type in ("cpu", "cuda",
                                                                                   "mps")


def test_available_models_lists_entries_with_files(models):
    assert available_models() == ["srcnn", "vdsr"]
    (models / "srcnn.pt").unlink()
    assert available_models() == ["vdsr"]
    with pytest.raises(WeightsError, match="srcnn.pt is missing"):
        load_model("srcnn")


def test_unknown_name_lists_what_is_there(models):
    with pytest.raises(WeightsError, match=r"no trained weights for 'dehaze'.*srcnn, vdsr"):
        load_model("dehaze")


def test_sha256_mismatch_is_refused(models):
    path = models / "vdsr.pt"
    blob = bytearray(path.read_bytes())
    blob[-20] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(WeightsError, match=r"refusing vdsr.pt: its sha256 .* does not match"):
        load_model("vdsr")


class Payload:
    """Something a weights file must never be able to instantiate."""


def test_pickled_objects_are_refused_even_with_a_matching_hash(models):
    path = models / "vdsr.pt"
    torch.save({"body.0.weight": Payload()}, path)
    _edit_manifest(models, lambda d: d["models"]["vdsr"].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    with pytest.raises(WeightsError, match="cannot be loaded as weights"):
        load_model("vdsr")


def test_weights_that_do_not_fit_the_architecture(models):
    _edit_manifest(models, lambda d: d["models"]["vdsr"]["kwargs"].update(depth=5))
    with pytest.raises(WeightsError, match="does not fit vdsr"):
        load_model("vdsr")
    _edit_manifest(models, lambda d: d["models"]["vdsr"]["kwargs"].update(colour=True))
    with pytest.raises(WeightsError, match="bad kwargs"):
        load_model("vdsr")


def test_a_training_checkpoint_is_accepted(models):
    path = models / "vdsr.pt"
    torch.save({"model": tiny_model("vdsr", 1).state_dict(), "iteration": 5}, path)
    _edit_manifest(models, lambda d: d["models"]["vdsr"].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    assert load_model("vdsr").weights_name == "vdsr"


@pytest.mark.parametrize("change,message", [
    (lambda d: d["models"]["vdsr"].pop("sha256"), "missing required key"),
    (lambda d: d["models"]["vdsr"].update(arch="edsr"), "unknown arch 'edsr'"),
    (lambda d: d["models"]["vdsr"].update(kwargs=[10]), "kwargs must be an object"),
    (lambda d: d["models"]["vdsr"].update(sha256="abc"), "64 hexadecimal"),
    (lambda d: d["models"]["vdsr"].update(scales=2), "scales must be"),
    (lambda d: d["models"]["vdsr"].update(scales=[]), "scales must be"),
    (lambda d: d["models"]["vdsr"].update(file="../../etc/passwd"), "relative name"),
    (lambda d: d["models"]["vdsr"].update(file="/tmp/vdsr.pt"), "relative name"),
    (lambda d: d["models"]["vdsr"].update(metrics=[]), "metrics must be"),
    (lambda d: d.update(schema=2), "schema"),
    (lambda d: d.update(models=[]), "must be an object"),
    (lambda d: d["models"].update(vdsr="vdsr.pt"), "entry must be an object"),
])
def test_invalid_manifest_is_a_clear_error(models, change, message):
    _edit_manifest(models, change)
    with pytest.raises(WeightsError, match=message):
        model_entry("vdsr")


def test_unreadable_manifest(models):
    (models / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsError, match="cannot be read"):
        available_models()


def test_frozen_bundle_models_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(MODELS_ENV, raising=False)
    make_models_dir(tmp_path / "models", archs=("srcnn",))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert models_dir() == tmp_path / "models"
    assert load_model("srcnn").weights_name == "srcnn"
