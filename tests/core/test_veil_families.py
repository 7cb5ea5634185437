"""Veil families for the dehazer: identity at strength 0, range, seeding, what each does,
the training mixture, reference-mode recipes and the per-family evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xrayview.core.enhance.recipe import VEIL_FAMILIES as RECIPE_FAMILIES
from xrayview.core.enhance.recipe import Recipe, RecipeError, Reference
from xrayview.core.evaluation.dehazing import dehaze_table, evaluate_dehazing
from xrayview.core.quality.metrics import rms_contrast
from xrayview.core.quality.veils import VEIL_FAMILIES, veil_family, veil_mixture_batch
from xrayview.core.training.loop import TrainConfig, train
from xrayview.core.generators import collect


def _film(n=96, seed=0):
    yy, xx = np.mgrid[0:n, 0:n] / n
    rng = np.random.default_rng(seed)
    return np.clip(0.2 + 0.6 * yy * xx + 0.05 * rng.standard_normal((n, n)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("family", VEIL_FAMILIES)
def test_each_family_is_identity_at_zero_stays_in_range_and_lowers_contrast(family):
    j = _film()
    np.testing.assert_array_equal(veil_family(j, 0.0, family, seed=1), j)
    v = veil_family(j, 0.8, family, seed=1)
    assert v.shape == j.shape and v.dtype == np.float32 and 0 <= v.min() and v.max() <= 1
    np.testing.assert_array_equal(v, veil_family(j, 0.8, family, seed=1))
    assert rms_contrast(v) < 0.85 * rms_contrast(j)


def test_atmospheric_airlight_can_be_dark_or_bright_and_exposure_is_monotone():
    j = _film()
    means = [veil_family(j, 1.0, "atmospheric", seed=s).mean() for s in range(12)]
    assert min(means) < j.mean() - 0.05 and max(means) > j.mean() + 0.05
    e = veil_family(j, 1.0, "exposure", seed=3).ravel()
    order = np.argsort(j.ravel(), kind="stable")
    assert np.all(np.diff(e[order]) >= -1e-6)  # a tone curve: no spatial structure
    with pytest.raises(ValueError, match="unknown veil family"):
        veil_family(j, 0.5, "fog")


def test_the_mixture_uses_only_the_families_given():
    assert RECIPE_FAMILIES == VEIL_FAMILIES
    hr = torch.from_numpy(np.stack([_film(48, s) for s in range(8)]))[:, None]
    gen = torch.Generator().manual_seed(0)
    out = veil_mixture_batch(hr, gen, clean_fraction=0.0, families=("exposure",))
    for i in range(len(hr)):  # every film went through a monotone tone curve
        order = torch.argsort(hr[i].flatten(), stable=True)
        assert bool((out[i].flatten()[order].diff() >= -1e-6).all())
    clean = veil_mixture_batch(hr, gen, clean_fraction=1.0 - 1e-9)
    assert torch.equal(clean, hr)
    with pytest.raises(ValueError, match="veil families"):
        veil_mixture_batch(hr, gen, families=("fog",))


def _monotone(veiled: torch.Tensor, clean: torch.Tensor) -> bool:
    order = torch.argsort(clean.flatten(), stable=True)
    return bool((veiled.flatten()[order].diff() >= -1e-6).all())


def test_a_family_listed_twice_is_drawn_twice_as_often():
    hr = torch.from_numpy(np.stack([_film(24, s) for s in range(240)]))[:, None]
    gen = torch.Generator().manual_seed(1)
    out = veil_mixture_batch(hr, gen, clean_fraction=0.0,
                             families=("exposure", "exposure", "exposure", "atmospheric"))
    share = np.mean([_monotone(out[i], hr[i]) for i in range(len(hr))])  # exposure's share
    assert 0.65 <= share <= 0.85  # 3/4 expected (binomial sd 0.028)
    alone = veil_mixture_batch(hr[:40], gen, clean_fraction=0.0, families=("atmospheric",))
    assert not any(_monotone(alone[i], hr[i]) for i in range(40))  # the test can tell them


def test_reference_recipes_name_the_family():
    r = Recipe(reference=Reference(veil=0.5, veil_family="atmospheric"))
    assert Recipe.from_json(r.to_json()).reference.veil_family == "atmospheric"
    with pytest.raises(RecipeError, match="veil_family must be one of"):
        Recipe(reference=Reference(veil=0.5, veil_family="smoke"))


def test_dehazing_evaluation_reports_each_family(tmp_path):
    from PIL import Image

    (tmp_path / "d").mkdir()
    for i in range(2):
        Image.fromarray(np.round(_film(64, i) * 255).astype(np.uint8)).save(tmp_path / "d" / f"f{i}.png")

    class Flat(torch.nn.Module):  # the "dehazer": identity
        def forward(self, x):
            return x

    rows = list(evaluate_dehazing(tmp_path, ["d/f0.png", "d/f1.png"], Flat(), [0.0, 0.5],
                                  device="cpu", families=("scatter", "exposure")))
    assert [(r.family, r.strength) for r in rows[:3]] == [("clean", 0.0), ("scatter", 0.5),
                                                           ("exposure", 0.5)]
    table = dehaze_table(rows)
    assert "| exposure | 0.5 | 2 |" in table and "| clean | 0 | 2 |" in table


def test_the_dehazer_trains_on_a_family_mixture(tmp_path):
    from PIL import Image
    import json

    data = tmp_path / "data" / "a"
    data.mkdir(parents=True)
    names = []
    for i in range(3):
        Image.fromarray(np.round(_film(64, i) * 255).astype(np.uint8)).save(data / f"f{i}.png")
        names.append(f"a/f{i}.png")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[:2], "val": names[2:], "test": []}))
    cfg = TrainConfig(arch="dehaze", data_dir=str(tmp_path / "data"), split_file=str(split),
                      out_dir=str(tmp_path / "m"), iterations=2, batch=2, patch=36, per_film=2,
                      val_per_film=2, val_every=2, kwargs={"proxy_size": 16},
                      mixed_precision="off",
                      veil_families=["atmospheric", "exposure", "exposure"])
    records, _ = collect(train(cfg))
    assert np.isfinite(records[-1].val_gain_db)
    # the learning curve has a validation gain per family beside the mixture's
    point = json.loads((tmp_path / "m" / "checkpoints" / "dehaze_curve.json").read_text())[-1]
    assert set(point["gains"]) == {"atmospheric", "exposure", "mean"}
    assert all(np.isfinite(v) for v in point["gains"].values())
    with pytest.raises(ValueError, match="veil_families"):
        next(train(TrainConfig(**{**cfg.__dict__, "veil_families": ["rain"]})))
