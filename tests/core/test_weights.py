"""Trusted weights: manifest validation, sha256 check, weights_only loading, models folder."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
import torch

from tests.support.model_factory import make_models_dir, tiny_model
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
    with pytest.raises(WeightsError, match="has no argument .colour."):
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


# --- issue 17: hostile weights and manifests -------------------------------------------

def _in_subprocess(code: str, root, timeout: float = 120.0):
    """Run ``code`` in a fresh interpreter with the models folder ``root``; the timeout
    is only a safety net against a hang (the assertions are on what it prints)."""
    import os
    import subprocess

    env = {**os.environ, MODELS_ENV: str(root)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)


_LOAD_VDSR = """
from xrayview.core.models.registry import WeightsError, load_model
try:
    load_model("vdsr")
except WeightsError as exc:
    print("WeightsError:", exc)
"""


@pytest.mark.parametrize("which", ["vdsr.pt", "manifest.json"])
def test_a_named_pipe_as_weights_or_manifest_is_refused_at_once(models, which):
    import os

    (models / which).unlink()
    os.mkfifo(models / which)
    proc = _in_subprocess(_LOAD_VDSR, models)
    assert proc.stdout.startswith("WeightsError:"), proc.stdout + proc.stderr
    assert "named pipe" in proc.stdout and which in proc.stdout


def test_a_manifest_asking_for_ten_million_layers_is_refused_before_building(models):
    _edit_manifest(models, lambda d: d["models"]["vdsr"]["kwargs"].update(depth=10_000_000))
    proc = _in_subprocess(_LOAD_VDSR, models)
    assert "depth must be int 1..64, not 10000000" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("kwargs,message", [
    ({"depth": 3, "features": 8, "extra": 1}, "no argument 'extra'"),
    ({"depth": 3.5, "features": 8}, "depth must be int"),
    ({"depth": True, "features": 8}, "depth must be int"),
    ({"depth": 3, "features": 0}, "features must be int 1..256"),
])
def test_kwargs_out_of_bounds_are_refused_by_the_manifest_check(models, kwargs, message):
    _edit_manifest(models, lambda d: d["models"]["vdsr"].update(kwargs=kwargs))
    with pytest.raises(WeightsError, match=message):
        model_entry("vdsr")


def test_dehazer_float_bounds_refuse_nan():
    from xrayview.core.models.registry import kwargs_problem

    assert kwargs_problem("dehaze", {"max_gain": float("nan")}) is not None
    assert kwargs_problem("dehaze", {"max_gain": 4.0, "proxy_size": 32}) is None
    assert "kernels" in kwargs_problem("srcnn", {"kernels": [9, 4, 5]})


def _rehash(root, name="vdsr"):
    path = root / f"{name}.pt"
    _edit_manifest(root, lambda d: d["models"][name].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest()))


def test_nan_weights_whose_hash_matches_are_refused(models):
    state = tiny_model("vdsr", 1).state_dict()
    state["body.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, models / "vdsr.pt")
    _rehash(models)
    with pytest.raises(WeightsError, match="NaN or infinite values"):
        load_model("vdsr")


def test_a_weights_file_far_larger_than_its_network_is_refused_unread(models):
    with open(models / "vdsr.pt", "ab") as fh:
        fh.truncate(64 << 20)  # sparse: costs no disk
    _rehash(models)
    with pytest.raises(WeightsError, match="far more than vdsr"):
        load_model("vdsr")


class _NotATensor:
    pass


def test_pickle_refusal_is_one_short_line_without_the_weights_only_hint(models):
    torch.save({"body.0.weight": _NotATensor()}, models / "vdsr.pt")
    _rehash(models)
    with pytest.raises(WeightsError) as err:
        load_model("vdsr")
    text = str(err.value)
    assert "weights_only" not in text and "\n" not in text and len(text) < 220, text
    assert "_NotATensor" in text and "Please" not in text and "\x1b" not in text
    assert text.endswith("was not an allowed global by default"), text
