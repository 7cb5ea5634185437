"""The recipe: validation, JSON round trip, provenance in exports, ``enhance --recipe``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from xrayview.core.enhance.recipe import Dehazing, Recipe, RecipeError, Reference
from xrayview.core.io.provenance import read_provenance


def test_round_trip_through_json():
    r = Recipe(model="vdsr", scale=3, tile=64, self_ensemble=True,
               dehazing=Dehazing(metric="rms_contrast", threshold=0.2, stop_below=False,
                                 max_steps=4, rollback=True),
               reference=Reference(veil=0.5, seed=7))
    assert Recipe.from_json(r.to_json()) == r
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r


@pytest.mark.parametrize("data,fragment", [
    ({"model": "esrgan"}, "model must be one of"),
    ({"scale": 5}, "scale must be one of"),
    ({"scale": True}, "scale must be one of"),
    ({"tile": 8}, "tile must be at least 16"),
    ({"precision": "fp8"}, "precision must be one of"),
    ({"model": "none", "self_ensemble": True}, "self_ensemble needs a network"),
    ({"dehazing": {"metric": "sharpness"}}, "dehazing metric"),
    ({"dehazing": {"threshold": float("nan")}}, "finite number"),
    ({"dehazing": {"max_steps": 0}}, "max_steps must be 1..1000"),
    ({"dehazing": {"speed": 1}}, "dehazing:"),
    ({"dehazing": {"diverging": "yes"}}, "diverging must be true or false"),
    ({"reference": {"veil": 2.0}}, "veil must be in [0, 1]"),
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"version": 99}, "version 99 is not supported"),
    ([], "must be a JSON object"),
])
def test_bad_recipes_are_refused_in_one_line(data, fragment):
    with pytest.raises(RecipeError) as err:
        Recipe.from_dict(data)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_default_threshold_follows_the_metric():
    rule = Dehazing(metric="psnr_input").stop_rule()
    assert rule.threshold == 30.0 and rule.stop_below
    rule = Dehazing(metric="rms_contrast").stop_rule(film_value=0.2)
    assert rule.threshold == pytest.approx(0.22) and not rule.stop_below


def test_divergence_rule_is_on_by_default_and_off_for_recipes_written_before_it():
    assert Dehazing().diverging and Dehazing().stop_rule().diverging
    assert not Dehazing(diverging=False).stop_rule().diverging
    new = Recipe(dehazing=Dehazing())
    assert Recipe.from_json(new.to_json()).dehazing.diverging
    old = new.to_dict()
    del old["dehazing"]["diverging"]  # as xrayview wrote recipes before the rule existed
    assert Recipe.from_dict(old).dehazing == Dehazing(diverging=False)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "xrayview", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def film_png(tmp_path):
    rng = np.random.default_rng(3)
    img = (rng.random((40, 48)) * 40000 + 10000).astype(np.uint16)
    path = tmp_path / "film.png"
    Image.fromarray(img).save(path)
    return path


def test_export_records_the_recipe_and_enhance_reads_it_back(tmp_path, film_png):
    first = tmp_path / "first.png"
    proc = _cli("enhance", str(film_png), str(first), "--model", "none", "--scale", "2",
                "--dehaze-steps", "2", "--stop-threshold", "0.5", "--device", "auto")
    assert proc.returncode == 0, proc.stderr
    prov = read_provenance(first)
    recipe = Recipe.from_dict(prov["recipe"])
    assert recipe.scale == 2 and recipe.dehazing.threshold == 0.5
    assert prov["dehazing_steps_run"] >= 1 and prov["device"] == "cpu"
    # the same recipe again, from the exported PNG and from a JSON file: same pixels
    again, from_json = tmp_path / "again.tif", tmp_path / "json.dcm"
    assert _cli("enhance", str(film_png), str(again), "--recipe", str(first)).returncode == 0
    (tmp_path / "r.json").write_text(json.dumps(prov))
    proc = _cli("enhance", str(film_png), str(from_json), "--recipe", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    a = np.asarray(Image.open(first))
    assert np.array_equal(a, np.asarray(Image.open(again)))
    assert read_provenance(from_json)["recipe"] == prov["recipe"]
    # a command-line option replaces the recipe's field
    other = tmp_path / "other.png"
    assert _cli("enhance", str(film_png), str(other), "--recipe", str(first),
                "--dehaze-steps", "0").returncode == 0
    assert read_provenance(other)["recipe"]["dehazing"] is None


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "is not valid JSON"),
    ('{"model": "esrgan"}', "model must be one of"),
    ('{"scale": 9}', "scale must be one of"),
])
def test_bad_recipe_file_is_exit_2_with_one_line(tmp_path, film_png, content, fragment):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = tmp_path / "out.png"
    proc = _cli("enhance", str(film_png), str(out), "--recipe", str(bad))
    assert proc.returncode == 2 and fragment in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_recipe_from_a_film_without_provenance_is_refused(tmp_path, film_png):
    proc = _cli("enhance", str(film_png), str(tmp_path / "o.png"), "--recipe", str(film_png))
    assert proc.returncode == 2 and "holds no xrayview recipe" in proc.stderr
