"""Geometric self-ensemble: the 8 transforms, their inverses, and super_resolve(x8)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from tests.support.model_factory import make_models_dir, tiny_model
from xrayview.cli import main
from xrayview.core.cancel import Cancelled
from xrayview.core.generators import collect, drain
from xrayview.core.enhance.super_resolution import super_resolve, upsample
from xrayview.core.io.export import save_film
from xrayview.core.enhance.self_ensemble import (
    TRANSFORMS,
    apply_transform,
    self_ensemble,
    undo_transform,
)
from xrayview.core.enhance.tiling import run_tiled
from xrayview.core.models.registry import MODELS_ENV


def test_transforms_are_the_eight_symmetries_and_undo_inverts_them():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)  # not square, no symmetry
    seen = set()
    for k, flip in TRANSFORMS:
        t = apply_transform(a, k, flip)
        assert t.flags.c_contiguous
        np.testing.assert_array_equal(undo_transform(t, k, flip), a)
        seen.add((t.shape, t.tobytes()))
    assert len(seen) == 8 and TRANSFORMS[0] == (0, False)


def test_ensemble_of_an_equivariant_map_is_the_map_and_others_are_averaged():
    a = np.random.default_rng(0).random((5, 7), dtype=np.float32)

    def square(x):  # pixel-wise: commutes with every transform
        yield "pass"
        return x * x

    np.testing.assert_allclose(drain(self_ensemble(square, a)), a * a, atol=1e-6)

    def add_column_ramp(x):  # depends on orientation
        yield "pass"
        return x + np.arange(x.shape[1], dtype=np.float32)[None, :]

    expected = np.mean([undo_transform(apply_transform(a, k, f)
                                       + np.arange(apply_transform(a, k, f).shape[1])[None, :],
                                       k, f) for k, f in TRANSFORMS], axis=0)
    got = drain(self_ensemble(add_column_ramp, a))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_super_resolve_self_ensemble_equals_the_mean_of_eight_tiled_passes():
    net = tiny_model("vdsr", seed=3)
    film = np.random.default_rng(1).random((37, 29), dtype=np.float32)
    records, out = collect(super_resolve(film, net, scale=2, device="cpu", tile=32,
                                         self_ensemble=True))
    x = upsample(film, 2)
    passes = [undo_transform(drain(run_tiled(net, apply_transform(x, k, f), tile=32,
                                             device="cpu")), k, f) for k, f in TRANSFORMS]
    np.testing.assert_allclose(out, np.clip(np.mean(passes, axis=0), 0, 1), atol=1e-5)
    plain = drain(super_resolve(film, net, scale=2, device="cpu", tile=32))
    assert np.abs(out - plain).max() > 1e-4  # a random net is not equivariant
    fractions = [r.fraction for r in records]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert len(records) % 8 == 0 and fractions[len(records) // 8 - 1] == pytest.approx(1 / 8)


def test_cancel_during_the_ensemble(tmp_path):
    net = tiny_model("srcnn")
    film = np.random.default_rng(2).random((64, 64), dtype=np.float32)
    calls = {"n": 0}

    def cancel_after_some_tiles():
        calls["n"] += 1
        return calls["n"] > 12

    with pytest.raises(Cancelled):
        drain(super_resolve(film, net, scale=2, device="cpu", tile=32,
                            cancel=cancel_after_some_tiles, self_ensemble=True))


def test_cli_self_ensemble(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "models")))
    src = save_film(np.random.default_rng(0).random((30, 26), dtype=np.float32),
                    tmp_path / "in.png", None)
    out = tmp_path / "out.dcm"
    assert main(["enhance", str(src), str(out), "--model", "srcnn", "--scale", "2",
                 "--device", "cpu", "--self-ensemble"]) == 0
    assert "self-ensemble of 8 rotations/flips" in pydicom.dcmread(out).DerivationDescription
    assert main(["enhance", str(src), str(tmp_path / "o2.png"), "--model", "none",
                 "--self-ensemble"]) == 2
    assert "--self-ensemble needs a network" in capsys.readouterr().err
