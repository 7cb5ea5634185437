"""Study definition: validation errors are one clear line; the bundled example loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.study_factory import make_study
from xrayview.core.study.definition import StudyError, load_study


def test_valid_study_loads(tmp_path):
    s = load_study(make_study(tmp_path))
    assert s.design == "paired" and s.seed == 7
    assert [c.id for c in s.cases] == ["c01", "c02", "c03", "t01"]
    assert s.cases[-1].training and not s.cases[0].training
    assert [c.name for c in s.conditions] == ["original", "bicubic_x2", "vdsr_x2"]
    assert s.questions[0].values == [-2, -1, 0, 1, 2]


@pytest.mark.parametrize("old, new, message", [
    ('design = "paired"', 'design = "triple"', "design must be 'single' or 'paired'"),
    ("seed = 7", 'seed = "x"', "'seed' has the wrong type"),
    ("seed = 7\n", "", "missing key 'seed'"),
    ("[conditions.original]\n", "", "'original' is required"),
    ('model = "vdsr"', 'model = "edsr"', "model must be one of none, srcnn, vdsr"),
    ("scale = 2\n[conditions.vdsr_x2]", "scale = 5\n[conditions.vdsr_x2]", "scale must be 1, 2, 3 or 4"),
    ('kind = "vga"', 'kind = "likert"', "does not fit design 'paired'"),
    ('kind = "2afc"', 'kind = "essay"', "does not fit design"),
    ('id = "preferred"', 'id = "overall"', "two questions share an id"),
    ("films/patient_secret_01.png", "films/missing.png", "film not found: films/missing.png"),
    ('text = "Which image is better?"', 'text = "  "', "empty text"),
    ("crop = 0", "crop = 5", "crop must be 0"),
    ("[study]", "[study\n", "not valid TOML"),
])
def test_validation_errors(tmp_path, old, new, message):
    path = make_study(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_dehazing_condition_takes_the_divergence_rule(tmp_path):
    path = make_study(tmp_path)
    text = path.read_text()
    assert '[conditions.vdsr_x2]\n' in text
    path.write_text(text.replace('[conditions.vdsr_x2]\n',
                                 '[conditions.vdsr_x2]\ndehaze_steps = 3\n', 1))
    assert load_study(path).conditions[-1].recipe().dehazing.diverging  # on by default
    path.write_text(text.replace('[conditions.vdsr_x2]\n', '[conditions.vdsr_x2]\n'
                                 'dehaze_steps = 3\nstop_diverging = false\n', 1))
    assert not load_study(path).conditions[-1].recipe().dehazing.diverging
    path.write_text(text.replace('[conditions.vdsr_x2]\n', '[conditions.vdsr_x2]\n'
                                 'stop_diverging = "no"\n', 1))
    with pytest.raises(StudyError, match="stop_diverging must be true or false"):
        load_study(path)


def test_missing_file_and_bad_labels(tmp_path):
    with pytest.raises(StudyError, match="study file not found"):
        load_study(tmp_path / "nope.toml")
    path = make_study(tmp_path)
    path.write_text(path.read_text().replace('kind = "2afc"', 'kind = "2afc"\nlabels = ["a"]'))
    with pytest.raises(StudyError, match="labels must be 2 non-empty strings"):
        load_study(path)


def test_training_film_may_not_be_a_case(tmp_path):
    path = make_study(tmp_path)
    path.write_text(path.read_text().replace("films/patient_secret_03.png",
                                             "films/patient_secret_00.png"))
    with pytest.raises(StudyError, match="also a study case"):
        load_study(path)


def test_bundled_example_loads():
    from xrayview.core.resources import resource_path

    s = load_study(resource_path("study_example.toml"))  # no corpus needed
    assert s.design == "paired" and len([c for c in s.cases if not c.training]) == 3
    assert {c.name for c in s.conditions} >= {"original", "srcnn_x2", "vdsr_x2",
                                               "vdsr_x2_dehaze"}


def test_cases_from_a_folder_of_films(tmp_path):
    path = make_study(tmp_path)
    text = path.read_text()
    start, end = text.index("[cases]"), text.index("[training]")
    (tmp_path / "films" / "notes.txt").write_text("not a film")
    path.write_text(text[:start] + '[cases]\nfolder = "films"\n' + text[end:])
    s = load_study(path)
    names = [Path(c.path).name for c in s.cases]
    # every film of the folder, sorted, except the training one (listed under training)
    assert names == ["patient_secret_00.png", "patient_secret_01.png",
                     "patient_secret_02.png", "patient_secret_03.png"]
    assert [c.training for c in s.cases] == [False, False, False, True]
    path.write_text(text[:start] + '[cases]\nfolder = "nowhere"\n' + text[end:])
    with pytest.raises(StudyError, match="cases.folder: folder not found: nowhere"):
        load_study(path)
    path.write_text(text[:start] + '[cases]\nfolder = "films"\nfilms = ["x.png"]\n'
                    + text[end:])
    with pytest.raises(StudyError, match="either 'films' or 'folder'"):
        load_study(path)


def test_single_design_example_loads():
    from xrayview.core.resources import resource_path

    s = load_study(resource_path("study_example_single.toml"))
    assert s.design == "single" and {q.kind for q in s.questions} == {"likert"}
    assert [c.path for c in s.cases] == [
        c.path for c in load_study(resource_path("study_example.toml")).cases]


def test_example_study_runs_from_a_fresh_clone(tmp_path, monkeypatch, capsys):
    """Every film of the bundled example is inside the repository; it prepares (tiny
    models, small crop to keep the test short) and its films have their attribution."""
    from tests.support.model_factory import make_models_dir
    from xrayview.cli import main
    from xrayview.core.models.registry import MODELS_ENV
    from xrayview.core.resources import resource_path

    example = resource_path("study_example.toml")
    repo = example.resolve().parents[1]
    s = load_study(example)
    assert len(s.cases) == 4 and sum(c.training for c in s.cases) == 1
    for case in s.cases:
        film = Path(case.path)
        assert repo in film.parents, film                       # no film outside the repo
        assert (film.parent / "ATTRIBUTION.md").is_file()
        assert film.name.removeprefix("nih_").removeprefix("chest_pa_nih_") in (
            film.parent / "ATTRIBUTION.md").read_text()
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "models")))
    small = tmp_path / "resources" / "study_example.toml"  # same folder depth: paths hold
    small.parent.mkdir()
    for sub in ("sample", "study_films"):
        (small.parent / sub).symlink_to(example.parent / sub)
    small.write_text(example.read_text().replace("crop = 512", "crop = 32"))
    out = tmp_path / "my_study"
    assert main(["study", "prepare", str(small), "--out", str(out), "--device", "cpu"]) == 0
    assert "20 made" in capsys.readouterr().out
