"""Study definition: validation errors are one clear line; the bundled example loads."""

from __future__ import annotations

import pytest

from tests.core.study_factory import make_study
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


def test_bundled_example_loads(cxr_dir):
    from xrayview.core.resources import resource_path

    s = load_study(resource_path("study_example.toml"))
    assert s.design == "paired" and len([c for c in s.cases if not c.training]) == 4
    assert {c.name for c in s.conditions} >= {"original", "srcnn_x2", "vdsr_x2",
                                               "vdsr_x2_dehaze"}
