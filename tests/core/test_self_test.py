"""The self-test's model and export checks (Qt-free part), with tiny random models."""

from __future__ import annotations

import pytest

from tests.core.model_factory import make_models_dir
from xrayview.commands.self_test import SelfTestFailure, _models_and_exports
from xrayview.core.io import load_film
from xrayview.core.resources import sample_film_path
from xrayview.core.weights import MODELS_ENV


def test_models_and_exports_pass_with_working_models(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "models")))
    lines: list[str] = []
    _models_and_exports(load_film(sample_film_path()), lines.append)
    text = "\n".join(lines)
    assert "srcnn x2" in text and "vdsr x2" in text and "dehazing: 2 steps" in text
    assert "self_test.png" in text and "self_test.dcm" in text


def test_missing_weights_fail_the_self_test(tmp_path, monkeypatch):
    from xrayview.core.weights import WeightsError

    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "m", archs=("srcnn",))))
    with pytest.raises((WeightsError, SelfTestFailure)):
        _models_and_exports(load_film(sample_film_path()), lambda m: None)
